//! Multi-process mode: series written by several processes into lane files, summed by any
//! process; dead processes' lanes folded into the archive without losing or double-counting,
//! even when the folding process is killed with SIGKILL at any point.
//!
//! Child processes are this test binary run again with `FM_MP_ROLE` set: the `child_role`
//! test does what the role says and exits.

use footmetrics::multiprocess::{
    self, read_dir, DirCollector, FoldStep, GaugeMode, ProcessLanes, ARCHIVE,
};
use footmetrics::{Collector, Counter, Family, Gauge, Histogram, Opts, PointValue, Summary};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "fm-mp-{tag}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn counter_family(lanes: &Arc<ProcessLanes>, name: &str) -> Family<Counter> {
    Family::new(
        &Opts::new(name, "help")
            .labels(&["route"])
            .multiprocess(lanes.clone(), GaugeMode::All),
    )
    .unwrap()
}

/// The merged value of `family{labels}` (a counter's total, a gauge's value, a histogram's
/// count).
fn value(dir: &Path, family: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let view = read_dir(dir).unwrap();
    let f = view.to_families().into_iter().find(|f| f.name == family)?;
    let p = f.points.into_iter().find(|p| {
        labels
            .iter()
            .all(|(k, v)| p.labels.iter().any(|(k2, v2)| k2 == k && v2 == v))
    })?;
    Some(match p.value {
        PointValue::Counter { value, .. } => value,
        PointValue::Gauge(v) => v,
        PointValue::Histogram { count, .. } => count as f64,
        PointValue::Summary { count, .. } => count as f64,
        _ => unreachable!(),
    })
}

/// A counter family's total over its series.
fn counter_total(f: &footmetrics::MetricFamily) -> f64 {
    f.points
        .iter()
        .map(|p| match p.value {
            PointValue::Counter { value, .. } => value,
            _ => 0.0,
        })
        .sum()
}

fn lane_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn run_child(role: &str, dir: &Path, extra: &[(&str, String)]) -> std::process::Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child_role", "--nocapture", "--test-threads=1"])
        .env("FM_MP_ROLE", role)
        .env("FM_MP_DIR", dir);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.stdout(std::process::Stdio::null()).spawn().unwrap()
}

