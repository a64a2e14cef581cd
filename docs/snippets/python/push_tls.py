"""docs/push.md: pushing over TLS with a private CA and basic auth, to a real Pushgateway
started here behind its --web.config.file (certificates from the testkit's `test-pki`)."""
import base64
import json
import os
import pathlib
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request

import footmetrics

ROOT = pathlib.Path(__file__).resolve().parents[3]
pki_dir = tempfile.mkdtemp(prefix="footmetrics-doc-pki-")
pki = json.loads(subprocess.run(
    [str(ROOT / "target" / "debug" / "test-pki"), pki_dir, "--basic-auth", "batch:s3cret"],
    check=True, capture_output=True).stdout)
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
gw = subprocess.Popen(["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{port}",
                       "--persistence.file=", f"--web.config.file={pki['web_config']}"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
context = ssl.create_default_context(cafile=pki["ca"])
auth_header = {"Authorization": "Basic " + base64.b64encode(b"batch:s3cret").decode()}


def get(path):
    request = urllib.request.Request(f"https://127.0.0.1:{port}{path}", headers=auth_header)
    with urllib.request.urlopen(request, timeout=2, context=context) as r:
        return r.read().decode()


try:
    for _ in range(300):
        try:
            get("/-/ready")
            break
        except OSError:
            time.sleep(0.1)
    registry = footmetrics.CollectorRegistry()
    footmetrics.Gauge("nightly_rows", "Rows.", registry=registry).set(1234)
    gateway, ca = f"https://127.0.0.1:{port}", pki["ca"]
    # docs:start push-tls
    from footmetrics import push_to_gateway
    from footmetrics.exposition import basic_auth_handler

    def auth(url, method, timeout, headers, data):
        return basic_auth_handler(url, method, timeout, headers, data, "batch", "s3cret",
                                  cafile=ca)
    push_to_gateway(gateway, job="nightly", registry=registry, handler=auth)
    # docs:end push-tls
    assert 'nightly_rows{instance="",job="nightly"} 1234' in get("/metrics")
    try:
        push_to_gateway(gateway, job="nightly", registry=registry, cafile=ca)  # no password
        raise AssertionError("pushed without the password")
    except OSError as e:
        assert "401" in str(e), e
finally:
    os.kill(gw.pid, signal.SIGTERM)
    gw.wait(timeout=10)
    shutil.rmtree(pki_dir, ignore_errors=True)
