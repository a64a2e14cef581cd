"""OpenMetrics exposition, as ``prometheus_client.openmetrics.exposition``."""

from footmetrics._core import CONTENT_TYPE_OPENMETRICS as CONTENT_TYPE_LATEST
from footmetrics._core import generate_latest_openmetrics as generate_latest

__all__ = ["CONTENT_TYPE_LATEST", "generate_latest"]
