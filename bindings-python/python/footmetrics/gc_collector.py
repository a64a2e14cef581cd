"""``python_gc_*``: the garbage collector's counts per generation, as
``prometheus_client.gc_collector`` exports them (CPython only)."""

import gc
import platform
from collections.abc import Iterable
from typing import Any, Optional

from footmetrics._core import REGISTRY
from footmetrics.metrics_core import CounterMetricFamily, Metric
from footmetrics.registry import Collector

_FAMILIES = (
    ("python_gc_objects_collected", "Objects collected during gc", "collected"),
    ("python_gc_objects_uncollectable", "Uncollectable objects found during GC", "uncollectable"),
    ("python_gc_collections", "Number of times this generation was collected", "collections"),
)


class GCCollector(Collector):
    def __init__(self, registry: Optional[Any] = REGISTRY):
        # Other interpreters have no per-generation statistics; then nothing is registered.
        if not hasattr(gc, "get_stats") or platform.python_implementation() != "CPython":
            return
        if registry is not None:
            registry.register(self)

    def collect(self) -> Iterable[Metric]:
        stats = gc.get_stats()
        families = []
        for name, doc, key in _FAMILIES:
            f = CounterMetricFamily(name, doc, labels=["generation"])
            for generation, s in enumerate(stats):
                f.add_metric([str(generation)], s[key])
            families.append(f)
        return families

    def describe(self) -> Iterable[Metric]:
        return [CounterMetricFamily(name, doc, labels=["generation"]) for name, doc, _ in _FAMILIES]


GC_COLLECTOR = GCCollector()

__all__ = ["GC_COLLECTOR", "GCCollector"]
