"""docs/push.md: the OTLP exporter, started and shut down (nothing listens: the exporter keeps
the program running and counts what it could not deliver)."""
# docs:start otlp
from footmetrics.otlp import start_otlp_exporter
exporter = start_otlp_exporter("http://otel-collector:4318", interval=15, service_name="ml-pipeline")
# docs:end otlp
exporter.shutdown(timeout=1)
