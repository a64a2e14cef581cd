//! Native histograms under concurrency and at their bucket limit.

use footmetrics::native::{bucket_key, upper_bound};
use footmetrics::{MetricType, NativeBuckets, NativeOpts, Opts, PointValue, Registry};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn total(n: &NativeBuckets) -> u64 {
    n.positive
        .iter()
        .chain(&n.negative)
        .map(|e| e.1)
        .sum::<u64>()
        + n.zero_count
}

fn point(registry: &Registry, name: &str) -> (u64, f64, Vec<(f64, u64)>, NativeBuckets) {
    let f = registry
        .gather()
        .into_iter()
        .find(|f| f.name == name && f.kind == MetricType::Histogram)
        .expect("family");
    match &f.points[0].value {
        PointValue::Histogram {
            count,
            sum,
            buckets,
            native: Some(n),
            ..
        } => (
            *count,
            *sum,
            buckets.iter().map(|b| (b.0, b.1)).collect(),
            (**n).clone(),
        ),
        other => panic!("not a native histogram: {other:?}"),
    }
}

/// Writers on four threads, a scraper reading all the while, and a bucket limit that makes
/// the histogram halve its resolution mid-run: every reading's count is its buckets' total
/// and its classic `+Inf`, readings never go down, and the end is exact.
#[test]
fn readings_are_consistent_while_writers_run_and_the_limit_halves() {
    let registry = Registry::new();
    let h = registry
        .histogram(
            &Opts::new("work_seconds", "W.")
                .buckets(vec![0.5, 1.0, 2.0])
                .native_histogram(NativeOpts::new(1.01).max_buckets(40)),
        )
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let per_thread = 200_000u64;
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let h = h.clone();
            std::thread::spawn(move || {
                for i in 0..per_thread {
                    // Integers 0..=999 (exact sums), negatives on one thread.
                    let v = ((i * 7 + t) % 1000) as f64 * if t == 3 { -1.0 } else { 1.0 };
                    h.observe(v);
                }
            })
        })
        .collect();
    let reader = {
        let registry = registry.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut last = 0;
            let mut readings = 0;
            while !stop.load(Ordering::Relaxed) {
                let (count, _, classic, native) = point(&registry, "work_seconds");
                assert_eq!(count, total(&native), "count is the buckets' total");
                assert_eq!(classic.last().unwrap().1, count, "+Inf is the count");
                assert!(count >= last, "count went down: {last} -> {count}");
                last = count;
                readings += 1;
            }
            readings
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let readings = reader.join().unwrap();
    assert!(readings > 0);
    let (count, sum, classic, native) = point(&registry, "work_seconds");
    assert_eq!(count, 4 * per_thread);
    assert_eq!(total(&native), count);
    let expected_sum: f64 = (0..4u64)
        .flat_map(|t| {
            (0..per_thread)
                .map(move |i| ((i * 7 + t) % 1000) as f64 * if t == 3 { -1.0 } else { 1.0 })
        })
        .sum();
    assert_eq!(sum, expected_sum);
    // Resolution went down from schema 6 until at most 40 buckets fit.
    assert!(native.schema < 6, "schema {}", native.schema);
    assert!(native.positive.len() + native.negative.len() <= 40);
    // Each value sits in the bucket its key names at the final schema.
    for &(k, c) in &native.positive {
        assert!(c > 0 && upper_bound(k, native.schema) >= 1.0);
    }
    // Classic buckets: values <= 0.5 are the zeros and the negatives.
    let nonpositive = per_thread
        + (0..3u64)
            .map(|t| (0..per_thread).filter(|i| (i * 7 + t) % 1000 == 0).count() as u64)
            .sum::<u64>();
    assert_eq!(classic[0].1, nonpositive);
}

/// Values spread over many octaves, with a zero-bucket limit: past the limit the zero bucket
/// widens to the smallest bucket's upper bound before the resolution is halved.
#[test]
fn the_zero_bucket_widens_before_the_resolution_halves() {
    let registry = Registry::new();
    let h = registry
        .histogram(
            &Opts::new("spread", "S.")
                .native_histogram(NativeOpts::new(2.0).max_buckets(4).max_zero_threshold(0.01)),
        )
        .unwrap();
    for v in [0.001, 0.003, 0.1, 1.0] {
        h.observe(v);
    }
    let (_, _, _, n) = point(&registry, "spread");
    assert_eq!((n.schema, n.zero_count, n.positive.len()), (0, 0, 4));
    h.observe(10.0); // a fifth bucket: the smallest (0.001's) joins the zero bucket
    let (count, _, _, n) = point(&registry, "spread");
    assert_eq!(n.schema, 0);
    assert_eq!(n.zero_threshold, upper_bound(bucket_key(0.001, 0), 0));
    assert_eq!(n.zero_count, 1);
    assert_eq!(count, 5);
    // Another bucket: 0.003's bucket (upper bound 2^-8 < 0.01) joins the zero bucket.
    h.observe(100.0);
    let (_, _, _, n) = point(&registry, "spread");
    assert_eq!(
        (n.zero_threshold, n.zero_count, n.positive.len()),
        (2f64.powi(-8), 2, 4)
    );
    // Another: 0.1's bucket would pass the maximum threshold, so the resolution halves once
    // (leaving five buckets at schema -1, over the limit until the next new bucket).
    h.observe(1000.0);
    let (count, _, _, n) = point(&registry, "spread");
    assert_eq!(count, 7);
    assert_eq!(total(&n), 7);
    assert_eq!(
        (n.schema, n.zero_count, n.positive.len()),
        (-1, 2, 5),
        "{n:?}"
    );
    // Later values at or under the new threshold land in the zero bucket.
    h.observe(0.0005);
    let (_, _, _, m) = point(&registry, "spread");
    assert_eq!(m.zero_count, n.zero_count + 1);
}

