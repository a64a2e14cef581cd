"""The serving and pushing helpers of footmetrics.exposition that prometheus_client code
imports: _bake_output (the one path every server and integration answers through),
choose_encoder, MetricsHandler, and the Pushgateway handlers that follow redirects or present
a client certificate."""

import gzip
import http.server
import shutil
import ssl
import subprocess
import threading
import urllib.error
import urllib.request
from typing import ClassVar

import pytest

import footmetrics
import footmetrics.openmetrics.exposition as om
from footmetrics import exposition
from footmetrics.metrics_core import GaugeMetricFamily


@pytest.fixture
def populated(registry):
    footmetrics.Counter("served", "Served.", registry=registry).inc(2)
    footmetrics.Gauge("other", "Other.", registry=registry).set(1)
    return registry


def test_bake_output(populated):
    status, headers, body = exposition._bake_output(populated, None, None, {}, False)
    assert status == "200 OK"
    assert headers == [("Content-Type", footmetrics.CONTENT_TYPE_PLAIN_0_0_4)]
    assert body == footmetrics.generate_latest(populated)

    _, headers, body = exposition._bake_output(populated, om.CONTENT_TYPE_LATEST, "br, gzip;q=1",
                                               {"name[]": ["other"]}, False)
    assert headers == [("Content-Type", om.CONTENT_TYPE_LATEST + "; escaping=underscores"),
                       ("Content-Encoding", "gzip")]
    text = gzip.decompress(body).decode()
    assert "other 1" in text and "served" not in text and text.endswith("# EOF\n")

    _, headers, _ = exposition._bake_output(populated, None, "gzip", None, True)
    assert headers == [("Content-Type", footmetrics.CONTENT_TYPE_PLAIN_0_0_4)]
    _, _, body = exposition._bake_output(populated, None, None, {"name[]": "served_total"}, False)
    assert b"served_total 2" in body and b"other" not in body


def test_bake_output_serves_any_collector():
    class Custom:
        def collect(self):
            return [GaugeMetricFamily("custom", "Custom.", value=4)]

    holder = footmetrics.CollectorRegistry()
    holder.register(Custom())
    _, _, body = exposition._bake_output(Custom(), None, None, {}, False)
    assert body == footmetrics.generate_latest(holder)
    assert body.startswith(b"# HELP custom Custom.\n# TYPE custom gauge\ncustom 4")


def test_gzip_accepted():
    assert exposition.gzip_accepted("gzip")
    assert exposition.gzip_accepted("deflate, GZIP;q=0.5")
    assert not exposition.gzip_accepted("x-gzip2, br")
    assert not exposition.gzip_accepted(None)


