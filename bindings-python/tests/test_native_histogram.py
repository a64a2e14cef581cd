"""Native (sparse, exponential) histograms: `Histogram(..., native_histogram_bucket_factor=...)`
with client_golang's options in Python naming. Checked against readers footmetrics did not
write: a real Prometheus 2.42 (`--enable-feature=native-histograms`) scraping
`start_http_server`, and Google's `protobuf` decoding the scrape against client_model's schema
(tests/client_model.py). Expected buckets are computed here from the definition (bucket k of
schema s holds |v| in (2^((k-1)/2^s), 2^(k/2^s)]), never read back from footmetrics."""

import asyncio
import collections
import math
import random
import time
import urllib.request

import pytest

import footmetrics
import footmetrics.multiprocess
import footmetrics.values
from client_model import (
    ACCEPT,
    CONTENT_TYPE,
    HISTOGRAM,
    labels,
    native_buckets,
    parse_delimited,
)
from footmetrics import CollectorRegistry, Counter, Histogram, generate_latest
from footmetrics.exposition import CONTENT_TYPE_PROTOBUF, make_asgi_app, make_wsgi_app

DEFAULT_ZERO_THRESHOLD = 2.0**-128


def schema_for(factor):
    """client_golang's schema for a bucket factor: the largest (at most 8) whose growth factor
    2^(2^-schema) does not exceed it."""
    return max(-4, min(8, -math.floor(math.log2(math.log2(factor)))))


def bucket_key(v, schema):
    """The index of the bucket holding |v| > 0, from the definition (exact for powers of two,
    where math.log2 is exact)."""
    key = math.ceil(math.log2(abs(v)) * 2**schema)
    assert 2 ** ((key - 1) / 2**schema) < abs(v) <= 2 ** (key / 2**schema)
    return key


def lognormal(seed, n, mu, sigma):
    """Seeded lognormal values rounded to multiples of 2^-20: every partial sum of them is
    exact in a double, so their sum is the same in whatever order the core adds them."""
    rng = random.Random(seed)
    return [max(1, round(rng.lognormvariate(mu, sigma) * 2**20)) / 2**20 for _ in range(n)]


def exact_sum(values):
    total = 0.0
    for v in values:
        total += v
    assert total == math.fsum(values)  # the rounding above made every partial sum exact
    return total


def text_samples(registry):
    """{(sample name, sorted labels): value} of the classic text exposition."""
    from prometheus_client.parser import text_string_to_metric_families  # not ours

    body = generate_latest(registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(body) for s in f.samples}


# Scraping the protobuf format through every server footmetrics offers.


def scrape_wsgi(registry, accept):
    seen = {}
    app = make_wsgi_app(registry)
    environ = {"PATH_INFO": "/metrics", "REQUEST_METHOD": "GET", "QUERY_STRING": ""}
    if accept:
        environ["HTTP_ACCEPT"] = accept
    body = b"".join(app(environ, lambda status, headers: seen.update(headers=headers)))
    return dict(seen["headers"])["Content-Type"], body


def scrape_asgi(registry, accept):
    sent = []

    async def receive():
        return {"type": "http.request"}

    async def send(message):
        sent.append(message)

    headers = [(b"accept", accept.encode())] if accept else []
    scope = {"type": "http", "method": "GET", "path": "/metrics", "query_string": b"",
             "headers": headers}
    asyncio.run(make_asgi_app(registry)(scope, receive, send))
    start, body = sent
    return dict(start["headers"])[b"Content-Type"].decode(), body["body"]


def scrape_http_server(registry, accept):
    server, _thread = footmetrics.start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
        request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.headers["Content-Type"], r.read()
    finally:
        server.shutdown()


def scrape_metrics_handler(registry, accept):
    """Through `MetricsHandler` in an `http.server` of the test's own."""
    import http.server
    import threading

    from footmetrics.exposition import MetricsHandler

    class Quiet(MetricsHandler.factory(registry)):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
        request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.headers["Content-Type"], r.read()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


SERVERS = {"wsgi": scrape_wsgi, "asgi": scrape_asgi, "start_http_server": scrape_http_server,
           "MetricsHandler": scrape_metrics_handler}


def family(families, name):
    found = [f for f in families if f.name == name]
    assert len(found) == 1, [f.name for f in families]
    return found[0]


