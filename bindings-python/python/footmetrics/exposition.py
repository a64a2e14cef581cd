"""Serving metrics, as ``prometheus_client.exposition``."""

from footmetrics._core import REGISTRY
from footmetrics._core import start_http_server as _start_http_server


class ServerThread:
    """Stands in for the ``threading.Thread`` prometheus_client returns: the server runs on a
    Rust thread, which this object lets callers join or check."""

    daemon = True

    def __init__(self, server):
        self._server = server

    def is_alive(self):
        return self._server.is_serving()

    def join(self, timeout=None):
        # The server thread only ends at shutdown(), which joins it.
        if not self._server.is_serving():
            return


def start_http_server(port, addr="0.0.0.0", registry=REGISTRY, certfile=None, keyfile=None,
                      client_cafile=None, client_capath=None, protocol=None,
                      client_auth_required=False):
    """Serves ``registry`` at ``http://addr:port/metrics`` from a Rust thread;
    returns ``(server, thread)`` as prometheus_client does. ``server.shutdown()`` stops it."""
    if certfile or keyfile:
        raise ValueError("TLS is not supported by footmetrics' start_http_server yet")
    server = _start_http_server(int(port), addr, registry)
    return server, ServerThread(server)


start_wsgi_server = start_http_server

__all__ = ["start_http_server", "start_wsgi_server"]
