//! Shared fixtures for the benchmarks: the same label values for every peer.

pub const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
pub const ROUTES: [&str; 8] = [
    "/api/matches",
    "/api/matches/{id}",
    "/api/videos",
    "/api/videos/{id}",
    "/api/analytics/{id}",
    "/api/players",
    "/api/players/{id}",
    "/api/teams/{id}",
];
pub const CODES: [&str; 5] = ["200", "201", "404", "500", "503"];

/// The i-th (method, route, code) combination, cycling through all 160.
#[inline(always)]
pub fn combo(i: usize) -> (usize, usize, usize) {
    (i % 4, (i / 4) % 8, (i / 32) % 5)
}

/// Middleware overhead goals: `(group, ours, peer, baseline, max ratio, max ns)`. Overhead is
/// a bench's time minus the uninstrumented baseline's; the ratio is ours over the peer's.
pub const OVERHEAD_GOALS: &[(&str, &str, &str, &str, f64, f64)] = &[(
    "tower_request",
    "footmetrics",
    "prometheus",
    "uninstrumented",
    0.5,
    100.0,
)];

/// Goals from the issue: (group, footmetrics bench, peer bench, max ratio).
pub const GOALS: &[(&str, &str, &str, f64)] = &[
    ("counter_inc", "footmetrics", "raw_atomic", 1.05),
    ("labelled_handle_inc", "footmetrics", "raw_atomic", 1.0),
    ("lookup3_inc", "footmetrics", "measured", 0.75),
    ("lookup3_inc", "footmetrics", "prometheus_client", 0.5),
    (
        "histogram_observe_handle",
        "footmetrics",
        "prometheus_client",
        1.0,
    ),
    ("lookup2_observe", "footmetrics", "measured", 0.75),
    (
        "native_histogram_observe",
        "footmetrics",
        "prometheus_client",
        1.0,
    ),
    (
        "native_histogram_observe_2_threads",
        "footmetrics",
        "prometheus_client",
        1.0,
    ),
    ("encode_10k_counters", "footmetrics", "measured", 0.8),
    ("encode_1k_histograms", "footmetrics", "measured", 0.8),
    (
        "two_threads_counter",
        "footmetrics_2_threads",
        "footmetrics_1_thread",
        1.3,
    ),
    (
        "two_threads_lookup3_inc",
        "footmetrics_2_threads",
        "footmetrics_1_thread",
        1.3,
    ),
];

/// The i-th observed value of the histogram benches: 0 to 0.96 (the zero bucket, and about
/// 55 native buckets at schema 3).
#[inline(always)]
pub fn value(i: usize) -> f64 {
    (i % 97) as f64 * 0.01
}

/// Times `iters` calls of `op` (criterion reports time per call).
pub fn per_op(iters: u64, mut op: impl FnMut(usize)) -> std::time::Duration {
    let t = std::time::Instant::now();
    for i in 0..iters as usize {
        op(i);
    }
    t.elapsed()
}

/// Runs `op` `iters` times on each of `threads` threads started together; returns the
/// slowest thread's time, so that per-thread time per call is equal for 1 and 2 threads
/// when they scale perfectly.
pub fn threads_time(
    threads: usize,
    iters: u64,
    op: &(dyn Fn(usize) + Sync),
) -> std::time::Duration {
    let barrier = std::sync::Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    per_op(iters, op)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .max()
            .unwrap()
    })
}

/// One native histogram each, bucket factor 1.1 (schema 3) on both sides: footmetrics' and
/// prometheus-client's.
pub fn native_pair() -> (
    footmetrics::Histogram,
    prometheus_client::metrics::histogram::Histogram,
) {
    let fm = footmetrics::Registry::new()
        .histogram(
            &footmetrics::Opts::new("n_seconds", "h")
                .native_histogram(footmetrics::NativeOpts::new(1.1)),
        )
        .unwrap();
    let pc = prometheus_client::metrics::histogram::Histogram::new_native(
        prometheus_client::metrics::histogram::NativeHistogramConfig::new(1.1),
    );
    (fm, pc)
}

/// Populated buckets of the native-histogram memory figure (`ratios` prints the cells held).
pub const NATIVE_MEMORY_BUCKETS: i32 = 160;

/// A native histogram (factor 1.1, schema 3) with exactly `buckets` populated buckets, one
/// observation at each upper bound `2^(k/8)` for `k` in `0..buckets`: the bucket cells it
/// holds then (`Histogram::native_cells`, 8 bytes each) and the populated buckets read back.
pub fn native_memory(buckets: i32) -> (usize, usize) {
    let h = footmetrics::Registry::new()
        .histogram(
            &footmetrics::Opts::new("mem_seconds", "h")
                .native_histogram(footmetrics::NativeOpts::new(1.1)),
        )
        .unwrap();
    for k in 0..buckets {
        h.observe(2f64.powf(f64::from(k) / 8.0));
    }
    let populated = h.native_buckets().map_or(0, |b| b.positive.len());
    (h.native_cells().unwrap_or(0), populated)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_memory_figure_populates_the_buckets_it_says() {
        let (cells, populated) = super::native_memory(super::NATIVE_MEMORY_BUCKETS);
        assert_eq!(populated, super::NATIVE_MEMORY_BUCKETS as usize);
        // At least one cell per populated bucket.
        assert!(cells >= populated, "{cells} cells for {populated} buckets");
    }
}
