"""The framework integrations, each in its framework: PrometheusDjangoView through Django's
request handling, make_aiohttp_handler in a served aiohttp application, MetricsResource on a
running Twisted reactor. All answer as make_wsgi_app does: negotiated format, ``name[]``
filter, gzip."""

import asyncio
import gzip
import subprocess
import sys

import pytest

import footmetrics
import footmetrics.openmetrics.exposition as om


@pytest.fixture
def populated(registry):
    footmetrics.Counter("served", "Served.", registry=registry).inc(2)
    footmetrics.Gauge("other", "Other.", registry=registry).set(1)
    footmetrics.Gauge("third", "Third.", registry=registry).set(3)
    return registry


# Django


@pytest.fixture(scope="module")
def django_rf():
    django = pytest.importorskip("django")
    from django.conf import settings

    if not settings.configured:
        settings.configure(INSTALLED_APPS=[], ALLOWED_HOSTS=["testserver"])
        django.setup()
    from django.test import RequestFactory

    return RequestFactory()


def test_django_view_serves_the_registry(django_rf, populated):
    from footmetrics.django import PrometheusDjangoView

    view = PrometheusDjangoView.as_view(registry=populated)
    response = view(django_rf.get("/metrics"))
    assert response.status_code == 200
    assert response["Content-Type"] == footmetrics.CONTENT_TYPE_PLAIN_0_0_4
    assert response.content == footmetrics.generate_latest(populated)

    response = view(django_rf.get("/metrics", HTTP_ACCEPT=om.CONTENT_TYPE_LATEST))
    assert response["Content-Type"] == om.CONTENT_TYPE_LATEST + "; escaping=underscores"
    assert response.content == om.generate_latest(populated)

    # Django's QueryDict keeps every repeated name[].
    response = view(django_rf.get("/metrics?name[]=served_total&name[]=third"))
    assert b"served_total 2" in response.content and b"third 3" in response.content
    assert b"other" not in response.content

    response = view(django_rf.get("/metrics", HTTP_ACCEPT_ENCODING="gzip, deflate"))
    assert response["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.content) == footmetrics.generate_latest(populated)

    response = view(django_rf.options("/metrics"))
    assert response.status_code == 200 and response["Allow"] == "OPTIONS,GET"
    assert view(django_rf.post("/metrics")).status_code == 405


def test_django_view_defaults_to_the_default_registry(django_rf):
    from footmetrics.django import PrometheusDjangoView

    response = PrometheusDjangoView.as_view()(django_rf.get("/metrics"))
    assert response.status_code == 200
    assert b"process_cpu_seconds_total" in response.content


def test_django_view_in_multiprocess_mode_serves_every_process(django_rf, tmp_path,
                                                               monkeypatch):
    from footmetrics.django import PrometheusDjangoView

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setattr(footmetrics.values, "ValueClass",
                        footmetrics.values.MultiProcessValue(lambda: 7))
    footmetrics.Counter("django_mp_jobs", "Jobs.", registry=None).inc(3)
    # Another process' file, written under another identifier.
    monkeypatch.setattr(footmetrics.values, "ValueClass",
                        footmetrics.values.MultiProcessValue(lambda: 8))
    footmetrics.Counter("django_mp_jobs", "Jobs.", registry=None).inc(4)
    view = PrometheusDjangoView.as_view(multiprocess_mode=True)
    body = view(django_rf.get("/metrics")).content
    assert b"django_mp_jobs_total 7.0" in body
    footmetrics.values.close_all_multiprocess_files()


# aiohttp


def test_aiohttp_handler_serves_negotiates_filters_and_compresses(populated):
    pytest.importorskip("aiohttp")
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from footmetrics.aiohttp import make_aiohttp_handler

    async def scenario():
        app = web.Application()
        app.router.add_get("/metrics", make_aiohttp_handler(populated))
        app.router.add_get("/plain", make_aiohttp_handler(populated, disable_compression=True))
        async with TestClient(TestServer(app)) as client:
            r = await client.get("/metrics")
            assert r.status == 200
            assert r.headers["Content-Type"] == footmetrics.CONTENT_TYPE_PLAIN_0_0_4
            assert await r.read() == footmetrics.generate_latest(populated)

            r = await client.get("/metrics", headers={"Accept": om.CONTENT_TYPE_LATEST})
            assert r.headers["Content-Type"] == om.CONTENT_TYPE_LATEST + "; escaping=underscores"
            assert (await r.read()).endswith(b"# EOF\n")

            r = await client.get("/metrics", params=[("name[]", "other"), ("name[]", "third")])
            body = await r.read()
            assert b"other 1" in body and b"third 3" in body and b"served" not in body

            r = await client.get("/metrics", headers={"Accept-Encoding": "gzip"},
                                 auto_decompress=False)
            assert r.headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(await r.read()) == footmetrics.generate_latest(populated)

            r = await client.get("/plain", headers={"Accept-Encoding": "gzip"},
                                 auto_decompress=False)
            assert "Content-Encoding" not in r.headers
            assert await r.read() == footmetrics.generate_latest(populated)

    asyncio.run(scenario())


# Twisted: a reactor runs once per process, so in a child process.

TWISTED = r"""
import urllib.request
import footmetrics
from twisted.internet import reactor, threads
from twisted.web.resource import Resource
from twisted.web.server import Site
from footmetrics.twisted import MetricsResource

registry = footmetrics.CollectorRegistry()
footmetrics.Counter("served", "Served.", registry=registry).inc(2)
footmetrics.Gauge("other", "Other.", registry=registry).set(1)
root = Resource()
root.putChild(b"metrics", MetricsResource(registry=registry))
port = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
base = f"http://127.0.0.1:{port.getHost().port}/metrics"

def fetch():
    with urllib.request.urlopen(base, timeout=10) as r:
        assert r.headers["Content-Type"] == footmetrics.CONTENT_TYPE_PLAIN_0_0_4
        assert r.read() == footmetrics.generate_latest(registry)
    with urllib.request.urlopen(base + "?name[]=other", timeout=10) as r:
        body = r.read()
        assert b"other 1" in body and b"served" not in body, body
    return "ok"

def done(result):
    print(result)
    reactor.stop()

def failed(failure):
    print(failure.getTraceback())
    reactor.stop()

reactor.callWhenRunning(lambda: threads.deferToThread(fetch).addCallbacks(done, failed))
reactor.run()
"""


def test_twisted_resource_serves_the_registry():
    pytest.importorskip("twisted")
    run = subprocess.run([sys.executable, "-c", TWISTED], capture_output=True, text=True,
                         timeout=60, check=False)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stdout + run.stderr


def test_importing_footmetrics_imports_no_framework():
    program = ("import sys, footmetrics, footmetrics.exposition, footmetrics.core; "
               "print(sorted(m for m in ('django', 'twisted', 'aiohttp', 'asgiref') "
               "if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                         timeout=60, check=True)
    assert run.stdout.strip() == "[]"
