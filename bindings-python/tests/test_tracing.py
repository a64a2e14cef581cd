"""Exemplars from OpenTelemetry traces: a timer that runs inside an active, sampled span links
its observation to that span (in OpenMetrics and in OTLP exports)."""

import asyncio

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from footmetrics import CollectorRegistry, Histogram
from footmetrics.openmetrics.exposition import generate_latest as generate_latest_openmetrics
from footmetrics.otlp import start_otlp_exporter
from servers import OtlpSink

tracer = TracerProvider().get_tracer("footmetrics-tests")


def exemplars(registry, name):
    """(trace_id, span_id) of every exemplar of histogram `name`, read by the strict parser."""
    text = generate_latest_openmetrics(registry).decode()
    out = []
    for family in text_string_to_metric_families(text):
        if family.name == name:
            out += [(s.exemplar.labels["trace_id"], s.exemplar.labels["span_id"])
                    for s in family.samples if s.exemplar]
    return out


def ids(span):
    c = span.get_span_context()
    return (f"{c.trace_id:032x}", f"{c.span_id:016x}")


def test_timer_inside_a_span_carries_its_trace():
    r = CollectorRegistry()
    h = Histogram("inference_seconds", "Inference.", registry=r)
    with tracer.start_as_current_span("infer") as span, h.time():
        pass
    assert exemplars(r, "inference_seconds") == [ids(span)]


def test_decorated_coroutine_inside_a_span():
    r = CollectorRegistry()
    h = Histogram("batch_seconds", "Batch.", registry=r)

    @h.time()
    async def step():
        await asyncio.sleep(0)

    async def main():
        with tracer.start_as_current_span("batch") as span:
            await step()
        return span

    span = asyncio.run(main())
    assert exemplars(r, "batch_seconds") == [ids(span)]


def test_no_span_or_an_unsampled_one_leaves_no_exemplar():
    r = CollectorRegistry()
    h = Histogram("plain_seconds", "Plain.", registry=r)
    with h.time():
        pass
    unsampled = TracerProvider(sampler=ALWAYS_OFF).get_tracer("off")
    with unsampled.start_as_current_span("dropped"), h.time():
        pass
    assert exemplars(r, "plain_seconds") == []
    assert r.get_sample_value("plain_seconds_count") == 2  # both were observed


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_span_exemplars_reach_the_collector(protocol):
    sink = OtlpSink()
    try:
        r = CollectorRegistry()
        h = Histogram("upload_seconds", "Upload.", registry=r)
        with tracer.start_as_current_span("upload") as span, h.time():
            pass
        e = start_otlp_exporter(sink.endpoint(protocol), 3600, registry=r, protocol=protocol)
        assert e.force_flush(10)
        e.shutdown()
        p = [p for p in sink.received()["points"] if p["name"] == "upload_seconds"][-1]
        [ex] = p["exemplars"]
        assert (ex["trace_id"], ex["span_id"]) == ids(span)
        assert 0 <= ex["value"] < 1
    finally:
        sink.stop()
