"""Serving and shipping metrics, as ``prometheus_client.exposition``: the HTTP server, WSGI
app, textfile writer and Pushgateway functions. Rendering and pushing run in Rust with the GIL
released."""

import base64
import functools
import gzip
import os
import socket
import ssl
import threading
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, Optional, Union
from urllib.parse import parse_qs, urlparse

from footmetrics import _core
from footmetrics._core import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CONTENT_TYPE_PROTOBUF,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
)
from footmetrics._core import start_http_server as _start_http_server

# As in prometheus_client 0.26: the classic format's latest version is 1.0.0 (the one that
# allows UTF-8 names); scrape answers without a version asked for, and pushes, say 0.0.4.
CONTENT_TYPE_PLAIN_1_0_0 = "text/plain; version=1.0.0; charset=utf-8"
CONTENT_TYPE_LATEST = CONTENT_TYPE_PLAIN_1_0_0
# Not in prometheus_client (which has no native histograms): the delimited protobuf format
# (io.prometheus.client.MetricFamily) every server here answers when the Accept header prefers
# it, as Prometheus' does with --enable-feature=native-histograms. `generate_latest` stays text.

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


# The protocols a TLS server context can be made with (`ssl.PROTOCOL_TLS` is the older
# name for the same negotiation); rustls serves TLS 1.2 and 1.3 for either.
_SERVER_PROTOCOLS = (ssl.PROTOCOL_TLS_SERVER, ssl.PROTOCOL_TLS)


def _tls_version(value: Optional[ssl.TLSVersion], which: str) -> Optional[str]:
    """An ``ssl.TLSVersion`` as the core names it. Below TLS 1.2 is refused as a maximum (it
    cannot be served); as a minimum it means TLS 1.2, the oldest rustls speaks."""
    if value is None:
        return None
    if value in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.MAXIMUM_SUPPORTED):
        return "TLS13"
    if value in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.MINIMUM_SUPPORTED):
        return "TLS12"
    if which == "tls_min_version" and isinstance(value, ssl.TLSVersion):
        return "TLS12"
    raise ValueError(f"{which}={value!r}: only TLS 1.2 and 1.3 are served")


def _client_cas(client_cafile: Optional[str], client_capath: Optional[str],
                client_auth_required: bool) -> list[str]:
    """The CA files and directories client certificates are verified against: the ones given,
    else (as ``SSLContext.load_default_certs``) the system's, when a certificate is required."""
    if client_cafile is not None or client_capath is not None:
        return [p for p in (client_cafile, client_capath) if p is not None]
    if not client_auth_required:
        return []
    defaults = ssl.get_default_verify_paths()
    return [p for p in (defaults.cafile, defaults.capath) if p and os.path.exists(p)]


