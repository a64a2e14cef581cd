"""``make_aiohttp_handler``: an aiohttp request handler serving a registry, e.g.
``app.router.add_get("/metrics", make_aiohttp_handler())``. Rendering runs on a worker
thread, so a scrape never blocks the event loop; compression is aiohttp's own."""

import asyncio
from typing import Any

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from footmetrics import exposition
from footmetrics._core import REGISTRY


def make_aiohttp_handler(registry: Any = REGISTRY,
                         disable_compression: bool = False) -> Handler:
    """A handler answering with ``registry``'s metrics in the format ``Accept`` prefers, only
    the families named by ``name[]`` query parameters when there are any, compressed as the
    client accepts unless ``disable_compression``."""

    async def prometheus_handler(request: web.Request) -> web.Response:
        params = {key: request.query.getall(key) for key in request.query}
        accept = ",".join(request.headers.getall(hdrs.ACCEPT, []))
        # aiohttp compresses (enable_compression below), so the body is baked uncompressed.
        status, headers, body = await asyncio.get_running_loop().run_in_executor(
            None, exposition._bake_output, registry, accept, None, params, True)
        response = web.Response(status=int(status.split(" ")[0]), headers=headers, body=body)
        if not disable_compression:
            response.enable_compression()
        return response

    return prometheus_handler


__all__ = ["make_aiohttp_handler"]
