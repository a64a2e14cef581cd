"""The everyday prometheus_client API, case by case, including bad input."""

import asyncio
import math
import threading
import time

import pytest

import footmetrics
import footmetrics.validation
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


def value(registry, name, **labels):
    return registry.get_sample_value(name, labels)


def test_counter_inc_and_labels(registry):
    c = Counter("jobs", "Jobs.", ["kind"], registry=registry)
    c.labels("a").inc()
    c.labels(kind="a").inc(2.5)
    c.labels(1).inc()
    assert value(registry, "jobs_total", kind="a") == 3.5
    assert value(registry, "jobs_total", kind="1") == 1.0
    assert value(registry, "jobs_created", kind="a") == pytest.approx(time.time(), abs=60)


def test_counter_total_suffix_is_stripped_like_prometheus_client(registry):
    c = Counter("requests_total", "R.", registry=registry)
    c.inc()
    assert value(registry, "requests_total") == 1.0
    assert b"requests_total_total" not in generate_latest(registry)


def test_counter_rejects_negative_and_nan_without_losing_counts(registry):
    c = Counter("c", "C.", registry=registry)
    c.inc(3)
    for bad in (-1, float("nan")):
        with pytest.raises(ValueError):
            c.inc(bad)
    assert value(registry, "c_total") == 3.0


def test_parent_and_child_errors(registry):
    c = Counter("p", "P.", ["a", "b"], registry=registry)
    with pytest.raises(ValueError, match="missing label values"):
        c.inc()
    with pytest.raises(ValueError, match="Incorrect label count"):
        c.labels("x")
    with pytest.raises(ValueError, match="Incorrect label names"):
        c.labels(a="x", c="y")
    with pytest.raises(ValueError, match="both"):
        c.labels("x", b="y")
    unlabelled = Counter("u", "U.", registry=registry)
    with pytest.raises(ValueError, match="No label names"):
        unlabelled.labels("x")


def test_children_are_cached(registry):
    c = Counter("cached", "C.", ["a"], registry=registry)
    assert c.labels("x") is c.labels("x")
    held = c.labels("x")
    held.inc()
    held.inc()
    assert value(registry, "cached_total", a="x") == 2.0


def test_remove_and_clear(registry):
    g = Gauge("g", "G.", ["a"], registry=registry)
    g.labels("x").set(1)
    g.labels("y").set(2)
    g.remove("x")
    assert value(registry, "g", a="x") is None
    assert value(registry, "g", a="y") == 2.0
    with pytest.raises(ValueError):
        g.remove("x", "extra")
    g.clear()
    assert value(registry, "g", a="y") is None
    g.labels("y").inc()
    assert value(registry, "g", a="y") == 1.0, "recreated fresh after clear"


def test_bad_names_are_value_errors(registry):
    for bad in ("1abc", "a-b"):
        # UTF-8 names, as prometheus_client 0.26 accepts them; not under legacy validation.
        Counter(bad, "D.", registry=footmetrics.CollectorRegistry())
        footmetrics.validation.enable_legacy_validation()
        try:
            with pytest.raises(ValueError):
                Counter(bad, "D.", registry=registry)
            with pytest.raises(ValueError):
                Counter("ok", "D.", [bad], registry=registry)
        finally:
            footmetrics.validation.disable_legacy_validation()
    with pytest.raises(ValueError):
        Counter("", "D.", namespace="ns", registry=registry)
    with pytest.raises(ValueError):
        Counter("ok", "D.", ["__reserved"], registry=registry)
    with pytest.raises(ValueError):
        Histogram("h", "D.", ["le"], registry=registry)
    with pytest.raises(ValueError):
        Summary("s", "D.", ["quantile"], registry=registry)
    with pytest.raises(TypeError):
        Counter("ok2", "D.", "a", registry=registry)
    with pytest.raises(TypeError):
        Counter(3, "D.", registry=registry)


def test_duplicate_registration(registry):
    Counter("dup", "D.", registry=registry)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Gauge("dup_total", "D.", registry=registry)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Counter("dup", "D.", registry=registry)


