"""Custom collectors, the *MetricFamily classes, and the default process/platform/GC ones."""

import gc
import os
import platform
import sys

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse

import footmetrics
import footmetrics.validation
from footmetrics.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
)
from footmetrics.openmetrics.exposition import generate_latest as generate_openmetrics
from footmetrics.registry import Collector


class Queue(Collector):
    def __init__(self):
        self.depth = 0

    def collect(self):
        g = GaugeMetricFamily("queue_depth", "Depth.", labels=["queue"])
        g.add_metric(["video"], self.depth)
        yield g

    def describe(self):
        return [GaugeMetricFamily("queue_depth", "Depth.")]


def test_a_custom_collector_is_called_at_each_scrape(registry):
    q = Queue()
    registry.register(q)
    q.depth = 3
    assert registry.get_sample_value("queue_depth", {"queue": "video"}) == 3
    q.depth = 5
    assert b'queue_depth{queue="video"} 5' in footmetrics.generate_latest(registry)
    [metric] = [m for m in registry.collect() if m.name == "queue_depth"]
    assert metric.type == "gauge" and metric.samples[0].value == 5
    registry.unregister(q)
    assert registry.get_sample_value("queue_depth", {"queue": "video"}) is None
    with pytest.raises(KeyError):
        registry.unregister(q)


def test_describe_guards_against_duplicates(registry):
    footmetrics.Gauge("queue_depth", "Taken.", registry=registry)
    with pytest.raises(ValueError, match="Duplicated"):
        registry.register(Queue())


def test_auto_describe_uses_collect():
    class Undescribed:
        def collect(self):
            return [CounterMetricFamily("pulls", "Pulls.", value=1)]

    auto = footmetrics.CollectorRegistry(auto_describe=True)
    auto.register(Undescribed())
    with pytest.raises(ValueError):
        auto.register(Undescribed())
    plain = footmetrics.CollectorRegistry()
    plain.register(Undescribed())
    plain.register(Undescribed())  # not described: not checked, as in prometheus_client


def test_objects_without_collect_are_type_errors(registry):
    with pytest.raises(TypeError):
        registry.register(object())


def test_a_failing_collector_fails_generate_latest_but_only_its_families_in_a_scrape(
        registry, monkeypatch):
    class Broken:
        def collect(self):
            raise RuntimeError("backend down")

    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    footmetrics.Counter("still_here", "S.", registry=registry).inc()
    registry.register(Broken())
    # generate_latest raises the collector's error, as prometheus_client's does...
    with pytest.raises(RuntimeError, match="backend down"):
        footmetrics.generate_latest(registry)
    assert reported == []
    # ...while a lookup reports it as unraisable and keeps the other families.
    assert registry.get_sample_value("still_here_total") == 1.0
    assert [type(u.exc_value) for u in reported] == [RuntimeError]


def test_a_sample_that_is_no_number_raises_tagged_with_its_family(registry):
    family = GaugeMetricFamily("g", "G.", labels=["a"])
    family.add_metric(["x"], None)

    class One:
        def collect(self):
            return [family]

    registry.register(One())
    with pytest.raises(TypeError) as raised:
        footmetrics.generate_latest(registry)
    assert raised.value.args[-1] is family
    h = GaugeHistogramMetricFamily("gh", "H.", buckets=[("1.0", 0), (None, 1)], gsum_value=1)
    r2 = footmetrics.CollectorRegistry()
    r2.register(type("C", (), {"collect": lambda self: [h]})())
    with pytest.raises(AttributeError):
        footmetrics.generate_latest(r2)


