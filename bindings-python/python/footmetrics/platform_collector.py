"""``python_info``: the interpreter's implementation and version (and the JVM's, on Jython),
as ``prometheus_client.platform_collector`` exports it."""

import platform as _platform
from collections.abc import Iterable
from typing import Any, Optional

from footmetrics._core import REGISTRY
from footmetrics.metrics_core import GaugeMetricFamily, Metric
from footmetrics.registry import Collector


class PlatformCollector(Collector):
    def __init__(self, registry: Optional[Any] = REGISTRY, platform: Optional[Any] = None):
        self._platform = _platform if platform is None else platform
        major, minor, patchlevel = self._platform.python_version_tuple()
        self._info = {
            "implementation": self._platform.python_implementation(),
            "major": major,
            "minor": minor,
            "patchlevel": patchlevel,
            "version": self._platform.python_version(),
        }
        # On Jython, the JVM too (java_ver(): release, vendor, (name, release, vendor), os).
        system = getattr(self._platform, "system", None)
        if system is not None and system() == "Java":
            jvm_version, _, (vm_name, vm_release, vm_vendor), _ = self._platform.java_ver()
            self._info.update(jvm_version=jvm_version, jvm_release=vm_release,
                              jvm_vendor=vm_vendor, jvm_name=vm_name)
        if registry is not None:
            registry.register(self)

    def collect(self) -> Iterable[Metric]:
        # Fixed for the life of the process: computed once, copied per scrape.
        g = GaugeMetricFamily("python_info", "Python platform information",
                              labels=list(self._info))
        g.add_metric(list(self._info.values()), 1)
        return [g]

    def describe(self) -> Iterable[Metric]:
        return self.collect()


PLATFORM_COLLECTOR = PlatformCollector()

__all__ = ["PLATFORM_COLLECTOR", "PlatformCollector"]
