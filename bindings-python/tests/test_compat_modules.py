"""The module-level helpers prometheus_client code imports (utils, samples.Timestamp,
validation, decorator, the openmetrics escaping functions, values, mmap_dict, multiprocess,
metrics): each checked against prometheus_client's own on the same inputs, and for what the
differential cannot show (the switches reaching the core, multi-process mode refused)."""

import math
import os
import random
import subprocess
import sys

import pytest

import footmetrics
import footmetrics.core
import footmetrics.decorator
import footmetrics.metrics
import footmetrics.mmap_dict
import footmetrics.multiprocess
import footmetrics.openmetrics.exposition as fm_om
import footmetrics.samples
import footmetrics.utils
import footmetrics.validation
import footmetrics.values

pytest.importorskip("prometheus_client")
import prometheus_client.decorator
import prometheus_client.mmap_dict
import prometheus_client.openmetrics.exposition as pc_om
import prometheus_client.samples
import prometheus_client.utils
import prometheus_client.validation

FLOATS = [0.0, -0.0, 1, 5, 0.5, 1e-4, 1e-5, 123456.0, 999999.0, 1e6, 1234567.0, 1e10, 1e15,
          1234567890123.0, 1e16, 1.5e16, 1e21, 1e22, 1.7976931348623157e308, 5e-324, -1e6,
          -1234567.0, 0.1 + 0.2, 2.5e-7, float("inf"), float("-inf"), float("nan"), "17", True]

NAMES = ["", "a", "a_b", "a:b", "_a", "__a", "1a", "a1", "a.b", "a-b", "a b", "ü", "花火",
         "label with 😱", "\ud800", '"quoted"', '"', "a\nb", 'a"b', "a\\b", "mysystem.prod:x",
         "no:escaping_required", "A_9:z", ":x", "x:", "le", "quantile"]


@pytest.fixture
def legacy_off():
    yield
    footmetrics.validation.disable_legacy_validation()
    prometheus_client.validation.disable_legacy_validation()


def test_float_to_go_string_matches_prometheus_client():
    rng = random.Random(7)
    values = FLOATS + [rng.uniform(-1e9, 1e9) for _ in range(500)]
    values += [10.0 ** rng.uniform(-8, 25) for _ in range(500)]
    for v in values:
        assert footmetrics.utils.floatToGoString(v) == prometheus_client.utils.floatToGoString(v), v
    assert footmetrics.utils.floatToGoString(1e6) == "1e+06"
    assert (footmetrics.utils.INF, footmetrics.utils.MINUS_INF) == (math.inf, -math.inf)
    assert math.isnan(footmetrics.utils.NaN)


def test_parse_version():
    for v in ["1.0.0", "0.0.4", "2", "1.x.3", ""]:
        assert footmetrics.utils.parse_version(v) == prometheus_client.utils.parse_version(v)


def test_timestamp_behaves_as_prometheus_clients():
    ours, theirs = footmetrics.samples.Timestamp, prometheus_client.samples.Timestamp
    assert footmetrics.core.Timestamp is ours
    cases = [(0, 0), (1, 1), (1, 2), (2, 0), (123, 456000000), (123, 456), (-1, 5e8),
             (1.9, 7.9), (-3, 0)]
    for sec, nsec in cases:
        a, b = ours(sec, nsec), theirs(sec, nsec)
        assert (a.sec, a.nsec, str(a), repr(a), float(a)) == (b.sec, b.nsec, str(b), repr(b),
                                                              float(b))
        for sec2, nsec2 in cases:
            c, d = ours(sec2, nsec2), theirs(sec2, nsec2)
            assert (a < c, a > c, a == c, a != c) == (b < d, b > d, b == d, b != d)
    for bad in (-1, 1e9, 2e9):
        with pytest.raises(ValueError):
            ours(1, bad)
    assert ours(1, 0) != 1.0
    sample = footmetrics.samples.Sample("ts", {}, 0, ours(1, 5))
    assert sample.timestamp == ours(1, 5) and sample.native_histogram is None


@pytest.mark.parametrize("legacy", [False, True])
def test_validation_accepts_and_rejects_as_prometheus_client(legacy, legacy_off):
    for lib in (footmetrics.validation, prometheus_client.validation):
        (lib.enable_legacy_validation if legacy else lib.disable_legacy_validation)()
    assert footmetrics.validation.get_legacy_validation() is legacy

    def outcome(f, *args):
        try:
            return ("ok", f(*args))
        except ValueError:  # UnicodeEncodeError (a lone surrogate) included
            return ("ValueError", None)

    class Reserving:
        _reserved_labelnames = ("le",)

    ours, theirs = footmetrics.validation, prometheus_client.validation
    for name in NAMES + ['"' + n + '"' for n in NAMES]:
        for f in ("_validate_metric_name", "_validate_labelname", "_is_valid_legacy_labelname",
                  "_is_valid_legacy_metric_name", "_validate_metric_label_name_token"):
            if not name and f == "_validate_metric_label_name_token":
                continue  # prometheus_client indexes the empty token: IndexError
            assert outcome(getattr(ours, f), name) == outcome(getattr(theirs, f), name), (f, name)
        assert (outcome(ours._validate_labelnames, Reserving, [name])
                == outcome(theirs._validate_labelnames, Reserving, [name])), name
        exemplar = {name: "v"} if name else {"a": "v"}
        assert (outcome(ours._validate_exemplar, exemplar)
                == outcome(theirs._validate_exemplar, exemplar)), name
    for long in ({"a" * 64: "b" * 64}, {"a" * 64: "b" * 65}):
        assert outcome(ours._validate_exemplar, long) == outcome(theirs._validate_exemplar, long)


