"""Families of samples for custom collectors, as ``prometheus_client.metrics_core``: a
collector's ``collect()`` returns these, and the registry renders them with its own metrics.

Each ``*MetricFamily`` takes either one unlabelled ``value`` or ``labels`` (names) followed by
``add_metric(label_values, ...)`` calls."""

import re
from collections.abc import Iterable, Sequence
from typing import Optional, Union

from footmetrics.samples import Exemplar, Sample
from footmetrics.validation import _validate_metric_name

METRIC_TYPES = (
    "counter", "gauge", "summary", "histogram", "gaugehistogram", "unknown", "info", "stateset",
)
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class Metric:
    """One family: name (without ``_total``/``_info``), documentation, type, unit, samples."""

    def __init__(self, name: str, documentation: str, typ: str, unit: str = ""):
        # "untyped" is the classic format's word for OpenMetrics' "unknown".
        if typ == "untyped":
            typ = "unknown"
        if unit and not name.endswith("_" + unit):
            name += "_" + unit
        # Legacy or UTF-8 names, as validation's switch says.
        _validate_metric_name(name)
        if typ == "untyped":
            typ = "unknown"
        if typ not in METRIC_TYPES:
            raise ValueError("Invalid metric type: " + typ)
        # The type's own suffix is part of the sample names, not of the family name.
        if typ == "counter" and name.endswith("_total"):
            name = name[:-6]
        elif typ == "info" and name.endswith("_info"):
            name = name[:-5]
        self.name = name
        self.documentation = documentation
        self.unit = unit
        self.type = typ
        self.samples: list[Sample] = []

    def add_sample(self, name: str, labels: dict[str, str], value: float,
                   timestamp: Optional[float] = None, exemplar: Optional[Exemplar] = None,
                   native_histogram: None = None) -> None:
        self.samples.append(Sample(name, labels, value, timestamp, exemplar))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Metric)
            and self.name == other.name
            and self.documentation == other.documentation
            and self.type == other.type
            and self.unit == other.unit
            and self.samples == other.samples
        )

    def __repr__(self) -> str:
        return (
            f"Metric({self.name!r}, {self.documentation!r}, {self.type!r}, "
            f"{self.unit!r}, {self.samples!r})"
        )


def _label_names(labels: Optional[Iterable[str]], value: object) -> tuple[str, ...]:
    """The label names as a tuple (any iterable is taken, once)."""
    if labels is not None and value is not None:
        raise ValueError("Can only specify at most one of value and labels.")
    names = tuple(labels or ())
    for n in names:
        if not _LABEL.match(n) or n.startswith("__"):
            raise ValueError("Invalid label name: " + str(n))
    return names


def _pairs(names: Sequence[str], values: Sequence[str]) -> dict[str, str]:
    values = list(values)
    if len(values) != len(names):
        raise ValueError(f"Expected {len(names)} label values, got {len(values)}")
    return dict(zip(names, values))


def _le(bound: Union[str, float]) -> str:
    """Bucket bounds as strings, spelled as prometheus_client spells floats. Anything else is
    kept as given and refused when the family is rendered (as prometheus_client does)."""
    if not isinstance(bound, (int, float)):
        return bound
    f = float(bound)
    if f == float("inf"):
        return "+Inf"
    if f == float("-inf"):
        return "-Inf"
    return repr(f)


class UnknownMetricFamily(Metric):
    def __init__(self, name: str, documentation: str, value: Optional[float] = None,
                 labels: Optional[Sequence[str]] = None, unit: str = ""):
        Metric.__init__(self, name, documentation, "unknown", unit)
        self._labelnames = _label_names(labels, value)
        if value is not None:
            self.add_metric([], value)

    def add_metric(self, labels: Sequence[str], value: float,
                   timestamp: Optional[float] = None) -> None:
        self.samples.append(Sample(self.name, _pairs(self._labelnames, labels), value, timestamp))


UntypedMetricFamily = UnknownMetricFamily


class CounterMetricFamily(Metric):
    def __init__(self, name: str, documentation: str, value: Optional[float] = None,
                 labels: Optional[Sequence[str]] = None, created: Optional[float] = None,
                 unit: str = "", exemplar: Optional[Exemplar] = None):
        name = name.removesuffix("_total")
        Metric.__init__(self, name, documentation, "counter", unit)
        self._labelnames = _label_names(labels, value)
        if value is not None:
            self.add_metric([], value, created, exemplar=exemplar)

    def add_metric(self, labels: Sequence[str], value: float, created: Optional[float] = None,
                   timestamp: Optional[float] = None,
                   exemplar: Optional[Exemplar] = None) -> None:
        pairs = _pairs(self._labelnames, labels)
        self.samples.append(Sample(self.name + "_total", pairs, value, timestamp, exemplar))
        if created is not None:
            self.samples.append(Sample(self.name + "_created", pairs, created, timestamp))


class GaugeMetricFamily(Metric):
    def __init__(self, name: str, documentation: str, value: Optional[float] = None,
                 labels: Optional[Sequence[str]] = None, unit: str = ""):
        Metric.__init__(self, name, documentation, "gauge", unit)
        self._labelnames = _label_names(labels, value)
        if value is not None:
            self.add_metric([], value)

    def add_metric(self, labels: Sequence[str], value: float,
                   timestamp: Optional[float] = None) -> None:
        self.samples.append(Sample(self.name, _pairs(self._labelnames, labels), value, timestamp))


