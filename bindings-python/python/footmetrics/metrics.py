"""The metric classes, as ``prometheus_client.metrics``, and the switch for their ``_created``
series.

``_created`` series follow one process-wide switch, kept by the Rust core: it starts off when
``PROMETHEUS_DISABLE_CREATED_SERIES`` is ``true``, ``1`` or ``t`` (any case) at import, and is
flipped by ``disable_created_metrics()`` / ``enable_created_metrics()`` or, as in
prometheus_client, by assigning this module's ``_use_created``. It applies to metrics created
after the change."""

import abc
import os
import sys
import types

from footmetrics import _core
from footmetrics._core import Counter, Enum, Gauge, Histogram, Info, Summary


def _get_use_created() -> bool:
    """Whether the environment asks for ``_created`` series (the default)."""
    value = os.environ.get("PROMETHEUS_DISABLE_CREATED_SERIES", "False")
    return value.lower() not in ("true", "1", "t")


_created_enabled = True


def disable_created_metrics() -> None:
    """Metrics created from now on export no ``_created`` series."""
    global _created_enabled
    _core.disable_created_metrics()
    _created_enabled = False


def enable_created_metrics() -> None:
    """Metrics created from now on export ``_created`` series (the default)."""
    global _created_enabled
    _core.enable_created_metrics()
    _created_enabled = True


class _MetricsModule(types.ModuleType):
    """This module's type: reading or assigning ``metrics._use_created`` reads or flips the
    core's switch, as the module global of prometheus_client does."""

    @property
    def _use_created(self) -> bool:
        return _created_enabled

    @_use_created.setter
    def _use_created(self, enabled: bool) -> None:
        if enabled:
            enable_created_metrics()
        else:
            disable_created_metrics()


sys.modules[__name__].__class__ = _MetricsModule

if _get_use_created():
    enable_created_metrics()
else:
    disable_created_metrics()


class MetricWrapperBase(abc.ABC):
    """What every metric class is an instance of, for ``isinstance`` checks and annotations
    written against prometheus_client (the classes themselves live in the Rust core)."""


for _cls in (Counter, Enum, Gauge, Histogram, Info, Summary):
    MetricWrapperBase.register(_cls)
del _cls

__all__ = [
    "Counter",
    "Enum",
    "Gauge",
    "Histogram",
    "Info",
    "MetricWrapperBase",
    "Summary",
    "disable_created_metrics",
    "enable_created_metrics",
]
