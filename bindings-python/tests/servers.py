"""Real servers for the tests: Prometheus and the Pushgateway (Debian packages installed by
`make deps`) and the OTLP test sink (`make otlp-sink`), started on 127.0.0.1 and stopped by
PID."""

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5, context=None, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout, context=context) as r:
        return r.status, r.read().decode()


def make_pki(mtls=False, basic_auth=None):
    """A fresh CA, server and client certificates and a Pushgateway web config, made by the
    testkit's `test-pki` (built by `make otlp-sink`): a dict of paths, with "dir"."""
    binary = os.path.join(REPO, "target", "debug", "test-pki")
    if not os.path.exists(binary):
        raise RuntimeError(f"{binary} is missing: run `make otlp-sink`")
    workdir = tempfile.mkdtemp(prefix="footmetrics-pki-")
    argv = [binary, workdir] + (["--mtls"] if mtls else [])
    if basic_auth:
        argv += ["--basic-auth", ":".join(basic_auth)]
    paths = json.loads(subprocess.run(argv, check=True, capture_output=True).stdout)
    paths["dir"] = workdir
    return paths


def tls_context(pki, client_cert=False):
    """An ssl context trusting the test CA (presenting the client certificate if asked)."""
    context = ssl.create_default_context(cafile=pki["ca"])
    if client_cert:
        context.load_cert_chain(pki["client_cert"], pki["client_key"])
    return context


class Server:
    """A child process serving HTTP(S) on 127.0.0.1:<port>, ready once `ready_path` answers
    200 (over TLS with `context`, sending `headers`)."""

    def __init__(self, argv, port, ready_path, workdir, context=None, headers=None):
        self.port = port
        self.context, self.headers = context, headers
        self.url = f"{'https' if context else 'http'}://127.0.0.1:{port}"
        self.workdir = workdir
        self.log_path = os.path.join(workdir, "server.log")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                if http_get(self.url + ready_path, timeout=1, context=context,
                            headers=headers)[0] == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{argv[0]} did not start:\n{self.log()}")
            time.sleep(0.1)

    def get(self, path):
        return http_get(self.url + path, context=self.context, headers=self.headers)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_pushgateway(pki=None, context=None, headers=None):
    """A Pushgateway; with `pki` (from make_pki) it serves its web config (TLS, client
    certificates, basic auth), and `context`/`headers` are what reading it back needs."""
    port = free_port()
    argv = ["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{port}",
            "--persistence.file="]
    if pki is not None:
        argv.append(f"--web.config.file={pki['web_config']}")
    return Server(argv, port, "/-/ready", tempfile.mkdtemp(prefix="footmetrics-pushgateway-"),
                  context=context, headers=headers)


def start_prometheus(targets, flags=()):
    """Prometheus scraping `targets` ({job: "host:port"}) every second, with extra command-line
    `flags` (`--enable-feature=native-histograms`, say)."""
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="footmetrics-prometheus-")
    config = ["global:", "  scrape_interval: 1s", "  scrape_timeout: 900ms", "scrape_configs:"]
    for job, target in targets.items():
        config += [f"  - job_name: {job}", "    static_configs:", f"      - targets: ['{target}']"]
    with open(os.path.join(workdir, "prometheus.yml"), "w") as f:
        f.write("\n".join(config) + "\n")
    return Server(
        ["prometheus", f"--config.file={workdir}/prometheus.yml",
         f"--storage.tsdb.path={workdir}/data", f"--web.listen-address=127.0.0.1:{port}",
         *flags],
        port, "/-/ready", workdir)


def start_prometheus_config(scrape_configs):
    """Prometheus scraping every second with `scrape_configs` (YAML list items indented by
    two spaces): for TLS and authentication settings."""
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="footmetrics-prometheus-")
    with open(os.path.join(workdir, "prometheus.yml"), "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n"
                + scrape_configs.strip("\n") + "\n")
    return Server(
        ["prometheus", f"--config.file={workdir}/prometheus.yml",
         f"--storage.tsdb.path={workdir}/data", f"--web.listen-address=127.0.0.1:{port}"],
        port, "/-/ready", workdir)