/// With a minimum reset duration, a limit hit after it resets the histogram, keeping only
/// the observation that hit the limit.
#[test]
fn a_limit_hit_after_the_minimum_reset_duration_resets() {
    let registry = Registry::new();
    let h = registry
        .histogram(
            &Opts::new("resets", "R.").native_histogram(
                NativeOpts::new(2.0)
                    .max_buckets(3)
                    .min_reset_duration(Duration::from_millis(200)),
            ),
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(250));
    for v in [1.0, 4.0, 16.0] {
        h.observe(v);
    }
    h.observe(64.0);
    let (count, sum, _, n) = point(&registry, "resets");
    assert_eq!((count, sum), (1, 64.0), "{n:?}");
    assert_eq!(n.positive, vec![(bucket_key(64.0, 0), 1)]);
}

/// A minimum reset duration beyond the clock's range is accepted and never resets: past the
/// limit the histogram halves its resolution as it would with no reset at all.
#[test]
fn an_endless_minimum_reset_duration_never_resets() {
    let registry = Registry::new();
    let h = registry
        .histogram(
            &Opts::new("endless", "E.").native_histogram(
                NativeOpts::new(2.0)
                    .max_buckets(3)
                    .min_reset_duration(Duration::MAX),
            ),
        )
        .unwrap();
    for v in [1.0, 4.0, 16.0, 64.0] {
        h.observe(v);
    }
    let (count, _, _, n) = point(&registry, "endless");
    assert_eq!((count, n.schema), (4, -1));
}

/// Keys beyond what a window may hold (far apart magnitudes at schema 8) are still counted.
#[test]
fn extreme_spreads_are_counted() {
    let registry = Registry::new();
    let h = registry
        .histogram(&Opts::new("extreme", "E.").native_histogram(NativeOpts::new(1.0001)))
        .unwrap();
    let values = [
        1e-300,
        1e-30,
        1e-10,
        1.0,
        1e100,
        1e300,
        f64::MAX,
        f64::INFINITY,
        -1e200,
    ];
    for _ in 0..3 {
        for v in values {
            h.observe(v);
        }
    }
    let (count, _, _, n) = point(&registry, "extreme");
    assert_eq!(count, 27);
    // 1e-300 is under the default zero threshold (2^-128).
    assert_eq!(n.zero_count, 3);
    assert_eq!(n.schema, 8);
    let mut keys: Vec<i32> = values
        .iter()
        .filter(|v| **v > footmetrics::native::DEFAULT_ZERO_THRESHOLD)
        .map(|v| bucket_key(*v, 8))
        .collect();
    keys.sort();
    assert_eq!(n.positive.iter().map(|e| e.0).collect::<Vec<_>>(), keys);
    assert!(n.positive.iter().all(|e| e.1 == 3));
    assert_eq!(n.negative, vec![(bucket_key(1e200, 8), 3)]);
    // Memory stays bounded: no window spans these keys densely.
    assert!(h.native_cells().unwrap() <= 4 * footmetrics::native::MAX_WINDOW);
}

#[test]
fn bad_options_are_errors() {
    let registry = Registry::new();
    for opts in [
        NativeOpts::new(1.0),
        NativeOpts::new(0.5),
        NativeOpts::new(f64::NAN),
        NativeOpts::new(f64::INFINITY),
        NativeOpts::new(1.1).zero_threshold(-1.0),
        NativeOpts::new(1.1).zero_threshold(f64::NAN),
        NativeOpts::new(1.1).max_zero_threshold(-0.5),
    ] {
        let err = registry
            .histogram(&Opts::new("bad", "B.").native_histogram(opts))
            .unwrap_err();
        assert_eq!(err.code(), "INVALID_OPTION", "{opts:?}: {err}");
    }
}

/// The classic formats show the classic buckets of a native histogram; protobuf is chosen
/// by Prometheus' Accept header.
#[test]
fn text_shows_classic_buckets_and_prometheus_gets_protobuf() {
    let registry = Registry::new();
    let h = registry
        .histogram(&Opts::new("lat", "L.").native_histogram(NativeOpts::default()))
        .unwrap();
    h.observe(0.25);
    h.observe(3.0);
    let text = registry.render(footmetrics::Format::Text);
    assert!(text.contains("lat_bucket{le=\"+Inf\"} 2\n"), "{text}");
    assert!(text.contains("lat_count 2\n") && text.contains("lat_sum 3.25\n"));
    let accept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.1";
    let mut out = Vec::new();
    let ct = registry.scrape(Some(accept), &[], &mut out);
    assert_eq!(ct, footmetrics::protobuf::CONTENT_TYPE_PROTOBUF);
    assert!(out.windows(3).any(|w| w == b"lat"));
}

