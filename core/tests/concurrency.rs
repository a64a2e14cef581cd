//! Many writers and a scraper at once: no increment is lost, counters never go backwards
//! between scrapes, and every scraped histogram is consistent (`+Inf == _count`, cumulative).

use footmetrics::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};

const THREADS: usize = 8;
const ITERS: usize = 20_000;

/// Parses classic text into (series line key -> value).
fn parse(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').unwrap();
            (
                k.to_owned(),
                if v == "+Inf" {
                    f64::INFINITY
                } else {
                    v.parse().unwrap()
                },
            )
        })
        .collect()
}

fn check_histogram(series: &HashMap<String, f64>, name: &str) {
    let mut buckets: Vec<(f64, f64)> = series
        .iter()
        .filter_map(|(k, v)| {
            let le = k
                .strip_prefix(&format!("{name}_bucket{{le=\""))?
                .strip_suffix("\"}")?;
            Some((
                if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().unwrap()
                },
                *v,
            ))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    assert!(!buckets.is_empty());
    for w in buckets.windows(2) {
        assert!(w[0].1 <= w[1].1, "buckets not cumulative: {buckets:?}");
    }
    assert_eq!(
        buckets.last().unwrap().1,
        series[&format!("{name}_count")],
        "+Inf != _count"
    );
}

#[test]
fn writers_and_scrapers_agree() {
    let r = Registry::new();
    let total = r.counter(&Opts::new("ops_total", "Ops.")).unwrap();
    let by_worker = r
        .counter_vec(&Opts::new("worker_ops_total", "Ops by worker.").labels(&["worker", "kind"]))
        .unwrap();
    let balance = r.gauge(&Opts::new("balance", "Nets to zero.")).unwrap();
    let latency = r
        .histogram(&Opts::new("latency_seconds", "Latency.").buckets(vec![0.001, 0.01, 0.1, 1.0]))
        .unwrap();
    let churn = r
        .counter_vec(&Opts::new("churn_total", "Created and removed.").labels(&["id"]))
        .unwrap();

    let done = Arc::new(AtomicBool::new(false));
    let barrier = Arc::new(Barrier::new(THREADS + 1));
    let scraper = {
        let (r, done, barrier) = (r.clone(), done.clone(), barrier.clone());
        std::thread::spawn(move || {
            barrier.wait();
            let mut last_total = 0.0;
            let mut scrapes = 0;
            let mut buf = Vec::new();
            while !done.load(Ordering::Relaxed) || scrapes < 3 {
                for format in [Format::Text, Format::OpenMetrics] {
                    buf.clear();
                    r.encode(format, &mut buf);
                }
                buf.clear();
                r.encode(Format::Text, &mut buf);
                let series = parse(std::str::from_utf8(&buf).unwrap());
                check_histogram(&series, "latency_seconds");
                let t = series["ops_total"];
                assert!(
                    t >= last_total,
                    "counter went backwards: {last_total} -> {t}"
                );
                last_total = t;
                scrapes += 1;
            }
            scrapes
        })
    };
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (total, by_worker, balance, latency, churn, barrier) = (
                total.clone(),
                by_worker.clone(),
                balance.clone(),
                latency.clone(),
                churn.clone(),
                barrier.clone(),
            );
            std::thread::spawn(move || {
                barrier.wait();
                let worker = t.to_string();
                for i in 0..ITERS {
                    total.inc();
                    by_worker
                        .get(&[worker.as_str(), ["read", "write"][i % 2]])
                        .unwrap()
                        .inc();
                    balance.add(1.5);
                    latency.observe((i % 2000) as f64 / 1000.0);
                    balance.sub(1.5);
                    if i % 64 == 0 {
                        // Create and remove label sets while others read and scrape.
                        let id = format!("{t}-{i}");
                        churn.get(&[id.as_str()]).unwrap().inc();
                        churn.remove(&[id.as_str()]).unwrap();
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    assert!(scraper.join().unwrap() >= 3);

    let n = (THREADS * ITERS) as f64;
    assert_eq!(total.get(), n);
    for t in 0..THREADS {
        for kind in ["read", "write"] {
            assert_eq!(
                by_worker
                    .with_label_values(&[t.to_string().as_str(), kind])
                    .unwrap()
                    .get(),
                (ITERS / 2) as f64
            );
        }
    }
    assert_eq!(balance.get(), 0.0);
    let snap = latency.snapshot();
    assert_eq!(snap.count, n as u64);
    assert_eq!(*snap.cumulative.last().unwrap(), n as u64);
    let expected_sum: f64 =
        (0..ITERS).map(|i| (i % 2000) as f64 / 1000.0).sum::<f64>() * THREADS as f64;
    assert!((snap.sum - expected_sum).abs() < 1e-6 * expected_sum);
    assert!(churn.is_empty());
}

#[test]
fn cardinality_limit_holds_under_concurrent_creation() {
    const LIMIT: usize = 50;
    let f: Family<Counter> = Family::new(
        &Opts::new("ids_total", "Ids.")
            .labels(&["id"])
            .cardinality_limit(LIMIT),
    )
    .unwrap();
    let per_thread = 500;
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let f = &f;
            s.spawn(move || {
                for i in 0..per_thread {
                    f.get(&[format!("{t}-{i}").as_str()]).unwrap().inc();
                }
            });
        }
    });
    let children = f.children();
    let admitted = children
        .iter()
        .filter(|(v, _)| v[0] != OVERFLOW_LABEL_VALUE)
        .count();
    assert_eq!(admitted, LIMIT);
    assert_eq!(children.len(), LIMIT + 1);
    let sum: f64 = children.iter().map(|(_, c)| c.get()).sum();
    assert_eq!(sum, (THREADS * per_thread) as f64);
    assert_eq!(f.overflowed(), (THREADS * per_thread - LIMIT) as u64);
}
