"""Counters never wrap around: large increments read (and render) as prometheus_client's float
counter reads them, exactly below 2**53, and a reading never goes down, also while other
threads add."""

import math
import random
import threading
from fractions import Fraction

import pytest

import footmetrics
import footmetrics.openmetrics.exposition

prometheus_client = pytest.importorskip("prometheus_client")
pc_openmetrics = pytest.importorskip("prometheus_client.openmetrics.exposition")


def pair(name):
    """A footmetrics counter and a prometheus_client counter, each in a registry of its own."""
    ours_reg = footmetrics.CollectorRegistry()
    theirs_reg = prometheus_client.CollectorRegistry()
    ours = footmetrics.Counter(name, "C.", registry=ours_reg)
    theirs = prometheus_client.Counter(name, "C.", registry=theirs_reg)
    return (ours, ours_reg), (theirs, theirs_reg)


def total_line(text, name):
    return next(line for line in text.decode().splitlines() if line.startswith(name + "_total "))


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        ([1e19, 1e19], 2e19),
        ([2**64, 1], 1.8446744073709552e19),
        ([2**64 - 1, 2**64 - 1, 1], 2 * 2.0**64),
        ([2**63, 2**63, 2**63], 3 * 2.0**63),
        ([2**53 - 2, 1, 1], 2**53),
        ([float(2**53), 1.5, 0.5], 2**53 + 2),
    ],
)
def test_large_increments_read_and_render_as_prometheus_client(amounts, expected):
    (ours, ours_reg), (theirs, theirs_reg) = pair("big")
    for a in amounts:
        if a == 1:
            ours.inc()
            theirs.inc()
        else:
            ours.inc(a)
            theirs.inc(a)
    assert ours._get() == expected
    assert theirs._value.get() == expected
    assert ours_reg.get_sample_value("big_total") == expected
    for encode in (
        (footmetrics.generate_latest, prometheus_client.generate_latest),
        (
            footmetrics.openmetrics.exposition.generate_latest,
            pc_openmetrics.generate_latest,
        ),
    ):
        assert total_line(encode[0](ours_reg), "big") == total_line(encode[1](theirs_reg), "big")


def test_whole_increments_past_2_53_are_not_rounded_away():
    """prometheus_client's one float stops counting increments of 1 at 2**53; the integer word
    still counts them, and the reading is the exact sum rounded once."""
    (ours, _), (theirs, _) = pair("past")
    for c in (ours, theirs):
        c.inc(2**53)
        c.inc()
        c.inc()
    assert ours._get() == 2**53 + 2
    assert theirs._value.get() == 2**53


def test_the_issue_renders_2e19():
    (ours, ours_reg), _ = pair("issue")
    ours.inc(1e19)
    ours.inc(1e19)
    assert "issue_total 2e+19\n" in footmetrics.generate_latest(ours_reg).decode()


EDGES = [2**32, 2**53, 2**62, 2**63, 2**64]


def random_amount(rng):
    kind = rng.randrange(6)
    if kind == 0:
        return 1
    if kind == 1:
        return rng.randrange(10_000)
    if kind == 2:
        return max(0, rng.choice(EDGES) + rng.randint(-4096, 4096))  # an int, maybe past 2**64
    if kind == 3:
        return float(math.floor(rng.random() * 4 * 2**64))
    if kind == 4:
        return rng.randrange(1_000_000) / 1024
    return float(rng.randrange(4096))


@pytest.mark.parametrize("seed", range(40))
def test_adds_around_2_53_2_63_2_64_read_as_the_sum(seed):
    """Random sequences of adds around the edges, side by side with prometheus_client: every
    reading is at least the one before, equal to the exact sum below 2**53 for whole amounts,
    and within float rounding of the exact sum (and of prometheus_client's) beyond."""
    rng = random.Random(seed)
    (ours, _), (theirs, _) = pair("edge")
    exact = Fraction(0)
    all_whole = True
    prev = 0.0
    n = rng.randrange(1, 40)
    for i in range(n):
        a = random_amount(rng)
        ours.inc(a)
        theirs.inc(a)
        exact += Fraction(float(a))  # inc() takes a float, as prometheus_client's does
        all_whole = all_whole and float(a).is_integer()
        got = ours._get()
        assert got >= prev, f"went down after inc({a}): {prev} -> {got}"
        prev = got
        if all_whole and exact < 2**53:
            assert got == float(exact) == theirs._value.get()
        else:
            tolerance = float(exact) * (i + 5) * 2.0**-52
            assert abs(got - float(exact)) <= tolerance
            assert abs(got - theirs._value.get()) <= 2 * tolerance


def test_concurrent_readings_never_go_down():
    c = footmetrics.Counter("conc", "C.", registry=None)
    stop = threading.Event()
    went_down = []

    def read():
        prev = 0.0
        while not stop.is_set():
            v = c._get()
            if v < prev:
                went_down.append((prev, v))
            prev = v

    def write(k):
        for i in range(5000):
            kind = (i + k) % 4
            if kind == 0:
                c.inc()
            elif kind == 1:
                c.inc(2**31 + i)
            elif kind == 2:
                c.inc(0.25)
            else:
                c.inc(2**64)

    readers = [threading.Thread(target=read) for _ in range(2)]
    writers = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert went_down == []
    # 4 writers x 1,250 adds of each kind.
    assert c._get() == pytest.approx(4 * 1250 * (1 + 0.25 + 2.0**64 + 2**31), rel=1e-9)
