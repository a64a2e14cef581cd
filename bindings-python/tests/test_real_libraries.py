"""Libraries built on prometheus_client, run with footmetrics in its place: the import alias of
the conformance run (bindings-python/conformance/prometheus_client_alias.py) makes every
`prometheus_client` import of theirs resolve to footmetrics, in a fresh interpreter."""

import pathlib
import subprocess
import sys

import pytest

CONFORMANCE = pathlib.Path(__file__).resolve().parents[1] / "conformance"

FASTAPI_SERVICE = r'''
import prometheus_client_alias  # prometheus_client is footmetrics from here on
import footmetrics
import prometheus_client
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_fastapi_instrumentator import Instrumentator

assert prometheus_client is footmetrics

app = FastAPI()


@app.get("/models/{model}/predict")
def predict(model: str):
    return {"model": model, "score": 0.87}


Instrumentator().instrument(app).expose(app)
client = TestClient(app)
for _ in range(7):
    assert client.get("/models/v2/predict").status_code == 200
assert client.get("/missing").status_code == 404
scrape = client.get("/metrics")
assert scrape.status_code == 200, scrape.text
print(scrape.text)
'''


def test_prometheus_fastapi_instrumentator_counts_requests_exactly(tmp_path):
    pytest.importorskip("prometheus_fastapi_instrumentator")
    run = subprocess.run([sys.executable, "-c", FASTAPI_SERVICE], cwd=tmp_path, text=True,
                         capture_output=True, timeout=120, check=False,
                         env={"PYTHONPATH": str(CONFORMANCE), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    samples = {}
    for line in run.stdout.splitlines():
        if line.startswith("http_requests_total{"):
            labels, value = line.rsplit(" ", 1)
            samples[labels] = float(value)
    requests = {k: v for k, v in samples.items() if 'handler="/models/{model}/predict"' in k}
    assert list(requests.values()) == [7.0], run.stdout
    assert any('status="4xx"' in k for k in samples), run.stdout
    assert "http_request_duration_seconds_bucket{" in run.stdout
