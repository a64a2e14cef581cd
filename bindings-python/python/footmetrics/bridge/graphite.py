"""Pushing a registry to Graphite, as ``prometheus_client.bridge.graphite``: each sample
becomes one line of Graphite's plaintext protocol (``path value timestamp``), sent over TCP
(Carbon's plaintext port, usually 2003).

Labels become path components (``name.label.value``), or Graphite tags
(``name;label=value``) with ``tags=True``; every character outside ``[a-zA-Z0-9_-]`` in
names, label names and values becomes ``_``, so dots only ever separate components."""

import logging
import re
import socket
import threading
import time
from typing import Any, Callable

from footmetrics._core import REGISTRY

_log = logging.getLogger(__name__)

_INVALID_GRAPHITE_CHARS = re.compile(r"[^a-zA-Z0-9_-]")


def _sanitize(s: str) -> str:
    return _INVALID_GRAPHITE_CHARS.sub("_", s)


class GraphiteBridge:
    """Pushes ``registry`` to the Carbon receiver at ``address`` (``(host, port)``), at once
    with ``push()`` or periodically from a daemon thread with ``start()``."""

    def __init__(self, address: tuple[str, int], registry: Any = REGISTRY,
                 timeout_seconds: float = 30, _timer: Callable[[], float] = time.time,
                 tags: bool = False):
        self._address = address
        self._registry = registry
        self._timeout = timeout_seconds
        self._timer = _timer
        self._tags = tags

    def _path(self, prefix: str, name: str, labels: dict[str, str]) -> str:
        path = prefix + "." + _sanitize(name) if prefix else _sanitize(name)
        pattern = ";{}={}" if self._tags else ".{}.{}"
        return path + "".join(pattern.format(_sanitize(k), _sanitize(v))
                              for k, v in sorted(labels.items()))

    def push(self, prefix: str = "") -> None:
        """Sends every sample of the registry, stamped with the current time in whole
        seconds, over one connection; ``prefix`` (dot-separated) starts every path."""
        now = int(self._timer())
        lines = [f"{self._path(prefix, s.name, s.labels)} {float(s.value)} {now}\n"
                 for metric in self._registry.collect() for s in metric.samples]
        with socket.create_connection(self._address, self._timeout) as conn:
            conn.sendall("".join(lines).encode("ascii"))

    def start(self, interval: float = 60.0, prefix: str = "") -> None:
        """Pushes now and then every ``interval`` seconds from a daemon thread, for the life
        of the process. A push that fails is logged and the next one goes ahead; pushes missed
        while one was slow are skipped, not bunched up."""
        thread = threading.Thread(target=self._push_every, args=(interval, prefix),
                                  name="footmetrics-graphite", daemon=True)
        thread.start()

    def _push_every(self, interval: float, prefix: str) -> None:
        due = time.monotonic()
        while True:
            now = time.monotonic()
            if now < due:
                time.sleep(due - now)  # may return early: the loop checks again
                continue
            while due <= now:
                due += interval
            try:
                self.push(prefix=prefix)
            except OSError:
                _log.exception("Push to Graphite at %s failed", self._address)


__all__ = ["GraphiteBridge"]
