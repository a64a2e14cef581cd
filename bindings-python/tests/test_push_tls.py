"""Pushing to a real Pushgateway behind TLS (its --web.config.file, with certificates the
testkit's `test-pki` makes): a private CA, a wrong CA, mutual TLS and basic auth, through the
prometheus_client API (handlers, keyword arguments) on the core's client; and OTLP over TLS
to the test sink."""

import base64
import shutil
import ssl
import time

import pytest

import footmetrics
from footmetrics.exposition import (
    basic_auth_handler,
    bearer_token_handler,
    default_handler,
    tls_auth_handler,
)
from footmetrics.otlp import start_otlp_exporter
from servers import OtlpSink, make_pki, pushed, pushed_after_delete, start_pushgateway, tls_context


def registry(name, value):
    r = footmetrics.CollectorRegistry()
    footmetrics.Gauge(name, "G.", registry=r).set(value)
    return r


@pytest.fixture(scope="module")
def tls_gateway():
    pki = make_pki()
    g = start_pushgateway(pki, context=tls_context(pki))
    yield g, pki
    g.stop()
    shutil.rmtree(pki["dir"], ignore_errors=True)


def test_tls_push_with_a_private_ca_round_trips(tls_gateway):
    gw, pki = tls_gateway
    assert gw.url.startswith("https://")
    group = {"instance": "w/1"}
    footmetrics.push_to_gateway(gw.url, "tls_job", registry("tls_value", 12.5),
                                grouping_key=group, cafile=pki["ca"])
    assert pushed(gw, "tls_job") == {("tls_value", (("instance", "w/1"),)): 12.5}
    footmetrics.pushadd_to_gateway(gw.url, "tls_job", registry("tls_more", 2),
                                   grouping_key=group, cafile=pki["ca"])
    assert len(pushed(gw, "tls_job")) == 2
    footmetrics.delete_from_gateway(gw.url, "tls_job", grouping_key=group, cafile=pki["ca"])
    assert pushed_after_delete(gw, "tls_job") == {}


def test_wrong_ca_and_system_roots_are_ssl_errors_in_time(tls_gateway):
    gw, pki = tls_gateway
    for kwargs in ({"cafile": pki["other_ca"]}, {}):
        t = time.monotonic()
        with pytest.raises(ssl.SSLError) as e:
            footmetrics.push_to_gateway(gw.url, "j", registry("x", 1), timeout=5, **kwargs)
        assert time.monotonic() - t < 5
        text = str(e.value)
        assert "UnknownIssuer" in text or "no system root certificates" in text, text
    assert isinstance(e.value, OSError)  # as urllib raises it
    with pytest.raises(ssl.SSLError, match="missing.pem"):
        footmetrics.push_to_gateway(gw.url, "j", registry("x", 1), cafile=pki["dir"] + "/missing.pem")


def test_tls_options_are_checked_before_any_request(tls_gateway):
    gw, pki = tls_gateway
    with pytest.raises(ValueError, match="certfile and keyfile"):
        footmetrics.push_to_gateway(gw.url, "j", registry("x", 1), certfile=pki["client_cert"])
    with pytest.raises(TypeError, match="cafile"):
        footmetrics.push_to_gateway(gw.url, "j", registry("x", 1), cafile=42)

    def own(url, method, timeout, headers, data):
        return default_handler(url, method, timeout, headers, data)
    with pytest.raises(ValueError, match="default handler"):
        footmetrics.push_to_gateway(gw.url, "j", registry("x", 1), handler=own, cafile=pki["ca"])
    with pytest.raises(ValueError, match="token"):
        bearer_token_handler(gw.url, "PUT", 1, [], b"", "")


@pytest.fixture(scope="module")
def auth_gateway():
    pki = make_pki(mtls=True, basic_auth=("pusher", "pa:ss word"))
    token = base64.b64encode(b"pusher:pa:ss word").decode()
    g = start_pushgateway(pki, context=tls_context(pki, client_cert=True),
                          headers={"Authorization": "Basic " + token})
    yield g, pki
    g.stop()
    shutil.rmtree(pki["dir"], ignore_errors=True)


