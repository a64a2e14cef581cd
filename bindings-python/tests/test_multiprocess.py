"""Multi-process mode with real processes: a gunicorn server with 4 workers (with and without
--preload) whose workers are killed with SIGKILL and replaced, multiprocessing pools started
with fork, spawn and forkserver, and a writer killed with SIGKILL in the middle of its
updates. Totals must be exact every time. (A fold killed at each of its steps, and at random
moments, is tested in core/tests/multiprocess.rs.)"""

import multiprocessing
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

import footmetrics
import footmetrics.values
from footmetrics import CollectorRegistry
from footmetrics.multiprocess import MultiProcessCollector
from servers import Server, free_port, http_get


@pytest.fixture
def mp_dir(tmp_path, monkeypatch):
    """A multi-process directory in the environment, and the default value class of that
    mode (pid identifier) for metrics created by the test."""
    d = tmp_path / "mp"
    d.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(d))
    monkeypatch.setattr(footmetrics.values, "ValueClass", footmetrics.values.MultiProcessValue())
    yield str(d)
    footmetrics.values.close_all_multiprocess_files()


def scrape(path):
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path)
    return registry


def sample(text, line_start):
    """The value of the sample line starting with `line_start` in exposition `text`."""
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


# multiprocessing pools


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_a_pool_counts_exactly_with_every_start_method(mp_dir, method):
    import mp_work

    name = f"pool_jobs_{method}"
    # Series written in the parent before the pool starts (gunicorn --preload does this):
    # forked children inherit the metric objects but write files of their own.
    if method == "fork":
        mp_work.count((name, "parent", 5))
    jobs = [(name, f"k{i % 3}", 50 + i) for i in range(24)]
    ctx = multiprocessing.get_context(method)
    with ctx.Pool(4) as pool:
        pids = set(pool.map(mp_work.count, jobs, chunksize=1))
    assert os.getpid() not in pids
    registry = scrape(mp_dir)
    for kind in ("k0", "k1", "k2"):
        expected = sum(n for _, k, n in jobs if k == kind)
        assert registry.get_sample_value(name + "_total", {"kind": kind}) == expected
    parent = 5 if method == "fork" else 0
    total = sum(n for _, _, n in jobs) + parent
    assert registry.get_sample_value(name + "_seconds_count") == total
    assert registry.get_sample_value(name + "_seconds_bucket", {"le": "+Inf"}) == total
    # Half the observations were 0.05 (odd i), the others 0.5.
    fast = sum(n // 2 for _, _, n in jobs) + (5 // 2 if parent else 0)
    assert registry.get_sample_value(name + "_seconds_bucket", {"le": "0.1"}) == fast
    if method == "fork":
        assert registry.get_sample_value(name + "_total", {"kind": "parent"}) == 5
    # The pool's workers have exited: their `livesum` gauges are gone, the parent's (0 after
    # its dec) remains for a forked pool.
    assert registry.get_sample_value(name + "_busy") in (None, 0.0)


# a writer killed in the middle of its updates

WRITER = textwrap.dedent("""
    import sys, footmetrics
    c = footmetrics.Counter("kill_jobs", "Jobs.", registry=None)
    h = footmetrics.Histogram("kill_latency_seconds", "Latency.", registry=None,
                              buckets=(0.1, 1.0))
    print("ready", flush=True)
    i = 0
    while True:
        c.inc()
        h.observe(0.05 if i % 3 else 0.5)
        i += 1
""")


def test_a_writer_killed_mid_update_loses_nothing_and_counts_nothing_twice(mp_dir):
    writers = [subprocess.Popen([sys.executable, "-c", WRITER], stdout=subprocess.PIPE)
               for _ in range(2)]
    try:
        for w in writers:
            assert w.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + 30
        while (scrape(mp_dir).get_sample_value("kill_jobs_total") or 0) < 20000:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # Stop both where they are; what the files hold now is what must survive.
        for w in writers:
            os.kill(w.pid, signal.SIGSTOP)
        before = scrape(mp_dir)
        total = before.get_sample_value("kill_jobs_total")
        count = before.get_sample_value("kill_latency_seconds_count")
        assert total > 0 and count in (total, total - 1, total - 2)
        # One dies mid-update; the scrape folds its lane into the archive.
        os.kill(writers[0].pid, signal.SIGKILL)
        writers[0].wait()
        after = scrape(mp_dir)
        assert after.get_sample_value("kill_jobs_total") == total
        assert after.get_sample_value("kill_latency_seconds_count") == count
        assert after.get_sample_value("kill_latency_seconds_bucket", {"le": "+Inf"}) == count
        files = sorted(os.listdir(mp_dir))
        assert "archive.db" in files
        assert f"counter_{writers[0].pid}.db" not in files
        assert f"counter_{writers[1].pid}.db" in files
        # The survivor goes on; totals only grow from the folded value.
        os.kill(writers[1].pid, signal.SIGCONT)
        time.sleep(0.2)
        assert scrape(mp_dir).get_sample_value("kill_jobs_total") > total
    finally:
        for w in writers:
            if w.poll() is None:
                os.kill(w.pid, signal.SIGKILL)
                w.wait()


# gunicorn

APP = textwrap.dedent("""
    import os
    from footmetrics import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram,
                             generate_latest, multiprocess)

    REQUESTS = Counter("app_requests", "Requests served.", ["path"])
    LATENCY = Histogram("app_request_seconds", "Request time.")

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/metrics":
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            data = generate_latest(registry)
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [data]
        with LATENCY.time():
            REQUESTS.labels(path).inc()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(os.getpid()).encode()]
""")

# What prometheus_client's documentation tells gunicorn users to write, imports changed.
GUNICORN_CONF = textwrap.dedent("""
    from footmetrics import multiprocess

    def child_exit(server, worker):
        multiprocess.mark_process_dead(worker.pid)
""")


def worker_pids(master):
    with open(f"/proc/{master}/task/{master}/children") as f:
        return {int(p) for p in f.read().split()}


@pytest.mark.parametrize("preload", [False, True], ids=["workers-import", "preload"])
def test_gunicorn_workers_killed_and_replaced_keep_exact_totals(tmp_path, preload):
    work = tmp_path / "app"
    work.mkdir()
    (work / "app.py").write_text(APP)
    (work / "gunicorn_conf.py").write_text(GUNICORN_CONF)
    mp = tmp_path / "mp"
    mp.mkdir()
    port = free_port()
    env_argv = [sys.executable, "-m", "gunicorn", "-w", "4", "-b", f"127.0.0.1:{port}",
                "-c", str(work / "gunicorn_conf.py"), "--chdir", str(work), "app:app"]
    if preload:
        env_argv.insert(3, "--preload")
    old = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(mp)
    try:
        server = Server(env_argv, port, "/ready", tempfile.mkdtemp())
    finally:
        if old is None:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]
        else:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = old
    try:
        def work_requests(n):
            served_by = set()
            for _ in range(n):
                status, body = http_get(server.url + "/work")[:2]
                assert status == 200
                served_by.add(int(body))
            return served_by

        def scraped():
            text = http_get(server.url + "/metrics")[1]
            return (sample(text, 'app_requests_total{path="/work"}'),
                    sample(text, "app_request_seconds_count"), text)

        deadline = time.monotonic() + 30
        while len(worker_pids(server.process.pid)) < 4:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        n = 300
        served_by = work_requests(n)
        work, latency, text = scraped()
        assert work == n, text
        # `/ready` is counted too (the readiness probe): every request is in the histogram.
        assert latency >= n
        # Two workers die mid-flight; gunicorn replaces them.
        victims = sorted(worker_pids(server.process.pid))[:2]
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while True:
            pids = worker_pids(server.process.pid)
            if len(pids) == 4 and not pids & set(victims):
                break
            assert time.monotonic() < deadline, pids
            time.sleep(0.1)
        assert scraped()[0] == n
        m = 200
        served_by |= work_requests(m)
        work, _, text = scraped()
        assert work == n + m, text
        # The dead workers' lanes were folded: their files are gone.
        files = os.listdir(mp)
        assert "archive.db" in files
        for pid in victims:
            assert not any(re.match(rf"\w+_{pid}(\.\d+)?\.db$", f) for f in files), files
        assert len(served_by) > 1
    finally:
        server.stop()


