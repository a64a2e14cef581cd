"""``PrometheusDjangoView``: a class-based Django view serving a registry, e.g.
``path("metrics", PrometheusDjangoView.as_view())`` in a urlconf (``as_view(registry=...)``
serves another registry than ``REGISTRY``)."""

import os
from typing import Any, Optional

from django.http import HttpRequest, HttpResponse  # type: ignore[import-untyped]
from django.views import View  # type: ignore[import-untyped]

from footmetrics import exposition
from footmetrics._core import REGISTRY, CollectorRegistry
from footmetrics.multiprocess import MultiProcessCollector


class PrometheusDjangoView(View):  # type: ignore[misc]
    """GET answers with the metrics (negotiated format, ``name[]`` filter, gzip); OPTIONS
    lists the methods."""

    # As in prometheus_client: set when the process runs in multi-process mode, where a scrape
    # serves every process' series from PROMETHEUS_MULTIPROC_DIR.
    multiprocess_mode: bool = ("PROMETHEUS_MULTIPROC_DIR" in os.environ
                               or "prometheus_multiproc_dir" in os.environ)
    registry: Optional[CollectorRegistry] = None

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.registry is None:
            if self.multiprocess_mode:
                self.registry = CollectorRegistry()
                MultiProcessCollector(self.registry)
            else:
                self.registry = REGISTRY
        status, headers, body = exposition._bake_output(
            self.registry, request.headers.get("Accept"), request.headers.get("Accept-Encoding"),
            request.GET, False)
        return HttpResponse(body, status=int(status.split(" ")[0]), headers=headers)

    def options(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return HttpResponse(status=200, headers={"Allow": "OPTIONS,GET"})


__all__ = ["PrometheusDjangoView"]
