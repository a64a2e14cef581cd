"""README: the ML pipeline instrumented with footmetrics, served on :8000 and scraped."""
import gc
import urllib.request

from prometheus_client.parser import text_string_to_metric_families  # a reader we did not write

# docs:start readme
from footmetrics import Counter, Histogram, start_http_server   # was: from prometheus_client

inference = Histogram('ml_inference_duration_seconds', 'ML model inference duration',
                      ['model_version', 'batch_size', 'device'])
predictions = Counter('ml_predictions', 'Predictions served', ['model_version'])

with inference.labels(model_version='v2', batch_size='32', device='cuda').time():
    predictions.labels('v2').inc(32)
start_http_server(8000)   # served from a Rust thread: scrapes never take the GIL
# docs:end readme

gc.collect()  # the server must outlive its discarded handles, as prometheus_client's does
body = urllib.request.urlopen("http://127.0.0.1:8000/metrics", timeout=10).read().decode()
samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
           for family in text_string_to_metric_families(body) for s in family.samples}
assert samples[("ml_predictions_total", (("model_version", "v2"),))] == 32.0, body
inference_labels = (("batch_size", "32"), ("device", "cuda"), ("model_version", "v2"))
assert samples[("ml_inference_duration_seconds_count", inference_labels)] == 1.0, body
