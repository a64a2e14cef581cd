"""Serving metrics from an aiohttp application, as ``prometheus_client.aiohttp``."""

from footmetrics.aiohttp.exposition import make_aiohttp_handler

__all__ = ["make_aiohttp_handler"]
