"""Exposition checked by real parsers, and a differential run against prometheus_client."""

import shutil
import subprocess
import time
from pathlib import Path

import pytest

import footmetrics
import footmetrics.core
import footmetrics.exposition
import footmetrics.openmetrics.exposition as fm_om

prometheus_client = pytest.importorskip("prometheus_client")
import prometheus_client.core
import prometheus_client.exposition
from prometheus_client.openmetrics import exposition as pc_om
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_string_to_metric_families as text_parse


def workload(lib, registry):
    """The same calls, against either library."""
    c = lib.Counter("http_requests_total", "HTTP requests.", ["method", "code"], registry=registry)
    c.labels("GET", "200").inc(3)
    c.labels(method="POST", code="500").inc()
    g = lib.Gauge("queue_length", "Queue.", ["queue"], registry=registry)
    g.labels("video").set(7)
    g.labels("audio").inc(2)
    g.labels("audio").dec(0.5)
    h = lib.Histogram("inference_seconds", "Inference.", ["model"], buckets=[0.1, 0.5, 1, 5],
                      registry=registry)
    for v in (0.05, 0.3, 0.3, 2, 7):
        h.labels("v2").observe(v)
    s = lib.Summary("payload_bytes", "Payload.", registry=registry)
    s.observe(512)
    s.observe(1024)
    lib.Info("build", "Build.", registry=registry).info({"version": "1.2.3"})
    e = lib.Enum("phase", "Phase.", states=["idle", "busy"], registry=registry)
    e.state("busy")
    lib.Gauge("temperature_celsius", "Temp.", unit="celsius", registry=registry).set(21.5)
    registry.register(CustomCollector(lib.core))


class CustomCollector:
    """A custom collector using every ``*MetricFamily`` class."""

    def __init__(self, core):
        self.core = core

    def collect(self):
        core = self.core
        c = core.CounterMetricFamily("jobs_total", "Jobs.", labels=["queue"])
        c.add_metric(["a"], 4, created=1700000000.0)
        c.add_metric(["b"], 1.5)
        yield c
        yield core.GaugeMetricFamily("workers", "Workers.", value=3)
        yield core.SummaryMetricFamily("batch_seconds", "Batch.", count_value=2, sum_value=0.5)
        h = core.HistogramMetricFamily("size_bytes", "Size.", labels=["kind"], unit="bytes")
        h.add_metric(["img"], [("1.0", 1), ("10.0", 3), ("+Inf", 4)], sum_value=25)
        yield h
        yield core.GaugeHistogramMetricFamily("age_seconds", "Age.", buckets=[("1.0", 2), ("+Inf", 5)],
                                              gsum_value=9)
        yield core.InfoMetricFamily("runtime", "Runtime.", value={"name": "py"})
        yield core.StateSetMetricFamily("mode", "Mode.", value={"on": True, "off": False})
        yield core.UnknownMetricFamily("mystery", "Unknown.", value=42)


def families(parsed):
    """Each family's type, help, unit and samples. `_created` values are the creation times of
    objects made at different instants, so only their presence and labels are compared."""
    out = {}
    for f in parsed:
        samples = sorted(
            (s.name, tuple(sorted(s.labels.items())),
             None if s.name.endswith("_created") and s.value > 1e9 else s.value)
            for s in f.samples
        )
        out[f.name] = (f.type, f.documentation, f.unit, samples)
    return out


def both(fmt):
    pc_reg = prometheus_client.CollectorRegistry()
    workload(prometheus_client, pc_reg)
    fm_reg = footmetrics.CollectorRegistry()
    workload(footmetrics, fm_reg)
    if fmt == "openmetrics":
        return pc_om.generate_latest(pc_reg).decode(), fm_om.generate_latest(fm_reg).decode()
    return prometheus_client.generate_latest(pc_reg).decode(), footmetrics.generate_latest(fm_reg).decode()


