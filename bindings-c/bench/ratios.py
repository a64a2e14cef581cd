"""footmetrics/client_golang ratios against the goals of the Go package, from the rounds
`make bench-go` runs (each round measures both sides of every operation back to back).
The ratio is the median of the per-round ratios, so a noisy round moves both sides.
Usage: ratios.py bench-go.txt"""

import re
import statistics
import sys

GOALS = {
    "HeldInc": ("Inc through a held child", 1.5),
    "WithLabelValuesInc": ("WithLabelValues(a,b,c).Inc()", 1.0),
    "HeldObserve": ("Observe through a held child", 1.5),
    "Render10k": ("render 10k series (text)", 0.5),
    "NativeObserve": ("native Observe, held child", 1.0),
    "NativeObserveParallel": ("native Observe, 4 goroutines/core", 1.0),
    "NativeMemory": ("native series, 160 buckets (B)", 1.0),
}

LINE = re.compile(r"^Benchmark(\w+)/(client_golang|footmetrics)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op")
# Benchmarks that report memory rather than time (BenchmarkNativeMemory): bytes per series.
BYTES = re.compile(
    r"^Benchmark(\w+)/(client_golang|footmetrics)(?:-\d+)?\s+\d+\s+([\d.]+) B/series"
)


def human(ns: float, unit: str = "ns") -> str:
    if unit == "B":
        return f"{ns / 1024:.1f} KiB"
    return f"{ns / 1e6:.2f} ms" if ns >= 1e5 else f"{ns:.1f} ns"


def main(path: str) -> int:
    runs: dict[tuple[str, str], list[float]] = {}
    with open(path) as f:
        for line in f:
            m = LINE.match(line) or BYTES.match(line)
            if m:
                runs.setdefault((m[1], m[2]), []).append(float(m[3]))
    print(f"\n{'operation':34} {'client_golang':>14} {'footmetrics':>12} {'ratio':>7} {'goal':>6}")
    rounds = max((len(v) for v in runs.values()), default=0)
    print(f"({rounds} rounds; the ratio is the median of the per-round ratios)")
    missed = 0
    for name, (label, goal) in GOALS.items():
        theirs, ours = runs.get((name, "client_golang")), runs.get((name, "footmetrics"))
        if not theirs or not ours:
            print(f"{label:34} missing from the benchmark output")
            missed += 1
            continue
        if len(theirs) != len(ours):
            print(f"{label:34} unpaired rounds: {len(theirs)} vs {len(ours)}")
            missed += 1
            continue
        t, o = statistics.median(theirs), statistics.median(ours)
        ratio = statistics.median(b / a for a, b in zip(theirs, ours))
        mark = "ok" if ratio <= goal else "MISSED"
        missed += ratio > goal
        unit = "B" if label.endswith("(B)") else "ns"
        print(
            f"{label:34} {human(t, unit):>14} {human(o, unit):>12} {ratio:7.3f} {goal:6.2f} {mark}"
        )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