@pytest.mark.parametrize("server", SERVERS)
def test_a_protobuf_scrape_decodes_to_the_buckets_of_the_definition(server):
    registry = CollectorRegistry()
    h = Histogram("rpc_duration_seconds", "RPC latency.", ["route"], registry=registry,
                  native_histogram_bucket_factor=1.1)
    both = Histogram("job_duration_seconds", "Job latency.", registry=registry,
                     buckets=[0.05, 0.1, 1.0], native_histogram_bucket_factor=1.1)
    Counter("jobs", "Jobs.", registry=registry).inc(3)
    values = {"/a": lognormal(1, 3001, -2.0, 0.8) + [0.0, 0.0, -0.25, -3.0, 2.0**-130],
              "/b": lognormal(2, 500, 0.0, 1.0)}
    for route, vs in values.items():
        child = h.labels(route)
        for v in vs:
            child.observe(v)
    for v in values["/b"]:
        both.observe(v / 10)

    content_type, body = SERVERS[server](registry, ACCEPT)
    assert content_type == CONTENT_TYPE_PROTOBUF == CONTENT_TYPE
    families = parse_delimited(body)
    schema = schema_for(1.1)
    assert schema == 3

    rpc = family(families, "rpc_duration_seconds")
    assert rpc.type == HISTOGRAM and rpc.help == "RPC latency."
    assert sorted(labels(m)["route"] for m in rpc.metric) == ["/a", "/b"]
    text = text_samples(registry)
    for m in rpc.metric:
        route = labels(m)["route"]
        vs, got = values[route], m.histogram
        zero = [v for v in vs if abs(v) <= DEFAULT_ZERO_THRESHOLD]
        assert got.schema == schema
        assert got.zero_threshold == DEFAULT_ZERO_THRESHOLD
        assert got.zero_count == len(zero)
        assert got.sample_count == len(vs)
        assert got.sample_sum == exact_sum(vs)
        for sign, spans, deltas in ((1, got.positive_span, got.positive_delta),
                                    (-1, got.negative_span, got.negative_delta)):
            expected = collections.Counter(bucket_key(v, schema) for v in vs
                                           if v * sign > DEFAULT_ZERO_THRESHOLD)
            assert native_buckets(spans, deltas) == expected
        # The classic exposition of the same series: count, sum and its only bucket, +Inf.
        key = (("route", route),)
        assert text[("rpc_duration_seconds_count", key)] == got.sample_count
        assert text[("rpc_duration_seconds_sum", key)] == got.sample_sum
        assert text[("rpc_duration_seconds_bucket", (("le", "+Inf"), ("route", route)))] \
            == got.sample_count
        assert not [k for k in text if k[0] == "rpc_duration_seconds_bucket"
                    and dict(k[1])["le"] != "+Inf"]

    # Classic buckets and native ones, from one reading.
    job = family(families, "job_duration_seconds").metric[0].histogram
    vs = [v / 10 for v in values["/b"]]
    assert job.sample_count == len(vs)
    classic = {b.upper_bound: b.cumulative_count for b in job.bucket}
    for bound in (0.05, 0.1, 1.0):
        assert classic[bound] == sum(v <= bound for v in vs)
        assert text[("job_duration_seconds_bucket", (("le", str(bound)),))] == classic[bound]
    assert native_buckets(job.positive_span, job.positive_delta) == \
        collections.Counter(bucket_key(v, schema) for v in vs)
    assert family(families, "jobs_total").metric[0].counter.value == 3


@pytest.mark.parametrize("server", SERVERS)
def test_without_a_protobuf_accept_the_scrape_stays_text(server):
    registry = CollectorRegistry()
    Histogram("h", "d", registry=registry, native_histogram_bucket_factor=2).observe(1.5)
    for accept in (None, "text/plain;version=0.0.4", "application/openmetrics-text"):
        content_type, body = SERVERS[server](registry, accept)
        assert content_type.startswith(("text/plain", "application/openmetrics-text"))
        assert b'h_bucket{le="+Inf"} 1' in body and b"h_count 1" in body
    assert generate_latest(registry) == scrape_wsgi(registry, None)[1]


