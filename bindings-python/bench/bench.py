"""Times each operation against prometheus_client in the same run and prints ratios
(footmetrics / prometheus_client, lower is better) next to the issue's goals.

    make bench-python        # or: .venv/bin/python bindings-python/bench/bench.py
"""

import gc
import os
import subprocess
import sys
import time
import timeit

import bench_multiprocess
import prometheus_client as pc

import footmetrics as fm

# (label, statement, goal ratio)
OPS = [
    ("Counter.inc()", "c.inc()", 0.25),
    ("Gauge.set()", "g.set(3.0)", 0.25),
    ("labels(a,b,c).inc()", "cl.labels('x', 'y', 'z').inc()", 0.2),
    ("cached child inc()", "child.inc()", 0.15),
    ("observe()", "h.observe(0.3)", 0.2),
    # prometheus_client has no native histograms: against its classic observe().
    ("observe() native (pc: classic)", "hn.observe(0.3)", 0.2),
    ("labels(a).observe()", "hl.labels('q').observe(0.3)", 0.2),
    ("with h.time():", "with h.time(): pass", 0.4),
]


def instruments(lib):
    r = lib.CollectorRegistry()
    cl = lib.Counter("cl", "d", ["a", "b", "c"], registry=r)
    return {
        "c": lib.Counter("c", "d", registry=r),
        "g": lib.Gauge("g", "d", registry=r),
        "cl": cl,
        "child": cl.labels("x", "y", "z"),
        "h": lib.Histogram("h", "d", registry=r),
        "hn": lib.Histogram("hn", "d", registry=r,
                            **({"native_histogram_bucket_factor": 1.1} if lib is fm else {})),
        "hl": lib.Histogram("hl", "d", ["a"], registry=r),
    }


def per_op_ns(stmt, names, number=100_000):
    return min(timeit.repeat(stmt, globals=names, number=number, repeat=5)) / number * 1e9


def scrape_seconds(lib, build):
    r = lib.CollectorRegistry()
    build(lib, r)
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        lib.generate_latest(r)
        best = min(best, time.perf_counter() - t)
    return best


def counters(n, families=1):
    # footmetrics caps a family at 10,000 label sets (then folds into an overflow series), so
    # 100k series are spread over 10 families for both libraries.
    def build(lib, r):
        for f in range(families):
            c = lib.Counter(f"series_{f}", "d", ["i"], registry=r)
            for i in range(n // families):
                c.labels(str(i)).inc()
    return build


def histograms(n):
    def build(lib, r):
        h = lib.Histogram("latency_seconds", "d", ["i"], registry=r)
        for i in range(n):
            h.labels(str(i)).observe(0.1)
    return build


MEMORY_SERIES = 50_000


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure_memory(lib_name):
    """Run in a fresh interpreter: resident memory added per labelled counter series (Rust
    allocations included, which tracemalloc would not see)."""
    lib = fm if lib_name == "footmetrics" else pc
    r = lib.CollectorRegistry()
    labels = [str(i) for i in range(MEMORY_SERIES)]  # allocated before the baseline
    gc.collect()
    before = rss_bytes()
    families = [lib.Counter(f"mem_{f}", "d", ["i", "j"], registry=r) for f in range(5)]
    for f in families:
        for i in labels[: MEMORY_SERIES // len(families)]:
            f.labels(i, "x").inc()
    gc.collect()
    print((rss_bytes() - before) / MEMORY_SERIES)


def memory_per_series(lib_name):
    out = subprocess.run([sys.executable, __file__, "--memory", lib_name],
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def main():
    met = total = 0
    print(f"{'operation':32} {'prometheus_client':>18} {'footmetrics':>12} {'ratio':>6}  goal")
    rows = []
    for label, stmt, goal in OPS:
        theirs = per_op_ns(stmt, instruments(pc))
        ours = per_op_ns(stmt, instruments(fm))
        rows.append((label, f"{theirs:.0f} ns", f"{ours:.0f} ns", ours / theirs, goal))
    for label, build, goal in [
        ("generate_latest 10k counters", counters(10_000), 0.05),
        ("generate_latest 1k histograms", histograms(1_000), 0.05),
        ("generate_latest 100k series", counters(100_000, families=10), 0.05),
    ]:
        theirs = scrape_seconds(pc, build)
        ours = scrape_seconds(fm, build)
        rows.append((label, f"{theirs * 1e3:.1f} ms", f"{ours * 1e3:.2f} ms", ours / theirs, goal))
    theirs, ours = memory_per_series("prometheus_client"), memory_per_series("footmetrics")
    rows.append(("memory per series", f"{theirs:.0f} B", f"{ours:.0f} B", ours / theirs, 0.3))
    # Multi-process mode against prometheus_client's (each library in processes of its own).
    rows.extend(bench_multiprocess.rows())
    for label, theirs, ours, ratio, goal in rows:
        ok = ratio <= goal
        met += ok
        total += 1
        print(f"{label:32} {theirs:>18} {ours:>12} {ratio:6.3f}  <= {goal} {'ok' if ok else 'MISS'}")
    print(f"\n{met} of {total} goals met (noisy shared machine: compare ratios across runs)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--memory"]:
        measure_memory(sys.argv[2])
    else:
        main()
