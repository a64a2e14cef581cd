"""footmetrics: the FootAnalytics metrics SDK for Python.

A drop-in replacement for the everyday API of ``prometheus_client`` on a lock-free Rust core:
change ``from prometheus_client import ...`` to ``from footmetrics import ...``.
"""

import os as _os

from footmetrics._core import (
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
from footmetrics._core import CONTENT_TYPE_PLAIN_0_0_4
from footmetrics.exposition import start_http_server, start_wsgi_server
from footmetrics.samples import Metric, Sample

# The classic text format this package writes (Prometheus 0.0.4, which every Prometheus
# accepts). prometheus_client 0.26 labels the same bytes version 1.0.0, which only differs for
# UTF-8 metric names; the constant is here so code that imports it keeps working.
CONTENT_TYPE_PLAIN_1_0_0 = "text/plain; version=1.0.0; charset=utf-8"
CONTENT_TYPE_LATEST = CONTENT_TYPE_PLAIN_0_0_4

if _os.environ.get("PROMETHEUS_DISABLE_CREATED_SERIES", "False").lower() == "true":
    disable_created_metrics()

__all__ = [
    "CollectorRegistry",
    "REGISTRY",
    "Metric",
    "Sample",
    "Counter",
    "Gauge",
    "Summary",
    "Histogram",
    "Info",
    "Enum",
    "enable_created_metrics",
    "disable_created_metrics",
    "CONTENT_TYPE_LATEST",
    "CONTENT_TYPE_PLAIN_0_0_4",
    "CONTENT_TYPE_PLAIN_1_0_0",
    "generate_latest",
    "start_http_server",
    "start_wsgi_server",
]