def test_an_unusable_directory_is_a_clear_error_when_the_metric_is_created(tmp_path,
                                                                          monkeypatch):
    monkeypatch.setattr(footmetrics.values, "ValueClass", footmetrics.values.MultiProcessValue())
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    for path in (tmp_path / "missing", not_a_dir):
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(path))
        with pytest.raises(OSError, match="multi-process storage") as e:
            footmetrics.Counter("unusable_jobs", "Jobs.", registry=None)
        assert e.value.code == "STORAGE"
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    with pytest.raises(ValueError, match="PROMETHEUS_MULTIPROC_DIR"):
        footmetrics.Counter("unusable_jobs", "Jobs.", registry=None)
    # Gauges name their mode as prometheus_client does.
    with pytest.raises(ValueError, match="Invalid multiprocess mode"):
        footmetrics.Gauge("g", "Gauge.", registry=None, multiprocess_mode="average")


def test_a_foreign_file_is_skipped_with_a_warning_and_counted(mp_dir):
    footmetrics.Counter("foreign_jobs", "Jobs.", registry=None).inc(2)
    # A prometheus_client file left in the directory, and one cut short by a crash.
    with open(os.path.join(mp_dir, "counter_4242.db"), "wb") as f:
        f.write(b"\x10\x00\x00\x00\x00\x00\x00\x00" + b"\x00" * 64)
    open(os.path.join(mp_dir, "gauge_all_4243.db"), "wb").close()
    with pytest.warns(UserWarning, match="counter_4242.db"):
        families = {m.name: m for m in MultiProcessCollector(None, mp_dir).collect()}
    assert families["foreign_jobs"].samples[0].value == 2
    text = footmetrics.generate_latest(scrape(mp_dir)).decode()
    assert "foreign_jobs_total 2.0" in text
    assert "footmetrics_multiprocess_skipped_files 2.0" in text


def test_exemplars_are_kept_across_processes(mp_dir):
    from footmetrics.openmetrics.exposition import generate_latest as om_latest

    c = footmetrics.Counter("traced_jobs", "Jobs.", registry=None)
    h = footmetrics.Histogram("traced_seconds", "Time.", registry=None, buckets=(0.1, 1.0))
    c.inc(2, exemplar={"trace_id": "abc"})
    h.observe(0.5, exemplar={"trace_id": "def"})
    # Read by another process, as a scrape in another worker would.
    code = ("import sys; from footmetrics import CollectorRegistry;"
            "from footmetrics.multiprocess import MultiProcessCollector;"
            "from footmetrics.openmetrics.exposition import generate_latest;"
            "r = CollectorRegistry(); MultiProcessCollector(r, sys.argv[1]);"
            "sys.stdout.write(generate_latest(r).decode())")
    text = subprocess.run([sys.executable, "-c", code, mp_dir], capture_output=True,
                          text=True, check=True).stdout
    assert 'traced_jobs_total 2.0 # {trace_id="abc"} 2.0' in text, text
    assert 'traced_seconds_bucket{le="1.0"} 1.0 # {trace_id="def"} 0.5' in text, text
    assert om_latest(scrape(mp_dir)).decode().count("trace_id") == 2
