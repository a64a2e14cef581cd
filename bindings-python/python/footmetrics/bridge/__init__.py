"""Bridges pushing footmetrics' metrics into other monitoring systems, as
``prometheus_client.bridge``."""
