"""Registries and the collector interface, as ``prometheus_client.registry``."""

from abc import ABC, abstractmethod
from collections.abc import Iterable

from footmetrics._core import REGISTRY, CollectorRegistry
from footmetrics.metrics_core import Metric


class DuplicateTimeseries(ValueError):
    """Raised by ``register`` (and by creating a metric in a registry) when a name is already
    taken there. A ``ValueError``, as in prometheus_client."""


class Collector(ABC):
    """A custom collector: ``collect()`` yields ``Metric`` families at every scrape.
    ``describe()`` (optional) names them ahead of time so registration can refuse clashes."""

    @abstractmethod
    def collect(self) -> Iterable[Metric]:
        ...

    def describe(self) -> Iterable[Metric]:
        return []


__all__ = ["REGISTRY", "Collector", "CollectorRegistry", "DuplicateTimeseries"]
