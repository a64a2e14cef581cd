"""Value holders, as ``prometheus_client.values``.

footmetrics keeps every metric's values in the Rust core (atomic cells), so its metric classes
use none of these. ``MutexValue`` is a working lock-protected float for code that builds on it;
``MultiProcessValue`` (prometheus_client's multi-process mode, values in per-process files) is
not supported yet: the class it returns raises ``NotImplementedError`` when instantiated."""

import os
import threading
import warnings
from typing import Any, Callable, Optional, Union

from footmetrics.samples import Exemplar

MULTIPROCESS_NOT_SUPPORTED = (
    "multi-process mode (PROMETHEUS_MULTIPROC_DIR) is not supported yet by footmetrics: each "
    "process serves its own metrics"
)


def close_all_multiprocess_files() -> None:
    """Closes the files of multi-process mode: none, as footmetrics does not open any yet."""


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


class _MultiProcessValueNotSupported:
    """What ``MultiProcessValue`` returns: the value class of multi-process mode, which cannot
    be instantiated until footmetrics supports that mode."""

    _multiprocess = True

    def __init__(self, typ: str, metric_name: str, name: str, labelnames: Any, labelvalues: Any,
                 help_text: str, multiprocess_mode: str = "", **kwargs: Any) -> None:
        raise NotImplementedError(MULTIPROCESS_NOT_SUPPORTED)

    @classmethod
    def close_all_files(cls) -> None:
        """Nothing is ever opened."""


def MultiProcessValue(process_identifier: Callable[[], Union[int, str]] = os.getpid) -> type:
    """The value class of multi-process mode for processes told apart by
    ``process_identifier``. Not supported yet: instantiating it raises NotImplementedError."""
    return _MultiProcessValueNotSupported


def get_value_class() -> type:
    """``MultiProcessValue()`` when ``PROMETHEUS_MULTIPROC_DIR`` (or the deprecated lowercase
    name) is set, else ``MutexValue``."""
    if "prometheus_multiproc_dir" in os.environ or "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        return MultiProcessValue()
    return MutexValue


ValueClass = get_value_class()

__all__ = [
    "MultiProcessValue",
    "MutexValue",
    "ValueClass",
    "close_all_multiprocess_files",
    "get_value_class",
]