def test_basic_auth_handler_and_mutual_tls(auth_gateway):
    gw, pki = auth_gateway
    tls = {"cafile": pki["ca"], "certfile": pki["client_cert"], "keyfile": pki["client_key"]}

    def auth(url, method, timeout, headers, data):
        return basic_auth_handler(url, method, timeout, headers, data, "pusher", "pa:ss word",
                                  **tls)
    footmetrics.push_to_gateway(gw.url, "auth_job", registry("auth_value", 7), handler=auth)
    assert pushed(gw, "auth_job") == {("auth_value", ()): 7}

    def wrong(url, method, timeout, headers, data):
        return basic_auth_handler(url, method, timeout, headers, data, "pusher", "nope", **tls)
    with pytest.raises(OSError, match="401 Unauthorized") as e:
        footmetrics.push_to_gateway(gw.url, "auth_job", registry("auth_value", 8), handler=wrong)
    assert not isinstance(e.value, ssl.SSLError)
    assert pushed(gw, "auth_job") == {("auth_value", ()): 7}

    # Without the client certificate the handshake is refused.
    def no_cert(url, method, timeout, headers, data):
        return basic_auth_handler(url, method, timeout, headers, data, "pusher", "pa:ss word",
                                  cafile=pki["ca"])
    t = time.monotonic()
    with pytest.raises(OSError):
        footmetrics.push_to_gateway(gw.url, "auth_job", registry("auth_value", 9),
                                    handler=no_cert, timeout=5)
    assert time.monotonic() - t < 5

    # prometheus_client's tls_auth_handler (urllib) still works, with basic auth added.
    def urllib_tls(url, method, timeout, headers, data):
        token = base64.b64encode(b"pusher:pa:ss word").decode()
        h = list(headers) + [("Authorization", "Basic " + token)]
        return tls_auth_handler(url, method, timeout, h, data, pki["client_cert"],
                                pki["client_key"], cafile=pki["ca"])
    footmetrics.pushadd_to_gateway(gw.url, "auth_job", registry("auth_other", 3),
                                   handler=urllib_tls)
    assert pushed(gw, "auth_job") == {("auth_value", ()): 7, ("auth_other", ()): 3}


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_otlp_over_mutual_tls_is_exact(protocol):
    sink = OtlpSink(tls=True, mtls=True)
    try:
        r = registry("otlp_tls_value", 4.25)
        e = start_otlp_exporter(sink.endpoint(protocol), interval=3600, registry=r,
                                protocol=protocol, headers={"Authorization": "Bearer t0k"},
                                cafile=sink.pki["ca"], certfile=sink.pki["client_cert"],
                                keyfile=sink.pki["client_key"])
        assert e.force_flush(10), e.stats()
        got = sink.received()
        values = [p["value"] for p in got["points"] if p["name"] == "otlp_tls_value"]
        assert values == [4.25]
        assert set(got["authorizations"]) == {"Bearer t0k"}
        e.shutdown(5)

        wrong = start_otlp_exporter(sink.endpoint(protocol), interval=3600, registry=r,
                                    protocol=protocol, timeout=2, cafile=sink.pki["other_ca"],
                                    certfile=sink.pki["client_cert"],
                                    keyfile=sink.pki["client_key"])
        t = time.monotonic()
        assert not wrong.force_flush(3)
        assert time.monotonic() - t < 5
        assert "UnknownIssuer" in wrong.stats()["last_error"]
        wrong.shutdown(1)
    finally:
        sink.stop()


def test_otlp_tls_arguments_are_checked():
    with pytest.raises(TypeError, match="cafile"):
        start_otlp_exporter("https://127.0.0.1:1", cafile=3)
    with pytest.raises(ValueError, match="client certificate"):
        start_otlp_exporter("https://127.0.0.1:1", certfile="/c.pem")
