"""GraphiteBridge against a Carbon-like TCP listener on 127.0.0.1: the plaintext lines, the
label, tag and prefix options, sanitising, and periodic pushes from start()."""

import socket
import subprocess
import sys
import threading
import time

import pytest

import footmetrics
from footmetrics.bridge.graphite import GraphiteBridge

NOW = 1434898897.5


class Carbon:
    """Accepts connections and keeps what each one sent, until closed."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.address = self.sock.getsockname()
        self.pushes = []
        self.arrived = threading.Condition()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while chunk := conn.recv(65536):
                    data += chunk
            with self.arrived:
                self.pushes.append(data)
                self.arrived.notify_all()

    def wait(self, count, timeout=10):
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.pushes) >= count, timeout), self.pushes
            return self.pushes[:count]

    def close(self):
        self.sock.close()


@pytest.fixture
def carbon():
    c = Carbon()
    yield c
    c.close()


def push(carbon, registry, prefix="", **options):
    GraphiteBridge(carbon.address, registry, _timer=lambda: NOW, **options).push(prefix=prefix)
    return carbon.wait(1)[0].decode("ascii")


def test_samples_become_plaintext_lines(carbon, registry):
    footmetrics.Gauge("g", "G.", registry=registry).set(1)
    labelled = footmetrics.Gauge("labels", "L.", ["b", "a"], registry=registry)
    labelled.labels("d", "c").inc(2.5)
    footmetrics.disable_created_metrics()
    try:
        footmetrics.Counter("jobs", "J.", registry=registry).inc(3)
    finally:
        footmetrics.enable_created_metrics()
    lines = push(carbon, registry).splitlines()
    assert sorted(lines) == sorted([
        "g 1.0 1434898897",
        "labels.a.c.b.d 2.5 1434898897",
        "jobs_total 3.0 1434898897",
    ])


def test_tags_prefix_and_sanitising(carbon, registry):
    g = footmetrics.Gauge("labels", "L.", ["a", "b"], registry=registry)
    g.labels("c.:8", "x y/ü").inc()
    assert push(carbon, registry, prefix="pre.fix", tags=True) == (
        "pre.fix.labels;a=c__8;b=x_y__ 1.0 1434898897\n")


def test_plain_labels_with_prefix(carbon, registry):
    footmetrics.Gauge("labels", "L.", ["a", "b"], registry=registry).labels("c", "d").inc()
    assert push(carbon, registry, prefix="pre.fix") == "pre.fix.labels.a.c.b.d 1.0 1434898897\n"


def test_every_family_of_the_registry_is_pushed(carbon, registry):
    footmetrics.Histogram("h", "H.", buckets=[1], registry=registry).observe(0.5)
    footmetrics.Info("build", "B.", registry=registry).info({"version": "1.2"})
    footmetrics.Enum("phase", "P.", states=["a", "b"], registry=registry).state("b")
    lines = set(push(carbon, registry).splitlines())
    for expected in ("h_bucket.le.1_0 1.0 1434898897", "h_bucket.le._Inf 1.0 1434898897",
                     "h_count 1.0 1434898897", "h_sum 0.5 1434898897",
                     "build_info.version.1_2 1.0 1434898897",
                     "phase.phase.a 0.0 1434898897", "phase.phase.b 1.0 1434898897"):
        assert expected in lines


def test_a_refused_connection_is_an_os_error(registry):
    with socket.create_server(("127.0.0.1", 0)) as s:
        address = s.getsockname()
    with pytest.raises(OSError):
        GraphiteBridge(address, registry, timeout_seconds=2).push()


# start() runs for the life of the process, so it runs in a child process of its own.
PERIODIC = """
import logging, sys, time
import footmetrics
from footmetrics.bridge.graphite import GraphiteBridge
logging.basicConfig(level=logging.ERROR)
registry = footmetrics.CollectorRegistry()
footmetrics.Gauge("ticks", "T.", registry=registry).set(1)
GraphiteBridge(("127.0.0.1", int(sys.argv[1])), registry).start(interval=0.2, prefix="app")
GraphiteBridge(("127.0.0.1", int(sys.argv[2])), registry, timeout_seconds=1).start(interval=0.1)
time.sleep(1.5)
"""


def test_start_pushes_periodically_and_survives_failures(carbon):
    with socket.create_server(("127.0.0.1", 0)) as s:
        closed_port = s.getsockname()[1]
    child = subprocess.run([sys.executable, "-c", PERIODIC, str(carbon.address[1]),
                            str(closed_port)], capture_output=True, text=True, timeout=60,
                           check=True)
    pushes = carbon.wait(3)
    for p in pushes:
        name, value, stamp = p.decode("ascii").split()
        assert (name, value) == ("app.ticks", "1.0")
        assert abs(int(stamp) - time.time()) < 60
    # The other thread logs each failed push and keeps going.
    assert child.stderr.count("Push to Graphite at") >= 3, child.stderr