def test_metric_families_in_openmetrics(registry):
    class Everything:
        def collect(self):
            c = CounterMetricFamily("jobs", "Jobs.", labels=["q"], unit="")
            c.add_metric(["a"], 2, created=1.5e9, timestamp=1.7e9,
                         exemplar=footmetrics.Exemplar({"trace_id": "abc"}, 0.5, 1.6e9))
            yield c
            yield HistogramMetricFamily("lat_seconds", "Lat.", buckets=[("0.5", 1), ("+Inf", 2)],
                                        sum_value=3, unit="seconds")
            yield InfoMetricFamily("build", "Build.", value={"version": "1"})

    registry.register(Everything())
    text = generate_openmetrics(registry).decode()
    families = {f.name: f for f in om_parse(text)}
    jobs = families["jobs"].samples
    assert jobs[0].name == "jobs_total" and jobs[0].value == 2
    assert jobs[0].exemplar.labels == {"trace_id": "abc"} and float(jobs[0].timestamp) == 1.7e9
    assert families["lat_seconds"].unit == "seconds"
    assert [s.labels["le"] for s in families["lat_seconds"].samples[:2]] == ["0.5", "+Inf"]
    assert families["build"].samples[0].labels == {"version": "1"}


def test_metric_family_arguments_are_checked():
    with pytest.raises(ValueError, match="at most one"):
        GaugeMetricFamily("g", "G.", value=1, labels=["a"])
    g = GaugeMetricFamily("g", "G.", labels=["a", "b"])
    with pytest.raises(ValueError):
        g.add_metric(["only-one"], 1)
    with pytest.raises(ValueError, match="cannot be empty"):
        GaugeMetricFamily("", "G.")
    # UTF-8 names are accepted, unless legacy validation is on.
    assert GaugeMetricFamily("bad-name", "G.").name == "bad-name"
    footmetrics.validation.enable_legacy_validation()
    try:
        with pytest.raises(ValueError, match="invalid metric name"):
            GaugeMetricFamily("bad-name", "G.")
    finally:
        footmetrics.validation.disable_legacy_validation()
    with pytest.raises(ValueError, match="Invalid metric type"):
        footmetrics.Metric("m", "M.", "nonsense")


def test_default_registry_has_process_platform_and_gc():
    text = footmetrics.generate_latest().decode()
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes",
                 "process_open_fds", "python_info{", "python_gc_objects_collected_total{"):
        assert name in text, name
    r = footmetrics.REGISTRY
    labels = {"implementation": platform.python_implementation(),
              "major": platform.python_version_tuple()[0],
              "minor": platform.python_version_tuple()[1],
              "patchlevel": platform.python_version_tuple()[2],
              "version": platform.python_version()}
    assert r.get_sample_value("python_info", labels) == 1
    before = r.get_sample_value("python_gc_collections_total", {"generation": "0"})
    gc.collect(0)
    assert r.get_sample_value("python_gc_collections_total", {"generation": "0"}) > before


def test_default_collectors_can_be_unregistered_and_added_elsewhere():
    r = footmetrics.REGISTRY
    r.unregister(footmetrics.PROCESS_COLLECTOR)
    try:
        assert r.get_sample_value("process_open_fds") is None
    finally:
        r.register(footmetrics.PROCESS_COLLECTOR)
    assert r.get_sample_value("process_open_fds") > 0

    own = footmetrics.CollectorRegistry()
    footmetrics.ProcessCollector(namespace="worker", registry=own)
    footmetrics.PlatformCollector(registry=own)
    assert own.get_sample_value("worker_process_open_fds") > 0
    assert own.get_sample_value("process_open_fds") is None


def fake_proc(root):
    """A /proc tree: boot time 1000, process 7 with stat, limits and 3 fds, process 8 with
    only a stat (its command name holds spaces and parentheses)."""
    (root / "7" / "fd").mkdir(parents=True)
    (root / "8").mkdir()
    (root / "stat").write_text("cpu  1 2 3 4\nbtime 1000\nprocesses 9\n")
    # utime 300, stime 45 ticks; 2 threads; started 250 ticks after boot; 1 MiB virtual,
    # 10 pages resident.
    fields = "R 1 1 1 0 1 0 0 0 0 0 300 45 0 0 20 0 2 0 250 1048576 10 0 0"
    (root / "7" / "stat").write_text(f"7 (worker) {fields}\n")
    (root / "8" / "stat").write_text(f"8 ((a b ) ( c d) ) {fields}\n")
    (root / "7" / "limits").write_text(
        "Limit                     Soft Limit           Hard Limit           Units\n"
        "Max cpu time              unlimited            unlimited            seconds\n"
        "Max open files            1024                 4096                 files\n")
    for fd in range(3):
        (root / "7" / "fd" / str(fd)).write_text("")


