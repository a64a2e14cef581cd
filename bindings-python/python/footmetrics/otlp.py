"""Push metrics to an OpenTelemetry collector over OTLP (HTTP protobuf or gRPC).

    from footmetrics.otlp import start_otlp_exporter
    exporter = start_otlp_exporter("http://otel-collector:4318", interval=15)

Exporting runs on background threads of the Rust core: a slow or absent collector never
blocks the program or holds the GIL. An exporter runs until ``shutdown()`` even if its handle
is dropped (like ``start_http_server``); those still running at interpreter exit are shut
down, sending a final snapshot, by an ``atexit`` hook.
"""

import atexit
import os
import threading
from typing import Optional

from footmetrics import _core
from footmetrics._core import REGISTRY, CollectorRegistry, OtlpExporter

# Strong references: a dropped handle must not stop (and flush) the exporter early.
_live: list[OtlpExporter] = []
_live_lock = threading.Lock()


def start_otlp_exporter(endpoint: str, interval: float = 60.0, *,
                        registry: CollectorRegistry = REGISTRY,
                        protocol: str = "http/protobuf",
                        service_name: Optional[str] = None,
                        resource_attributes: Optional[dict[str, str]] = None,
                        headers: Optional[dict[str, str]] = None,
                        timeout: float = 10.0,
                        max_queue_batches: int = 8,
                        cafile: Optional[str] = None,
                        certfile: Optional[str] = None,
                        keyfile: Optional[str] = None) -> OtlpExporter:
    """Export ``registry`` to ``endpoint`` every ``interval`` seconds, cumulatively.

    ``protocol`` is ``"http/protobuf"`` (port 4318, ``/v1/metrics`` is appended) or
    ``"grpc"`` (port 4317). ``service_name`` defaults to ``OTEL_SERVICE_NAME``;
    ``OTEL_RESOURCE_ATTRIBUTES`` is read too. Undeliverable points are counted in
    ``footmetrics_otlp_dropped_points_total{reason}``. Bad arguments raise ``ValueError``.

    An ``https://`` endpoint verifies the collector against the operating system's root
    certificates, or only against the PEM ``cafile``; ``certfile``/``keyfile`` (PEM) present
    a client certificate (mutual TLS). ``headers`` carry authentication, e.g.
    ``{"Authorization": "Bearer …"}``.
    """
    if not isinstance(registry, CollectorRegistry):
        raise TypeError(f"registry must be a CollectorRegistry, got {type(registry).__name__}")
    for name, value in (("cafile", cafile), ("certfile", certfile), ("keyfile", keyfile)):
        if value is not None and not isinstance(value, (str, os.PathLike)):
            raise TypeError(f"{name} must be a path, got {type(value).__name__}")
    cafile, certfile, keyfile = (None if v is None else os.fspath(v)
                                 for v in (cafile, certfile, keyfile))
    exporter = _core.start_otlp_exporter(endpoint, float(interval), registry, protocol,
                                         service_name, resource_attributes, headers,
                                         float(timeout), int(max_queue_batches),
                                         cafile, certfile, keyfile)
    with _live_lock:
        _live.append(exporter)
    return exporter


@atexit.register
def _shutdown_all() -> None:
    # Before the interpreter finalizes: exporters gather Python collectors under the GIL.
    with _live_lock:
        exporters, _live[:] = list(_live), []
    for e in exporters:
        e.shutdown(5.0)  # returns at once for one already shut down


__all__ = ["OtlpExporter", "start_otlp_exporter"]
