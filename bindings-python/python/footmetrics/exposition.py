"""Serving and shipping metrics, as ``prometheus_client.exposition``: the HTTP server, WSGI
app, textfile writer and Pushgateway functions. Rendering and pushing run in Rust with the GIL
released."""

import base64
import gzip
import os
import socket
import threading
from collections.abc import Iterable, Sequence
from typing import Any, Callable, Optional
from urllib.parse import parse_qs

from footmetrics import _core
from footmetrics._core import CONTENT_TYPE_PLAIN_0_0_4, REGISTRY, CollectorRegistry, generate_latest
from footmetrics._core import start_http_server as _start_http_server

CONTENT_TYPE_LATEST = CONTENT_TYPE_PLAIN_0_0_4

# Every server started, so that one keeps serving after its caller drops the returned objects
# (`start_http_server(8000)` alone is the usual call): prometheus_client's daemon thread lives
# until the process exits too. A server is stopped only by `server.shutdown()`.
_servers: list[Any] = []


class ServerThread:
    """Stands in for the ``threading.Thread`` prometheus_client returns: the server runs on a
    Rust thread, which this object lets callers join or check."""

    daemon = True

    def __init__(self, server: Any):
        self._server = server

    def is_alive(self) -> bool:
        return bool(self._server.is_serving())

    def join(self, timeout: Optional[float] = None) -> None:
        # The server thread only ends at shutdown(), which joins it.
        return None


def start_http_server(port: int, addr: str = "0.0.0.0", registry: CollectorRegistry = REGISTRY,
                      certfile: Optional[str] = None, keyfile: Optional[str] = None,
                      client_cafile: Optional[str] = None, client_capath: Optional[str] = None,
                      protocol: Any = None, client_auth_required: bool = False
                      ) -> tuple[Any, ServerThread]:
    """Serves ``registry`` at ``http://addr:port/metrics`` from a Rust thread;
    returns ``(server, thread)`` as prometheus_client does. ``server.shutdown()`` stops it."""
    if certfile or keyfile:
        raise ValueError("TLS is not supported by footmetrics' start_http_server yet")
    server = _start_http_server(int(port), addr, registry)
    _servers.append(server)
    return server, ServerThread(server)


start_wsgi_server = start_http_server


def _scrape(registry: CollectorRegistry, accept: Optional[str], query: str,
            accept_encoding: str, disable_compression: bool) -> tuple[bytes, list[tuple[str, str]]]:
    """The body and headers answering one scrape: format from ``Accept``, families filtered
    by ``name[]``, gzip when the client accepts it."""
    names = parse_qs(query).get("name[]")
    body, content_type = _core.render_for_scrape(registry, accept, names)
    headers = [("Content-Type", content_type)]
    if not disable_compression and "gzip" in (accept_encoding or ""):
        body = gzip.compress(body, compresslevel=1)
        headers.append(("Content-Encoding", "gzip"))
    return body, headers


def make_wsgi_app(registry: CollectorRegistry = REGISTRY,
                  disable_compression: bool = False) -> Callable[..., Iterable[bytes]]:
    """A WSGI application serving ``registry`` (any path; ``/favicon.ico`` answers empty)."""

    def prometheus_app(environ: dict[str, Any], start_response: Callable[..., Any]
                       ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/favicon.ico":
            start_response("200 OK", [])
            return [b""]
        body, headers = _scrape(registry, environ.get("HTTP_ACCEPT"),
                                environ.get("QUERY_STRING", ""),
                                environ.get("HTTP_ACCEPT_ENCODING", ""), disable_compression)
        if environ.get("REQUEST_METHOD") == "HEAD":
            body = b""
        start_response("200 OK", headers)
        return [body]

    return prometheus_app


def choose_encoder(accept_header: Optional[str]) -> tuple[Callable[..., bytes], str]:
    """The render function and content type the ``Accept`` header prefers."""
    from footmetrics.openmetrics import exposition as om
    if accept_header and "application/openmetrics-text" in accept_header:
        return om.generate_latest, om.CONTENT_TYPE_LATEST
    return generate_latest, CONTENT_TYPE_LATEST


def write_to_textfile(path: str, registry: CollectorRegistry, escaping: str = "allow-utf-8",
                      tmpdir: Optional[str] = None) -> None:
    """Writes the classic exposition to ``path`` atomically (temporary file, then rename), for
    the node exporter's textfile collector."""
    directory = tmpdir if tmpdir is not None else os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory,
                       f".{os.path.basename(path)}.{os.getpid()}.{threading.get_ident()}")
    try:
        with open(tmp, "wb") as f:
            f.write(generate_latest(registry))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


