"""start_http_server: served from a Rust thread."""

import threading
import urllib.request

import footmetrics


def scrape(server, accept=None, query=""):
    _host, port = server.server_address
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics{query}")
    if accept:
        req.add_header("Accept", accept)
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.headers.get("Content-Type"), r.read().decode()


def test_serves_the_registry_and_stops():
    registry = footmetrics.CollectorRegistry()
    c = footmetrics.Counter("served", "S.", registry=registry)
    g = footmetrics.Gauge("served_fn", "S.", registry=registry)
    g.set_function(lambda: 5)
    c.inc(3)
    server, thread = footmetrics.start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        assert thread.is_alive()
        ctype, body = scrape(server)
        assert ctype.startswith("text/plain")
        assert "served_total 3" in body
        assert "served_fn 5" in body, "set_function gauges are refreshed by the Rust thread"
        ctype, body = scrape(server, "application/openmetrics-text; version=1.0.0")
        assert ctype.startswith("application/openmetrics-text") and body.endswith("# EOF\n")
    finally:
        server.shutdown()
    assert not thread.is_alive()


def test_scrapes_do_not_wait_for_a_busy_python_thread():
    registry = footmetrics.CollectorRegistry()
    c = footmetrics.Counter("busy_loop", "B.", registry=registry)
    server, _ = footmetrics.start_http_server(0, addr="127.0.0.1", registry=registry)
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            c.inc()

    t = threading.Thread(target=spin)
    t.start()
    try:
        for _ in range(5):
            _, body = scrape(server)
            assert "busy_loop_total" in body
    finally:
        stop.set()
        t.join()
        server.shutdown()


def test_name_parameters_filter_the_families():
    registry = footmetrics.CollectorRegistry()
    footmetrics.Counter("a", "A.", registry=registry).inc()
    footmetrics.Counter("b", "B.", registry=registry).inc(2)
    footmetrics.Histogram("h", "H.", registry=registry).observe(1)
    server, _ = footmetrics.start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        _, body = scrape(server, query="?name[]=a_total")
        assert "a_total 1" in body
        assert "b_total" not in body and "h_" not in body
        # Repeated, percent-encoded, with other parameters around, any sample's name.
        _, body = scrape(server, query="?x=1&name%5B%5D=b_total&name[]=h_count")
        assert "b_total 2" in body and "h_count 1" in body and "h_bucket" in body
        assert "a_total" not in body
        ctype, body = scrape(server, "application/openmetrics-text; version=1.0.0",
                             "?name[]=b_created")
        assert ctype.startswith("application/openmetrics-text")
        assert "b_total 2" in body and "a_total" not in body and body.endswith("# EOF\n")
        _, body = scrape(server, query="?name[]=nothing")
        assert body == ""
        _, body = scrape(server, query="?other=1")
        assert "a_total 1" in body and "b_total 2" in body
    finally:
        server.shutdown()


def test_port_in_use_is_an_os_error():
    server, _ = footmetrics.start_http_server(0, addr="127.0.0.1",
                                              registry=footmetrics.CollectorRegistry())
    try:
        import pytest

        with pytest.raises(OSError):
            footmetrics.start_http_server(server.server_address[1], addr="127.0.0.1")
    finally:
        server.shutdown()


def test_scraped_by_a_real_prometheus():
    from servers import start_prometheus, wait_for

    registry = footmetrics.CollectorRegistry()
    c = footmetrics.Counter("scraped_events", "Events.", ["kind"], registry=registry)
    c.labels("goal").inc(7)
    h = footmetrics.Histogram("scraped_seconds", "Lat.", buckets=[0.1, 1], registry=registry)
    h.observe(0.5)
    server, _ = footmetrics.start_http_server(0, addr="127.0.0.1", registry=registry)
    prometheus = start_prometheus({"python": f"127.0.0.1:{server.server_address[1]}"})
    try:
        # Prometheus asks for OpenMetrics first and drops targets with malformed output.
        up = wait_for(prometheus, 'up{job="python"} == 1')
        assert up[0]["value"][1] == "1"
        got = wait_for(prometheus, 'scraped_events_total{kind="goal"}')
        assert got[0]["value"][1] == "7"
        got = wait_for(prometheus, 'scraped_seconds_bucket{le="1.0"}')
        assert got[0]["value"][1] == "1"
    finally:
        prometheus.stop()
        server.shutdown()