def test_legacy_validation_starts_from_the_environment():
    for value, expected in (("True", True), ("1", True), ("t", True), ("no", False), (None, False)):
        env = dict(os.environ)
        env.pop("PROMETHEUS_LEGACY_NAME_VALIDATION", None)
        if value is not None:
            env["PROMETHEUS_LEGACY_NAME_VALIDATION"] = value
        out = subprocess.run(
            [sys.executable, "-c",
             "import footmetrics.validation as v; print(v.get_legacy_validation())"],
            env=env, capture_output=True, text=True, check=True).stdout
        assert out.strip() == str(expected)


@pytest.mark.parametrize("escaping", [pc_om.ALLOWUTF8, pc_om.UNDERSCORES, pc_om.DOTS,
                                      pc_om.VALUES, "unknown"])
def test_name_escaping_matches_prometheus_client(escaping):
    for constant in ("ALLOWUTF8", "UNDERSCORES", "DOTS", "VALUES", "ESCAPING_HEADER_TAG",
                     "CONTENT_TYPE_LATEST", "CONTENT_TYPE_LATEST_2_0"):
        assert getattr(fm_om, constant) == getattr(pc_om, constant)
    for name in NAMES:
        assert (fm_om.escape_metric_name(name, escaping)
                == pc_om.escape_metric_name(name, escaping)), name
        assert (fm_om.escape_label_name(name, escaping)
                == pc_om.escape_label_name(name, escaping)), name


def test_getargspec_sees_through_footmetrics_decorators(registry):
    getargspec = footmetrics.decorator.getargspec
    c = footmetrics.Counter("c", "C.", registry=registry)
    g = footmetrics.Gauge("g", "G.", registry=registry)

    @c.count_exceptions()
    def one(r, s=2, *args, **kwargs):
        return r

    @g.time()
    def none():
        pass

    assert getargspec(one) == (["r", "s"], "args", "kwargs", (2,))
    assert getargspec(none) == ([], None, None, None)

    class K:
        def method(self, x):
            return x

    assert getargspec(K().method) == prometheus_client.decorator.getargspec(K().method)


def test_decorate_keeps_the_signature_and_calls_the_caller():
    calls = []

    def caller(func, *args, **kwargs):
        calls.append((func.__name__, args, kwargs))
        return func(*args, **kwargs) * 10

    def add(a, b=1):
        """Adds."""
        return a + b

    decorated = footmetrics.decorator.decorate(add, caller)
    assert decorated(2, b=3) == 50 and calls == [("add", (2,), {"b": 3})]
    assert decorated.__name__ == "add" and decorated.__doc__ == "Adds."
    assert footmetrics.decorator.getargspec(decorated) == (["a", "b"], None, None, (1,))
    times_ten = footmetrics.decorator.decorator(caller)
    assert times_ten(add)(1) == 20
    assert footmetrics.decorator.decorator(caller, add)(4) == 50


def test_created_switch_is_the_module_global_of_metrics(registry):
    metrics = footmetrics.metrics
    assert metrics._use_created is True
    try:
        metrics._use_created = False
        assert metrics._use_created is False
        footmetrics.Counter("quiet", "Q.", registry=registry).inc()
        metrics._use_created = True
        footmetrics.Counter("loud", "L.", registry=registry).inc()
        footmetrics.disable_created_metrics()
        assert metrics._use_created is False
    finally:
        footmetrics.enable_created_metrics()
    assert registry.get_sample_value("quiet_created") is None
    assert registry.get_sample_value("loud_created") is not None
    assert metrics._use_created is True
    assert footmetrics.metrics.Counter is footmetrics.Counter
    assert isinstance(footmetrics.Counter("x", "X.", registry=registry),
                      footmetrics.metrics.MetricWrapperBase)


def test_get_use_created_reads_the_environment(monkeypatch):
    for value, expected in (("True", False), ("1", False), ("T", False), ("false", True),
                            ("", True)):
        monkeypatch.setenv("PROMETHEUS_DISABLE_CREATED_SERIES", value)
        assert footmetrics.metrics._get_use_created() is expected
    monkeypatch.delenv("PROMETHEUS_DISABLE_CREATED_SERIES")
    assert footmetrics.metrics._get_use_created() is True


def test_a_clashing_name_raises_duplicate_timeseries(registry):
    footmetrics.Counter("c", "C.", registry=registry)
    with pytest.raises(footmetrics.core.DuplicateTimeseries) as e:
        footmetrics.Gauge("c_total", "G.", registry=registry)
    assert isinstance(e.value, ValueError)
    assert "Duplicated timeseries" in str(e.value)


