"""CollectorRegistry beyond register/collect: restricted views, target info and collectors
without names, each checked against prometheus_client."""

import threading

import prometheus_client
import prometheus_client.core
import pytest

import footmetrics
import footmetrics.core
from footmetrics import CollectorRegistry, Counter, Gauge, GaugeMetricFamily, Info, Summary


def samples(registry):
    return [(m.name, m.type, [(s.name, s.labels, s.value) for s in m.samples])
            for m in registry.collect()]


@pytest.mark.parametrize("lib", [footmetrics, prometheus_client])
def test_restricted_registry_keeps_only_named_samples(lib):
    registry = lib.CollectorRegistry()
    lib.Counter("c_total", "help", registry=registry)
    view = registry.restricted_registry(["s_sum", "g"])
    # Metrics registered after the view was made are seen by it.
    lib.Summary("s", "help", registry=registry).observe(7)
    lib.Gauge("g", "help", ["a"], registry=registry).labels("x").set(2)
    got = sorted(samples(view))
    assert got == [("g", "gauge", [("g", {"a": "x"}, 2.0)]),
                   ("s", "summary", [("s_sum", {}, 7.0)])]


def test_restricted_registry_renders_and_refuses_registration(registry):
    Gauge("g", "help", registry=registry).set(3)
    Gauge("other", "help", registry=registry).set(1)
    view = registry.restricted_registry(["g"])
    text = footmetrics.generate_latest(view).decode()
    assert "\ng 3" in text
    assert "other" not in text
    with pytest.raises(TypeError):
        Gauge("h", "help", registry=view)


def test_restricted_registry_includes_function_gauges(registry):
    Gauge("f", "help", registry=registry).set_function(lambda: 5)
    assert samples(registry.restricted_registry(["f"])) == [("f", "gauge", [("f", {}, 5.0)])]


@pytest.mark.parametrize("lib", [footmetrics, prometheus_client])
@pytest.mark.parametrize("support", [False, True])
def test_collectors_without_names_in_restricted_registries(lib, support):
    calls = []

    class Nameless:
        def collect(self):
            calls.append(1)
            return [lib.core.GaugeMetricFamily("foo", "help", value=42)]

    registry = lib.CollectorRegistry(support_collectors_without_names=support)
    nameless = Nameless()
    registry.register(nameless)
    got = samples(registry.restricted_registry(["foo"]))
    assert got == ([("foo", "gauge", [("foo", {}, 42.0)])] if support else [])
    assert len(calls) == int(support)
    registry.unregister(nameless)
    assert samples(registry.restricted_registry(["foo"])) == []
    assert len(calls) == int(support)


@pytest.mark.parametrize("lib", [footmetrics, prometheus_client])
def test_target_info(lib):
    registry = lib.CollectorRegistry(target_info={"foo": "bar"})
    assert registry.get_target_info() == {"foo": "bar"}
    lib.Gauge("g", "help", registry=registry)
    assert samples(registry)[0] == ("target", "info", [("target_info", {"foo": "bar"}, 1.0)])
    assert samples(registry.restricted_registry(["target_info"])) == [
        ("target", "info", [("target_info", {"foo": "bar"}, 1.0)])]
    with pytest.raises(ValueError):
        lib.Info("target", "help", registry=registry)
    registry.set_target_info({"foo": "baz"})
    assert registry.get_sample_value("target_info", {"foo": "baz"}) == 1.0
    registry.set_target_info({})
    assert not registry.get_target_info()
    info = lib.Info("target", "help", registry=registry)
    with pytest.raises(ValueError):
        registry.set_target_info({"foo": "bar"})
    registry.unregister(info)
    registry.set_target_info({"foo": "bar"})
    assert registry.get_sample_value("target_info", {"foo": "bar"}) == 1.0


def test_target_info_is_rendered_first():
    registry = CollectorRegistry(target_info={"foo": "bar"})
    Counter("c", "help", registry=registry)
    text = footmetrics.generate_latest(registry).decode()
    assert text.startswith('# HELP target_info Target metadata\n# TYPE target_info gauge\n'
                           'target_info{foo="bar"} 1')


def test_lock_is_not_held_while_the_caller_iterates(registry):
    Summary("s", "help", registry=registry).observe(1)
    assert not registry._lock.locked()
    for _ in registry.restricted_registry(["s_sum"]).collect():
        assert not registry._lock.locked()
    # A registration from another thread while iterating does not deadlock.
    for _ in registry.collect():
        t = threading.Thread(target=Info, args=("i", "help"), kwargs={"registry": registry})
        t.start()
        t.join(5)
        assert not t.is_alive()


def test_nameless_family_from_custom_collector_has_names(registry):
    class Described:
        def describe(self):
            return [GaugeMetricFamily("d", "help")]

        def collect(self):
            return [GaugeMetricFamily("d", "help", value=1)]

    registry.register(Described())
    assert samples(registry.restricted_registry(["d"])) == [("d", "gauge", [("d", {}, 1.0)])]
