"""``MetricsResource``: footmetrics' WSGI app as a ``twisted.web`` resource, rendered on the
reactor's thread pool (never on the reactor thread)."""

from typing import Any

from twisted.web.wsgi import WSGIResource

from footmetrics._core import REGISTRY
from footmetrics.exposition import make_wsgi_app


def MetricsResource(registry: Any = REGISTRY) -> WSGIResource:
    """A resource serving ``registry``: ``root.putChild(b"metrics", MetricsResource())``."""
    # The global reactor is imported only now: importing it installs the default reactor, which
    # an application may want to choose itself after importing this module.
    from twisted.internet import reactor

    return WSGIResource(reactor, reactor.getThreadPool(),  # type: ignore[attr-defined]
                        make_wsgi_app(registry))


__all__ = ["MetricsResource"]