def test_custom_collectors_are_served_in_protobuf_and_their_errors_raise():
    from footmetrics.core import GaugeMetricFamily

    class Queue:
        def collect(self):
            yield GaugeMetricFamily("queue_length", "Waiting.", value=7)

    class Broken:
        def collect(self):
            raise RuntimeError("collector failed")

    registry = CollectorRegistry()
    registry.register(Queue())
    got = family(parse_delimited(scrape_wsgi(registry, ACCEPT)[1]), "queue_length")
    # A Python collector's samples are put back into a typed family (GAUGE is 1).
    metric = got.metric[0]
    assert got.type == 1 and metric.HasField("gauge") and metric.gauge.value == 7
    assert got.help == "Waiting."
    registry.register(Broken())
    with pytest.raises(RuntimeError, match="collector failed"):
        scrape_wsgi(registry, ACCEPT)


@pytest.mark.parametrize("factor", [1.0001, 1.002, 1.01, 1.1, 1.5, 2, 4, 16, 65536, 1e10])
def test_the_schema_follows_the_bucket_factor(factor):
    registry = CollectorRegistry()
    h = Histogram("h", "d", registry=registry, native_histogram_bucket_factor=factor)
    vs = lognormal(7, 200, 0.0, 3.0)
    for v in vs:
        h.observe(v)
    got = parse_delimited(scrape_wsgi(registry, ACCEPT)[1])[0].metric[0].histogram
    schema = schema_for(factor)
    assert got.schema == schema
    assert native_buckets(got.positive_span, got.positive_delta) == \
        collections.Counter(bucket_key(v, schema) for v in vs)


def test_options_reach_the_histogram():
    registry = CollectorRegistry()
    h = Histogram("h", "d", registry=registry, native_histogram_bucket_factor=1.1,
                  native_histogram_zero_threshold=0.01)
    for v in (0.0, 0.005, -0.01, 0.0101, 1.0):
        h.observe(v)
    got = parse_delimited(scrape_wsgi(registry, ACCEPT)[1])[0].metric[0].histogram
    assert got.zero_threshold == 0.01 and got.zero_count == 3
    # A zero threshold of 0: only exact zeros in the zero bucket (client_golang reads 0 as
    # its default; here the default is the argument's default, 2^-128).
    registry = CollectorRegistry()
    h = Histogram("h", "d", registry=registry, native_histogram_bucket_factor=1.1,
                  native_histogram_zero_threshold=0)
    for v in (0.0, 2.0**-140):
        h.observe(v)
    got = parse_delimited(scrape_wsgi(registry, ACCEPT)[1])[0].metric[0].histogram
    assert got.zero_threshold == 0 and got.zero_count == 1
    assert native_buckets(got.positive_span, got.positive_delta) == {bucket_key(2.0**-140, 3): 1}


def test_the_bucket_limit_halves_the_resolution_and_keeps_every_count():
    registry = CollectorRegistry()
    h = Histogram("h", "d", registry=registry, native_histogram_bucket_factor=1.01,
                  native_histogram_max_bucket_number=20)
    vs = lognormal(3, 1000, 0.0, 2.0)
    for v in vs:
        h.observe(v)
    got = parse_delimited(scrape_wsgi(registry, ACCEPT)[1])[0].metric[0].histogram
    buckets = native_buckets(got.positive_span, got.positive_delta)
    assert len(buckets) <= 20 and got.schema < schema_for(1.01)
    assert buckets == collections.Counter(bucket_key(v, got.schema) for v in vs)
    assert got.sample_count == len(vs) == sum(buckets.values())


def test_the_bucket_limit_widens_the_zero_bucket_up_to_its_maximum():
    registry = CollectorRegistry()
    h = Histogram("h", "d", registry=registry, native_histogram_bucket_factor=1.1,
                  native_histogram_max_bucket_number=8, native_histogram_max_zero_threshold=0.5)
    vs = [2.0**-k for k in range(12)]  # 1/2048 ... 1: one bucket each at schema 3
    for v in vs:
        h.observe(v)
    got = parse_delimited(scrape_wsgi(registry, ACCEPT)[1])[0].metric[0].histogram
    assert DEFAULT_ZERO_THRESHOLD < got.zero_threshold <= 0.5 and got.schema == 3
    assert got.zero_count == sum(v <= got.zero_threshold for v in vs)
    buckets = native_buckets(got.positive_span, got.positive_delta)
    assert got.zero_count + sum(buckets.values()) == len(vs)