def test_process_collector_reads_any_pid_of_any_proc_tree(tmp_path):
    fake_proc(tmp_path)
    r = footmetrics.CollectorRegistry()
    pids = ["7"]
    c = footmetrics.ProcessCollector(namespace="n", pid=lambda: pids[0], proc=tmp_path,
                                     registry=r)
    c._ticks = 50
    c._pagesize = 1000
    assert (c._ticks, c._pagesize) == (50, 1000)
    get = r.get_sample_value
    assert get("n_process_cpu_seconds_total") == 345 / 50
    assert get("n_process_virtual_memory_bytes") == 1048576
    assert get("n_process_resident_memory_bytes") == 10 * 1000
    assert get("n_process_start_time_seconds") == 1000 + 250 / 50
    assert get("n_process_threads") == 2
    assert (get("n_process_open_fds"), get("n_process_max_fds")) == (3, 1024)
    assert get("process_cpu_seconds_total") is None

    # pid() is asked at every scrape and stripped; no limits: no fd families.
    pids[0] = 8
    assert get("n_process_cpu_seconds_total") == 345 / 50
    assert get("n_process_open_fds") is None and get("n_process_max_fds") is None
    pids[0] = "7\n"
    assert get("n_process_open_fds") == 3
    # A process that is not there, or a pid leaving the tree: nothing.
    for missing in (123, "../7", ""):
        pids[0] = missing
        assert [m.name for m in c.collect()] == [], missing
    # Without a boot time the tree is no /proc: nothing at all.
    (tmp_path / "stat").write_text("cpu  1 2 3 4\n")
    pids[0] = 7
    assert c.collect() == []


def test_process_collector_reads_this_process_by_number():
    r = footmetrics.CollectorRegistry()
    footmetrics.ProcessCollector(pid=os.getpid, proc="/proc", registry=r)
    assert r.get_sample_value("process_open_fds") > 0
    assert r.get_sample_value("process_resident_memory_bytes") > 1e6


class JythonPlatform:
    """The ``platform`` module as Jython's would answer."""

    def __init__(self, system):
        self._system = system

    def python_version_tuple(self):
        return "2", "7", "3"

    def python_version(self):
        return "2.7.3"

    def python_implementation(self):
        return "Jython"

    def system(self):
        return self._system

    def java_ver(self):
        return ("21.0.2", "Eclipse Adoptium", ("OpenJDK 64-Bit Server VM", "21.0.2+13", "Eclipse"),
                ("Linux", "6.1", "amd64"))


def test_platform_collector_adds_the_jvm_on_jython():
    r = footmetrics.CollectorRegistry()
    footmetrics.PlatformCollector(registry=r, platform=JythonPlatform("Java"))
    base = {"implementation": "Jython", "major": "2", "minor": "7", "patchlevel": "3",
            "version": "2.7.3"}
    jvm = {"jvm_version": "21.0.2", "jvm_release": "21.0.2+13", "jvm_vendor": "Eclipse",
           "jvm_name": "OpenJDK 64-Bit Server VM"}
    assert r.get_sample_value("python_info", {**base, **jvm}) == 1
    other = footmetrics.CollectorRegistry()
    footmetrics.PlatformCollector(registry=other, platform=JythonPlatform("Linux"))
    assert other.get_sample_value("python_info", base) == 1
    assert other.get_sample_value("python_info", {**base, **jvm}) is None
