"""footmetrics: the FootAnalytics metrics SDK for Python.

A drop-in replacement for the everyday API of ``prometheus_client`` on a lock-free Rust core:
change ``from prometheus_client import ...`` to ``from footmetrics import ...``.
"""

import os as _os

from footmetrics._core import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    Summary,
    disable_created_metrics,
    enable_created_metrics,
    generate_latest,
)
from footmetrics.asgi import make_asgi_app
from footmetrics.exposition import (
    CONTENT_TYPE_LATEST,
    choose_encoder,
    delete_from_gateway,
    instance_ip_grouping_key,
    make_wsgi_app,
    push_to_gateway,
    pushadd_to_gateway,
    start_http_server,
    start_wsgi_server,
    write_to_textfile,
)
from footmetrics.gc_collector import GC_COLLECTOR, GCCollector
from footmetrics.metrics_core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
    SummaryMetricFamily,
    UnknownMetricFamily,
    UntypedMetricFamily,
)
from footmetrics.platform_collector import PLATFORM_COLLECTOR, PlatformCollector
from footmetrics.process_collector import PROCESS_COLLECTOR, ProcessCollector
from footmetrics.otlp import OtlpExporter, start_otlp_exporter
from footmetrics.registry import Collector
from footmetrics.samples import Exemplar, Sample

# prometheus_client 0.26 labels the classic format version 1.0.0 where it allows UTF-8 names;
# this package writes 0.0.4 (CONTENT_TYPE_LATEST), which every Prometheus reads. The constant
# is here so code that imports it keeps working.
CONTENT_TYPE_PLAIN_1_0_0 = "text/plain; version=1.0.0; charset=utf-8"

if _os.environ.get("PROMETHEUS_DISABLE_CREATED_SERIES", "False").lower() == "true":
    disable_created_metrics()

__all__ = [
    "CollectorRegistry", "REGISTRY", "Collector", "Metric", "Sample", "Exemplar",
    "Counter", "Gauge", "Summary", "Histogram", "Info", "Enum",
    "CounterMetricFamily", "GaugeMetricFamily", "SummaryMetricFamily", "HistogramMetricFamily",
    "GaugeHistogramMetricFamily", "InfoMetricFamily", "StateSetMetricFamily",
    "UnknownMetricFamily", "UntypedMetricFamily",
    "enable_created_metrics", "disable_created_metrics",
    "CONTENT_TYPE_LATEST", "CONTENT_TYPE_PLAIN_0_0_4", "CONTENT_TYPE_PLAIN_1_0_0",
    "generate_latest", "choose_encoder", "start_http_server", "start_wsgi_server",
    "make_wsgi_app", "make_asgi_app", "write_to_textfile",
    "push_to_gateway", "pushadd_to_gateway", "delete_from_gateway", "instance_ip_grouping_key",
    "ProcessCollector", "PROCESS_COLLECTOR", "PlatformCollector", "PLATFORM_COLLECTOR",
    "GCCollector", "GC_COLLECTOR",
    "start_otlp_exporter", "OtlpExporter",
]