/// The raw protocol of `footmetrics::native::raw`, followed step by step as a binding in
/// another language would, gives the same histogram as `observe`: including keys outside the
/// windows (the skipped path), the bucket limit, and classic buckets.
#[test]
fn the_raw_protocol_observes_as_observe_does() {
    use std::sync::atomic::Ordering::{AcqRel, Relaxed, Release};
    fn raw_observe(h: &footmetrics::Histogram, bounds: &[f64], v: f64) {
        if v.is_nan() {
            return;
        }
        let view = h.native_view().unwrap();
        let n = unsafe { &*view.hot_and_started }.fetch_add(1, AcqRel);
        let b = &view.buffers[(n >> 63) as usize];
        let l = unsafe { *b.layout };
        let add_sum_and_classic = || {
            let sum = unsafe { &*b.sum };
            let mut old = sum.load(Relaxed);
            while let Err(x) = sum.compare_exchange_weak(
                old,
                (f64::from_bits(old) + v).to_bits(),
                Relaxed,
                Relaxed,
            ) {
                old = x;
            }
            if b.classic_len > 0 {
                let i = bounds.partition_point(|&x| x < v);
                unsafe { &*b.classic.add(i) }.fetch_add(1, Relaxed);
            }
        };
        if !(v > l.zero_threshold || v < -l.zero_threshold) {
            add_sum_and_classic();
            unsafe { &*b.zero }.fetch_add(1, Release);
            return;
        }
        // The key by the layout's tables, as a binding computes it (normal values here).
        let key = if l.schema > 0 {
            let a = if v.is_infinite() { f64::MAX } else { v.abs() };
            let bits = a.to_bits();
            let exp = ((bits >> 52) & 0x7ff) as i32 - 1022;
            let mantissa = bits & ((1 << 52) - 1);
            let frac = f64::from_bits(mantissa | (1022 << 52));
            let n = 1usize << l.schema;
            let mut i = unsafe { *l.below.add((mantissa >> (51 - l.schema)) as usize) } as usize;
            if i < n && unsafe { *l.bounds.add(i) } < frac {
                i += 1;
            }
            let key = i as i32 + (exp - 1) * n as i32 + i32::from(v.is_infinite());
            assert_eq!(key, bucket_key(v, l.schema as i8), "{v}");
            key
        } else {
            bucket_key(v, l.schema as i8)
        };
        let (base, len, counts, present) = if v > 0.0 {
            (l.pos_base, l.pos_len, l.pos_counts, l.pos_present)
        } else {
            (l.neg_base, l.neg_len, l.neg_counts, l.neg_present)
        };
        let i = key.wrapping_sub(base) as u32;
        if i >= len {
            unsafe { &*b.skipped }.fetch_add(1, Release);
            h.native_observe_skipped(v);
            return;
        }
        add_sum_and_classic();
        let (i, m) = (i as usize, 1u64 << (i % 64));
        let word = unsafe { &*present.add(i / 64) };
        let created = word.load(Relaxed) & m == 0 && word.fetch_or(m, Relaxed) & m == 0;
        let p = if created {
            unsafe { &*b.populated }.fetch_add(1, Relaxed) + 1
        } else {
            0
        };
        unsafe { &*counts.add(i) }.fetch_add(1, Release);
        if created
            && view.max_buckets > 0
            && p + unsafe { &*view.spilled }.load(Relaxed) > view.max_buckets
        {
            h.native_bucket_created(p, v);
        }
    }
    let bounds = [0.01, 0.1, 1.0];
    for opts in [
        NativeOpts::new(1.1),
        NativeOpts::new(1.0001).max_buckets(30),
        NativeOpts::new(4.0).zero_threshold(0.001),
    ] {
        let registry = Registry::new();
        let a = registry
            .histogram(
                &Opts::new("a", "A.")
                    .buckets(bounds.to_vec())
                    .native_histogram(opts),
            )
            .unwrap();
        let b = registry
            .histogram(
                &Opts::new("b", "B.")
                    .buckets(bounds.to_vec())
                    .native_histogram(opts),
            )
            .unwrap();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = match i % 7 {
                0 => 0.0,
                1 => -((x % 1000) as f64) / 7.0,
                2 => f64::INFINITY,
                3 => 1e30 * (x % 5) as f64,
                _ => (x % 100_000) as f64 / 9973.0,
            };
            a.observe(v);
            raw_observe(&b, &bounds, v);
            if i % 5000 == 0 {
                assert_eq!(a.native_buckets(), b.native_buckets(), "{opts:?} at {i}");
            }
        }
        assert_eq!(a.native_buckets(), b.native_buckets(), "{opts:?}");
        assert_eq!(a.snapshot(), b.snapshot(), "{opts:?}");
    }
}
