"""The samples inside each ``Metric`` a collector yields, shaped as in ``prometheus_client``:
named tuples, so code that unpacks or indexes them keeps working; and ``Timestamp``, a sample
time to the nanosecond."""

from collections.abc import Sequence
from typing import NamedTuple, Optional, Union


class Timestamp:
    """A point in time as whole seconds and nanoseconds since the epoch.

    ``nsec`` must be in ``[0, 1e9)``; for a time before the epoch (negative ``sec``) it counts
    away from zero, so ``Timestamp(-1, 5e8)`` is -1.5 s. ``float()`` converts it, and two are
    ordered by seconds, then nanoseconds."""

    def __init__(self, sec: float, nsec: float) -> None:
        if not 0 <= nsec < 1e9:
            raise ValueError(f"Invalid value for nanoseconds in Timestamp: {nsec}")
        self.sec: int = int(sec)
        self.nsec: int = int(-nsec if sec < 0 else nsec)

    def __str__(self) -> str:
        return f"{self.sec}.{self.nsec:09d}"

    def __repr__(self) -> str:
        return f"Timestamp({self.sec}, {self.nsec})"

    def __float__(self) -> float:
        return self.sec + self.nsec / 1e9

    def _key(self) -> tuple[int, int]:
        return self.sec, self.nsec

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Timestamp) and self._key() == other._key()

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __gt__(self, other: "Timestamp") -> bool:
        return self._key() > other._key()

    def __lt__(self, other: "Timestamp") -> bool:
        return self._key() < other._key()


class BucketSpan(NamedTuple):
    """A run of native-histogram buckets: ``length`` buckets, ``offset`` after the last run."""
    offset: int
    length: int


class Exemplar(NamedTuple):
    labels: dict[str, str]
    value: float
    timestamp: Optional[Union[float, Timestamp]] = None


class NativeHistogram(NamedTuple):
    """A native (sparse) histogram's value, as ``prometheus_client`` spells it. footmetrics
    exposes classic histograms; the type is here so collectors that build one still import."""
    count_value: float
    sum_value: float
    schema: int
    zero_threshold: float
    zero_count: float
    pos_spans: Optional[Sequence[BucketSpan]] = None
    neg_spans: Optional[Sequence[BucketSpan]] = None
    pos_deltas: Optional[Sequence[int]] = None
    neg_deltas: Optional[Sequence[int]] = None
    nh_exemplars: Optional[Sequence[Exemplar]] = None


class Sample(NamedTuple):
    name: str
    labels: dict[str, str]
    value: float
    timestamp: Optional[Union[float, Timestamp]] = None
    exemplar: Optional[Exemplar] = None
    native_histogram: Optional[NativeHistogram] = None


__all__ = ["BucketSpan", "Exemplar", "NativeHistogram", "Sample", "Timestamp"]
