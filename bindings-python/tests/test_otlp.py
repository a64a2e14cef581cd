"""OTLP export from Python against the decoding test sink (`otlp-sink`)."""

import subprocess
import sys
import time

import pytest

import footmetrics
from footmetrics import CollectorRegistry, Counter, Gauge, Histogram
from footmetrics.otlp import start_otlp_exporter
from servers import OtlpSink, free_port


@pytest.fixture
def sink():
    s = OtlpSink()
    yield s
    s.stop()


def point(received, name, attributes):
    for p in reversed(received["points"]):
        if p["name"] == name and p["attributes"] == attributes:
            return p
    raise AssertionError(f"no {name} {attributes} in {received['points']}")


def wait(pred, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_export_is_exact(sink, protocol):
    r = CollectorRegistry()
    c = Counter("frames_processed", "Frames.", ["camera"], registry=r)
    c.labels("north").inc(41)
    c.labels("north").inc()
    Gauge("queue_depth", "Depth.", registry=r).set(3.5)
    h = Histogram("inference_seconds", "Latency.", buckets=[0.1, 1.0], registry=r)
    for v in (0.05, 0.5, 0.7, 2.0):
        h.observe(v)
    e = start_otlp_exporter(sink.endpoint(protocol), interval=3600, registry=r, protocol=protocol,
                            service_name="ml-pipeline",
                            resource_attributes={"deployment.environment": "test"})
    assert e.force_flush(10), e.stats()
    got = sink.received()
    frames = point(got, "frames_processed", {"camera": "north"})
    assert (frames["type"], frames["monotonic"], frames["value"]) == ("sum", True, 42.0)
    assert frames["temporality"] == "cumulative"
    assert frames["resource"]["service.name"] == "ml-pipeline"
    assert frames["resource"]["deployment.environment"] == "test"
    assert frames["resource"]["telemetry.sdk.language"] == "python"
    assert point(got, "queue_depth", {})["value"] == 3.5
    hist = point(got, "inference_seconds", {})
    assert hist["bounds"] == [0.1, 1.0]
    assert hist["bucket_counts"] == [1, 2, 1]
    assert (hist["count"], hist["sum"]) == (4, 3.25)
    assert e.stats()["exported_points"] > 0
    assert e.shutdown()


def test_shutdown_flushes_the_final_values(sink):
    r = CollectorRegistry()
    rows = Counter("batch_rows", "Rows.", registry=r)
    e = start_otlp_exporter(sink.endpoint("http"), 3600, registry=r)
    rows.inc(1234)
    assert e.shutdown(5)
    assert point(sink.received(), "batch_rows", {})["value"] == 1234.0
    assert not e.force_flush(0.1)


def test_collector_down_then_back(sink):
    http_port, grpc_port = free_port(), free_port()
    r = CollectorRegistry()
    work = Counter("work", "Work.", registry=r)
    e = start_otlp_exporter(f"127.0.0.1:{http_port}", 0.05, registry=r, timeout=0.3,
                            max_queue_batches=2)
    # The program keeps going while nothing can be delivered; a flush gives up on time.
    t = time.monotonic()
    assert not e.force_flush(0.5)
    assert time.monotonic() - t < 2
    for _ in range(50):
        work.inc(10)
        time.sleep(0.02)
    assert wait(lambda: e.stats()["dropped_points"] > 0, 10), e.stats()
    stats = e.stats()
    assert stats["queued_batches"] <= 2 and stats["failed_requests"] > 0
    assert "Connection refused" in stats["last_error"] or "connect" in stats["last_error"]
    text = footmetrics.generate_latest(r).decode()
    assert 'footmetrics_otlp_dropped_points_total{reason="queue_full"}' in text

    back = OtlpSink(http_port, grpc_port)
    try:
        assert wait(lambda: any(p["name"] == "work" and p["value"] == 500.0
                                for p in back.received()["points"]), 30), e.stats()
    finally:
        e.shutdown(1)
        back.stop()


def test_erroring_collector_counts_drops_and_recovers(sink):
    sink.behave(status=400)
    r = CollectorRegistry()
    Gauge("temperature_celsius", "T.", registry=r).set(21.5)
    e = start_otlp_exporter(sink.endpoint("http"), 3600, registry=r)
    assert not e.force_flush(10)
    assert sink.received()["refused"] == 1  # a 400 is not retried
    assert "400" in e.stats()["last_error"]
    text = footmetrics.generate_latest(r).decode()
    # The gauge, and the self-metrics' 4 + 1 + 1 + 1 points.
    assert 'footmetrics_otlp_dropped_points_total{reason="rejected"} 8.0\n' in text
    sink.behave(status=0)
    assert e.force_flush(10)
    assert point(sink.received(), "temperature_celsius", {})["value"] == 21.5
    e.shutdown()


def test_bad_arguments_are_clear_errors():
    r = CollectorRegistry()
    with pytest.raises(ValueError, match="protocol"):
        start_otlp_exporter("127.0.0.1:4318", registry=r, protocol="udp")
    with pytest.raises(ValueError, match="https://"):
        start_otlp_exporter("ftp://collector:4318", registry=r)
    with pytest.raises(ValueError, match="interval"):
        start_otlp_exporter("127.0.0.1:4318", 0, registry=r)
    with pytest.raises(TypeError, match="CollectorRegistry"):
        start_otlp_exporter("127.0.0.1:4318", registry=object())
    e = start_otlp_exporter("127.0.0.1:9", registry=r)
    with pytest.raises(RuntimeError, match="one exporter per registry"):
        start_otlp_exporter("127.0.0.1:9", registry=r)
    e.shutdown(0)


def test_interpreter_exit_sends_the_final_snapshot(sink):
    # Never shut down by the program: the package's atexit hook flushes it.
    script = (
        "import footmetrics\n"
        "from footmetrics.otlp import start_otlp_exporter\n"
        "r = footmetrics.CollectorRegistry()\n"
        "c = footmetrics.Counter('exit_jobs', 'Jobs.', registry=r)\n"
        f"start_otlp_exporter('{sink.endpoint('grpc')}', 3600, registry=r, protocol='grpc')\n"
        "c.inc(7)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=30)
    assert point(sink.received(), "exit_jobs", {})["value"] == 7.0