class SummaryMetricFamily(Metric):
    def __init__(self, name: str, documentation: str, count_value: Optional[int] = None,
                 sum_value: Optional[float] = None, labels: Optional[Sequence[str]] = None,
                 unit: str = ""):
        Metric.__init__(self, name, documentation, "summary", unit)
        if (sum_value is None) != (count_value is None):
            raise ValueError("count_value and sum_value must be provided together.")
        self._labelnames = _label_names(labels, count_value)
        if count_value is not None and sum_value is not None:
            self.add_metric([], count_value, sum_value)

    def add_metric(self, labels: Sequence[str], count_value: int, sum_value: float,
                   timestamp: Optional[float] = None) -> None:
        pairs = _pairs(self._labelnames, labels)
        self.samples.append(Sample(self.name + "_count", pairs, count_value, timestamp))
        self.samples.append(Sample(self.name + "_sum", pairs, sum_value, timestamp))


_Bucket = Union[tuple[Union[str, float], float], tuple[Union[str, float], float, Exemplar]]


class HistogramMetricFamily(Metric):
    def __init__(self, name: str, documentation: str, buckets: Optional[Sequence[_Bucket]] = None,
                 sum_value: Optional[float] = None, labels: Optional[Sequence[str]] = None,
                 unit: str = ""):
        Metric.__init__(self, name, documentation, "histogram", unit)
        if sum_value is not None and buckets is None:
            raise ValueError("sum value cannot be provided without buckets.")
        self._labelnames = _label_names(labels, buckets)
        if buckets is not None:
            self.add_metric([], buckets, sum_value)

    def add_metric(self, labels: Sequence[str], buckets: Sequence[_Bucket],
                   sum_value: Optional[float], timestamp: Optional[float] = None) -> None:
        pairs = _pairs(self._labelnames, labels)
        # The count is the last (+Inf) bucket's: without one, indexing fails as it does in
        # prometheus_client (KeyError for a dict, IndexError for an empty list).
        count = buckets[-1][1]
        for b in buckets:
            exemplar = b[2] if len(b) == 3 else None  # type: ignore[misc]
            le = dict(pairs, le=_le(b[0]))
            self.samples.append(Sample(self.name + "_bucket", le, b[1], timestamp, exemplar))
        # A sum (and so the count) is only meaningful without negative buckets.
        if sum_value is not None and float(buckets[0][0]) >= 0:
            self.samples.append(Sample(self.name + "_count", pairs, count, timestamp))
            self.samples.append(Sample(self.name + "_sum", pairs, sum_value, timestamp))


class GaugeHistogramMetricFamily(Metric):
    def __init__(self, name: str, documentation: str,
                 buckets: Optional[Sequence[tuple[Union[str, float], float]]] = None,
                 gsum_value: Optional[float] = None, labels: Optional[Sequence[str]] = None,
                 unit: str = ""):
        Metric.__init__(self, name, documentation, "gaugehistogram", unit)
        self._labelnames = _label_names(labels, buckets)
        if buckets is not None:
            self.add_metric([], buckets, gsum_value)

    def add_metric(self, labels: Sequence[str],
                   buckets: Sequence[tuple[Union[str, float], float]],
                   gsum_value: Optional[float], timestamp: Optional[float] = None) -> None:
        pairs = _pairs(self._labelnames, labels)
        for bound, count in buckets:
            le = dict(pairs, le=_le(bound))
            self.samples.append(Sample(self.name + "_bucket", le, count, timestamp))
        # As prometheus_client: `_gcount` (the +Inf bucket) and `_gsum` always, so a missing
        # sum fails when the family is rendered.
        self.samples.append(Sample(self.name + "_gcount", pairs, buckets[-1][1], timestamp))
        self.samples.append(Sample(self.name + "_gsum", pairs, gsum_value,  # type: ignore[arg-type]
                                   timestamp))


class InfoMetricFamily(Metric):
    def __init__(self, name: str, documentation: str, value: Optional[dict[str, str]] = None,
                 labels: Optional[Sequence[str]] = None):
        Metric.__init__(self, name, documentation, "info")
        self._labelnames = _label_names(labels, value)
        if value is not None:
            self.add_metric([], value)

    def add_metric(self, labels: Sequence[str], value: dict[str, str],
                   timestamp: Optional[float] = None) -> None:
        pairs = dict(_pairs(self._labelnames, labels), **value)
        self.samples.append(Sample(self.name + "_info", pairs, 1, timestamp))


class StateSetMetricFamily(Metric):
    def __init__(self, name: str, documentation: str, value: Optional[dict[str, bool]] = None,
                 labels: Optional[Sequence[str]] = None):
        Metric.__init__(self, name, documentation, "stateset")
        self._labelnames = _label_names(labels, value)
        if value is not None:
            self.add_metric([], value)

    def add_metric(self, labels: Sequence[str], value: dict[str, bool],
                   timestamp: Optional[float] = None) -> None:
        pairs = _pairs(self._labelnames, labels)
        for state, enabled in sorted(value.items()):
            self.samples.append(
                Sample(self.name, dict(pairs, **{self.name: state}), 1 if enabled else 0,
                       timestamp))


__all__ = [
    "CounterMetricFamily",
    "GaugeHistogramMetricFamily",
    "GaugeMetricFamily",
    "HistogramMetricFamily",
    "InfoMetricFamily",
    "Metric",
    "StateSetMetricFamily",
    "SummaryMetricFamily",
    "UnknownMetricFamily",
    "UntypedMetricFamily",
]