@pytest.mark.parametrize("min_reset", [0, 0.2])
def test_past_the_minimum_reset_duration_the_bucket_limit_resets(min_reset):
    """client_golang's strategy: a limit hit at least `min_reset` seconds after the last reset
    (or the creation) resets the histogram, keeping only the observation that hit it; without
    a duration (0) the resolution halves and every observation stays."""
    registry = CollectorRegistry()
    h = Histogram("h", "d", registry=registry, native_histogram_bucket_factor=2,
                  native_histogram_max_bucket_number=3,
                  native_histogram_min_reset_duration=min_reset)
    time.sleep(0.25)
    for v in (1.0, 4.0, 16.0, 64.0):  # one bucket each at schema 0: the fourth is one too many
        h.observe(v)
    got = parse_delimited(scrape_wsgi(registry, ACCEPT)[1])[0].metric[0].histogram
    kept = [64.0] if min_reset else [1.0, 4.0, 16.0, 64.0]
    assert (got.sample_count, got.sample_sum) == (len(kept), sum(kept))
    assert native_buckets(got.positive_span, got.positive_delta) == \
        collections.Counter(bucket_key(v, got.schema) for v in kept)
    assert got.schema == (0 if min_reset else -1)


def test_timers_exemplars_labels_and_subclasses_record_into_the_native_buckets():
    registry = CollectorRegistry()

    class Latency(Histogram):
        def __init__(self, name, documentation, **kwargs):
            kwargs.setdefault("namespace", "svc")
            super().__init__(name, documentation, **kwargs)

    h = Latency("latency_seconds", "d", labelnames=["op"], registry=registry,
                native_histogram_bucket_factor=1.1, native_histogram_max_bucket_number=100)
    child = h.labels("read")
    assert isinstance(child, Latency)
    with child.time():
        pass
    child.observe(0.5)
    h.labels(op="read").observe(0.25, exemplar={"trace_id": "4bf92f35"})
    got = family(parse_delimited(scrape_wsgi(registry, ACCEPT)[1]), "svc_latency_seconds")
    hist = got.metric[0].histogram
    assert labels(got.metric[0]) == {"op": "read"} and hist.sample_count == 3
    assert [(labels(e), e.value) for e in hist.exemplars] == [({"trace_id": "4bf92f35"}, 0.25)]
    assert sum(native_buckets(hist.positive_span, hist.positive_delta).values()) \
        + hist.zero_count == 3
    assert h._upper_bounds == [math.inf]


# Bad options: typed errors at construction, naming the argument; nothing registered.

BAD = [
    ({"native_histogram_bucket_factor": 1}, ValueError, "bucket_factor must be a finite number greater than 1"),
    ({"native_histogram_bucket_factor": 0.5}, ValueError, "greater than 1, not 0.5"),
    ({"native_histogram_bucket_factor": -2.0}, ValueError, "greater than 1"),
    ({"native_histogram_bucket_factor": math.nan}, ValueError, "not nan"),
    ({"native_histogram_bucket_factor": math.inf}, ValueError, "not inf"),
    ({"native_histogram_bucket_factor": "1.1"}, TypeError, "native_histogram_bucket_factor"),
    ({"native_histogram_zero_threshold": -1e-9}, ValueError, "zero_threshold must be a finite number >= 0"),
    ({"native_histogram_zero_threshold": math.nan}, ValueError, "zero_threshold"),
    ({"native_histogram_zero_threshold": math.inf}, ValueError, "zero_threshold"),
    ({"native_histogram_zero_threshold": None}, TypeError, "native_histogram_zero_threshold"),
    ({"native_histogram_max_zero_threshold": -0.5}, ValueError, "max_zero_threshold must be"),
    ({"native_histogram_max_zero_threshold": "big"}, TypeError, "max_zero_threshold"),
    ({"native_histogram_max_bucket_number": -1}, ValueError, "max_bucket_number must be between 0"),
    ({"native_histogram_max_bucket_number": 2**32}, ValueError, "max_bucket_number"),
    ({"native_histogram_max_bucket_number": 100.0}, TypeError, "max_bucket_number"),
    ({"native_histogram_max_bucket_number": "100"}, TypeError, "max_bucket_number"),
    ({"native_histogram_min_reset_duration": -1}, ValueError, "min_reset_duration must be a number of seconds >= 0"),
    ({"native_histogram_min_reset_duration": math.nan}, ValueError, "min_reset_duration"),
    ({"native_histogram_min_reset_duration": math.inf}, ValueError, "min_reset_duration"),
    ({"native_histogram_min_reset_duration": "1h"}, TypeError, "min_reset_duration"),
    ({"buckets": [1.0, 0.5]}, ValueError, "Buckets not in sorted order"),
]


