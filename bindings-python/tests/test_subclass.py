"""Metric classes subclassed, as prometheus_client's are: a subclass's __init__ chooses the
arguments, and labels() builds children as instances of the subclass that record into the
parent's series."""

import pytest

import footmetrics
from footmetrics import (
    REGISTRY,
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    Summary,
    generate_latest,
)
from footmetrics.metrics import MetricWrapperBase


def lines(registry, prefix):
    """The exposition's sample lines starting with prefix."""
    text = generate_latest(registry).decode()
    return [line for line in text.splitlines() if line.startswith(prefix)]


class AppCounter(Counter):
    """Default namespace and subsystem, as a library's own metric classes set them."""

    def __init__(self, name, documentation, labelnames=(), namespace="app",
                 subsystem="http", unit="", registry=REGISTRY, _labelvalues=None):
        super().__init__(name, documentation, labelnames=labelnames, namespace=namespace,
                         subsystem=subsystem, unit=unit, registry=registry,
                         _labelvalues=_labelvalues)


class ContextCounter(Counter):
    """Carries context of its own, which each child must rebuild from the parent's arguments."""

    built = 0

    def __init__(self, name, documentation, labelnames=(), namespace="", subsystem="",
                 unit="", **kwargs):
        type(self).built += 1
        self.context = {"namespace": namespace, "subsystem": subsystem, "unit": unit,
                        "labelvalues": kwargs.get("_labelvalues")}
        super().__init__(name, documentation, labelnames=labelnames, namespace=namespace,
                         subsystem=subsystem, unit=unit, **kwargs)

    def hit(self):
        self.inc()
        return self.context


def test_subclass_defaults_build_the_name(registry):
    c = AppCounter("requests", "Requests.", ["code"], registry=registry)
    assert c._name == "app_http_requests"
    c.labels("200").inc(3)
    assert registry.get_sample_value("app_http_requests_total", {"code": "200"}) == 3.0
    # The caller's arguments still win over the subclass's defaults.
    d = AppCounter("other", "Other.", namespace="", subsystem="", registry=registry)
    d.inc()
    assert registry.get_sample_value("other_total") == 1.0


def test_children_are_instances_of_the_subclass_whose_init_ran(registry):
    parent = ContextCounter("m", "help", labelnames=["status"], namespace="prod",
                            subsystem="api", unit="seconds", registry=registry)
    child = parent.labels(status="200")
    assert type(child) is ContextCounter
    assert isinstance(child, Counter) and isinstance(child, MetricWrapperBase)
    assert child.context == {"namespace": "prod", "subsystem": "api", "unit": "seconds",
                             "labelvalues": ("200",)}
    assert parent.context["labelvalues"] is None
    # The child's methods are the subclass's; its name was not built a second time.
    assert child.hit()["namespace"] == "prod"
    assert child._name == parent._name == "prod_api_m_seconds"
    assert registry.get_sample_value("prod_api_m_seconds_total", {"status": "200"}) == 1.0


def test_a_child_is_built_once_and_kept(registry):
    ContextCounter.built = 0
    parent = ContextCounter("kept", "help", ["a", "b"], registry=registry)
    first = parent.labels("x", 1)
    first.note = "mine"
    # Positional, keyword and str()-equal arguments name the same child: the same object.
    assert parent.labels("x", "1") is first
    assert parent.labels(b=1, a="x") is first
    for i in range(600):  # past the plain classes' bounded cache
        parent.labels("y", i)
    assert parent.labels("x", 1).note == "mine"
    assert ContextCounter.built == 1 + 1 + 600


def test_subclass_children_show_once_in_the_exposition(registry):
    plain = Counter("plain_jobs", "Jobs.", ["kind"], registry=registry)
    sub = AppCounter("jobs", "Jobs.", ["kind"], registry=registry)
    for metric in (plain, sub):
        metric.labels("a").inc()
        metric.labels(kind="a").inc(2)
        metric.labels("b").inc()
    assert lines(registry, "plain_jobs_total") == [
        'plain_jobs_total{kind="a"} 3.0', 'plain_jobs_total{kind="b"} 1.0']
    assert lines(registry, "app_http_jobs_total") == [
        'app_http_jobs_total{kind="a"} 3.0', 'app_http_jobs_total{kind="b"} 1.0']
    text = generate_latest(registry).decode()
    assert text.count("# TYPE app_http_jobs_total counter") == 1
    assert text.count("# HELP app_http_jobs_total") == 1


def test_registry_none_registers_nothing_and_children_do_not_register(registry):
    c = AppCounter("unregistered", "U.", ["k"], registry=None)
    c.labels("v").inc()
    assert "unregistered" not in generate_latest(REGISTRY).decode()
    # Registered by hand, it shows the child's series.
    registry.register(c)
    assert registry.get_sample_value("app_http_unregistered_total", {"k": "v"}) == 1.0


def test_subclass_registers_in_the_default_registry():
    class Defaulted(Counter):
        pass

    c = Defaulted("subclass_default_registry", "D.", ["k"])
    try:
        c.labels("v").inc(2)
        # The child neither registered again (no duplicate error) nor built a family.
        assert REGISTRY.get_sample_value("subclass_default_registry_total",
                                         {"k": "v"}) == 2.0
        assert type(c.labels("v")) is Defaulted
        with pytest.raises(ValueError):
            Defaulted("subclass_default_registry", "D.", ["k"])
    finally:
        REGISTRY.unregister(c)
    assert REGISTRY.get_sample_value("subclass_default_registry_total", {"k": "v"}) is None


