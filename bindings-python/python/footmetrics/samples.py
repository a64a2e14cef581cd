"""What ``CollectorRegistry.collect()`` yields: families of samples, shaped as in
``prometheus_client`` (``Metric`` with ``name``, ``documentation``, ``unit``, ``type`` and
``samples``; each ``Sample`` a named tuple)."""

from typing import Dict, List, NamedTuple, Optional


class Exemplar(NamedTuple):
    labels: Dict[str, str]
    value: float
    timestamp: Optional[float] = None


class Sample(NamedTuple):
    name: str
    labels: Dict[str, str]
    value: float
    timestamp: Optional[float] = None
    exemplar: Optional[Exemplar] = None
    native_histogram: None = None


class Metric:
    """One family: its metadata and samples."""

    def __init__(self, name: str, documentation: str, typ: str, unit: str = "", samples=None):
        self.name = name
        self.documentation = documentation
        self.type = typ
        self.unit = unit
        self.samples: List[Sample] = list(samples or [])

    def add_sample(self, name, labels, value, timestamp=None, exemplar=None, native_histogram=None):
        self.samples.append(Sample(name, labels, value, timestamp, exemplar))

    def __eq__(self, other):
        return (
            isinstance(other, Metric)
            and self.name == other.name
            and self.documentation == other.documentation
            and self.type == other.type
            and self.unit == other.unit
            and self.samples == other.samples
        )

    def __repr__(self):
        return (
            f"Metric({self.name!r}, {self.documentation!r}, {self.type!r}, "
            f"{self.unit!r}, {self.samples!r})"
        )