/// What a child process does, by `FM_MP_ROLE`: `write` counts `FM_MP_N` requests over
/// `FM_MP_SERIES` routes under `FM_MP_ROUTE` and exits; `fold` reads the directory (folding) in a loop.
#[test]
fn child_role() {
    let Ok(role) = std::env::var("FM_MP_ROLE") else {
        return;
    };
    let dir = PathBuf::from(std::env::var("FM_MP_DIR").unwrap());
    match role.as_str() {
        "write" => {
            let n: u64 = std::env::var("FM_MP_N").unwrap().parse().unwrap();
            let route = std::env::var("FM_MP_ROUTE").unwrap_or_else(|_| "/".into());
            let lanes = ProcessLanes::new(&dir, std::process::id().to_string()).unwrap();
            let c = counter_family(&lanes, "requests");
            let h = Family::<Histogram>::new(
                &Opts::new("latency_seconds", "help")
                    .buckets(vec![0.1, 1.0])
                    .multiprocess(lanes.clone(), GaugeMode::All),
            )
            .unwrap();
            let spread: u64 = std::env::var("FM_MP_SERIES").map_or(1, |s| s.parse().unwrap());
            let series: Vec<Counter> = (0..spread)
                .map(|i| {
                    let r = if i == 0 {
                        route.clone()
                    } else {
                        format!("{route}/{i}")
                    };
                    c.with_label_values(&[r.as_str()]).unwrap()
                })
                .collect();
            let hs = h.unlabelled().unwrap();
            for i in 0..n {
                series[(i % spread) as usize].inc();
                hs.observe(if i % 2 == 0 { 0.05 } else { 0.5 });
            }
            if std::env::var("FM_MP_HANG").is_ok() {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
        "fold" => loop {
            read_dir(&dir).unwrap();
        },
        "fold-until" => {
            let step = match std::env::var("FM_MP_STEP").unwrap().as_str() {
                "temp" => FoldStep::TempWritten,
                "renamed" => FoldStep::Renamed,
                _ => FoldStep::OneLaneDeleted,
            };
            multiprocess::fold_interrupted(&dir, step).unwrap();
            // Dies as SIGKILL would leave it: no destructor, no cleanup.
            unsafe { libc::_exit(0) };
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn processes_sum_in_one_view() {
    let dir = tempdir("sum");
    let a = ProcessLanes::new(&dir, "101").unwrap();
    let b = ProcessLanes::new(&dir, "202").unwrap();
    let ca = counter_family(&a, "requests");
    let cb = counter_family(&b, "requests");
    ca.with_label_values(&["/a"]).unwrap().inc_by(2.0).unwrap();
    cb.with_label_values(&["/a"]).unwrap().inc_by(3.5).unwrap();
    cb.with_label_values(&["/b"]).unwrap().inc();
    assert_eq!(value(&dir, "requests", &[("route", "/a")]), Some(5.5));
    assert_eq!(value(&dir, "requests", &[("route", "/b")]), Some(1.0));

    let gauge = |l: &Arc<ProcessLanes>, mode| {
        Family::<Gauge>::new(
            &Opts::new(format!("g_{mode:?}").to_lowercase(), "help").multiprocess(l.clone(), mode),
        )
        .unwrap()
        .unlabelled()
        .unwrap()
    };
    for (mode, expect) in [
        (GaugeMode::Sum, 3.0),
        (GaugeMode::Max, 2.0),
        (GaugeMode::Min, 1.0),
        (GaugeMode::LiveSum, 3.0),
    ] {
        gauge(&a, mode).set(1.0);
        gauge(&b, mode).set(2.0);
        let name = format!("g_{mode:?}").to_lowercase();
        assert_eq!(value(&dir, &name, &[]), Some(expect), "{mode:?}");
    }
    let (ga, gb) = (
        gauge(&a, GaugeMode::MostRecent),
        gauge(&b, GaugeMode::MostRecent),
    );
    gb.set(2.0);
    std::thread::sleep(std::time::Duration::from_millis(5));
    ga.set(1.0);
    assert_eq!(value(&dir, "g_mostrecent", &[]), Some(1.0));
    let (ga, gb) = (gauge(&a, GaugeMode::All), gauge(&b, GaugeMode::All));
    ga.set(7.0);
    gb.set(8.0);
    assert_eq!(value(&dir, "g_all", &[("pid", "101")]), Some(7.0));
    assert_eq!(value(&dir, "g_all", &[("pid", "202")]), Some(8.0));

    let h = |l: &Arc<ProcessLanes>| {
        Family::<Histogram>::new(
            &Opts::new("h", "help")
                .buckets(vec![1.0, 5.0])
                .multiprocess(l.clone(), GaugeMode::All),
        )
        .unwrap()
        .unlabelled()
        .unwrap()
    };
    h(&a).observe(0.5);
    h(&b).observe(3.0);
    h(&b).observe(30.0);
    let view = read_dir(&dir).unwrap();
    let f = view
        .to_families()
        .into_iter()
        .find(|f| f.name == "h")
        .unwrap();
    match &f.points[0].value {
        PointValue::Histogram {
            buckets,
            count,
            sum,
            ..
        } => {
            let cumulative: Vec<u64> = buckets.iter().map(|b| b.1).collect();
            assert_eq!(cumulative, vec![1, 2, 3]);
            assert_eq!(*count, 3);
            assert_eq!(*sum, 33.5);
        }
        other => panic!("{other:?}"),
    }
    let s = |l: &Arc<ProcessLanes>| {
        Family::<Summary>::new(&Opts::new("s", "help").multiprocess(l.clone(), GaugeMode::All))
            .unwrap()
            .unlabelled()
            .unwrap()
    };
    s(&a).observe(1.0);
    s(&b).observe(2.0);
    assert_eq!(value(&dir, "s", &[]), Some(2.0));
    // The collector serves the same view, and the text names every family once.
    let text = footmetrics::Registry::new();
    text.register(DirCollector::new(&dir).unwrap()).unwrap();
    let mut out = Vec::new();
    text.encode(footmetrics::Format::Text, &mut out);
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("requests_total{route=\"/a\"} 5.5"), "{out}");
    assert!(out.contains("h_bucket{le=\"+Inf\"} 3"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_switched_identity_writes_its_own_file_from_zero() {
    let dir = tempdir("switch");
    let lanes = ProcessLanes::new(&dir, "0").unwrap();
    let c = counter_family(&lanes, "c");
    let child = c.with_label_values(&["/"]).unwrap();
    child.inc_by(2.0).unwrap();
    assert_eq!(lane_files(&dir), vec!["counter_0.db"]);
    lanes.switch_identity("1").unwrap();
    assert_eq!(lane_files(&dir), vec!["counter_0.db", "counter_1.db"]);
    // The same handle now writes the new file, which started from zero.
    assert_eq!(child.get(), 0.0);
    child.inc();
    assert_eq!(child.get(), 1.0);
    assert_eq!(value(&dir, "c", &[("route", "/")]), Some(3.0));
    // New series go to the new file too.
    c.with_label_values(&["/new"]).unwrap().inc();
    let only_new = multiprocess::merge_files(&[dir.join("counter_1.db")]);
    let f = &only_new.families[0];
    assert_eq!(f.series.len(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unusable_directories_and_foreign_files_are_clear() {
    let missing = std::env::temp_dir().join("fm-mp-does-not-exist-x");
    let e = ProcessLanes::new(&missing, "1").unwrap_err();
    assert_eq!(e.code(), "STORAGE");
    assert!(DirCollector::new(&missing).is_err());
    let dir = tempdir("foreign");
    let lanes = ProcessLanes::new(&dir, "1").unwrap();
    counter_family(&lanes, "c")
        .with_label_values(&["/"])
        .unwrap()
        .inc();
    // A prometheus_client file of the same name pattern, an empty file and garbage.
    std::fs::write(dir.join("counter_999.db"), b"\x10\0\0\0\0\0\0\0junk").unwrap();
    std::fs::write(dir.join("gauge_all_5.db"), b"").unwrap();
    let mut torn = std::fs::read(lanes.paths()[0].clone()).unwrap();
    torn[16..24].copy_from_slice(&(1u64 << 40).to_le_bytes());
    std::fs::write(dir.join("counter_77.db"), torn).unwrap();
    let view = read_dir(&dir).unwrap();
    assert_eq!(view.skipped.len(), 3, "{:?}", view.skipped);
    assert_eq!(value(&dir, "c", &[("route", "/")]), Some(1.0));
    let fams = DirCollector::new(&dir).unwrap().collect();
    let skipped = fams
        .iter()
        .find(|f| f.name == multiprocess::SKIPPED_FILES_METRIC)
        .unwrap();
    assert_eq!(skipped.points[0].value, PointValue::Gauge(3.0));
    assert!(GaugeMode::parse("average").is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dead_processes_fold_into_the_archive_and_the_directory_stays_small() {
    let dir = tempdir("fold");
    let mut expected = 0;
    for round in 0..30 {
        let n = 10 + round;
        expected += n;
        let status = run_child("write", &dir, &[("FM_MP_N", n.to_string())])
            .wait()
            .unwrap();
        assert!(status.success());
        // Each scrape folds what died since the last one: the total never moves.
        assert_eq!(
            value(&dir, "requests", &[("route", "/")]),
            Some(expected as f64)
        );
        assert_eq!(value(&dir, "latency_seconds", &[]), Some(expected as f64));
    }
    // Only the archive is left: the dead processes' lanes were folded.
    assert_eq!(lane_files(&dir), vec![ARCHIVE]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_fold_killed_at_any_point_loses_and_double_counts_nothing() {
    let dir = tempdir("kill");
    let mut expected = 0u64;
    let mut seed = 0x9e3779b97f4a7c15u64;
    for round in 0..12 {
        // A few processes die with series to fold...
        let writers: Vec<_> = (0..4)
            .map(|i| {
                let n = 2000 + round * 10 + i;
                expected += n;
                run_child(
                    "write",
                    &dir,
                    &[
                        ("FM_MP_N", n.to_string()),
                        ("FM_MP_ROUTE", format!("/{i}")),
                        ("FM_MP_SERIES", "400".into()),
                    ],
                )
            })
            .collect();
        for mut w in writers {
            assert!(w.wait().unwrap().success());
        }
        // ...and a folder is killed at a random moment of its loop of folds.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut folder = run_child("fold", &dir, &[]);
        std::thread::sleep(std::time::Duration::from_micros(seed % 12_000));
        unsafe { libc::kill(folder.id() as i32, libc::SIGKILL) };
        folder.wait().unwrap();
        // Where the kill landed: mid-write of a new archive, or after its rename but before
        // the folded lanes were deleted (both must read the same as a finished fold).
        let files = lane_files(&dir);
        let tmp = files.iter().any(|f| f.starts_with(".fm-tmp-"));
        let lanes_left = files.iter().filter(|f| f.starts_with("counter_")).count();
        eprintln!("round {round}: temporary archive {tmp}, lanes left {lanes_left}");
        let view = read_dir(&dir).unwrap();
        assert!(view.skipped.is_empty(), "{:?}", view.skipped);
        let total = counter_total(
            &view
                .to_families()
                .into_iter()
                .find(|f| f.name == "requests")
                .unwrap(),
        );
        assert_eq!(total, expected as f64, "round {round}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Each point where a fold can die, reached exactly: the next reader sees the same totals,
/// and the next fold cleans up.
#[test]
fn a_fold_stopped_at_each_step_reads_the_same() {
    for step in ["temp", "renamed", "one-deleted"] {
        let dir = tempdir(step);
        let mut expected = 0;
        for round in 0..3u64 {
            for i in 0..3u64 {
                let n = 100 * round + 10 * i + 1;
                expected += n;
                let w = run_child(
                    "write",
                    &dir,
                    &[("FM_MP_N", n.to_string()), ("FM_MP_SERIES", "3".into())],
                );
                assert!(w.wait_with_output().unwrap().status.success());
            }
            let mut folder = run_child("fold-until", &dir, &[("FM_MP_STEP", step.into())]);
            assert!(folder.wait().unwrap().success());
            let files = lane_files(&dir);
            match step {
                "temp" => assert!(files.iter().any(|f| f.starts_with(".fm-tmp-archive"))),
                _ => assert!(files.iter().any(|f| f.starts_with("counter_")), "{files:?}"),
            }
            let total = |dir: &Path| -> f64 {
                let view = read_dir(dir).unwrap();
                counter_total(
                    &view
                        .to_families()
                        .into_iter()
                        .find(|f| f.name == "requests")
                        .unwrap_or_else(|| {
                            panic!("{step} round {round}: {view:?} {:?}", lane_files(dir))
                        }),
                )
            };
            assert_eq!(total(&dir), expected as f64, "{step} round {round}");
            assert_eq!(value(&dir, "latency_seconds", &[]), Some(expected as f64));
        }
        // Everything folded and cleaned: the archive alone.
        assert_eq!(lane_files(&dir), vec![ARCHIVE], "{step}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_live_process_is_never_folded() {
    let dir = tempdir("live");
    let mut w = run_child(
        "write",
        &dir,
        &[("FM_MP_N", "5".into()), ("FM_MP_HANG", "1".into())],
    );
    // Wait for its writes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while value(&dir, "requests", &[("route", "/")]) != Some(5.0) {
        assert!(std::time::Instant::now() < deadline, "child never wrote");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    read_dir(&dir).unwrap();
    assert!(!lane_files(&dir).contains(&ARCHIVE.to_string()));
    unsafe { libc::kill(w.id() as i32, libc::SIGKILL) };
    w.wait().unwrap();
    assert_eq!(value(&dir, "requests", &[("route", "/")]), Some(5.0));
    assert_eq!(lane_files(&dir), vec![ARCHIVE]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// One collector kept across scrapes (as a server keeps it) follows lanes that grow past
/// their first mapping, new series, dead processes folded away and a replaced archive.
#[test]
fn a_kept_collector_follows_growth_folds_and_new_files() {
    let dir = tempdir("kept");
    let collector = DirCollector::new(&dir).unwrap();
    let total = |c: &DirCollector| -> (f64, usize) {
        let fams = c.collect();
        let f = fams.iter().find(|f| f.name == "requests");
        f.map_or((0.0, 0), |f| (counter_total(f), f.points.len()))
    };
    let lanes = ProcessLanes::new(&dir, "live").unwrap();
    let c = counter_family(&lanes, "requests");
    let mut expected = 0.0;
    for round in 0..5 {
        // 1,000 more series a round: the lane grows well past its first 64 KiB.
        for i in 0..1000 {
            c.with_label_values(&[format!("/r{round}/{i}").as_str()])
                .unwrap()
                .inc();
            expected += 1.0;
        }
        // Plus the dead processes' route "/" after the first round.
        let series = 1000 * (round + 1) + usize::from(round > 0);
        assert_eq!(total(&collector), (expected, series));
        // A process that counts on shared routes and dies: folded at the next scrape.
        let w = run_child("write", &dir, &[("FM_MP_N", "7".into())]);
        assert!(w.wait_with_output().unwrap().status.success());
        expected += 7.0;
        let (sum, _) = total(&collector);
        assert_eq!(sum, expected, "round {round}");
    }
    assert!(lane_files(&dir).contains(&ARCHIVE.to_string()));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Exemplars recorded in two processes' lanes: a scrape shows the newest per series (and per
/// bucket), and a switched identity starts without its parent's.
#[test]
fn exemplars_are_kept_in_the_files() {
    let dir = tempdir("exemplars");
    let a = ProcessLanes::new(&dir, "1").unwrap();
    let b = ProcessLanes::new(&dir, "2").unwrap();
    let ca = counter_family(&a, "requests")
        .with_label_values(&["/"])
        .unwrap();
    let cb = counter_family(&b, "requests")
        .with_label_values(&["/"])
        .unwrap();
    ca.inc_by_with_exemplar(1.0, &[("trace_id", "old")])
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    cb.inc_by_with_exemplar(2.0, &[("trace_id", "new")])
        .unwrap();
    let h = Family::<Histogram>::new(
        &Opts::new("latency_seconds", "help")
            .buckets(vec![0.1, 1.0])
            .multiprocess(a.clone(), GaugeMode::All),
    )
    .unwrap()
    .unlabelled()
    .unwrap();
    h.observe_with_exemplar(0.5, &[("trace_id", "slow")])
        .unwrap();
    let fams = DirCollector::new(&dir).unwrap().collect();
    let find = |name: &str| {
        fams.iter().find(|f| f.name == name).unwrap().points[0]
            .value
            .clone()
    };
    match find("requests") {
        PointValue::Counter {
            value,
            exemplar: Some(e),
            ..
        } => {
            assert_eq!(value, 3.0);
            assert_eq!(e.labels, vec![("trace_id".to_string(), "new".to_string())]);
            assert_eq!(e.value, 2.0);
        }
        other => panic!("{other:?}"),
    }
    match find("latency_seconds") {
        PointValue::Histogram { buckets, .. } => {
            assert!(buckets[0].2.is_none());
            let e = buckets[1].2.as_ref().unwrap();
            assert_eq!((e.labels[0].1.as_str(), e.value), ("slow", 0.5));
        }
        other => panic!("{other:?}"),
    }
    // OpenMetrics carries them.
    let registry = footmetrics::Registry::new();
    registry.register(DirCollector::new(&dir).unwrap()).unwrap();
    let mut out = Vec::new();
    registry.encode(footmetrics::Format::OpenMetrics, &mut out);
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("# {trace_id=\"new\"} 2"), "{out}");
    // A switched identity (a forked child) starts with none of its parent's.
    a.switch_identity("3").unwrap();
    b.switch_identity("4").unwrap();
    let fams = DirCollector::new(&dir).unwrap().collect();
    let mut seen = 0;
    for f in &fams {
        for p in &f.points {
            if let PointValue::Counter {
                exemplar: Some(e), ..
            } = &p.value
            {
                // Only the parents' old files (still there, their writers alive) have any.
                assert!(e.labels[0].1 == "new" || e.labels[0].1 == "old");
                seen += 1;
            }
        }
    }
    assert_eq!(seen, 1);
    let child_only =
        multiprocess::merge_files(&[dir.join("counter_3.db"), dir.join("counter_4.db")]);
    assert_eq!(child_only.families[0].series[0].1.value(), 0.0);
    std::fs::remove_dir_all(&dir).unwrap();
}
