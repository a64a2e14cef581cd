"""Serving metrics from a Twisted web server, as ``prometheus_client.twisted``."""

from footmetrics.twisted._exposition import MetricsResource

__all__ = ["MetricsResource"]
