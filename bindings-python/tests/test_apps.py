"""make_wsgi_app (served by wsgiref), make_asgi_app, write_to_textfile."""

import asyncio
import gzip
import os
import threading
import time
import urllib.request
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

import footmetrics
from footmetrics import make_asgi_app, make_wsgi_app, write_to_textfile


@pytest.fixture
def populated(registry):
    footmetrics.Counter("served", "Served.", registry=registry).inc(2)
    footmetrics.Gauge("other", "Other.", registry=registry).set(1)
    return registry


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.headers, r.read()


def test_wsgi_app_negotiates_filters_and_compresses(populated):
    httpd = make_server("127.0.0.1", 0, make_wsgi_app(populated), handler_class=Quiet)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    base = f"http://127.0.0.1:{httpd.server_port}/metrics"
    try:
        h, body = get(base)
        assert h["Content-Type"] == footmetrics.CONTENT_TYPE_PLAIN_0_0_4
        assert b"served_total 2" in body and b"other 1" in body
        h, body = get(base, {"Accept": "application/openmetrics-text; version=1.0.0"})
        assert h["Content-Type"].startswith("application/openmetrics-text")
        assert body.endswith(b"# EOF\n")
        _, body = get(base + "?name[]=other")
        assert b"other 1" in body and b"served" not in body
        h, body = get(base, {"Accept-Encoding": "gzip"})
        assert h["Content-Encoding"] == "gzip"
        assert b"served_total 2" in gzip.decompress(body)
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_wsgi_app_without_compression(populated):
    app = make_wsgi_app(populated, disable_compression=True)
    seen = {}
    body = b"".join(app({"PATH_INFO": "/metrics", "HTTP_ACCEPT_ENCODING": "gzip",
                         "REQUEST_METHOD": "GET"},
                        lambda status, headers: seen.update(status=status, headers=headers)))
    assert seen["status"] == "200 OK"
    assert "Content-Encoding" not in dict(seen["headers"])
    assert b"served_total 2" in body


def test_asgi_app(populated):
    app = make_asgi_app(populated)
    sent = []

    async def receive():
        return {"type": "http.request"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/metrics", "query_string": b"",
             "headers": [(b"accept", b"application/openmetrics-text")]}
    asyncio.run(app(scope, receive, send))
    start, body = sent
    assert start["status"] == 200
    assert dict(start["headers"])[b"Content-Type"].startswith(b"application/openmetrics-text")
    assert b"served_total 2" in body["body"] and body["body"].endswith(b"# EOF\n")
    with pytest.raises(ValueError):
        asyncio.run(app({"type": "websocket"}, receive, send))


class ThreadProbe:
    """A collector noting the thread each scrape collects it on."""

    def __init__(self):
        self.threads = []

    def collect(self):
        self.threads.append(threading.get_ident())
        return []


def asgi_scrape(app, loop, query=b""):
    """One GET through asgiref's communicator, its output read as prometheus_client's tests
    read it: ``receive_output(0)``, so a response that needs a thread pool's turn is missed."""
    from asgiref.testing import ApplicationCommunicator

    scope = {"type": "http", "method": "GET", "path": "/metrics", "query_string": query,
             "headers": [(b"accept-encoding", b"gzip")]}

    async def start():
        return ApplicationCommunicator(app, scope)

    communicator = loop.run_until_complete(start())
    loop.run_until_complete(communicator.send_input({"type": "http.request", "body": b""}))
    outputs = []
    while True:
        try:
            outputs.append(loop.run_until_complete(communicator.receive_output(0)))
        except asyncio.TimeoutError:
            break
    loop.run_until_complete(communicator.wait())
    return outputs


def test_asgi_small_registry_renders_on_the_loop(populated):
    probe = ThreadProbe()
    populated.register(probe)
    app = make_asgi_app(populated)
    loop = asyncio.new_event_loop()
    try:
        for _ in range(3):
            start, body = asgi_scrape(app, loop, b"name[]=served_total")
            assert start["status"] == 200
            assert (b"Content-Encoding", b"gzip") in start["headers"]
            text = gzip.decompress(body["body"])
            assert b"served_total 2" in text and b"other" not in text
    finally:
        loop.close()
    assert probe.threads == [threading.get_ident()] * 3, "every quick render ran inline"


def test_asgi_large_registry_renders_on_a_worker_thread(registry):
    from footmetrics import asgi

    # 40000 series (a family admits 10000 label sets).
    families = [footmetrics.Counter(f"big{f}", "Many series.", ["n"], registry=registry)
                for f in range(4)]
    for family in families:
        for n in range(10000):
            family.labels(str(n)).inc()
    started = time.perf_counter()
    footmetrics.generate_latest(registry)
    took = time.perf_counter() - started
    assert took > 2 * asgi.INLINE_RENDER_BUDGET, f"a 40000-series render took {took:.6f} s"

    probe = ThreadProbe()
    registry.register(probe)
    app = make_asgi_app(registry)
    main = threading.get_ident()
    loop = asyncio.new_event_loop()
    try:
        # The first scrape has no timing to go by: inline, and measured.
        assert len(asgi_scrape(app, loop)) == 2
        assert probe.threads == [main]

        async def scrape_while_ticking():
            # The loop keeps running while the render is on the worker thread.
            ticks = 0
            sent = []

            async def receive():
                return {"type": "http.request"}

            async def send(message):
                sent.append(message)

            task = asyncio.ensure_future(app({"type": "http", "method": "GET",
                                              "query_string": b"", "headers": []},
                                             receive, send))
            while not task.done():
                ticks += 1
                await asyncio.sleep(0)
            await task
            return ticks, sent

        ticks, sent = loop.run_until_complete(scrape_while_ticking())
        assert probe.threads[1] != main, "a slow registry's next render leaves the loop"
        assert ticks > 1
        assert b'big3_total{n="9999"} 1' in sent[1]["body"]

        # Shrunk: one more render on the thread (the previous one was slow) finds it quick,
        # so the scrape after that is inline again.
        for family in families:
            family.clear()
        loop.run_until_complete(scrape_while_ticking())
        assert probe.threads[2] != main
        loop.run_until_complete(scrape_while_ticking())
        assert probe.threads[3] == main
    finally:
        loop.close()


def test_asgi_client_gone_before_the_request_gets_nothing(populated):
    app = make_asgi_app(populated)
    sent = []

    async def receive():
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(app({"type": "http", "query_string": b"", "headers": []}, receive, send))
    assert sent == []


def test_write_to_textfile_is_atomic(populated, tmp_path):
    path = tmp_path / "job.prom"
    write_to_textfile(str(path), populated)
    assert b"served_total 2" in path.read_bytes()
    assert os.listdir(tmp_path) == ["job.prom"], "no temporary file left behind"
    with pytest.raises(OSError):
        write_to_textfile(str(tmp_path / "missing-dir" / "x.prom"), populated)
