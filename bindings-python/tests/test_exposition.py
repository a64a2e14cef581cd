"""Exposition checked by real parsers, and a differential run against prometheus_client."""

import shutil
import subprocess

import pytest

import footmetrics
import footmetrics.openmetrics.exposition as fm_om

prometheus_client = pytest.importorskip("prometheus_client")
from prometheus_client.openmetrics import exposition as pc_om  # noqa: E402
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families as text_parse  # noqa: E402


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


def canonical(labels):
    # `le` compared as a number: the classic format spells bounds "5" (as client_golang does)
    # where prometheus_client writes "5.0"; OpenMetrics output spells them identically.
    return tuple(sorted((k, float(v) if k == "le" else v) for k, v in labels.items()))


def families(parsed, drop_created=True):
    out = {}
    for f in parsed:
        samples = sorted(
            (s.name, canonical(s.labels), s.value)
            for s in f.samples
            if not (drop_created and s.name.endswith("_created"))
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


def test_openmetrics_matches_prometheus_client_family_by_family():
    theirs, ours = both("openmetrics")
    # `_created` values are timestamps of object creation: compare which series have one.
    t, o = families(om_parse(theirs)), families(om_parse(ours))
    assert o == t
    created = lambda text: sorted(
        (s.name, tuple(sorted(s.labels.items())))
        for f in om_parse(text) for s in f.samples if s.name.endswith("_created")
    )
    assert created(ours) == created(theirs)


def test_text_matches_prometheus_client_family_by_family():
    theirs, ours = both("text")
    # Known differences (open work on the issue): prometheus_client also writes `_created` as
    # separate gauge families in the classic format, and spells `le="5.0"` (see `canonical`).
    t = {k: v for k, v in families(text_parse(theirs)).items() if not k.endswith("_created")}
    assert families(text_parse(ours)) == t


def test_strict_openmetrics_parser_accepts_everything():
    _, ours = both("openmetrics")
    assert ours.endswith("# EOF\n")
    assert len(list(om_parse(ours))) == 7


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is installed by make deps")
def test_promtool_check_metrics_accepts_text():
    _, ours = both("text")
    r = subprocess.run(["promtool", "check", "metrics"], input=ours.encode(), capture_output=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_seed_snippet_runs_with_only_the_import_changed():
    # MONITORING.md's ML pipeline snippet; `model.predict(batch)` stands in as a function.
    from footmetrics import Counter, Histogram, Gauge, start_http_server  # noqa: F401

    registry = footmetrics.REGISTRY
    inference_duration = Histogram(
        'ml_inference_duration_seconds',
        'ML model inference duration',
        ['model_version', 'batch_size', 'device']
    )
    model_accuracy = Gauge(
        'ml_model_accuracy_score',
        'ML model accuracy score',
        ['model_version', 'dataset']
    )
    gpu_memory_usage = Gauge(
        'gpu_memory_usage_bytes',
        'GPU memory usage in bytes',
        ['gpu_id', 'process']
    )
    with inference_duration.labels(
        model_version='v2',
        batch_size='32',
        device='cuda'
    ).time():
        result = sum(range(1000))
    model_accuracy.labels(model_version='v2', dataset='validation').set(0.87)
    gpu_memory_usage.labels(gpu_id='0', process='trainer').set(2**30)
    assert result == 499500
    labels = {"model_version": "v2", "batch_size": "32", "device": "cuda"}
    assert registry.get_sample_value("ml_inference_duration_seconds_count", labels) == 1.0
    assert registry.get_sample_value(
        "ml_model_accuracy_score", {"model_version": "v2", "dataset": "validation"}) == 0.87
    for m in (inference_duration, model_accuracy, gpu_memory_usage):
        registry.unregister(m)