@pytest.mark.parametrize("cls, kwargs, record, sample", [
    (Gauge, {"multiprocess_mode": "max"}, lambda m: m.set(4), ("sub_gauge", 4.0)),
    (Histogram, {"buckets": (1, 2)}, lambda m: m.observe(1.5), ("sub_hist_bucket", 1.0)),
    (Summary, {}, lambda m: m.observe(2.5), ("sub_summary_sum", 2.5)),
    (Info, {}, lambda m: m.info({"v": "1"}), ("sub_info_info", 1.0)),
    (Enum, {"states": ["on", "off"]}, lambda m: m.state("off"), ("sub_enum", 1.0)),
])
def test_every_class_subclasses_and_passes_its_own_arguments_on(registry, cls, kwargs,
                                                                 record, sample):
    seen = []

    class Sub(cls):
        def __init__(self, *args, **kw):
            seen.append(kw)
            super().__init__(*args, **kw)

    name = sample[0].split("_")[0] + "_" + sample[0].split("_")[1]
    parent = Sub(name, "Sub.", ["k"], registry=registry, **kwargs)
    child = parent.labels("x")
    assert type(child) is Sub
    record(child)
    labels = {"k": "x"}
    if cls is Histogram:
        labels["le"] = "2.0"
    if cls is Info:
        labels["v"] = "1"
    if cls is Enum:
        labels["sub_enum"] = "off"
    assert registry.get_sample_value(sample[0], labels) == sample[1]
    # The child got the class's own argument as the parent had it (prometheus_client's
    # _kwargs), and the parent's name, documentation and label names.
    child_kw = seen[-1]
    assert child_kw["_labelvalues"] == ("x",)
    assert child_kw["documentation"] == "Sub." and child_kw["labelnames"] == ("k",)
    if cls is Gauge:
        assert child_kw["multiprocess_mode"] == "max"
    if cls is Histogram:
        assert child_kw["buckets"] == (1.0, 2.0, float("inf"))
    if cls is Enum:
        assert child_kw["states"] == ["on", "off"]


def test_enum_child_of_a_subclass_starts_in_the_first_state(registry):
    class Phase(Enum):
        pass

    e = Phase("phase", "P.", ["job"], states=["idle", "busy"], registry=registry)
    e.labels("a")
    assert registry.get_sample_value("phase", {"job": "a", "phase": "idle"}) == 1.0


def test_time_on_a_subclass_parent_picks_a_subclass_child(registry):
    class Timed(Histogram):
        pass

    h = Timed("timed_seconds", "T.", ["route"], registry=registry)
    with h.time() as t:
        t.labels("/")
    assert registry.get_sample_value("timed_seconds_count", {"route": "/"}) == 1.0
    assert type(h.labels("/")) is Timed


def test_remove_and_clear_forget_subclass_children(registry):
    c = ContextCounter("forget", "F.", ["a", "b"], registry=registry)
    first = c.labels("x", "1")
    c.labels("y", "1").inc()
    c.labels("y", "2").inc()
    c.remove("x", "1")
    assert c.labels("x", "1") is not first
    c.remove_by_labels({"a": "y"})
    assert registry.get_sample_value("forget_total", {"a": "y", "b": "1"}) is None
    kept = c.labels("x", "1")
    c.clear()
    assert c.labels("x", "1") is not kept


def test_subclass_without_super_init_raises_instead_of_recording(registry):
    class Forgetful(Counter):
        def __init__(self, *args, **kwargs):
            pass

    c = Forgetful("forgetful", "F.", registry=registry)
    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        c.inc()
    with pytest.raises(AttributeError):
        c.labels("x")
    assert "forgetful" not in generate_latest(registry).decode()


def test_subclass_that_drops_labelvalues_gets_a_clear_error(registry):
    class Dropping(Counter):
        def __init__(self, name, documentation, labelnames=(), **kwargs):
            kwargs.pop("_labelvalues", None)
            super().__init__(name, documentation, labelnames, registry=None)

    c = Dropping("dropping", "D.", ["k"], registry=registry)
    with pytest.raises(TypeError, match="_labelvalues"):
        c.labels("v")


def test_init_runs_once(registry):
    c = Counter("once", "O.", registry=registry)
    with pytest.raises(RuntimeError, match="already initialized"):
        c.__init__("twice", "T.", registry=registry)
    c.inc()
    assert registry.get_sample_value("once_total") == 1.0


def test_plain_classes_are_unchanged(registry):
    c = Counter("plain", "P.", ["k"], registry=registry)
    child = c.labels("v")
    assert type(child) is Counter
    assert c.labels("v") is child
    assert repr(c) == "footmetrics.metrics.Counter(plain)"
    with pytest.raises(TypeError):
        Counter()


def test_subclass_repr_names_the_subclass(registry):
    c = AppCounter("shown", "S.", registry=registry)
    assert repr(c) == f"{__name__}.AppCounter(app_http_shown)"


def test_subclass_instances_take_attributes_and_keep_the_api(registry):
    class Tagged(Gauge):
        def __init__(self, *args, team="core", **kwargs):
            self.team = team
            super().__init__(*args, **kwargs)

    g = Tagged("tagged", "T.", registry=registry, team="infra")
    g.inc(2)
    g.dec()
    assert g.team == "infra" and g._value.get() == 1.0
    assert footmetrics.Gauge in type(g).__mro__
