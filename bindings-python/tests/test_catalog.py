"""footmetrics.catalog, generated from catalog/catalog.toml."""

import os

import pytest

import footmetrics
from footmetrics import catalog

tomllib = pytest.importorskip("tomllib")
CATALOG = os.path.join(os.path.dirname(__file__), "..", "..", "catalog", "catalog.toml")


def test_every_catalog_entry_is_in_the_module():
    with open(CATALOG, "rb") as f:
        entries = tomllib.load(f)["metric"]
    assert [m["name"] for m in entries] == [s.name for s in catalog.ALL]
    for m, spec in zip(entries, catalog.ALL):
        assert spec.type == m["type"] and spec.help == m["help"]
        assert list(spec.labels) == m.get("labels", [])
        assert list(spec.buckets) == [float(b) for b in m.get("buckets", [])]


def test_constructors_register_with_the_catalog_shape(registry):
    h = catalog.ml_inference_duration_seconds(registry)
    assert isinstance(h, footmetrics.Histogram)
    h.labels(model_version="v2", batch_size="32", device="cuda").observe(1.5)
    labels = {"model_version": "v2", "batch_size": "32", "device": "cuda"}
    # 1.5 lands in the 2 s bucket the MLInferenceLatencyHigh alert relies on.
    assert registry.get_sample_value("ml_inference_duration_seconds_bucket",
                                     dict(labels, le="2.0")) == 1
    assert registry.get_sample_value("ml_inference_duration_seconds_bucket",
                                     dict(labels, le="1.0")) == 0
    with pytest.raises(ValueError):
        h.labels("v2", "32")  # the catalog fixes three labels
    with pytest.raises(ValueError, match="Duplicated"):
        catalog.ml_inference_duration_seconds(registry)


def test_every_constructor_works_in_one_registry(registry):
    for spec in catalog.ALL:
        metric = getattr(catalog, spec.name)(registry)
        assert metric._labelnames == spec.labels
    names = {m.name for m in registry.collect()}
    assert "http_requests" in names and "video_processing_queue_length" in names