# Pushgateway. A handler is ``handler(url, method, timeout, headers, data)`` returning a
# callable that performs the request, as in prometheus_client.

def default_handler(url: str, method: str, timeout: Optional[float],
                    headers: Sequence[tuple[str, str]], data: bytes) -> Callable[[], None]:
    def handle() -> None:
        _core.http_request(url, method, timeout, list(headers), data)
    return handle


def basic_auth_handler(url: str, method: str, timeout: Optional[float],
                       headers: Sequence[tuple[str, str]], data: bytes,
                       username: Optional[str] = None,
                       password: Optional[str] = None) -> Callable[[], None]:
    def handle() -> None:
        h = list(headers)
        if username is not None and password is not None:
            token = base64.b64encode(f"{username}:{password}".encode()).decode()
            h.append(("Authorization", "Basic " + token))
        default_handler(url, method, timeout, h, data)()
    return handle


def _push(method: str, gateway: str, job: str, registry: Optional[CollectorRegistry],
          grouping_key: Optional[dict[str, Any]], timeout: Optional[float],
          handler: Callable[..., Callable[[], None]]) -> None:
    if handler is default_handler:
        _core.push_registry(gateway, job, registry, grouping_key, timeout, method)
        return
    url = _core.group_url(gateway, job, grouping_key)
    data = b"" if registry is None else generate_latest(registry)
    headers = [("Content-Type", CONTENT_TYPE_LATEST)]
    handler(url, method, timeout, headers, data)()


def push_to_gateway(gateway: str, job: str, registry: CollectorRegistry,
                    grouping_key: Optional[dict[str, Any]] = None,
                    timeout: Optional[float] = 30,
                    handler: Callable[..., Callable[[], None]] = default_handler,
                    compression: Optional[str] = None) -> None:
    """Replaces the group's metrics with ``registry``'s (HTTP PUT)."""
    _push("PUT", gateway, job, registry, grouping_key, timeout, handler)


def pushadd_to_gateway(gateway: str, job: str, registry: Optional[CollectorRegistry],
                       grouping_key: Optional[dict[str, Any]] = None,
                       timeout: Optional[float] = 30,
                       handler: Callable[..., Callable[[], None]] = default_handler,
                       compression: Optional[str] = None) -> None:
    """Replaces only the pushed families in the group (HTTP POST)."""
    _push("POST", gateway, job, registry, grouping_key, timeout, handler)


def delete_from_gateway(gateway: str, job: str,
                        grouping_key: Optional[dict[str, Any]] = None,
                        timeout: Optional[float] = 30,
                        handler: Callable[..., Callable[[], None]] = default_handler) -> None:
    """Deletes the group (HTTP DELETE)."""
    _push("DELETE", gateway, job, None, grouping_key, timeout, handler)


def instance_ip_grouping_key() -> dict[str, Any]:
    """``{'instance': <this host's IP>}``, the IP a connection to localhost leaves from."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("localhost", 0))
        return {"instance": s.getsockname()[0]}


__all__ = [
    "CONTENT_TYPE_LATEST",
    "basic_auth_handler",
    "choose_encoder",
    "default_handler",
    "delete_from_gateway",
    "generate_latest",
    "instance_ip_grouping_key",
    "make_wsgi_app",
    "push_to_gateway",
    "pushadd_to_gateway",
    "start_http_server",
    "start_wsgi_server",
    "write_to_textfile",
]
