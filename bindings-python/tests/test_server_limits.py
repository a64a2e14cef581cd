"""start_http_server under floods of slow and idle connections, and over TLS with client
certificates and basic auth, on 127.0.0.1: the flood runs against a child process whose
RLIMIT_NOFILE is 256 and which opens files throughout; a real Prometheus scrapes over TLS.
Every process started is stopped by PID."""

import http.client
import os
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

import pytest

import footmetrics

FLOOD = 1100

# The child: lowers its descriptor limit, serves, opens files until its stdin closes.
CHILD = textwrap.dedent("""
    import resource, sys, time, threading
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    import footmetrics
    registry = footmetrics.CollectorRegistry()
    footmetrics.Counter("flood_served", "Served.", registry=registry).inc()
    server, _ = footmetrics.start_http_server(
        0, addr="127.0.0.1", registry=registry, header_read_timeout=float(sys.argv[1]),
        idle_timeout=float(sys.argv[2]), max_connections=int(sys.argv[3]))
    print("PORT", server.server_address[1], flush=True)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    opens = failures = 0
    error = ""
    while not stop.is_set():
        held = []
        for _ in range(16):
            opens += 1
            try:
                held.append(open(sys.executable, "rb"))
            except OSError as e:
                failures += 1
                error = error or str(e)
        for f in held:
            f.close()
        time.sleep(0.005)
    print("OPENS", opens, failures, error, flush=True)
    server.shutdown()
""")


class Child:
    def __init__(self, header_timeout, idle_timeout, max_connections):
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(header_timeout), str(idle_timeout),
             str(max_connections)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        assert line.startswith("PORT"), line
        self.port = int(line.split()[1])

    def finish(self):
        """(opens, failures, first error) once the child stops opening files."""
        self.process.stdin.close()
        for line in self.process.stdout:
            if line.startswith("OPENS"):
                _, opens, failures, *error = line.split(" ", 3)
                return int(opens), int(failures), " ".join(error).strip()
        raise AssertionError("the child ended without reporting")

    def stop(self):
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture(autouse=True, scope="module")
def enough_descriptors_here():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def flood(port, connect_timeout):
    """FLOOD connections, half sending part of a request head, half nothing."""
    conns = []
    failed_in_a_row = 0
    for i in range(FLOOD):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=connect_timeout)
        except OSError:
            failed_in_a_row += 1
            if failed_in_a_row == 20:
                break
            continue
        failed_in_a_row = 0
        if i % 2 == 0:
            try:
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: slow\r\nX-Slow: ")
            except OSError:
                pass
        s.setblocking(False)
        conns.append(s)
    return conns


def closed_by_server(s):
    try:
        while True:
            if not s.recv(512):
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def value(body, name):
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no {name} in:\n{body}")


def test_a_flood_of_slow_and_idle_connections_leaves_the_host_its_descriptors():
    header_timeout = 1.5
    child = Child(header_timeout, 3.0, 64)
    try:
        results = {"ok": 0, "failed": 0}
        stop = threading.Event()

        def scrape_on_a_kept_connection():
            conn = http.client.HTTPConnection("127.0.0.1", child.port, timeout=5)
            while not stop.is_set():
                try:
                    conn.request("GET", "/metrics")
                    r = conn.getresponse()
                    body = r.read().decode()
                    ok = r.status == 200 and "flood_served_total 1.0" in body
                    results["ok" if ok else "failed"] += 1
                except OSError:
                    results["failed"] += 1
                time.sleep(0.1)
            conn.close()

        scraper = threading.Thread(target=scrape_on_a_kept_connection)
        scraper.start()
        time.sleep(0.3)
        started = time.monotonic()
        conns = flood(child.port, 2.0)
        flooded = time.monotonic() - started
        assert len(conns) >= FLOOD - 10
        closed_at = [None] * len(conns)
        deadline = started + flooded + header_timeout + 3
        while None in closed_at and time.monotonic() < deadline:
            for i, c in enumerate(conns):
                if closed_at[i] is None and closed_by_server(c):
                    closed_at[i] = time.monotonic() - started
            time.sleep(0.05)
        time.sleep(0.3)
        stop.set()
        scraper.join(timeout=10)
        still_open = closed_at.count(None)
        last = max(t for t in closed_at if t is not None)
        print(f"flood of {len(conns)} (opened in {flooded:.2f}s): all closed {last:.2f}s "
              f"after the first; {results['ok']} scrapes answered meanwhile, "
              f"{results['failed']} failed")
        assert still_open == 0
        assert last <= flooded + header_timeout + 1
        assert results["failed"] == 0 and results["ok"] >= 10, results

        conn = http.client.HTTPConnection("127.0.0.1", child.port, timeout=5)
        conn.request("GET", "/metrics")
        body = conn.getresponse().read().decode()
        conn.close()
        refused = value(body, "footmetrics_exporter_connections_refused_total")
        timed_out = value(body, "footmetrics_exporter_connections_timed_out_total")
        assert refused + timed_out == len(conns), body
        # (Slots freed by the timeouts while the flood was still opening take more of it.)
        assert refused >= 500
        for c in conns:
            c.close()
        opens, failures, error = child.finish()
        print(f"the host opened {opens} files during the flood; {failures} failed {error}")
        assert opens > 1000
        assert failures == 0, error
    finally:
        child.stop()


