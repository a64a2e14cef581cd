"""Metric-class behaviour checked side by side with prometheus_client: reset, remove_by_labels,
clear on an unlabelled metric, timers on labelled parents, bucket bounds, units, non-str label
values and unencodable strings."""

import time

import prometheus_client
import pytest

import footmetrics

LIBS = pytest.mark.parametrize("lib", [footmetrics, prometheus_client])


def value(registry, name, **labels):
    return registry.get_sample_value(name, labels)


@LIBS
def test_counter_reset_moves_created(lib):
    r = lib.CollectorRegistry()
    c = lib.Counter("c", "help", registry=r)
    c.inc(3)
    created = value(r, "c_created")
    time.sleep(0.01)
    c.reset()
    assert value(r, "c_total") == 0
    assert value(r, "c_created") > created
    c.inc()
    assert value(r, "c_total") == 1


@LIBS
def test_remove_by_labels(lib):
    r = lib.CollectorRegistry()
    c = lib.Counter("c", "help", ["tenant", "endpoint"], registry=r)
    c.labels("acme", "/").inc()
    c.labels("acme", "/x").inc()
    c.labels("globex", "/").inc()
    held = c.labels("acme", "/")
    assert c.remove_by_labels({"tenant": "acme"}) is None
    assert value(r, "c_total", tenant="acme", endpoint="/") is None
    assert value(r, "c_total", tenant="acme", endpoint="/x") is None
    assert value(r, "c_total", tenant="globex", endpoint="/") == 1
    c.remove_by_labels({})
    assert value(r, "c_total", tenant="globex", endpoint="/") == 1
    with pytest.raises(ValueError):
        c.remove_by_labels({"nope": "x"})
    with pytest.raises(TypeError):
        c.remove_by_labels([("tenant", "globex")])
    # A child looked up again after removal starts from zero and is exported again.
    c.labels("acme", "/").inc()
    assert value(r, "c_total", tenant="acme", endpoint="/") == 1
    del held
    with pytest.raises(ValueError):
        lib.Counter("u", "help", registry=r).remove_by_labels({"a": "b"})


@LIBS
def test_clear_without_labels_is_noop(lib):
    r = lib.CollectorRegistry()
    c = lib.Counter("c", "help", registry=r)
    c.inc()
    c.clear()
    assert value(r, "c_total") == 1


@LIBS
@pytest.mark.parametrize("kind", ["Histogram", "Summary", "Gauge"])
def test_time_on_labelled_parent_picks_child_in_block(lib, kind):
    r = lib.CollectorRegistry()
    m = getattr(lib, kind)("m", "help", ["l"], registry=r)
    with m.time() as t:
        t.labels("foo")
        time.sleep(0.002)
    assert t.duration > 0
    sample = "m" if kind == "Gauge" else "m_sum"
    assert value(r, sample, l="foo") == t.duration
    # Without labels() the parent cannot record.
    with pytest.raises(ValueError), m.time():
        pass


@LIBS
def test_timer_duration(lib):
    r = lib.CollectorRegistry()
    s = lib.Summary("s", "help", registry=r)
    with s.time() as t:
        time.sleep(0.005)
    assert t.duration >= 0.005
    assert value(r, "s_sum") == t.duration


@LIBS
def test_upper_bounds(lib):
    h = lib.Histogram("h", "help", registry=None, buckets=[0, 1, 2])
    assert h._upper_bounds == [0.0, 1.0, 2.0, float("inf")]
    h = lib.Histogram("h", "help", registry=None, buckets=[0, 1, float("inf")])
    assert h._upper_bounds == [0.0, 1.0, float("inf")]


@LIBS
def test_info_label_values_are_checked(lib):
    r = lib.CollectorRegistry()
    i = lib.Info("il", "help", ["l"], registry=r)
    with pytest.raises(ValueError):
        i.labels("a").info({"l": ""})
    with pytest.raises(ValueError):
        i.labels("a").info({"il": None})
    i.labels("a").info({"foo": "bar"})
    assert value(r, "il_info", l="a", foo="bar") == 1


