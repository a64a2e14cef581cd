"""footmetrics: the FootAnalytics metrics SDK for Python.

A drop-in replacement for the everyday API of ``prometheus_client`` on a lock-free Rust core:
change ``from prometheus_client import ...`` to ``from footmetrics import ...``.
"""

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
    generate_latest,
)
from footmetrics.asgi import make_asgi_app
from footmetrics.exposition import (
    CONTENT_TYPE_LATEST,
    CONTENT_TYPE_PLAIN_1_0_0,
    MetricsHandler,
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
from footmetrics.metrics import disable_created_metrics, enable_created_metrics
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
from footmetrics.otlp import OtlpExporter, start_otlp_exporter
from footmetrics.platform_collector import PLATFORM_COLLECTOR, PlatformCollector
from footmetrics.process_collector import PROCESS_COLLECTOR, ProcessCollector
from footmetrics.registry import Collector
from footmetrics.samples import Exemplar, Sample

__all__ = [
    "CONTENT_TYPE_LATEST",
    "CONTENT_TYPE_PLAIN_0_0_4",
    "CONTENT_TYPE_PLAIN_1_0_0",
    "GC_COLLECTOR",
    "PLATFORM_COLLECTOR",
    "PROCESS_COLLECTOR",
    "REGISTRY",
    "Collector",
    "CollectorRegistry",
    "Counter",
    "CounterMetricFamily",
    "Enum",
    "Exemplar",
    "GCCollector",
    "Gauge",
    "GaugeHistogramMetricFamily",
    "GaugeMetricFamily",
    "Histogram",
    "HistogramMetricFamily",
    "Info",
    "InfoMetricFamily",
    "Metric",
    "MetricsHandler",
    "OtlpExporter",
    "PlatformCollector",
    "ProcessCollector",
    "Sample",
    "StateSetMetricFamily",
    "Summary",
    "SummaryMetricFamily",
    "UnknownMetricFamily",
    "UntypedMetricFamily",
    "choose_encoder",
    "delete_from_gateway",
    "disable_created_metrics",
    "enable_created_metrics",
    "generate_latest",
    "instance_ip_grouping_key",
    "make_asgi_app",
    "make_wsgi_app",
    "push_to_gateway",
    "pushadd_to_gateway",
    "start_http_server",
    "start_otlp_exporter",
    "start_wsgi_server",
    "write_to_textfile",
]
