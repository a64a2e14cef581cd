"""docs/python.md: the catalog registers a standard metric with the platform's name, help,
labels and buckets."""
import footmetrics

# docs:start catalog
from footmetrics import catalog

inference = catalog.ml_inference_duration_seconds()      # name, help, labels, buckets from the catalog
inference.labels(model_version='v2', batch_size='32', device='cuda').observe(0.4)
print([spec.name for spec in catalog.ALL][:3])
# docs:end catalog

spec = next(s for s in catalog.ALL if s.name == "ml_inference_duration_seconds")
assert spec.labels == ("model_version", "batch_size", "device")
labels = {"model_version": "v2", "batch_size": "32", "device": "cuda"}
assert footmetrics.REGISTRY.get_sample_value("ml_inference_duration_seconds_sum", labels) == 0.4
bound = min(b for b in spec.buckets if b >= 0.4)
assert footmetrics.REGISTRY.get_sample_value(
    "ml_inference_duration_seconds_bucket", {**labels, "le": str(float(bound))}) == 1.0