def start_http_server(port: int, addr: str = "0.0.0.0", registry: CollectorRegistry = REGISTRY,
                      certfile: Optional[str] = None, keyfile: Optional[str] = None,
                      client_cafile: Optional[str] = None, client_capath: Optional[str] = None,
                      protocol: int = ssl.PROTOCOL_TLS_SERVER,
                      client_auth_required: bool = False,
                      tls_min_version: Optional[ssl.TLSVersion] = None,
                      tls_max_version: Optional[ssl.TLSVersion] = None,
                      *, web_config_file: Optional[str] = None,
                      max_connections: Optional[int] = None,
                      max_concurrent_scrapes: Optional[int] = None,
                      header_read_timeout: Optional[float] = None,
                      idle_timeout: Optional[float] = None,
                      ) -> tuple[Any, ServerThread]:
    """Serves ``registry`` at ``http://addr:port/metrics`` from a Rust thread;
    returns ``(server, thread)`` as prometheus_client does. ``server.shutdown()`` stops it.

    With ``certfile`` and ``keyfile`` it serves HTTPS; ``client_auth_required`` then requires
    client certificates signed by a CA of ``client_cafile`` / ``client_capath`` (the system's
    CAs when neither is given), as prometheus_client does. ``web_config_file`` takes
    Prometheus' exporter-toolkit web configuration (TLS, ``basic_auth_users``, headers)
    instead. The keyword-only limits default to the exporter's (64 connections, 4 concurrent
    scrapes, 10 s to send a request head, 65 s idle between requests)."""
    tls = bool(certfile and keyfile)
    if tls and protocol not in _SERVER_PROTOCOLS:
        raise ValueError(f"protocol={protocol!r}: a server needs ssl.PROTOCOL_TLS_SERVER")
    for name, value in (("max_connections", max_connections),
                        ("max_concurrent_scrapes", max_concurrent_scrapes)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise ValueError(f"{name} must be a positive integer, not {value!r}")
    for name, seconds in (("header_read_timeout", header_read_timeout),
                          ("idle_timeout", idle_timeout)):
        if seconds is not None and (isinstance(seconds, bool)
                                    or not isinstance(seconds, (int, float))):
            raise TypeError(f"{name} must be a number of seconds, not {seconds!r}")
    server = _start_http_server(
        int(port), addr, registry,
        certfile if tls else None, keyfile if tls else None,
        _client_cas(client_cafile, client_capath, client_auth_required) if tls else [],
        client_auth_required and tls,
        _tls_version(tls_min_version, "tls_min_version") if tls else None,
        _tls_version(tls_max_version, "tls_max_version") if tls else None,
        os.fspath(web_config_file) if web_config_file is not None else None,
        max_connections, max_concurrent_scrapes,
        None if header_read_timeout is None else float(header_read_timeout),
        None if idle_timeout is None else float(idle_timeout))
    _servers.append(server)
    return server, ServerThread(server)


start_wsgi_server = start_http_server


def _as_registry(registry: Any) -> CollectorRegistry:
    """``registry`` itself, or, for any other collector (prometheus_client serves any object
    with ``collect()``), a registry holding just it."""
    if isinstance(registry, CollectorRegistry):
        return registry
    holder = CollectorRegistry()
    holder.register(registry)
    return holder


def _requested_names(params: Optional[Mapping[str, Any]]) -> Optional[list[str]]:
    """The ``name[]`` query parameters: from ``parse_qs``'s lists, a Django ``QueryDict``, or
    a plain mapping of strings. None when absent (every family is served)."""
    if not params:
        return None
    getlist = getattr(params, "getlist", None)
    if getlist is not None:
        return list(getlist("name[]")) or None
    value = params.get("name[]")
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def gzip_accepted(accept_encoding_header: Optional[str]) -> bool:
    """Whether an ``Accept-Encoding`` header lists gzip."""
    for coding in (accept_encoding_header or "").split(","):
        if coding.split(";")[0].strip().lower() == "gzip":
            return True
    return False


def _bake_output(registry: Any, accept_header: Optional[str],
                 accept_encoding_header: Optional[str], params: Optional[Mapping[str, Any]],
                 disable_compression: bool) -> tuple[str, list[tuple[str, str]], bytes]:
    """``(status, headers, body)`` answering one scrape, for every server and framework
    integration: the format the ``Accept`` header prefers (negotiated, and rendered with the
    GIL released, in the core; protobuf, which carries native histograms, when preferred), only the families with a sample named by a ``name[]``
    parameter when there is one, gzip when the client accepts it."""
    body, content_type = _core.render_for_scrape(_as_registry(registry), accept_header,
                                                 _requested_names(params))
    headers = [("Content-Type", content_type)]
    if not disable_compression and gzip_accepted(accept_encoding_header):
        body = gzip.compress(body, compresslevel=1)
        headers.append(("Content-Encoding", "gzip"))
    return "200 OK", headers, body


def make_wsgi_app(registry: CollectorRegistry = REGISTRY,
                  disable_compression: bool = False) -> Callable[..., Iterable[bytes]]:
    """A WSGI application serving ``registry`` (any path; ``/favicon.ico`` answers empty)."""

    def prometheus_app(environ: dict[str, Any], start_response: Callable[..., Any]
                       ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/favicon.ico":
            start_response("200 OK", [])
            return [b""]
        status, headers, body = _bake_output(registry, environ.get("HTTP_ACCEPT"),
                                             environ.get("HTTP_ACCEPT_ENCODING"),
                                             parse_qs(environ.get("QUERY_STRING", "")),
                                             disable_compression)
        if environ.get("REQUEST_METHOD") == "HEAD":
            body = b""
        start_response(status, headers)
        return [body]

    return prometheus_app


def choose_encoder(accept_header: Optional[str]) -> tuple[Callable[..., bytes], str]:
    """The render function (with the name escaping scheme asked for bound) and content type
    the ``Accept`` header gets, as the core negotiates them for ``_bake_output``."""
    openmetrics, escaping, content_type = _core.negotiate(accept_header)
    if openmetrics:
        return functools.partial(_core.generate_latest_openmetrics, escaping=escaping), content_type
    return functools.partial(generate_latest, escaping=escaping), content_type


class MetricsHandler(BaseHTTPRequestHandler):
    """An ``http.server`` request handler answering GET with ``registry``'s metrics (for a
    server of your own; ``start_http_server`` serves from Rust without it)."""

    registry: Any = REGISTRY

    def do_GET(self) -> None:
        status, headers, body = _bake_output(self.registry, self.headers.get("Accept"),
                                             self.headers.get("Accept-Encoding"),
                                             parse_qs(urlparse(self.path).query), False)
        self.send_response(int(status.split(" ")[0]))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are not logged."""

    @classmethod
    def factory(cls, registry: Any) -> type:
        """A subclass of this handler serving ``registry``."""
        return type(cls.__name__, (cls,), {"registry": registry})


def write_to_textfile(path: str, registry: CollectorRegistry, escaping: str = "allow-utf-8",
                      tmpdir: Optional[str] = None) -> None:
    """Writes the classic exposition to ``path`` atomically (temporary file, then rename), for
    the node exporter's textfile collector."""
    directory = tmpdir if tmpdir is not None else os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory,
                       f".{os.path.basename(path)}.{os.getpid()}.{threading.get_ident()}")
    try:
        with open(tmp, "wb") as f:
            f.write(generate_latest(registry, escaping))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


# Pushgateway. A handler is ``handler(url, method, timeout, headers, data)`` returning a
# callable that performs the request, as in prometheus_client.

def default_handler(url: str, method: str, timeout: Optional[float],
                    headers: Sequence[Sequence[str]], data: bytes,
                    cafile: Optional[str] = None, certfile: Optional[str] = None,
                    keyfile: Optional[str] = None) -> Callable[[], None]:
    """The request made by the core's HTTP client (HTTP or HTTPS). ``headers`` are read when
    the request is made, so a wrapping handler may still add to them; any pairs will do (a
    ``[name, value]`` list too). For ``https://``: the server is verified against the
    operating system's root certificates, or only against the PEM ``cafile``; ``certfile``
    and ``keyfile`` (PEM) present a client certificate. A failed handshake raises
    ``ssl.SSLError``; an error status or an unreachable gateway ``OSError``."""
    def handle() -> None:
        _core.http_request(url, method, timeout, [(k, v) for k, v in headers], data,
                           cafile, certfile, keyfile)
    return handle


def _urllib_handler(url: str, method: str, timeout: Optional[float],
                    headers: Sequence[Sequence[str]], data: bytes,
                    *handlers: Union[urllib.request.BaseHandler, type]) -> Callable[[], None]:
    """The request made with urllib through ``handlers`` (TLS contexts, redirect policies the
    core's HTTP client does not offer)."""
    def handle() -> None:
        request = urllib.request.Request(url, data=data, method=method)
        for name, value in headers:
            request.add_header(name, value)
        # HTTP errors raise urllib.error.HTTPError, an OSError, as from the default handler.
        with urllib.request.build_opener(*handlers).open(request, timeout=timeout):
            pass
    return handle


class _PassthroughRedirect(urllib.request.HTTPRedirectHandler):
    """Follows a redirect with the same method, headers and body (urllib's own handler turns
    a redirected PUT into an error and drops the body)."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: Any, newurl: str) -> Optional[urllib.request.Request]:
        if code not in (301, 302, 303, 307, 308):
            return super().redirect_request(req, fp, code, msg, headers, newurl)
        # req.headers: the headers the caller set (Host, Content-Length are the new request's).
        return urllib.request.Request(newurl.replace(" ", "%20"), data=req.data,
                                      headers=dict(req.headers),
                                      origin_req_host=req.origin_req_host, unverifiable=True,
                                      method=req.get_method())


def passthrough_redirect_handler(url: str, method: str, timeout: Optional[float],
                                 headers: Sequence[Sequence[str]],
                                 data: bytes) -> Callable[[], None]:
    """A handler that follows redirects, repeating the request (method, headers, body) at the
    new location. Use it only with a gateway whose redirects you trust."""
    return _urllib_handler(url, method, timeout, headers, data, _PassthroughRedirect)


def tls_auth_handler(url: str, method: str, timeout: Optional[float],
                     headers: Sequence[Sequence[str]], data: bytes, certfile: str,
                     keyfile: str, cafile: Optional[str] = None,
                     protocol: int = ssl.PROTOCOL_TLS_CLIENT,
                     insecure_skip_verify: bool = False) -> Callable[[], None]:
    """A handler presenting a client certificate (``certfile``/``keyfile``) over HTTPS; the
    server is verified against ``cafile`` (default: the system's CAs) unless
    ``insecure_skip_verify``."""
    context = ssl.SSLContext(protocol=protocol)
    if cafile is not None:
        context.load_verify_locations(cafile)
    else:
        context.load_default_certs()
    if insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.load_cert_chain(certfile=certfile, keyfile=keyfile)
    return _urllib_handler(url, method, timeout, headers, data,
                           urllib.request.HTTPSHandler(context=context))


def basic_auth_handler(url: str, method: str, timeout: Optional[float],
                       headers: Sequence[Sequence[str]], data: bytes,
                       username: Optional[str] = None,
                       password: Optional[str] = None, *,
                       cafile: Optional[str] = None, certfile: Optional[str] = None,
                       keyfile: Optional[str] = None) -> Callable[[], None]:
    """``default_handler`` with HTTP basic authentication (and its TLS options)."""
    def handle() -> None:
        h = list(headers)
        if username is not None and password is not None:
            token = base64.b64encode(f"{username}:{password}".encode()).decode()
            h.append(("Authorization", "Basic " + token))
        default_handler(url, method, timeout, h, data, cafile, certfile, keyfile)()
    return handle


def bearer_token_handler(url: str, method: str, timeout: Optional[float],
                         headers: Sequence[Sequence[str]], data: bytes, token: str, *,
                         cafile: Optional[str] = None, certfile: Optional[str] = None,
                         keyfile: Optional[str] = None) -> Callable[[], None]:
    """``default_handler`` sending ``Authorization: Bearer <token>`` (and its TLS options)."""
    if not isinstance(token, str) or not token:
        raise ValueError("token must be a non-empty string")
    def handle() -> None:
        h = list(headers) + [("Authorization", "Bearer " + token)]
        default_handler(url, method, timeout, h, data, cafile, certfile, keyfile)()
    return handle


def _compress(data: bytes, compression: Optional[str]) -> tuple[bytes, list[tuple[str, str]]]:
    """The body as sent with ``compression`` (None, ``'gzip'`` or ``'snappy'``, any case) and
    the headers saying so. Anything else is a ValueError, raised before any request."""
    headers = [("Content-Type", CONTENT_TYPE_PLAIN_0_0_4)]
    if compression is None:
        return data, headers
    coding = str(compression).lower()
    if coding == "gzip":
        headers.append(("Content-Encoding", "gzip"))
        return gzip.compress(data), headers
    if coding == "snappy":
        try:
            import snappy  # type: ignore[import-not-found]  # python-snappy, optional
        except ImportError:
            raise RuntimeError("snappy compression needs the python-snappy package") from None
        compressor = snappy.StreamCompressor()
        body = compressor.compress(data)
        flush = getattr(compressor, "flush", None)
        if callable(flush):
            body += flush()
        headers.append(("Content-Encoding", "snappy"))
        return body, headers
    raise ValueError(f"Unsupported compression type: {compression!r} "
                     "(use None, 'gzip' or 'snappy')")


def _with_tls(handler: Callable[..., Callable[[], None]], cafile: Optional[str],
              certfile: Optional[str], keyfile: Optional[str]) -> Callable[..., Callable[[], None]]:
    """``handler`` with the TLS keyword arguments of the push functions applied: they are
    options of the core's client, so only ``default_handler`` takes them this way."""
    if cafile is None and certfile is None and keyfile is None:
        return handler
    for name, value in (("cafile", cafile), ("certfile", certfile), ("keyfile", keyfile)):
        if value is not None and not isinstance(value, (str, os.PathLike)):
            raise TypeError(f"{name} must be a path, got {type(value).__name__}")
    if (certfile is None) != (keyfile is None):
        raise ValueError("certfile and keyfile go together: give both or neither")
    if handler is not default_handler:
        raise ValueError("cafile/certfile/keyfile apply to the default handler; with your own "
                         "handler pass them to default_handler/basic_auth_handler in it")
    paths = [None if v is None else os.fspath(v) for v in (cafile, certfile, keyfile)]

    def tls_handler(url: str, method: str, timeout: Optional[float],
                    headers: Sequence[Sequence[str]], data: bytes) -> Callable[[], None]:
        return default_handler(url, method, timeout, headers, data, *paths)
    return tls_handler


def _push(method: str, gateway: str, job: str, registry: Optional[CollectorRegistry],
          grouping_key: Optional[dict[str, Any]], timeout: Optional[float],
          handler: Callable[..., Callable[[], None]], compression: Optional[str] = None,
          cafile: Optional[str] = None, certfile: Optional[str] = None,
          keyfile: Optional[str] = None) -> None:
    # The body is generate_latest's, byte for byte what prometheus_client pushes; DELETE sends
    # none, with the same Content-Type.
    handler = _with_tls(handler, cafile, certfile, keyfile)
    if method != "DELETE" and registry is None:
        registry = REGISTRY
    url = _core.group_url(gateway, job, grouping_key)
    if method == "DELETE":
        if compression is not None:
            raise ValueError("Compression is not supported for DELETE requests.")
        data, headers = b"", [("Content-Type", CONTENT_TYPE_PLAIN_0_0_4)]
    else:
        data, headers = _compress(generate_latest(registry), compression)
    handler(url, method, timeout, headers, data)()


def push_to_gateway(gateway: str, job: str, registry: CollectorRegistry,
                    grouping_key: Optional[dict[str, Any]] = None,
                    timeout: Optional[float] = 30,
                    handler: Callable[..., Callable[[], None]] = default_handler,
                    compression: Optional[str] = None, *,
                    cafile: Optional[str] = None, certfile: Optional[str] = None,
                    keyfile: Optional[str] = None) -> None:
    """Replaces the group's metrics with ``registry``'s (HTTP PUT). ``compression``: None,
    ``'gzip'``, or ``'snappy'`` (with python-snappy installed). For an ``https://`` gateway,
    ``cafile`` (PEM) replaces the system's root certificates and ``certfile``/``keyfile``
    present a client certificate (with the default handler)."""
    _push("PUT", gateway, job, registry, grouping_key, timeout, handler, compression,
          cafile, certfile, keyfile)


def pushadd_to_gateway(gateway: str, job: str, registry: Optional[CollectorRegistry],
                       grouping_key: Optional[dict[str, Any]] = None,
                       timeout: Optional[float] = 30,
                       handler: Callable[..., Callable[[], None]] = default_handler,
                       compression: Optional[str] = None, *,
                       cafile: Optional[str] = None, certfile: Optional[str] = None,
                       keyfile: Optional[str] = None) -> None:
    """Replaces only the pushed families in the group (HTTP POST); ``registry=None`` pushes
    ``REGISTRY``. ``compression`` and the TLS files as for ``push_to_gateway``."""
    _push("POST", gateway, job, registry, grouping_key, timeout, handler, compression,
          cafile, certfile, keyfile)


def delete_from_gateway(gateway: str, job: str,
                        grouping_key: Optional[dict[str, Any]] = None,
                        timeout: Optional[float] = 30,
                        handler: Callable[..., Callable[[], None]] = default_handler, *,
                        cafile: Optional[str] = None, certfile: Optional[str] = None,
                        keyfile: Optional[str] = None) -> None:
    """Deletes the group (HTTP DELETE); the TLS files as for ``push_to_gateway``."""
    _push("DELETE", gateway, job, None, grouping_key, timeout, handler, None,
          cafile, certfile, keyfile)


def instance_ip_grouping_key() -> dict[str, Any]:
    """``{'instance': <this host's IP>}``, the IP a connection to localhost leaves from."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("localhost", 0))
        return {"instance": s.getsockname()[0]}


__all__ = [
    "CONTENT_TYPE_LATEST",
    "CONTENT_TYPE_PLAIN_0_0_4",
    "CONTENT_TYPE_PLAIN_1_0_0",
    "CONTENT_TYPE_PROTOBUF",
    "MetricsHandler",
    "basic_auth_handler",
    "bearer_token_handler",
    "choose_encoder",
    "default_handler",
    "delete_from_gateway",
    "generate_latest",
    "gzip_accepted",
    "instance_ip_grouping_key",
    "make_asgi_app",
    "make_wsgi_app",
    "passthrough_redirect_handler",
    "push_to_gateway",
    "pushadd_to_gateway",
    "start_http_server",
    "start_wsgi_server",
    "tls_auth_handler",
    "write_to_textfile",
]

# As in prometheus_client, the ASGI app is importable from here too (it uses _bake_output,
# defined above).
from footmetrics.asgi import make_asgi_app