SEED_SERVICE = r'''
import gc, pathlib, sys, time

class Model:
    def predict(self, batch):
        time.sleep(0.01)
        return len(batch)

model, batch = Model(), list(range(32))
fixture = pathlib.Path(sys.argv[1]).read_text()
snippet = fixture.split("---- verbatim below ----\n")[1]
exec(snippet.replace("from prometheus_client import", "from footmetrics import"))
start_http_server(int(sys.argv[2]))  # noqa: F821 (imported by the snippet); result discarded
gc.collect()
print("serving", flush=True)
time.sleep(600)
'''


def test_the_platform_snippet_as_a_service_is_scraped_by_a_real_prometheus():
    """The platform document's ML snippet, run as its services run it: `start_http_server(port)`
    with the result discarded, in a process of its own, scraped by Prometheus."""
    import pathlib
    import subprocess
    import sys

    from servers import free_port, start_prometheus, wait_for

    fixture = pathlib.Path(__file__).resolve().parents[2] / "examples" / "platform-snippets" / \
        "ml_pipeline.py"
    port = free_port()
    service = subprocess.Popen([sys.executable, "-c", SEED_SERVICE, str(fixture), str(port)],
                               stdout=subprocess.PIPE, text=True)
    prometheus = None
    try:
        assert service.stdout.readline() == "serving\n"
        prometheus = start_prometheus({"ml": f"127.0.0.1:{port}"})
        assert wait_for(prometheus, 'up{job="ml"} == 1')
        labels = 'model_version="v2",batch_size="32",device="cuda"'
        count = wait_for(prometheus, f"ml_inference_duration_seconds_count{{{labels}}}")
        assert count[0]["value"][1] == "1"
        accuracy = wait_for(prometheus, 'ml_model_accuracy_score{dataset="validation"}')
        assert accuracy[0]["value"][1] == "0.87"
    finally:
        if prometheus:
            prometheus.stop()
        service.kill()
        service.wait()


def test_shutdown_server_close_and_join_as_socketserver_callers_do():
    import socket

    server, thread = footmetrics.start_wsgi_server(0, addr="127.0.0.1",
                                                   registry=footmetrics.CollectorRegistry())
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    server.server_close()
    thread.join()
    assert not thread.is_alive() and not server.is_serving()
    # The port is free again.
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
    # server_close alone stops serving too.
    server, thread = footmetrics.start_http_server(0, addr="127.0.0.1",
                                                   registry=footmetrics.CollectorRegistry())
    server.server_close()
    assert not thread.is_alive()


def test_serves_what_generate_latest_writes():
    """start_http_server answers with generate_latest's bytes (prometheus_client's text), and
    with the OpenMetrics writer's when the scraper asks for it."""
    from footmetrics.openmetrics.exposition import generate_latest as generate_openmetrics

    registry = footmetrics.CollectorRegistry()
    footmetrics.Counter("served_requests", "R.", ["code"], registry=registry).labels("200").inc(3)
    footmetrics.Histogram("served_seconds", "S.", buckets=[0.5, 1], registry=registry).observe(0.7)
    footmetrics.Gauge("served_negative_zero", "Z.", registry=registry).set(-0.0)
    server, _ = footmetrics.start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        content_type, text = scrape(server)
        assert text.encode() == footmetrics.generate_latest(registry)
        assert 'served_requests_total{code="200"} 3.0' in text
        assert content_type.startswith("text/plain")
        content_type, text = scrape(server, "application/openmetrics-text; version=1.0.0")
        assert text.encode() == generate_openmetrics(registry)
        assert content_type.startswith("application/openmetrics-text")
    finally:
        server.shutdown()


def test_a_raising_collector_loses_only_its_own_families(monkeypatch):
    """generate_latest raises the collector's error (as prometheus_client), but the server keeps
    serving every other family and reports the error to sys.unraisablehook."""
    import sys

    import pytest

    from footmetrics.core import GaugeMetricFamily

    class Broken:
        def collect(self):
            raise RuntimeError("sensor offline")

        def describe(self):
            return [GaugeMetricFamily("broken_sensor", "B.")]

    registry = footmetrics.CollectorRegistry()
    footmetrics.Counter("healthy", "H.", registry=registry).inc()
    registry.register(Broken())
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: reported.append(u.exc_value))
    with pytest.raises(RuntimeError, match="sensor offline"):
        footmetrics.generate_latest(registry)
    server, _ = footmetrics.start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        _, text = scrape(server)
        assert "healthy_total 1.0" in text
        assert "broken_sensor" not in text
        assert [str(e) for e in reported] == ["sensor offline"]
    finally:
        server.shutdown()
