"""``make_asgi_app``, as ``prometheus_client.asgi``. A scrape is answered on the event loop when
the app's previous render of its registry was quick (under ``INLINE_RENDER_BUDGET``), else on a
worker thread, so a large registry never stalls the loop for longer than one quick render."""

import asyncio
import time
from collections.abc import Awaitable
from typing import Any, Callable
from urllib.parse import parse_qs

from footmetrics._core import REGISTRY, CollectorRegistry

# Seconds: a render (negotiation, the core's render, gzip) that took less than this on the
# previous scrape is repeated inline, where a thread hop would cost about as much as the
# render itself; a slower one moves the next scrape to the loop's default executor. Every
# render is timed, wherever it ran, so an app follows its registry as it grows or shrinks.
INLINE_RENDER_BUDGET = 0.001


def _header(headers: Any, name: bytes) -> str:
    """Every value of header ``name`` (any case), joined with commas as HTTP allows."""
    return ",".join(value.decode("latin-1") for key, value in headers or ()
                    if key.lower() == name)


def make_asgi_app(registry: CollectorRegistry = REGISTRY,
                  disable_compression: bool = False) -> Callable[..., Awaitable[None]]:
    """An ASGI application serving ``registry`` (HTTP only), with the formats, ``name[]``
    filter and gzip of ``make_wsgi_app``. The first scrape renders inline; after that a scrape
    renders inline only if the previous one took under ``INLINE_RENDER_BUDGET``, else on a
    worker thread (``loop.run_in_executor``)."""
    # Imported here: footmetrics.exposition imports this module to re-export make_asgi_app.
    from footmetrics import exposition

    # The previous render's duration, in seconds.
    last_render = [0.0]

    def bake(accept: str, accept_encoding: str,
             params: dict[str, list[str]]) -> tuple[str, list[tuple[str, str]], bytes]:
        started = time.perf_counter()
        try:
            return exposition._bake_output(registry, accept or None, accept_encoding or None,
                                           params, disable_compression)
        finally:
            last_render[0] = time.perf_counter() - started

    async def prometheus_app(scope: dict[str, Any], receive: Callable[..., Any],
                             send: Callable[..., Any]) -> None:
        if scope.get("type") != "http":
            raise ValueError("make_asgi_app serves HTTP only, got " + str(scope.get("type")))
        headers = scope.get("headers")
        accept = _header(headers, b"accept")
        accept_encoding = _header(headers, b"accept-encoding")
        params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if last_render[0] < INLINE_RENDER_BUDGET:
            status, response_headers, body = bake(accept, accept_encoding, params)
        else:
            loop = asyncio.get_running_loop()
            status, response_headers, body = await loop.run_in_executor(
                None, bake, accept, accept_encoding, params)
        # The request is read before answering; a client gone meanwhile gets nothing.
        while True:
            message = await receive()
            if message.get("type") != "http.request":
                return
            if not message.get("more_body", False):
                break
        await send({
            "type": "http.response.start",
            "status": int(status.split(" ")[0]),
            # Names as prometheus_client sends them (``Content-Type``); ASGI servers take any case.
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response_headers],
        })
        await send({"type": "http.response.body",
                    "body": b"" if scope.get("method") == "HEAD" else body})

    return prometheus_app


__all__ = ["make_asgi_app"]
