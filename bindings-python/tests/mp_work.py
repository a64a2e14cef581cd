"""Work done in child processes by tests/test_multiprocess.py (importable by name, so that
spawn and forkserver children can run it). Metrics are created on first use, in the child,
as a worker module of an application creates them."""

import os

import footmetrics

_metrics = {}


def _get(name):
    if name not in _metrics:
        _metrics[name] = (
            footmetrics.Counter(name, "Jobs done.", ["kind"], registry=None),
            footmetrics.Histogram(name + "_seconds", "Job time.", registry=None,
                                  buckets=(0.1, 1.0)),
            footmetrics.Gauge(name + "_busy", "Busy workers.", registry=None,
                              multiprocess_mode="livesum"),
        )
    return _metrics[name]


def count(args):
    """Counts `n` jobs of `kind` in metric family `name`; returns the pid that did it."""
    name, kind, n = args
    counter, histogram, busy = _get(name)
    busy.inc()
    for i in range(n):
        counter.labels(kind).inc()
        histogram.observe(0.05 if i % 2 else 0.5)
    busy.dec()
    return os.getpid()
