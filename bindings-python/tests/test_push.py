"""Pushgateway functions against a real Pushgateway."""

import time

import pytest

import footmetrics
from footmetrics.exposition import default_handler
from servers import pushed, pushed_after_delete, start_pushgateway


@pytest.fixture(scope="module")
def gateway():
    g = start_pushgateway()
    yield g
    g.stop()


def test_push_pushadd_delete_round_trip(gateway):
    r = footmetrics.CollectorRegistry()
    records = footmetrics.Counter("batch_records", "Records.", ["stage"], registry=r)
    records.labels("load").inc(42)
    footmetrics.Gauge("batch_last_success_unixtime", "Last success.", registry=r).set(1.7e9)
    group = {"instance": "host/1"}  # a `/` travels base64-encoded
    footmetrics.push_to_gateway(gateway.url, job="nightly", registry=r, grouping_key=group)
    got = pushed(gateway, "nightly")
    inst = ("instance", "host/1")
    assert got[("batch_records_total", (inst, ("stage", "load")))] == 42
    assert got[("batch_last_success_unixtime", (inst,))] == 1.7e9

    # pushadd replaces only the pushed families.
    r2 = footmetrics.CollectorRegistry()
    footmetrics.Gauge("batch_rows_per_second", "Rate.", registry=r2).set(3.5)
    footmetrics.pushadd_to_gateway(gateway.url, job="nightly", registry=r2, grouping_key=group)
    got = pushed(gateway, "nightly")
    assert got[("batch_rows_per_second", (inst,))] == 3.5
    assert got[("batch_records_total", (inst, ("stage", "load")))] == 42

    # push (PUT) replaces the whole group.
    footmetrics.push_to_gateway(gateway.url, job="nightly", registry=r2, grouping_key=group)
    got = pushed(gateway, "nightly")
    assert ("batch_records_total", (inst, ("stage", "load"))) not in got
    assert got[("batch_rows_per_second", (inst,))] == 3.5

    footmetrics.delete_from_gateway(gateway.url, job="nightly", grouping_key=group)
    assert pushed_after_delete(gateway, "nightly") == {}


def test_host_port_gateway_and_custom_handler(gateway):
    r = footmetrics.CollectorRegistry()
    footmetrics.Gauge("handled", "H.", registry=r).set(1)
    calls = []

    def handler(url, method, timeout, headers, data):
        calls.append((url, method, timeout, dict(headers), data))
        return default_handler(url, method, timeout, headers, data)

    footmetrics.push_to_gateway(f"127.0.0.1:{gateway.port}", "handled_job", r, handler=handler,
                                timeout=5)
    url, method, timeout, headers, data = calls[0]
    assert url == f"http://127.0.0.1:{gateway.port}/metrics/job/handled_job"
    assert (method, timeout) == ("PUT", 5)
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert b"handled 1" in data
    assert pushed(gateway, "handled_job")[("handled", ())] == 1


def test_bad_arguments_are_value_errors(gateway):
    r = footmetrics.CollectorRegistry()
    with pytest.raises(ValueError, match="grouping key"):
        footmetrics.push_to_gateway(gateway.url, "j", r, grouping_key={"bad-name": "x"})
    with pytest.raises(ValueError, match="job"):
        footmetrics.push_to_gateway(gateway.url, "", r)
    with pytest.raises(ValueError, match="timeout"):
        footmetrics.push_to_gateway(gateway.url, "j", r, timeout=-1)
    with pytest.raises(ValueError, match="https://"):
        footmetrics.push_to_gateway("ftp://127.0.0.1:1", "j", r)


def test_gateway_errors_are_os_errors(gateway):
    r = footmetrics.CollectorRegistry()
    footmetrics.Gauge("g", "G.", registry=r).set(1)
    with pytest.raises(OSError, match="404"):
        footmetrics.push_to_gateway(gateway.url + "/no/such/prefix", "j", r)
    t = time.monotonic()
    with pytest.raises(OSError):
        footmetrics.push_to_gateway("127.0.0.1:1", "j", r, timeout=2)
    assert time.monotonic() - t < 3


