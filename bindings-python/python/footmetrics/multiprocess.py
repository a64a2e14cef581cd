"""Multi-process mode, as ``prometheus_client.multiprocess``.

Each process writes its series into memory-mapped files under ``PROMETHEUS_MULTIPROC_DIR``
(one per kind of metric, named as prometheus_client names them: ``counter_<pid>.db``, ...).
``MultiProcessCollector`` sums every process' files: registered in a registry, a scrape reads
and renders them in Rust. Unlike prometheus_client, the files of processes that have exited
are folded into one ``archive.db`` at the next scrape (counters never go back, and scrape time
does not grow with every worker ever started), and a corrupt or foreign file is skipped with a
warning (counted in ``footmetrics_multiprocess_skipped_files``) instead of failing the scrape.
"""

import os
from collections.abc import Iterable
from typing import Any, Optional, Union

from footmetrics import _core
from footmetrics.metrics_core import Metric
from footmetrics.samples import Sample
from footmetrics.values import _adopt_lowercase_multiproc_dir


def _metrics(data: list) -> list[Metric]:
    """Metric objects from the core's ``(name, help, type, samples)`` tuples."""
    out = []
    for name, help_text, typ, samples in data:
        metric = Metric(name, help_text, typ)
        metric.samples = [Sample(s, dict(labels), value) for s, labels, value in samples]
        out.append(metric)
    return out


class MultiProcessCollector:
    """Collects the metrics of every process from the files in ``path`` (default:
    ``PROMETHEUS_MULTIPROC_DIR``, or the deprecated lower-case name, which is then copied to
    the upper-case one with a DeprecationWarning). ValueError if that is not a directory."""

    def __init__(self, registry: Any, path: Optional[str] = None):
        if path is None:
            _adopt_lowercase_multiproc_dir()
            path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not path or not os.path.isdir(path):
            raise ValueError("env PROMETHEUS_MULTIPROC_DIR is not set or not a directory")
        self._path = path
        self._dir = _core.MultiProcessDir(path)
        if registry:
            registry.register(self)

    def _footmetrics_collector(self) -> Any:
        return self._dir._footmetrics_collector()

    @staticmethod
    def merge(files: Iterable[str], accumulate: bool = True) -> Iterable[Metric]:
        """Sums the given files (a file that no longer exists is left out). With
        ``accumulate=False`` histogram buckets are per bucket and without ``_count``, as
        prometheus_client gives them."""
        return _metrics(_core.merge_files([os.fspath(f) for f in files], accumulate))

    def collect(self) -> Iterable[Metric]:
        return _metrics(self._dir.read(True))


def mark_process_dead(pid: Union[int, str], path: Optional[str] = None) -> None:
    """Removes the ``live*`` gauge files of process ``pid`` from ``path`` (default:
    ``PROMETHEUS_MULTIPROC_DIR``, or the deprecated lowercase name), as gunicorn's
    ``child_exit`` hook calls it. Its other files are folded into the archive by the next
    scrape once the process has exited."""
    if path is None:
        path = os.environ.get("PROMETHEUS_MULTIPROC_DIR",
                              os.environ.get("prometheus_multiproc_dir"))
    if path is None:
        raise ValueError("env PROMETHEUS_MULTIPROC_DIR is not set")
    _core.mark_process_dead(path, pid)


__all__ = ["MultiProcessCollector", "mark_process_dead"]
