"""The names ``prometheus_client.core`` gathers in one place (custom collectors import from
here: ``from footmetrics.core import GaugeMetricFamily, REGISTRY``)."""

from footmetrics._core import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    Summary,
)
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
from footmetrics.samples import Exemplar, Sample

__all__ = [
    "REGISTRY",
    "CollectorRegistry",
    "Counter",
    "CounterMetricFamily",
    "Enum",
    "Exemplar",
    "Gauge",
    "GaugeHistogramMetricFamily",
    "GaugeMetricFamily",
    "Histogram",
    "HistogramMetricFamily",
    "Info",
    "InfoMetricFamily",
    "Metric",
    "Sample",
    "StateSetMetricFamily",
    "Summary",
    "SummaryMetricFamily",
    "UnknownMetricFamily",
    "UntypedMetricFamily",
]
