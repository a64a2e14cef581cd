"""Multi-process mode, as ``prometheus_client.multiprocess``. Not supported yet: footmetrics
keeps values in each process's memory, so a ``MultiProcessCollector`` (which would merge the
per-process value files under ``PROMETHEUS_MULTIPROC_DIR``) raises NotImplementedError once its
arguments are checked. ``mark_process_dead`` works: it removes a dead process's files of live
gauges, as prometheus_client does."""

import glob
import os
from collections.abc import Iterable
from typing import Any, NoReturn, Optional, Union

from footmetrics.metrics_core import Metric
from footmetrics.values import MULTIPROCESS_NOT_SUPPORTED, _adopt_lowercase_multiproc_dir

# The gauge modes whose files belong to a live process only (`gauge_<mode>_<pid>.db`).
_LIVE_GAUGE_MULTIPROCESS_MODES = ("liveall", "livemax", "livemin", "livemostrecent", "livesum")


class MultiProcessCollector:
    """Would collect the metrics of every process from the files in ``path`` (default:
    ``PROMETHEUS_MULTIPROC_DIR``). ValueError if that is not a directory, as in
    prometheus_client; otherwise NotImplementedError: multi-process mode is not supported
    yet."""

    def __init__(self, registry: Any, path: Optional[str] = None):
        if path is None:
            _adopt_lowercase_multiproc_dir()
            path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not path or not os.path.isdir(path):
            raise ValueError("env PROMETHEUS_MULTIPROC_DIR is not set or not a directory")
        self._path = path
        _not_supported()

    @staticmethod
    def merge(files: Iterable[str], accumulate: bool = True) -> Iterable[Metric]:
        _not_supported()

    def collect(self) -> Iterable[Metric]:
        _not_supported()


def _not_supported() -> NoReturn:
    raise NotImplementedError(MULTIPROCESS_NOT_SUPPORTED)


def mark_process_dead(pid: Union[int, str], path: Optional[str] = None) -> None:
    """Removes the live-gauge files of process ``pid`` from ``path`` (default:
    ``PROMETHEUS_MULTIPROC_DIR``, or the deprecated lowercase name)."""
    if path is None:
        path = os.environ.get("PROMETHEUS_MULTIPROC_DIR",
                              os.environ.get("prometheus_multiproc_dir"))
    if path is None:
        raise ValueError("env PROMETHEUS_MULTIPROC_DIR is not set")
    for mode in _LIVE_GAUGE_MULTIPROCESS_MODES:
        for f in glob.glob(os.path.join(glob.escape(path), f"gauge_{mode}_{pid}.db")):
            os.remove(f)


__all__ = ["MultiProcessCollector", "mark_process_dead"]