def query(prometheus, expr):
    """An instant query's result vector."""
    q = urllib.parse.urlencode({"query": expr})
    _status, body = http_get(f"{prometheus.url}/api/v1/query?{q}")
    data = json.loads(body)
    assert data["status"] == "success", data
    return data["data"]["result"]


def wait_for(prometheus, expr, timeout=30):
    """Polls `expr` until it returns something; returns the result vector."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = query(prometheus, expr)
        if result:
            return result
        time.sleep(0.5)
    _, targets = http_get(f"{prometheus.url}/api/v1/targets")
    raise AssertionError(f"no result for {expr} after {timeout}s; targets: {targets}")


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class OtlpSink:
    """The OTLP receiver of the Rust testkit (`otlp-sink`): decodes every
    ExportMetricsServiceRequest with opentelemetry-proto and answers `GET /received` with the
    data points as JSON. Built by `make otlp-sink`."""

    def __init__(self, http_port=None, grpc_port=None, tls=False, mtls=False):
        binary = os.environ.get("FOOTMETRICS_OTLP_SINK",
                                os.path.join(REPO, "target", "debug", "otlp-sink"))
        if not os.path.exists(binary):
            raise RuntimeError(f"{binary} is missing: run `make otlp-sink`")
        argv = [binary] + ([str(http_port), str(grpc_port)] if http_port else [])
        # With tls: both ports serve TLS with a PKI the sink writes to self.tls_dir.
        self.tls_dir = tempfile.mkdtemp(prefix="footmetrics-sink-pki-") if tls else None
        if tls:
            argv += ["--tls", self.tls_dir] + (["--mtls"] if mtls else [])
        # stdin stays open: the sink exits when it closes, so it never outlives the tests.
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        ports = json.loads(self.process.stdout.readline())
        self.http_port, self.grpc_port = ports["http_port"], ports["grpc_port"]
        self.scheme = "https" if tls else "http"
        self.url = f"{self.scheme}://127.0.0.1:{self.http_port}"
        self.context = None
        if tls:
            self.pki = {k: os.path.join(self.tls_dir, f) for k, f in (
                ("ca", "ca.pem"), ("client_cert", "client.pem"),
                ("client_key", "client-key.pem"), ("other_ca", "other-ca.pem"))}
            self.context = tls_context(self.pki, client_cert=mtls)

    def endpoint(self, protocol):
        port = self.grpc_port if protocol == "grpc" else self.http_port
        return f"{self.scheme}://127.0.0.1:{port}"

    def received(self):
        return json.loads(http_get(self.url + "/received", context=self.context)[1])

    def behave(self, status=0, delay_ms=0):
        req = urllib.request.Request(
            f"{self.url}/behaviour?status={status}&delay_ms={delay_ms}", method="POST")
        urllib.request.urlopen(req, timeout=5, context=self.context).read()

    def stop(self):
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        if self.tls_dir:
            shutil.rmtree(self.tls_dir, ignore_errors=True)


def pushed(gateway, job):
    """`{(sample name, sorted labels without job): value}` of what the gateway holds for job."""
    from prometheus_client.parser import text_string_to_metric_families

    _, text = gateway.get("/metrics")
    out = {}
    for f in text_string_to_metric_families(text):
        for s in f.samples:
            if s.labels.get("job") == job and not s.name.startswith("push_"):
                # The gateway adds `instance=""` to groups without one: empty means absent.
                labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "job" and v))
                out[(s.name, labels)] = s.value
    return out


def pushed_after_delete(gateway, job):
    """`pushed`, once the gateway has applied a DELETE: it answers 202 and deletes asynchronously."""
    for _ in range(50):
        got = pushed(gateway, job)
        if not got:
            break
        time.sleep(0.04)
    return got
