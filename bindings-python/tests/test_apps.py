"""make_wsgi_app (served by wsgiref), make_asgi_app, write_to_textfile."""

import asyncio
import gzip
import os
import threading
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
    assert dict(start["headers"])[b"content-type"].startswith(b"application/openmetrics-text")
    assert b"served_total 2" in body["body"] and body["body"].endswith(b"# EOF\n")
    with pytest.raises(ValueError):
        asyncio.run(app({"type": "websocket"}, receive, send))


def test_write_to_textfile_is_atomic(populated, tmp_path):
    path = tmp_path / "job.prom"
    write_to_textfile(str(path), populated)
    assert b"served_total 2" in path.read_bytes()
    assert os.listdir(tmp_path) == ["job.prom"], "no temporary file left behind"
    with pytest.raises(OSError):
        write_to_textfile(str(tmp_path / "missing-dir" / "x.prom"), populated)