def test_without_limits_the_same_flood_exhausts_the_childs_descriptors():
    """What the test above guards against is real: with the limits out of the way, the
    child's own opens fail."""
    child = Child(600, 600, 1_000_000)
    try:
        conns = flood(child.port, 0.2)
        time.sleep(1.5)
        opens, failures, error = child.finish()
        assert failures > 0, (opens, error)
        for c in conns:
            c.close()
    finally:
        child.stop()


def wait_closed(s, within):
    s.setblocking(False)
    started = time.monotonic()
    while time.monotonic() - started < within:
        if closed_by_server(s):
            return time.monotonic() - started
        time.sleep(0.02)
    return None


def test_timeouts_and_the_connection_cap_in_process():
    registry = footmetrics.CollectorRegistry()
    footmetrics.Counter("capped", "C.", registry=registry).inc()
    server, _ = footmetrics.start_http_server(
        0, addr="127.0.0.1", registry=registry, max_connections=3, header_read_timeout=0.6,
        idle_timeout=1.2)
    port = server.server_address[1]
    try:
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(b"GET /metrics HTTP/1.1\r\nHost:")
        t = wait_closed(slow, 3)
        assert t is not None and 0.5 <= t <= 1.1, t

        kept = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        kept.request("GET", "/metrics")
        assert kept.getresponse().read()
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        time.sleep(0.2)
        for _ in range(4):
            extra = socket.create_connection(("127.0.0.1", port))
            t = wait_closed(extra, 2)
            assert t is not None and t < 0.5, t
        kept.request("GET", "/metrics")
        body = kept.getresponse().read().decode()
        assert value(body, "footmetrics_exporter_connections_refused_total") == 4
        assert server.stats()["connections_refused"] == 4
        # The kept connection, idle now, is closed at the idle timeout.
        t = wait_closed(kept.sock, 4)
        assert t is not None and 1.0 <= t <= 1.8, t
        for s in idle:
            s.close()
    finally:
        server.shutdown()


def test_bad_options_are_typed_errors():
    registry = footmetrics.CollectorRegistry()
    with pytest.raises(ValueError):
        footmetrics.start_http_server(0, addr="127.0.0.1", registry=registry, max_connections=0)
    with pytest.raises(ValueError):
        footmetrics.start_http_server(0, addr="127.0.0.1", registry=registry,
                                      idle_timeout=-1)
    with pytest.raises(TypeError):
        footmetrics.start_http_server(0, addr="127.0.0.1", registry=registry,
                                      header_read_timeout="10")
    with pytest.raises(FileNotFoundError, match="Cannot load server certificate file"):
        footmetrics.start_http_server(0, addr="127.0.0.1", registry=registry,
                                      certfile="/nonexistent/cert.pem",
                                      keyfile="/nonexistent/key.pem")
    with pytest.raises(FileNotFoundError):
        footmetrics.start_http_server(0, addr="127.0.0.1", registry=registry,
                                      web_config_file="/nonexistent/web.yml")