@pytest.mark.parametrize("kwargs,error,message", BAD)
def test_bad_options_raise_at_construction(kwargs, error, message):
    registry = CollectorRegistry()
    before = Histogram("kept_seconds", "d", registry=registry, native_histogram_bucket_factor=1.1)
    before.observe(0.3)
    kwargs = {"native_histogram_bucket_factor": 1.1, **kwargs}
    with pytest.raises(error, match=message):
        Histogram("h", "d", registry=registry, **kwargs)
    # Nothing was registered, and what was recorded is still there.
    Histogram("h", "d", registry=registry, native_histogram_bucket_factor=1.1)
    assert registry.get_sample_value("kept_seconds_count") == 1


@pytest.mark.parametrize("option,value", [("native_histogram_zero_threshold", 0.1),
                                          ("native_histogram_max_bucket_number", 10),
                                          ("native_histogram_min_reset_duration", 60),
                                          ("native_histogram_max_zero_threshold", 1.0)])
def test_native_options_without_a_bucket_factor_are_refused(option, value):
    with pytest.raises(ValueError, match="set native_histogram_bucket_factor"):
        Histogram("h", "d", registry=None, **{option: value})
    # Their defaults, spelled out, are a classic histogram with prometheus_client's buckets.
    defaults = {"native_histogram_zero_threshold": DEFAULT_ZERO_THRESHOLD,
                "native_histogram_max_bucket_number": 0,
                "native_histogram_min_reset_duration": 0.0,
                "native_histogram_max_zero_threshold": 0.0}
    h = Histogram("h", "d", registry=None, native_histogram_bucket_factor=None, **defaults)
    assert h._upper_bounds == list(Histogram.DEFAULT_BUCKETS)


def test_native_options_are_keyword_only():
    with pytest.raises(TypeError):
        Histogram("h", "d", [], "", "", "", None, None, None, 1.1)