def test_namespace_subsystem_unit(registry):
    h = Histogram("latency", "L.", namespace="api", subsystem="http", unit="seconds",
                  registry=registry)
    h.observe(0.2)
    assert value(registry, "api_http_latency_seconds_count") == 1.0


def test_gauge_operations(registry):
    g = Gauge("g", "G.", registry=registry)
    g.inc()
    g.inc(4)
    g.dec(2)
    assert value(registry, "g") == 3.0
    g.set(-7.5)
    assert value(registry, "g") == -7.5
    g.set_to_current_time()
    assert value(registry, "g") == pytest.approx(time.time(), abs=5)
    with pytest.raises(ValueError):
        Gauge("g2", "G.", registry=registry, multiprocess_mode="bogus")


def test_gauge_set_function_runs_at_collection(registry):
    g = Gauge("queue", "Q.", registry=registry)
    items = [1, 2, 3]
    g.set_function(lambda: len(items))
    assert value(registry, "queue") == 3.0
    items.append(4)
    assert value(registry, "queue") == 4.0
    with pytest.raises(TypeError):
        g.set_function(42)


def test_track_inprogress_and_gauge_time(registry):
    g = Gauge("busy", "B.", registry=registry)
    with g.track_inprogress():
        assert value(registry, "busy") == 1.0
    assert value(registry, "busy") == 0.0

    @g.track_inprogress()
    def work():
        return value(registry, "busy")

    assert work() == 1.0
    d = Gauge("last_duration", "D.", registry=registry)
    with d.time():
        time.sleep(0.02)
    assert 0.015 < value(registry, "last_duration") < 1.0


def test_histogram_buckets_and_observe(registry):
    h = Histogram("h", "H.", buckets=[1, 2, float("inf")], registry=registry)
    for v in (0.5, 1, 1.5, 3):
        h.observe(v)
    assert value(registry, "h_bucket", le="1.0") == 2.0
    assert value(registry, "h_bucket", le="2.0") == 3.0
    assert value(registry, "h_bucket", le="+Inf") == 4.0
    assert value(registry, "h_count") == 4.0
    assert value(registry, "h_sum") == 6.0
    with pytest.raises(ValueError, match="sorted"):
        Histogram("h2", "H.", buckets=[2, 1], registry=registry)
    with pytest.raises(ValueError, match="at least two"):
        Histogram("h3", "H.", buckets=[float("inf")], registry=registry)


def test_histogram_default_buckets_are_prometheus_clients(registry):
    prometheus_client = pytest.importorskip("prometheus_client")
    assert Histogram.DEFAULT_BUCKETS == prometheus_client.Histogram.DEFAULT_BUCKETS
    h = Histogram("defaults_seconds", "D.", registry=registry)
    h.observe(0.6)
    for bound, count in ((0.5, 0.0), (0.75, 1.0), (7.5, 1.0), (float("inf"), 1.0)):
        assert registry.get_sample_value(
            "defaults_seconds_bucket", {"le": "+Inf" if bound == float("inf") else str(bound)}
        ) == count


def test_time_as_context_manager_and_decorator(registry):
    h = Histogram("t", "T.", ["op"], registry=registry)
    with h.labels("ctx").time():
        time.sleep(0.02)

    @h.labels("deco").time()
    def f(x):
        time.sleep(0.01)
        return x * 2

    assert f(2) == 4
    assert f(3) == 6
    assert value(registry, "t_count", op="ctx") == 1.0
    assert 0.015 < value(registry, "t_sum", op="ctx") < 1.0
    assert value(registry, "t_count", op="deco") == 2.0
    assert f.__name__ == "f"

    s = Summary("s", "S.", registry=registry)

    @s.time()
    async def co():
        await asyncio.sleep(0.01)
        return "done"

    assert asyncio.run(co()) == "done"
    assert value(registry, "s_count") == 1.0