class CapturingGateway:
    """A stand-in gateway answering 202 to everything and keeping each request's method, path,
    headers and body."""

    def __init__(self):
        import http.server
        import threading

        requests = self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                # The message object: header names are case-insensitive.
                requests.append((self.command, self.path, self.headers,
                                 self.rfile.read(length)))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PUT = do_POST = do_DELETE = answer

            def log_message(self, *args):
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def capturing():
    g = CapturingGateway()
    yield g
    g.close()


@pytest.mark.parametrize("via_handler", [False, True])
def test_delete_sends_the_content_type(capturing, via_handler):
    kwargs = {"handler": default_handler} if not via_handler else {
        "handler": lambda *a: default_handler(*a)}
    footmetrics.delete_from_gateway(capturing.url, "my_job", {"a": 9}, **kwargs)
    method, path, headers, body = capturing.requests[0]
    assert (method, path, body) == ("DELETE", "/metrics/job/my_job/a/9", b"")
    assert headers["Content-Type"] == footmetrics.exposition.CONTENT_TYPE_PLAIN_0_0_4


def test_grouping_values_with_spaces_go_base64(gateway, capturing):
    r = footmetrics.CollectorRegistry()
    footmetrics.Gauge("spaced", "S.", registry=r).set(4)
    footmetrics.push_to_gateway(capturing.url, "my_job", r,
                                grouping_key={"label": "value with spaces"})
    assert capturing.requests[0][1] == "/metrics/job/my_job/label@base64/dmFsdWUgd2l0aCBzcGFjZXM="
    # The real gateway reads it back as the value sent.
    footmetrics.push_to_gateway(gateway.url, "spaced job", r,
                                grouping_key={"label": "value with spaces"})
    assert pushed(gateway, "spaced job") == {("spaced", (("label", "value with spaces"),)): 4}
    footmetrics.delete_from_gateway(gateway.url, "spaced job",
                                    grouping_key={"label": "value with spaces"})
    assert pushed_after_delete(gateway, "spaced job") == {}


def test_gzip_compression(gateway, capturing):
    import gzip

    r = footmetrics.CollectorRegistry()
    footmetrics.Gauge("zipped", "Z.", registry=r).set(3)
    footmetrics.push_to_gateway(capturing.url, "z", r, compression="gzip")
    method, _, headers, body = capturing.requests[0]
    assert method == "PUT"
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Content-Type"] == footmetrics.exposition.CONTENT_TYPE_PLAIN_0_0_4
    assert gzip.decompress(body) == footmetrics.generate_latest(r)
    # Through a handler of the caller's too, and POST.
    footmetrics.pushadd_to_gateway(capturing.url, "z", r, compression="GZIP",
                                   handler=lambda *a: default_handler(*a))
    method, _, headers, body = capturing.requests[1]
    assert (method, headers["Content-Encoding"]) == ("POST", "gzip")
    assert gzip.decompress(body) == footmetrics.generate_latest(r)
    # A real gateway takes it.
    footmetrics.push_to_gateway(gateway.url, "zipped_job", r, compression="gzip")
    assert pushed(gateway, "zipped_job") == {("zipped", ()): 3}


def test_invalid_compression_is_refused_before_any_request(capturing):
    r = footmetrics.CollectorRegistry()
    with pytest.raises(ValueError, match="Unsupported compression type: 'brotli'"):
        footmetrics.push_to_gateway(capturing.url, "j", r, compression="brotli")
    with pytest.raises(ValueError, match="Unsupported compression type"):
        footmetrics.pushadd_to_gateway(capturing.url, "j", r, compression="deflate",
                                       handler=lambda *a: default_handler(*a))
    assert capturing.requests == []


def test_pushadd_without_a_registry_pushes_the_default_one(capturing):
    footmetrics.pushadd_to_gateway(capturing.url, "j", None)
    assert capturing.requests[0][0] == "POST"
    assert b"\npython_info{" in capturing.requests[0][3]  # the platform collector's