def test_the_wsgi_app_answers_through_bake_output(populated, monkeypatch):
    calls = []
    real = exposition._bake_output

    def spy(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(exposition, "_bake_output", spy)
    app = footmetrics.make_wsgi_app(populated)
    statuses = []

    def start_response(status, headers):
        statuses.append(status)

    env = {"REQUEST_METHOD": "GET", "PATH_INFO": "/metrics", "QUERY_STRING": "name[]=other",
           "HTTP_ACCEPT_ENCODING": "gzip"}
    [body] = app(env, start_response)
    assert statuses == ["200 OK"] and b"other 1" in gzip.decompress(body)
    assert calls == [(populated, None, "gzip", {"name[]": ["other"]}, False)]
    app(dict(env, PATH_INFO="/favicon.ico"), start_response)
    assert len(calls) == 1


@pytest.mark.parametrize("accept", [
    None, "", "text/plain", footmetrics.CONTENT_TYPE_PLAIN_0_0_4, om.CONTENT_TYPE_LATEST,
    "application/openmetrics-text; version=0.0.1", "application/openmetrics-text;q=0.1, */*",
    "application/openmetrics-text; version=9.9.9", "image/png",
])
def test_choose_encoder_agrees_with_bake_output(populated, accept):
    encoder, content_type = exposition.choose_encoder(accept)
    _, headers, body = exposition._bake_output(populated, accept, None, {}, False)
    assert headers == [("Content-Type", content_type)]
    assert encoder(populated) == body


def test_metrics_handler_in_an_http_server(populated):
    handler = exposition.MetricsHandler.factory(populated)
    assert issubclass(handler, exposition.MetricsHandler) and handler.registry is populated
    assert exposition.MetricsHandler.registry is footmetrics.REGISTRY
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/metrics"
    try:
        with urllib.request.urlopen(base, timeout=5) as r:
            assert r.headers["Content-Type"] == footmetrics.CONTENT_TYPE_PLAIN_0_0_4
            assert r.read() == footmetrics.generate_latest(populated)
        req = urllib.request.Request(base + "?name[]=served_total",
                                     headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.headers["Content-Encoding"] == "gzip"
            body = gzip.decompress(r.read())
            assert b"served_total 2" in body and b"other" not in body
    finally:
        server.shutdown()
        server.server_close()


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every request 201, or 307 to /moved on the first path; records each request."""

    requests: ClassVar[list] = []

    def _handle(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        # The message object: header names are case-insensitive.
        self.requests.append((self.command, self.path, self.headers, body))
        if self.path != "/moved" and getattr(self.server, "redirect", False):
            self.send_response(307)
            self.send_header("Location", "/moved")
        else:
            self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_PUT = do_POST = do_DELETE = _handle

    def log_message(self, *args):
        pass


def serve(handler, context=None, **attributes):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    for k, v in attributes.items():
        setattr(server, k, v)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def recorder():
    Recorder.requests = []
    servers = []

    def start(**kwargs):
        s = serve(Recorder, **kwargs)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def test_passthrough_redirect_handler_repeats_the_request(populated, recorder):
    server = recorder(redirect=True)
    gateway = f"http://127.0.0.1:{server.server_address[1]}"
    footmetrics.push_to_gateway(gateway, "job", populated,
                                handler=exposition.passthrough_redirect_handler)
    (m1, p1, h1, b1), (m2, p2, h2, b2) = Recorder.requests
    assert (m1, p1, m2, p2) == ("PUT", "/metrics/job/job", "PUT", "/moved")
    assert b1 == b2 == footmetrics.generate_latest(populated)
    assert h1["Content-Type"] == h2["Content-Type"] == footmetrics.CONTENT_TYPE_PLAIN_0_0_4
    # urllib's own redirect policy refuses a redirected PUT.
    Recorder.requests = []
    with pytest.raises(urllib.error.HTTPError):
        exposition._urllib_handler(gateway + "/x", "PUT", 5, [], b"data")()


def test_default_handler_takes_header_pairs_of_any_shape(populated, recorder):
    server = recorder()

    def handler(url, method, timeout, headers, data):
        headers.append(["X-Test-Header", "foobar"])
        return exposition.default_handler(url, method, timeout, headers, data)

    footmetrics.push_to_gateway(f"127.0.0.1:{server.server_address[1]}", "job", populated,
                                handler=handler)
    [(method, path, headers, _)] = Recorder.requests
    assert (method, path, headers["X-Test-Header"]) == ("PUT", "/metrics/job/job", "foobar")


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, made by openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
             "ca.pem", "-days", "2", "-subj", "/CN=footmetrics test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    for name, usage, san in (("server", "serverAuth", "IP:127.0.0.1,DNS:localhost"),
                             ("client", "clientAuth", "DNS:pusher")):
        (d / f"{name}.ext").write_text(
            f"subjectAltName={san}\nbasicConstraints=CA:FALSE\n"
            f"keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage={usage}\n"
            "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
                 f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile",
                 f"{name}.ext", cwd=d)
    return d


def test_tls_auth_handler_presents_the_client_certificate(populated, recorder, pki):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki / "server.pem", pki / "server.key")
    context.load_verify_locations(pki / "ca.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    server = recorder(context=context)
    gateway = f"https://127.0.0.1:{server.server_address[1]}"

    def handler(url, method, timeout, headers, data):
        return exposition.tls_auth_handler(url, method, timeout, headers, data,
                                           str(pki / "client.pem"), str(pki / "client.key"),
                                           cafile=str(pki / "ca.pem"))

    footmetrics.push_to_gateway(gateway, "job", populated, handler=handler)
    [(method, path, _, body)] = Recorder.requests
    assert (method, path) == ("PUT", "/metrics/job/job")
    assert body == footmetrics.generate_latest(populated)

    # The server is verified: without the CA (system CAs only) the push fails...
    def unverified(url, method, timeout, headers, data):
        return exposition.tls_auth_handler(url, method, timeout, headers, data,
                                           str(pki / "client.pem"), str(pki / "client.key"))

    with pytest.raises(urllib.error.URLError):
        footmetrics.push_to_gateway(gateway, "job", populated, handler=unverified)

    # ...unless verification is skipped on purpose.
    def insecure(url, method, timeout, headers, data):
        return exposition.tls_auth_handler(url, method, timeout, headers, data,
                                           str(pki / "client.pem"), str(pki / "client.key"),
                                           insecure_skip_verify=True)

    footmetrics.delete_from_gateway(gateway, "job", handler=insecure)
    assert Recorder.requests[-1][:2] == ("DELETE", "/metrics/job/job")


def test_default_handler_over_tls_with_openssl_made_rsa_certificates(populated, recorder, pki):
    # The core's rustls client against Python's OpenSSL server, with RSA keys from openssl.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki / "server.pem", pki / "server.key")
    context.load_verify_locations(pki / "ca.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    server = recorder(context=context)
    gateway = f"https://127.0.0.1:{server.server_address[1]}"
    footmetrics.push_to_gateway(gateway, "job", populated, cafile=pki / "ca.pem",
                                certfile=pki / "client.pem", keyfile=pki / "client.key")
    [(method, path, headers, body)] = Recorder.requests
    assert (method, path) == ("PUT", "/metrics/job/job")
    assert headers["Content-Type"] == exposition.CONTENT_TYPE_PLAIN_0_0_4
    assert body == footmetrics.generate_latest(populated)
    with pytest.raises(ssl.SSLError, match="UnknownIssuer|no system root"):
        footmetrics.push_to_gateway(gateway, "job", populated, timeout=5)
