"""Multi-process mode against prometheus_client's, in the same run (issue 23's goals):

- an update in multi-process mode;
- a scrape of 8 live worker processes with 10k series each;
- a scrape after 5,000 worker restarts (forked children that count and exit) against the same
  scrape with no churn, and the directory's size after them.

Each library gets directories of its own; `rows()` gives bench.py its rows, and running this
file prints them alone. Worker processes are this file run with `--worker`.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import timeit

WORKERS = 8
FAMILIES = 10
SERIES_PER_FAMILY = 1_000  # 10k series per worker
RESTARTS = 5_000
CHURN_SERIES = 100


def load(lib_name, directory):
    """The library in multi-process mode over `directory` (set before its value class is
    chosen, as a deployment sets the variable before starting)."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    if lib_name == "footmetrics":
        import footmetrics as lib
        import footmetrics.multiprocess as mp
        from footmetrics import values
    else:
        import prometheus_client as lib
        import prometheus_client.multiprocess as mp
        from prometheus_client import values
    values.ValueClass = values.MultiProcessValue()
    return lib, mp


def scrape_seconds(lib, mp, directory, repeat=3):
    registry = lib.CollectorRegistry()
    mp.MultiProcessCollector(registry, directory)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        lib.generate_latest(registry)
        best = min(best, time.perf_counter() - t)
    return best


def worker(lib_name, directory):
    """Writes 10k series, says so, and stays alive until its stdin closes."""
    lib, _ = load(lib_name, directory)
    for f in range(FAMILIES):
        c = lib.Counter(f"jobs_{f}", "Jobs.", ["i"], registry=None)
        for i in range(SERIES_PER_FAMILY):
            c.labels(str(i)).inc()
    print("ready", flush=True)
    sys.stdin.read()


def update_ns(lib_name, directory):
    lib, _ = load(lib_name, directory)
    c = lib.Counter("updates", "Updates.", registry=None)
    return min(timeit.repeat(c.inc, number=50_000, repeat=5)) / 50_000 * 1e9


def live_workers_scrape(lib_name, directory):
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", lib_name, directory],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
             for _ in range(WORKERS)]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == b"ready"
        lib, mp = load(lib_name, directory)
        return scrape_seconds(lib, mp, directory)
    finally:
        for p in procs:
            p.stdin.close()
            p.wait()


def dir_bytes(directory):
    return sum(os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory))


def churn(lib_name, directory):
    """(scrape before churn, scrape after RESTARTS forked workers counted and exited,
    directory bytes after). One worker stays alive throughout, as a server's do; this
    process scrapes every 500 restarts, as Prometheus would meanwhile."""
    lib, mp = load(lib_name, directory)
    c = lib.Counter("churn_jobs", "Jobs.", ["i"], registry=None)
    for i in range(CHURN_SERIES):
        c.labels(str(i)).inc()
    before = scrape_seconds(lib, mp, directory)
    for n in range(RESTARTS):
        pid = os.fork()
        if pid == 0:
            c.labels(str(n % CHURN_SERIES)).inc()
            os._exit(0)
        os.waitpid(pid, 0)
        if lib_name == "footmetrics" and n % 500 == 499:
            scrape_seconds(lib, mp, directory, repeat=1)
    scrape_seconds(lib, mp, directory, repeat=1)
    after = scrape_seconds(lib, mp, directory)
    registry = lib.CollectorRegistry()
    mp.MultiProcessCollector(registry, directory)
    total = sum(registry.get_sample_value("churn_jobs_total", {"i": str(i)})
                for i in range(CHURN_SERIES))
    assert total == CHURN_SERIES + RESTARTS, total
    return before, after, dir_bytes(directory)


def in_fresh_process(what, lib_name):
    """Runs `what` for `lib_name` in a fresh interpreter (each library's mode is process
    wide), over a fresh directory; returns what it printed, evaluated."""
    directory = tempfile.mkdtemp(prefix=f"bench-mp-{lib_name}-")
    try:
        out = subprocess.run([sys.executable, __file__, "--" + what, lib_name, directory],
                             capture_output=True, text=True, check=True).stdout
        return eval(out.strip().splitlines()[-1])
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def rows():
    out = []
    theirs = in_fresh_process("update", "prometheus_client")
    ours = in_fresh_process("update", "footmetrics")
    out.append(("multiprocess Counter.inc()", f"{theirs:.0f} ns", f"{ours:.0f} ns",
                ours / theirs, 0.1))
    theirs = in_fresh_process("live", "prometheus_client")
    ours = in_fresh_process("live", "footmetrics")
    out.append((f"mp scrape {WORKERS}x10k live", f"{theirs * 1e3:.0f} ms",
                f"{ours * 1e3:.1f} ms", ours / theirs, 0.05))
    pb, pa, pbytes = in_fresh_process("churn", "prometheus_client")
    ob, oa, obytes = in_fresh_process("churn", "footmetrics")
    out.append((f"mp scrape after {RESTARTS} restarts", f"{pa * 1e3:.0f} ms ({pa / pb:.0f}x)",
                f"{oa * 1e3:.2f} ms", oa / ob, 1.5))
    print(f"  (no churn: prometheus_client {pb * 1e3:.2f} ms, footmetrics {ob * 1e3:.2f} ms; "
          f"directory after the restarts: prometheus_client {pbytes / 1e6:.1f} MB, "
          f"footmetrics {obytes / 1e3:.0f} kB; the footmetrics row compares it with itself "
          "before the churn)")
    return out


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] in (["--update"], ["--live"], ["--churn"]):
        what = {"--update": update_ns, "--live": live_workers_scrape, "--churn": churn}
        print(repr(what[sys.argv[1]](sys.argv[2], sys.argv[3])))
    else:
        for label, theirs, ours, ratio, goal in rows():
            verdict = "ok" if ratio <= goal else "MISS"
            print(f"{label:32} {theirs:>18} {ours:>12} {ratio:6.3f}  <= {goal} {verdict}")
