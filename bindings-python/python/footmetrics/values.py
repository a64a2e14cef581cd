"""Value holders, as ``prometheus_client.values``.

footmetrics keeps every metric's values in the Rust core (atomic cells), so its metric classes
use none of these holders' storage. ``ValueClass`` still selects the mode, as in
prometheus_client: a metric created while it is a ``MultiProcessValue(...)`` class keeps its
series in memory-mapped files under ``PROMETHEUS_MULTIPROC_DIR`` (see
``footmetrics.multiprocess``). ``MutexValue`` is a working lock-protected float for code that
builds on it."""

import os
import threading
import warnings
from typing import Any, Callable, Optional, Union

from footmetrics import _core
from footmetrics.samples import Exemplar


def close_all_multiprocess_files() -> None:
    """Releases this process' hold on its multi-process files (values written later still
    land in them)."""
    _core.close_all_multiprocess_files()


class MutexValue:
    """A float (and an exemplar) behind a lock."""

    _multiprocess = False

    def __init__(self, typ: str, metric_name: str, name: str, labelnames: Any, labelvalues: Any,
                 help_text: str, **kwargs: Any) -> None:
        self._value = 0.0
        self._exemplar: Optional[Exemplar] = None
        self._lock = threading.Lock()

    def inc(self, amount: float) -> None:
        with self._lock:
            self._value += amount

    def set(self, value: float, timestamp: Optional[float] = None) -> None:
        with self._lock:
            self._value = value

    def set_exemplar(self, exemplar: Optional[Exemplar]) -> None:
        with self._lock:
            self._exemplar = exemplar

    def get(self) -> float:
        with self._lock:
            return self._value

    def get_exemplar(self) -> Optional[Exemplar]:
        with self._lock:
            return self._exemplar


def _adopt_lowercase_multiproc_dir() -> None:
    """prometheus_client still honours the deprecated ``prometheus_multiproc_dir``, copying it
    to ``PROMETHEUS_MULTIPROC_DIR`` with a DeprecationWarning."""
    if "prometheus_multiproc_dir" in os.environ and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ["prometheus_multiproc_dir"]
        warnings.warn("prometheus_multiproc_dir variable has been deprecated in favor of the "
                      "upper case naming PROMETHEUS_MULTIPROC_DIR", DeprecationWarning,
                      stacklevel=3)


class _MultiProcessValueBase:
    """What ``MultiProcessValue`` classes derive from: they mark multi-process mode for the
    metric classes, which keep the values in the core, so instances are not used and cannot
    be made."""

    _multiprocess = True

    def __init__(self, typ: str, metric_name: str, name: str, labelnames: Any,
                 labelvalues: Any, help_text: str, multiprocess_mode: str = "",
                 **kwargs: Any) -> None:
        raise NotImplementedError(
            "footmetrics' metric classes keep multi-process values in the core; create a "
            "Counter, Gauge, Histogram or Summary instead of a value")


def MultiProcessValue(process_identifier: Callable[[], Union[int, str]] = os.getpid) -> type:
    """The value class of multi-process mode, for processes told apart by
    ``process_identifier`` (the pid by default; another callable is asked at every write, as
    prometheus_client does). Metrics created while ``ValueClass`` is such a class keep their
    series in this process' files under ``PROMETHEUS_MULTIPROC_DIR``."""
    context = _core.MultiProcessContext(process_identifier)
    return type("MmapedValue", (_MultiProcessValueBase,), {"_footmetrics_context": context})


def get_value_class() -> type:
    """``MultiProcessValue()`` when ``PROMETHEUS_MULTIPROC_DIR`` (or the deprecated lowercase
    name) is set, else ``MutexValue``."""
    if "prometheus_multiproc_dir" in os.environ or "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        return MultiProcessValue()
    return MutexValue


ValueClass = get_value_class()

# A forked child writes its own files from its first write on (gunicorn workers, fork-started
# multiprocessing pools): the lanes opened under the parent's pid switch to the child's.
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_core.after_fork_in_child)

__all__ = [
    "MultiProcessValue",
    "MutexValue",
    "ValueClass",
    "close_all_multiprocess_files",
    "get_value_class",
]