def test_multiprocess_mode_refuses_native_histograms(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setattr(footmetrics.values, "ValueClass", footmetrics.values.MultiProcessValue())
    try:
        classic = Histogram("classic_seconds", "d", registry=None)
        classic.observe(0.2)
        with pytest.raises(ValueError, match="multi-process mode") as e:
            Histogram("native_seconds", "d", registry=None, native_histogram_bucket_factor=1.1)
        assert e.value.code == "INVALID_OPTION"
        registry = CollectorRegistry()
        footmetrics.multiprocess.MultiProcessCollector(registry, str(tmp_path))
        assert registry.get_sample_value("classic_seconds_count") == 1
    finally:
        footmetrics.values.close_all_multiprocess_files()


# A real Prometheus with native histograms on.


def test_scraped_by_a_real_prometheus_with_native_histograms():
    from servers import query, start_prometheus, wait_for

    registry = CollectorRegistry()
    native = Histogram("upload_duration_seconds", "Upload latency.", ["route"],
                       registry=registry, native_histogram_bucket_factor=1.1)
    classic = Histogram("upload_classic_seconds", "Upload latency, classic buckets.",
                        registry=registry, buckets=[0.05, 0.1, 0.25, 1.0])
    # 20011 values: 0.99 * n is no integer, so the rank is one observation's.
    values = {"/a": lognormal(11, 20011, -2.0, 0.8), "/b": lognormal(12, 20011, 1.0, 0.5)}
    children = {route: native.labels(route) for route in values}  # exported at 0 first
    server, _thread = footmetrics.start_http_server(0, addr="127.0.0.1", registry=registry)
    prometheus = None
    try:
        prometheus = start_prometheus({"py": f"127.0.0.1:{server.server_address[1]}"},
                                      flags=["--enable-feature=native-histograms"])
        # A scrape of the empty histograms, before anything is observed: rate() then covers
        # every observation.
        wait_for(prometheus, 'histogram_count(upload_duration_seconds{route="/a"}) == 0')
        for route, vs in values.items():
            for v in vs:
                children[route].observe(v)
        for v in values["/a"]:
            classic.observe(v)
        n = len(values["/a"])
        for route, vs in values.items():
            got = wait_for(prometheus,
                           f'histogram_count(upload_duration_seconds{{route="{route}"}}) == {n}')
            assert float(got[0]["value"][1]) == n
            got = query(prometheus, f'histogram_sum(upload_duration_seconds{{route="{route}"}})')
            assert float(got[0]["value"][1]) == exact_sum(vs)

            # The estimate lies in the bucket holding the true quantile (the observation at
            # rank ceil(0.99 n)): Prometheus interpolates within that bucket, (l, u] with
            # u / l = 2^(2^-schema), so its error is below 2^(2^-3) - 1 = 9.05% of the true
            # value for factor 1.1 (schema 3).
            got = query(prometheus, "histogram_quantile(0.99, rate(upload_duration_seconds"
                                    f'{{route="{route}"}}[1m]))')
            estimate = float(got[0]["value"][1])
            true = sorted(vs)[math.ceil(0.99 * n) - 1]
            key = bucket_key(true, 3)
            assert 2 ** ((key - 1) / 8) <= estimate <= 2 ** (key / 8), (estimate, true)
            assert abs(estimate - true) / true < 2 ** (1 / 8) - 1
        # The native series carries no classic buckets; the classic histogram does.
        assert not query(prometheus, "upload_duration_seconds_bucket")
        for le in (0.05, 0.1, 0.25, 1.0):
            got = wait_for(prometheus, f'upload_classic_seconds_bucket{{le="{le}"}} == '
                                       f'{sum(v <= le for v in values["/a"])}')
            assert len(got) == 1
        got = query(prometheus, 'upload_classic_seconds_bucket{le="+Inf"}')
        assert float(got[0]["value"][1]) == n
    except BaseException:
        if prometheus is not None:
            print(prometheus.log()[-4000:])
        raise
    finally:
        server.shutdown()
        if prometheus is not None:
            prometheus.stop()


def test_classic_histograms_are_unchanged(registry):
    """No native option: prometheus_client's default buckets and text, as before."""
    import prometheus_client

    theirs = prometheus_client.CollectorRegistry()
    a = Histogram("h", "d", registry=registry)
    b = prometheus_client.Histogram("h", "d", registry=theirs)
    for v in lognormal(5, 100, -2.0, 1.0):
        a.observe(v)
        b.observe(v)
    ours, want = generate_latest(registry), prometheus_client.generate_latest(theirs)
    strip = lambda body: b"\n".join(l for l in body.split(b"\n") if b"_created" not in l)
    assert strip(ours) == strip(want)


def test_a_native_catalog_spec_creates_a_native_histogram():
    """The generated catalog's `create` passes a spec's native_histogram_bucket_factor on (and
    its buckets only when it has some)."""
    from footmetrics import catalog

    spec = catalog.MetricSpec(name="render_seconds", type="histogram", help="Render time.",
                              unit="seconds", labels=("stage",), buckets=(), label_values={},
                              service="video", team="media", native_histogram_bucket_factor=1.1)
    registry = CollectorRegistry()
    catalog.create(spec, registry).labels("encode").observe(1.5)
    got = family(parse_delimited(scrape_wsgi(registry, ACCEPT)[1]), "render_seconds")
    hist = got.metric[0].histogram
    assert hist.schema == 3 and not hist.bucket
    assert native_buckets(hist.positive_span, hist.positive_delta) == {bucket_key(1.5, 3): 1}


def test_a_protobuf_scrape_is_gzipped_and_filtered_by_name_as_text_is():
    import gzip

    registry = CollectorRegistry()
    Histogram("h_seconds", "d", registry=registry, native_histogram_bucket_factor=1.1).observe(1)
    Counter("jobs", "d", registry=registry).inc()
    app = make_wsgi_app(registry)
    seen = {}
    environ = {"PATH_INFO": "/metrics", "REQUEST_METHOD": "GET", "HTTP_ACCEPT": ACCEPT,
               "HTTP_ACCEPT_ENCODING": "gzip", "QUERY_STRING": "name[]=h_seconds_count"}
    body = b"".join(app(environ, lambda status, headers: seen.update(headers=dict(headers))))
    assert seen["headers"]["Content-Encoding"] == "gzip"
    assert seen["headers"]["Content-Type"] == CONTENT_TYPE_PROTOBUF
    families = parse_delimited(gzip.decompress(body))
    assert [f.name for f in families] == ["h_seconds"]
    assert families[0].metric[0].histogram.sample_count == 1
    environ.update(HTTP_ACCEPT_ENCODING="identity", QUERY_STRING="name[]=jobs_total")
    body = b"".join(app(environ, lambda status, headers: None))
    assert [f.name for f in parse_delimited(body)] == ["jobs_total"]
