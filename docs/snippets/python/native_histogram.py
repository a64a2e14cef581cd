"""docs/python.md: a native histogram, served in the protobuf format to a scraper that asks
for it (as Prometheus does with --enable-feature=native-histograms) and as text otherwise.
The protobuf answer is read with Google's protobuf package (bindings-python/tests/client_model.py),
the text with prometheus_client's parser: readers footmetrics did not write."""
import pathlib
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bindings-python" / "tests"))
import client_model

from footmetrics.exposition import CONTENT_TYPE_PROTOBUF

# docs:start native
from footmetrics import CollectorRegistry, Histogram, start_http_server

registry = CollectorRegistry()
inference = Histogram('ml_inference_duration_seconds', 'ML model inference duration',
                      ['model_version'], registry=registry,
                      native_histogram_bucket_factor=1.1,      # buckets at most 10% wide
                      native_histogram_max_bucket_number=160)  # past it: coarser buckets
inference.labels('v2').observe(0.042)
server, _ = start_http_server(0, addr='127.0.0.1', registry=registry)
# docs:end native

url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
request = urllib.request.Request(url, headers={"Accept": client_model.ACCEPT})
with urllib.request.urlopen(request, timeout=10) as response:
    assert response.headers["Content-Type"] == CONTENT_TYPE_PROTOBUF
    families = client_model.parse_delimited(response.read())
histogram = next(f for f in families if f.name == "ml_inference_duration_seconds").metric[0].histogram
assert histogram.schema == 3 and histogram.sample_count == 1 and histogram.sample_sum == 0.042
# 0.042 is in bucket -36 of schema 3: (2^(-37/8), 2^(-36/8)] = (0.0405, 0.0442].
assert client_model.native_buckets(histogram.positive_span, histogram.positive_delta) == {-36: 1}

body = urllib.request.urlopen(url, timeout=10).read().decode()
samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
           for family in text_string_to_metric_families(body) for s in family.samples}
assert samples[("ml_inference_duration_seconds_bucket",
                (("le", "+Inf"), ("model_version", "v2")))] == 1.0, body
assert samples[("ml_inference_duration_seconds_count", (("model_version", "v2"),))] == 1.0, body
server.shutdown()