def test_mutex_value():
    v = footmetrics.values.MutexValue("counter", "c", "c_total", (), (), "help")
    v.inc(2)
    v.inc(0.5)
    assert v.get() == 2.5
    v.set(7, timestamp=3)
    assert v.get() == 7
    assert v.get_exemplar() is None
    ex = footmetrics.samples.Exemplar({"a": "b"}, 1.0)
    v.set_exemplar(ex)
    assert v.get_exemplar() == ex


def test_multiprocess_mode_is_chosen_and_checked_as_in_prometheus_client(tmp_path, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.delenv("prometheus_multiproc_dir", raising=False)
    assert footmetrics.values.get_value_class() is footmetrics.values.MutexValue
    value_class = footmetrics.values.MultiProcessValue(lambda: 123)
    assert value_class._multiprocess
    # The metric classes keep the values; a value object of its own is refused clearly.
    with pytest.raises(NotImplementedError, match="keep multi-process values in the core"):
        value_class("counter", "c", "c_total", (), (), "help")
    footmetrics.values.close_all_multiprocess_files()
    registry = footmetrics.CollectorRegistry()
    # Arguments are checked first, as prometheus_client checks them.
    with pytest.raises(ValueError, match="PROMETHEUS_MULTIPROC_DIR"):
        footmetrics.multiprocess.MultiProcessCollector(registry)
    with pytest.raises(ValueError):
        footmetrics.multiprocess.MultiProcessCollector(registry, str(tmp_path / "missing"))
    footmetrics.multiprocess.MultiProcessCollector(registry, str(tmp_path))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert footmetrics.values.get_value_class() is not footmetrics.values.MutexValue


def test_the_deprecated_lowercase_directory_is_adopted_with_a_warning(tmp_path, monkeypatch):
    # Recorded as absent, so that the variable the collector sets is removed afterwards.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    monkeypatch.setenv("prometheus_multiproc_dir", str(tmp_path))
    with pytest.warns(DeprecationWarning, match="PROMETHEUS_MULTIPROC_DIR"):
        footmetrics.multiprocess.MultiProcessCollector(None)
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path)


def test_mark_process_dead_removes_only_live_gauge_files_of_that_process(tmp_path):
    names = ["gauge_livesum_123.db", "gauge_liveall_123.db", "gauge_livemostrecent_123.db",
             "gauge_sum_123.db", "gauge_livesum_1234.db", "counter_123.db"]
    for n in names:
        (tmp_path / n).write_bytes(b"")
    footmetrics.multiprocess.mark_process_dead(123, str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "counter_123.db", "gauge_livesum_1234.db", "gauge_sum_123.db"]


def test_mmap_dict_round_trips_grows_and_detects_corruption(tmp_path):
    path = str(tmp_path / "counter_1.db")
    d = footmetrics.mmap_dict.MmapedDict(path)
    big = "k" * (footmetrics.mmap_dict._INITIAL_MMAP_SIZE * 3)
    d.write_value("abc", 1.5, 10.0)
    d.write_value(big, 2.5, 20.0)
    assert d.read_value("new") == (0.0, 0.0)
    d.write_value("abc", 3.0, 30.0)
    assert list(d.read_all_values()) == [("abc", 3.0, 30.0), (big, 2.5, 20.0), ("new", 0, 0)]
    d.close()
    d.close()
    d = footmetrics.mmap_dict.MmapedDict(path)  # reopened: entries found again
    assert d.read_value("abc") == (3.0, 30.0)
    d._m[8:16] = b"somejunk"
    with pytest.raises(RuntimeError, match="corrupted"):
        list(d.read_all_values())
    d.close()


def test_mmap_dict_files_read_the_same_in_both_libraries(tmp_path):
    keys = ["a", "ab" * 3, "x" * 4, "é" * 5, "k" * 70000]
    ours_path, theirs_path = str(tmp_path / "ours.db"), str(tmp_path / "theirs.db")
    ours = footmetrics.mmap_dict.MmapedDict(ours_path)
    theirs = prometheus_client.mmap_dict.MmapedDict(theirs_path)
    for i, k in enumerate(keys):
        ours.write_value(k, i + 0.5, i * 10.0)
        theirs.write_value(k, i + 0.5, i * 10.0)
    ours.close()
    theirs.close()
    with open(ours_path, "rb") as a, open(theirs_path, "rb") as b:
        assert a.read() == b.read()
    expected = [(k, i + 0.5, i * 10.0) for i, k in enumerate(keys)]
    read = footmetrics.mmap_dict.MmapedDict.read_all_values_from_file(theirs_path)
    assert [e[:3] for e in read] == expected
    read = prometheus_client.mmap_dict.MmapedDict.read_all_values_from_file(ours_path)
    assert [e[:3] for e in read] == expected
    key = footmetrics.mmap_dict.mmap_key("m", "m_total", ["b", "a"], ["1", "2"], "help")
    assert key == prometheus_client.mmap_dict.mmap_key("m", "m_total", ["b", "a"], ["1", "2"],
                                                        "help")
