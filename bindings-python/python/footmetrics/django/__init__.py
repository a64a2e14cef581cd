"""Serving metrics from a Django project, as ``prometheus_client.django``."""

from footmetrics.django.exposition import PrometheusDjangoView

__all__ = ["PrometheusDjangoView"]
