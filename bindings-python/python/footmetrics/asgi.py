"""``make_asgi_app``, as ``prometheus_client.asgi``: rendering runs on a worker thread, so a
scrape never blocks the event loop."""

import asyncio
from collections.abc import Awaitable
from typing import Any, Callable
from urllib.parse import parse_qs

from footmetrics._core import REGISTRY, CollectorRegistry


def make_asgi_app(registry: CollectorRegistry = REGISTRY,
                  disable_compression: bool = False) -> Callable[..., Awaitable[None]]:
    # Imported here: footmetrics.exposition imports this module to re-export make_asgi_app.
    from footmetrics import exposition

    async def prometheus_app(scope: dict[str, Any], receive: Callable[..., Any],
                             send: Callable[..., Any]) -> None:
        if scope.get("type") != "http":
            raise ValueError("make_asgi_app serves HTTP only, got " + str(scope.get("type")))
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        loop = asyncio.get_running_loop()
        status, response_headers, body = await loop.run_in_executor(
            None, exposition._bake_output, registry, headers.get("accept"),
            headers.get("accept-encoding"), params, disable_compression)
        await send({
            "type": "http.response.start",
            "status": int(status.split(" ")[0]),
            "headers": [(k.lower().encode(), v.encode()) for k, v in response_headers],
        })
        await send({"type": "http.response.body", "body": body})

    return prometheus_app


__all__ = ["make_asgi_app"]
