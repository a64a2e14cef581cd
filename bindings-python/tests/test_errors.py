"""Core errors reach Python as the exception class prometheus_client raises for the same mistake,
carrying the core's kind as ``code``."""

import pytest

import footmetrics
from footmetrics.registry import DuplicateTimeseries


def test_each_kind_is_a_value_error_with_its_code():
    registry = footmetrics.CollectorRegistry()
    cases = [
        (lambda: footmetrics.Histogram("h1", "d", ["le"], registry=registry), "RESERVED_LABEL_NAME"),
        (lambda: footmetrics.Counter("c2", "d", ["a", "a"], registry=registry), "DUPLICATE_LABEL_NAME"),
        (lambda: footmetrics.Histogram("h2", "d", buckets=[2, 1], registry=registry), "INVALID_BUCKETS"),
    ]
    for make, code in cases:
        with pytest.raises(ValueError) as raised:
            make()
        assert raised.value.code == code, (code, raised.value)


def test_runtime_mistakes_carry_codes_and_lose_nothing_recorded():
    registry = footmetrics.CollectorRegistry()
    c = footmetrics.Counter("requests", "d", ["method"], registry=registry)
    c.labels("GET").inc(2)
    with pytest.raises(ValueError) as raised:
        c.labels("GET").inc(-1)
    assert raised.value.code == "COUNTER_DECREMENT"
    with pytest.raises(ValueError) as raised:
        footmetrics.Counter("requests", "d", registry=registry)
    assert isinstance(raised.value, DuplicateTimeseries)
    assert raised.value.code == "ALREADY_REGISTERED"
    with pytest.raises(ValueError) as raised:
        c.labels("GET", "extra")
    assert raised.value.code == "LABEL_COUNT"
    with pytest.raises(ValueError) as raised:
        c.labels(verb="GET")
    assert raised.value.code == "UNKNOWN_LABEL"
    assert registry.get_sample_value("requests_total", {"method": "GET"}) == 2.0