@LIBS
def test_units_appended_as_prometheus_client(lib):
    r = lib.CollectorRegistry()
    c = lib.Counter("b_total", "help", unit="total", labelnames=["l"], registry=r)
    assert c._name == "b_total"
    c = lib.Counter("requests", "help", unit="total", registry=r)
    c.inc()
    assert c._name == "requests_total"
    assert value(r, "requests_total_total") == 1
    g = lib.Gauge("latency", "help", unit="seconds", registry=r)
    assert g._name == "latency_seconds"
    i = lib.Info("build_info", "help", registry=r)
    i.info({"v": "1"})
    assert value(r, "build_info_info", v="1") == 1
    with pytest.raises(ValueError):
        lib.Info("foo", "help", unit="x", registry=None)
    with pytest.raises(ValueError):
        lib.Enum("foo", "help", unit="x", states=["a"], registry=None)


@LIBS
def test_non_str_label_values_are_strd(lib):
    r = lib.CollectorRegistry()
    c = lib.Counter("c", "help", ["l"], registry=r)
    c.labels([1]).inc()
    c.labels(l=[1]).inc()
    c.labels(2).inc()
    c.labels("2").inc()
    assert value(r, "c_total", l="[1]") == 2
    assert value(r, "c_total", l="2") == 2


@pytest.mark.parametrize("where", ["name", "documentation", "labelname", "labelvalue"])
def test_lone_surrogates_give_a_clear_error(registry, where):
    bad = "a\udc80b"
    args = {"name": "m", "documentation": "help", "labelnames": ["l"]}
    if where == "labelvalue":
        c = footmetrics.Counter(**args, registry=registry)
        with pytest.raises(ValueError, match=r"label value contains a lone surrogate \(U\+DC80 at index 1\)"):
            c.labels(bad)
        return
    key = {"labelname": "labelnames"}.get(where, where)
    args[key] = [bad] if where == "labelname" else bad
    what = {"name": "metric name", "labelname": "label name"}.get(where, where)
    with pytest.raises(ValueError, match=what + r" contains a lone surrogate \(U\+DC80 at index 1\)"):
        footmetrics.Counter(**args, registry=registry)


def test_non_str_documentation_is_a_type_error(registry):
    with pytest.raises(TypeError, match="documentation must be a str"):
        footmetrics.Counter("m", None, registry=registry)


def test_repr_names_our_module():
    c = footmetrics.Counter("c_total", "help", registry=None)
    assert repr(c) == "footmetrics.metrics.Counter(c)"
    pc = prometheus_client.Counter("c_total", "help", registry=None)
    assert repr(pc) == "prometheus_client.metrics.Counter(c)"


@LIBS
def test_untyped_metric_from_custom_collector(lib):
    import importlib
    core = importlib.import_module(lib.__name__ + ".core")
    r = lib.CollectorRegistry()

    class C:
        def collect(self):
            m = core.Metric("nonnumber", "Non number", "untyped")
            m.add_sample("nonnumber", {}, 123.0)
            yield m

    r.register(C())
    assert r.get_sample_value("nonnumber") == 123.0
    assert [m.type for m in r.collect()] == ["unknown"]
    assert b"# TYPE nonnumber untyped\nnonnumber 123" in lib.generate_latest(r)


@LIBS
def test_metric_family_details(lib):
    import importlib
    core = importlib.import_module(lib.__name__ + ".core")
    assert core.CounterMetricFamily("c_total", "h", labels=iter(["a"]))._labelnames == ("a",)
    assert core.HistogramMetricFamily("h", "h", labels=["a"])._labelnames == ("a",)
    with pytest.raises(KeyError):
        core.HistogramMetricFamily("h", "help", buckets={})
    with pytest.raises(IndexError):
        core.HistogramMetricFamily("h", "help", buckets=[], sum_value=1)
    # Negative buckets: no sum and no count.
    h = core.HistogramMetricFamily("h", "help", buckets=[("-1", 1), ("+Inf", 2)], sum_value=3)
    assert [s.name for s in h.samples] == ["h_bucket", "h_bucket"]
    h = core.HistogramMetricFamily("h", "help", buckets=[("1", 1), ("+Inf", 2)], sum_value=3)
    assert [(s.name, s.value) for s in h.samples][-2:] == [("h_count", 2), ("h_sum", 3)]
