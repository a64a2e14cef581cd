# The platform monitoring document (MONITORING.md), section "Custom Metrics > Application Metrics > ML Pipeline Metrics":
# its python code block, reproduced verbatim below the marker line (tests strip
# everything up to and including the marker, then change only the import).
# ---- verbatim below ----
# ML metrics in Python
from prometheus_client import Counter, Histogram, Gauge, start_http_server

# Model inference metrics
inference_duration = Histogram(
    'ml_inference_duration_seconds',
    'ML model inference duration',
    ['model_version', 'batch_size', 'device']
)

model_accuracy = Gauge(
    'ml_model_accuracy_score',
    'ML model accuracy score',
    ['model_version', 'dataset']
)

gpu_memory_usage = Gauge(
    'gpu_memory_usage_bytes',
    'GPU memory usage in bytes',
    ['gpu_id', 'process']
)

# Usage example
with inference_duration.labels(
    model_version='v2',
    batch_size='32',
    device='cuda'
).time():
    result = model.predict(batch)

model_accuracy.labels(model_version='v2', dataset='validation').set(0.87)