@pytest.fixture
def fixed_time(monkeypatch):
    """Both libraries read `time.time()` for `_created`: the same instant for both."""
    monkeypatch.setattr(time, "time", lambda: 123.456)


ESCAPINGS = ["underscores", "allow-utf-8", "dots", "values"]


@pytest.mark.parametrize("escaping", ESCAPINGS)
def test_text_is_byte_identical_to_prometheus_client(fixed_time, escaping):
    pc_reg, fm_reg = prometheus_client.CollectorRegistry(), footmetrics.CollectorRegistry()
    workload(prometheus_client, pc_reg)
    workload(footmetrics, fm_reg)
    ours = footmetrics.generate_latest(fm_reg, escaping)
    assert ours == prometheus_client.generate_latest(pc_reg, escaping)
    assert b" 2.0\n" in ours and b'le="5.0"' in ours and b"_created 123.456\n" in ours


@pytest.mark.parametrize("escaping", ESCAPINGS)
def test_openmetrics_is_byte_identical_to_prometheus_client(fixed_time, escaping):
    pc_reg, fm_reg = prometheus_client.CollectorRegistry(), footmetrics.CollectorRegistry()
    workload(prometheus_client, pc_reg)
    workload(footmetrics, fm_reg)
    ours = fm_om.generate_latest(fm_reg, escaping=escaping, version="1.0.0")
    assert ours == pc_om.generate_latest(pc_reg, escaping=escaping, version="1.0.0")


def utf8_workload(lib, registry):
    """Names prometheus_client 0.26 accepts beyond the legacy set, values in every spelling."""
    c = lib.Counter("dotted.counter", "A \"dotted\" one.\\", ["my.label", "b"], registry=registry)
    c.labels("x\ny", 'q"').inc(2)
    lib.Counter("bad-name", "Dash.", registry=registry).inc()
    g = lib.Gauge("values_g", "Values.", ["z", "a", "m"], registry=registry)
    for i, v in enumerate((-0.0, 1e6, 1234567.0, 1e16, 1.5e-7, 0.0001, -1e6, 123456.7,
                           float("inf"), float("-inf"), float("nan"), 17)):
        g.labels(str(i), "\u4500", "m").set(v)
    h = lib.Histogram("h.seconds", "H.", buckets=[0.5, 1e6, 2.5e7], registry=registry)
    h.observe(3e6)


@pytest.mark.parametrize("escaping", ESCAPINGS)
def test_utf8_names_and_values_are_byte_identical(fixed_time, escaping):
    pc_reg, fm_reg = prometheus_client.CollectorRegistry(), footmetrics.CollectorRegistry()
    utf8_workload(prometheus_client, pc_reg)
    utf8_workload(footmetrics, fm_reg)
    assert footmetrics.generate_latest(fm_reg, escaping) == prometheus_client.generate_latest(
        pc_reg, escaping)
    assert fm_om.generate_latest(fm_reg, escaping) == pc_om.generate_latest(pc_reg, escaping)


@pytest.mark.parametrize("accept", [
    None, "", "text/plain", "text/plain; version=0.0.4", "text/plain; version=1.0.0",
    "text/plain; version=1.0.0; escaping=allow-utf-8", "text/plain; version=1.0.0; escaping=dots",
    "text/plain; version=2.0.0; escaping=values", "text/plain; escaping=allow-utf-8",
    "application/openmetrics-text", "application/openmetrics-text; version=0.0.1",
    "application/openmetrics-text; version=1.0.0; escaping=allow-utf-8",
    "application/openmetrics-text; version=1.0.0; escaping=bogus",
    "application/openmetrics-text; charset=utf-8; escaping=allow-utf-8",
    "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4",
    "text/html, */*",
])
def test_choose_encoder_matches_prometheus_client(fixed_time, accept):
    pc_reg, fm_reg = prometheus_client.CollectorRegistry(), footmetrics.CollectorRegistry()
    utf8_workload(prometheus_client, pc_reg)
    utf8_workload(footmetrics, fm_reg)
    pc_render, pc_type = prometheus_client.exposition.choose_encoder(accept)
    fm_render, fm_type = footmetrics.exposition.choose_encoder(accept)
    assert fm_type == pc_type
    assert fm_render(fm_reg) == pc_render(pc_reg)
    _, headers, body = footmetrics.exposition._bake_output(fm_reg, accept, None, None, False)
    assert headers == [("Content-Type", pc_type)] and body == pc_render(pc_reg)