def test_count_exceptions(registry):
    c = Counter("failures", "F.", registry=registry)
    with pytest.raises(KeyError), c.count_exceptions():
        raise KeyError("x")
    with c.count_exceptions():
        pass
    with pytest.raises(TypeError), c.count_exceptions(ValueError):
        raise TypeError("not counted")

    @c.count_exceptions((ValueError, KeyError))
    def bad():
        raise ValueError("counted")

    with pytest.raises(ValueError):
        bad()
    assert value(registry, "failures_total") == 2.0


def test_summary(registry):
    s = Summary("payload_bytes", "P.", registry=registry)
    s.observe(10)
    s.observe(30)
    assert value(registry, "payload_bytes_count") == 2.0
    assert value(registry, "payload_bytes_sum") == 40.0


def test_info_and_enum(registry):
    i = Info("build", "B.", registry=registry)
    i.info({"version": "1.2", "commit": "abc"})
    assert value(registry, "build_info", version="1.2", commit="abc") == 1.0
    with pytest.raises(ValueError, match="Overlapping"):
        Info("build2", "B.", ["version"], registry=registry).labels("x").info({"version": "1"})
    e = Enum("phase", "P.", states=["idle", "running"], registry=registry)
    assert value(registry, "phase", phase="idle") == 1.0
    e.state("running")
    assert value(registry, "phase", phase="idle") == 0.0
    assert value(registry, "phase", phase="running") == 1.0
    with pytest.raises(ValueError):
        e.state("unknown")
    assert value(registry, "phase", phase="running") == 1.0, "a bad state changes nothing"
    with pytest.raises(ValueError, match="No states"):
        Enum("empty", "E.", states=[], registry=registry)


def test_register_and_unregister(registry):
    c = Counter("loose", "L.", registry=None)
    c.inc()
    assert value(registry, "loose_total") is None
    registry.register(c)
    assert value(registry, "loose_total") == 1.0
    registry.unregister(c)
    assert value(registry, "loose_total") is None
    with pytest.raises(KeyError):
        registry.unregister(c)


def test_default_registry_is_used_when_none_given():
    c = Counter("footmetrics_test_default_registry", "D.")
    c.inc()
    assert REGISTRY.get_sample_value("footmetrics_test_default_registry_total") == 1.0
    assert b"footmetrics_test_default_registry_total 1" in generate_latest()
    REGISTRY.unregister(c)


def test_collect_shapes_families_like_prometheus_client(registry):
    Counter("c", "C.", ["a"], registry=registry).labels("x").inc()
    fams = {m.name: m for m in registry.collect()}
    c = fams["c"]
    assert (c.type, c.documentation) == ("counter", "C.")
    names = [s.name for s in c.samples]
    assert names == ["c_total", "c_created"]
    assert c.samples[0].labels == {"a": "x"} and c.samples[0].value == 1.0


def test_exact_counts_under_threads(registry):
    c = Counter("threaded", "T.", ["worker"], registry=registry)
    h = Histogram("threaded_seconds", "T.", registry=registry)

    def work(i):
        child = c.labels(str(i % 2))
        for _ in range(20_000):
            child.inc()
            h.observe(0.001)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert value(registry, "threaded_total", worker="0") == 40_000
    assert value(registry, "threaded_total", worker="1") == 40_000
    assert value(registry, "threaded_seconds_count") == 80_000


def test_exemplars_show_in_openmetrics(registry):
    from footmetrics.openmetrics.exposition import generate_latest as om

    h = Histogram("traced_seconds", "T.", buckets=[0.1, 1], registry=registry)
    h.observe(0.05, {"trace_id": "abc123"})
    Counter("traced", "T.", registry=registry).inc(1, exemplar={"trace_id": "def"})
    text = om(registry).decode()
    assert '# {trace_id="abc123"} 0.05' in text
    assert '# {trace_id="def"} 1' in text
    with pytest.raises(ValueError):
        h.observe(0.05, {"trace_id": "x" * 200})
    assert math.isclose(value(registry, "traced_seconds_sum"), 0.05)