# --- TLS ---------------------------------------------------------------------------------

OPENSSL = shutil.which("openssl")
# bcrypt (cost 6) of "s3cret", made for these tests.
S3CRET_BCRYPT = "$2b$06$z/PtBYx6PQV5u34w5VA4tOUzLzxaARmmdGdgpKJqTIo5CfH5E3j9q"


def openssl(*args, cwd):
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki():
    """A CA, a server certificate for 127.0.0.1 and localhost and a client certificate signed
    by it, and a client certificate from another CA; made with the openssl CLI."""
    if OPENSSL is None:
        pytest.skip("the openssl command is needed to make test certificates")
    d = tempfile.mkdtemp(prefix="footmetrics-tls-")
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", f"{ca}-key.pem", "-out", f"{ca}.pem", "-days", "2",
                "-subj", f"/CN=footmetrics test {ca}", cwd=d)
    for name, ca, ext in (
            ("server", "ca", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
            ("client", "ca", "extendedKeyUsage=clientAuth"),
            ("stranger", "other-ca", "extendedKeyUsage=clientAuth")):
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(ext + "\n")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", f"{name}-key.pem", "-out", f"{name}.csr", "-subj", f"/CN={name}",
                cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey",
                f"{ca}-key.pem", "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
                "-extfile", f"{name}.ext", cwd=d)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def tls_get(port, pki, client=None, auth=None):
    """(status, body) of GET /metrics over TLS, or raises ssl.SSLError / OSError."""
    ctx = ssl.create_default_context(cafile=os.path.join(pki, "ca.pem"))
    if client:
        ctx.load_cert_chain(os.path.join(pki, f"{client}.pem"),
                            os.path.join(pki, f"{client}-key.pem"))
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=5)
    try:
        headers = {"Authorization": auth} if auth else {}
        conn.request("GET", "/metrics", headers=headers)
        r = conn.getresponse()
        return r.status, r.read().decode(), dict(r.getheaders())
    finally:
        conn.close()


def basic(user, password):
    import base64
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_tls_with_prometheus_client_arguments_and_a_real_prometheus(pki):
    from servers import query, start_prometheus_config, wait_for

    registry = footmetrics.CollectorRegistry()
    footmetrics.Counter("tls_scraped", "S.", registry=registry).inc(3)
    p = lambda name: os.path.join(pki, name)
    server, _ = footmetrics.start_http_server(
        0, addr="127.0.0.1", registry=registry, certfile=p("server.pem"),
        keyfile=p("server-key.pem"), client_cafile=p("ca.pem"), client_auth_required=True,
        tls_min_version=ssl.TLSVersion.TLSv1_2)
    port = server.server_address[1]
    prometheus = None
    try:
        assert tls_get(port, pki, "client")[0] == 200
        with pytest.raises((ssl.SSLError, OSError)):
            tls_get(port, pki)
        with pytest.raises((ssl.SSLError, OSError)):
            tls_get(port, pki, "stranger")
        target = f"127.0.0.1:{port}"
        prometheus = start_prometheus_config(f"""
  - job_name: with_cert
    scheme: https
    tls_config: {{ca_file: {p('ca.pem')}, cert_file: {p('client.pem')}, key_file: {p('client-key.pem')}}}
    static_configs: [{{targets: ['{target}']}}]
  - job_name: without_cert
    scheme: https
    tls_config: {{ca_file: {p('ca.pem')}}}
    static_configs: [{{targets: ['{target}']}}]
""")
        got = wait_for(prometheus, 'tls_scraped_total{job="with_cert"}')
        assert got[0]["value"][1] == "3"
        assert wait_for(prometheus, 'up{job="without_cert"} == 0')
        assert query(prometheus, 'up{job="with_cert"} == 1')
        assert server.stats()["tls_handshake_failures"] >= 3
    finally:
        if prometheus:
            prometheus.stop()
        server.shutdown()


