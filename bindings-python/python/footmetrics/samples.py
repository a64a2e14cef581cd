"""The samples inside each ``Metric`` a collector yields, shaped as in ``prometheus_client``:
named tuples, so code that unpacks or indexes them keeps working."""

from typing import NamedTuple, Optional


class Exemplar(NamedTuple):
    labels: dict[str, str]
    value: float
    timestamp: Optional[float] = None


class Sample(NamedTuple):
    name: str
    labels: dict[str, str]
    value: float
    timestamp: Optional[float] = None
    exemplar: Optional[Exemplar] = None
    native_histogram: None = None
