"""Pushgateway functions against a real Pushgateway."""

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

import footmetrics
from footmetrics.exposition import default_handler
from servers import http_get, start_pushgateway


@pytest.fixture(scope="module")
def gateway():
    g = start_pushgateway()
    yield g
    g.stop()


def pushed(gateway, job):
    """`{(sample name, sorted labels without job): value}` of what the gateway holds for job."""
    _, text = http_get(gateway.url + "/metrics")
    out = {}
    for f in text_string_to_metric_families(text):
        for s in f.samples:
            if s.labels.get("job") == job and not s.name.startswith("push_"):
                # The gateway adds `instance=""` to groups without one: empty means absent.
                labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "job" and v))
                out[(s.name, labels)] = s.value
    return out


def test_push_pushadd_delete_round_trip(gateway):
    r = footmetrics.CollectorRegistry()
    records = footmetrics.Counter("batch_records", "Records.", ["stage"], registry=r)
    records.labels("load").inc(42)
    footmetrics.Gauge("batch_last_success_unixtime", "Last success.", registry=r).set(1.7e9)
    group = {"instance": "host/1"}  # a `/` travels base64-encoded
    footmetrics.push_to_gateway(gateway.url, job="nightly", registry=r, grouping_key=group)
    got = pushed(gateway, "nightly")
    inst = ("instance", "host/1")
    assert got[("batch_records_total", (inst, ("stage", "load")))] == 42
    assert got[("batch_last_success_unixtime", (inst,))] == 1.7e9

    # pushadd replaces only the pushed families.
    r2 = footmetrics.CollectorRegistry()
    footmetrics.Gauge("batch_rows_per_second", "Rate.", registry=r2).set(3.5)
    footmetrics.pushadd_to_gateway(gateway.url, job="nightly", registry=r2, grouping_key=group)
    got = pushed(gateway, "nightly")
    assert got[("batch_rows_per_second", (inst,))] == 3.5
    assert got[("batch_records_total", (inst, ("stage", "load")))] == 42

    # push (PUT) replaces the whole group.
    footmetrics.push_to_gateway(gateway.url, job="nightly", registry=r2, grouping_key=group)
    got = pushed(gateway, "nightly")
    assert ("batch_records_total", (inst, ("stage", "load"))) not in got
    assert got[("batch_rows_per_second", (inst,))] == 3.5

    footmetrics.delete_from_gateway(gateway.url, job="nightly", grouping_key=group)
    assert pushed(gateway, "nightly") == {}


def test_host_port_gateway_and_custom_handler(gateway):
    r = footmetrics.CollectorRegistry()
    footmetrics.Gauge("handled", "H.", registry=r).set(1)
    calls = []

    def handler(url, method, timeout, headers, data):
        calls.append((url, method, timeout, dict(headers), data))
        return default_handler(url, method, timeout, headers, data)

    footmetrics.push_to_gateway(f"127.0.0.1:{gateway.port}", "handled_job", r, handler=handler,
                                timeout=5)
    url, method, timeout, headers, data = calls[0]
    assert url == f"http://127.0.0.1:{gateway.port}/metrics/job/handled_job"
    assert (method, timeout) == ("PUT", 5)
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert b"handled 1" in data
    assert pushed(gateway, "handled_job")[("handled", ())] == 1


def test_bad_arguments_are_value_errors(gateway):
    r = footmetrics.CollectorRegistry()
    with pytest.raises(ValueError, match="grouping key"):
        footmetrics.push_to_gateway(gateway.url, "j", r, grouping_key={"bad-name": "x"})
    with pytest.raises(ValueError, match="job"):
        footmetrics.push_to_gateway(gateway.url, "", r)
    with pytest.raises(ValueError, match="timeout"):
        footmetrics.push_to_gateway(gateway.url, "j", r, timeout=-1)
    with pytest.raises(ValueError, match="http://"):
        footmetrics.push_to_gateway("https://example.invalid", "j", r)


def test_gateway_errors_are_os_errors(gateway):
    r = footmetrics.CollectorRegistry()
    footmetrics.Gauge("g", "G.", registry=r).set(1)
    with pytest.raises(OSError, match="404"):
        footmetrics.push_to_gateway(gateway.url + "/no/such/prefix", "j", r)
    t = time.monotonic()
    with pytest.raises(OSError):
        footmetrics.push_to_gateway("127.0.0.1:1", "j", r, timeout=2)
    assert time.monotonic() - t < 3