def test_a_web_config_file_gives_tls_and_basic_auth(pki):
    from servers import start_prometheus_config, wait_for

    config = os.path.join(pki, "web.yml")
    with open(config, "w") as f:
        f.write("tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n"
                "http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n"
                f"basic_auth_users:\n  prom: {S3CRET_BCRYPT}\n")
    registry = footmetrics.CollectorRegistry()
    footmetrics.Gauge("behind_auth", "B.", registry=registry).set(5)
    server, _ = footmetrics.start_http_server(0, addr="127.0.0.1", registry=registry,
                                              web_config_file=config)
    port = server.server_address[1]
    prometheus = None
    try:
        status, body, headers = tls_get(port, pki, auth=basic("prom", "s3cret"))
        assert status == 200 and "behind_auth 5.0" in body
        assert headers.get("x-content-type-options") == "nosniff"
        status, _, headers = tls_get(port, pki, auth=basic("prom", "wrong"))
        assert status == 401 and headers.get("www-authenticate") == "Basic"
        assert tls_get(port, pki, auth=basic("nobody", "s3cret"))[0] == 401
        assert tls_get(port, pki)[0] == 401
        assert server.stats()["auth_failures"] == 3

        ca = os.path.join(pki, "ca.pem")
        target = f"127.0.0.1:{port}"
        prometheus = start_prometheus_config(f"""
  - job_name: right
    scheme: https
    tls_config: {{ca_file: {ca}}}
    basic_auth: {{username: prom, password: s3cret}}
    static_configs: [{{targets: ['{target}']}}]
  - job_name: wrong
    scheme: https
    tls_config: {{ca_file: {ca}}}
    basic_auth: {{username: prom, password: nope}}
    static_configs: [{{targets: ['{target}']}}]
""")
        assert wait_for(prometheus, 'behind_auth{job="right"}')[0]["value"][1] == "5"
        assert wait_for(prometheus, 'up{job="wrong"} == 0')
        failures = wait_for(prometheus,
                            'footmetrics_exporter_auth_failures_total{job="right"} > 3')
        assert float(failures[0]["value"][1]) > 3
    finally:
        if prometheus:
            prometheus.stop()
        server.shutdown()


def test_tls_arguments_are_checked_as_prometheus_client_does(pki):
    registry = footmetrics.CollectorRegistry()
    p = lambda name: os.path.join(pki, name)
    with open(p("garbage.pem"), "w") as f:
        f.write("not a certificate\n")
    with pytest.raises(ssl.SSLError, match="Cannot load server certificate file"):
        footmetrics.start_http_server(0, addr="127.0.0.1", registry=registry,
                                      certfile=p("garbage.pem"), keyfile=p("server-key.pem"))
    with pytest.raises(FileNotFoundError, match="CA certificate"):
        footmetrics.start_http_server(0, addr="127.0.0.1", registry=registry,
                                      certfile=p("server.pem"), keyfile=p("server-key.pem"),
                                      client_cafile=p("missing-ca.pem"))
    with pytest.raises(ValueError):
        footmetrics.start_http_server(0, addr="127.0.0.1", registry=registry,
                                      certfile=p("server.pem"), keyfile=p("server-key.pem"),
                                      protocol=ssl.PROTOCOL_TLS_CLIENT)
    with pytest.raises(ValueError):
        footmetrics.start_http_server(0, addr="127.0.0.1", registry=registry,
                                      certfile=p("server.pem"), keyfile=p("server-key.pem"),
                                      tls_max_version=ssl.TLSVersion.TLSv1_1)
    # A CA directory (client_capath) works as OpenSSL's does.
    capath = tempfile.mkdtemp(prefix="footmetrics-capath-", dir=pki)
    shutil.copy(p("ca.pem"), capath)
    server, _ = footmetrics.start_http_server(
        0, addr="127.0.0.1", registry=registry, certfile=p("server.pem"),
        keyfile=p("server-key.pem"), client_capath=capath, client_auth_required=True,
        tls_max_version=ssl.TLSVersion.TLSv1_2)
    try:
        assert tls_get(server.server_address[1], pki, "client")[0] == 200
    finally:
        server.shutdown()
    # Only a certfile (no keyfile) serves plain HTTP, as in prometheus_client.
    server, _ = footmetrics.start_http_server(0, addr="127.0.0.1", registry=registry,
                                              certfile=p("server.pem"))
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
        conn.request("GET", "/metrics")
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        server.shutdown()