def test_openmetrics_matches_prometheus_client_family_by_family():
    theirs, ours = both("openmetrics")
    assert families(om_parse(ours)) == families(om_parse(theirs))


def test_text_matches_prometheus_client_family_by_family():
    theirs, ours = both("text")
    # Including the `_created`, `_gcount` and `_gsum` gauge families and `le="5.0"`.
    assert families(text_parse(ours)) == families(text_parse(theirs))


def test_strict_openmetrics_parser_accepts_everything():
    _, ours = both("openmetrics")
    assert ours.endswith("# EOF\n")
    assert len(list(om_parse(ours))) == 15


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is installed by make deps")
def test_promtool_check_metrics_accepts_text():
    _, ours = both("text")
    r = subprocess.run(["promtool", "check", "metrics"], input=ours.encode(), capture_output=True,
                       check=False)
    assert r.returncode == 0, r.stdout + r.stderr


SEED_SNIPPET = Path(__file__).resolve().parents[2] / "examples" / "platform-snippets" / "ml_pipeline.py"


class _Model:
    """Stands in for the snippet's `model`: a prediction the test can check."""

    def predict(self, batch):
        return sum(batch)


def test_seed_snippet_runs_with_only_the_import_changed():
    # The platform document's ML pipeline snippet, verbatim after the fixture's provenance note.
    _, snippet = SEED_SNIPPET.read_text().split("---- verbatim below ----\n")
    assert "from prometheus_client import" in snippet
    changed = snippet.replace("from prometheus_client import", "from footmetrics import")
    namespace = {"model": _Model(), "batch": list(range(1000))}
    exec(compile(changed, str(SEED_SNIPPET), "exec"), namespace)
    registry = footmetrics.REGISTRY
    try:
        assert namespace["result"] == 499500
        labels = {"model_version": "v2", "batch_size": "32", "device": "cuda"}
        assert registry.get_sample_value("ml_inference_duration_seconds_count", labels) == 1.0
        assert registry.get_sample_value(
            "ml_model_accuracy_score", {"model_version": "v2", "dataset": "validation"}) == 0.87
        assert "ml_model_accuracy_score" in footmetrics.generate_latest().decode()
    finally:
        for name in ("inference_duration", "model_accuracy", "gpu_memory_usage"):
            registry.unregister(namespace[name])


def test_exemplars_are_byte_identical_in_openmetrics(fixed_time):
    def exemplars(lib, registry):
        c = lib.Counter("hits", "Hits.", ["path"], registry=registry)
        c.labels("/").inc(2, exemplar={"trace_id": "abc", "a": 'q"\n'})
        h = lib.Histogram("lat", "Lat.", buckets=[0.5, 1], registry=registry)
        h.observe(0.7, exemplar={"trace_id": "def"})
        # UTF-8 exemplar label names, as prometheus_client 0.26 accepts them.
        h.observe(0.2, exemplar={":o)": "smile", "1": "number"})

    pc_reg, fm_reg = prometheus_client.CollectorRegistry(), footmetrics.CollectorRegistry()
    exemplars(prometheus_client, pc_reg)
    exemplars(footmetrics, fm_reg)
    ours = fm_om.generate_latest(fm_reg)
    assert ours == pc_om.generate_latest(pc_reg)
    assert b' # {a="q\\"\\n",trace_id="abc"} 2.0 123.456\n' in ours
    assert footmetrics.generate_latest(fm_reg) == prometheus_client.generate_latest(pc_reg)
