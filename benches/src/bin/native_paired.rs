//! Native histogram observe, footmetrics against prometheus-client 0.26 (bucket factor 1.1 on
//! both, the same values as the criterion benches), in interleaved rounds: on a shared machine
//! the load changes between criterion groups, so each round times both libraries back to back
//! (alternating which goes first) and the median of the per-round ratios is reported, for one
//! thread and for two threads observing one series.
//! `cargo run --release -p footmetrics-benches --bin native_paired`

use footmetrics_benches::{native_pair, threads_time, value};
use std::hint::black_box;

const OPS: usize = 2_000_000;
const ROUNDS: usize = 15;

/// Per-thread ns per call of `threads` threads each calling `op` `OPS` times, started
/// together (equal for 1 and 2 threads means perfect scaling).
fn time(threads: usize, op: &(dyn Fn(usize) + Sync)) -> f64 {
    threads_time(threads, OPS as u64, op).as_nanos() as f64 / OPS as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let (fm, pc) = native_pair();
    let fm_op = |i: usize| black_box(&fm).observe(value(i));
    let pc_op = |i: usize| black_box(&pc).observe(value(i));
    for threads in [1, 2] {
        let (mut ours, mut theirs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            let (a, b) = if round % 2 == 0 {
                let a = time(threads, &fm_op);
                (a, time(threads, &pc_op))
            } else {
                let b = time(threads, &pc_op);
                (time(threads, &fm_op), b)
            };
            ours.push(a);
            theirs.push(b);
            ratios.push(a / b);
        }
        println!(
            "native observe, {threads} thread(s) on one series, {ROUNDS} paired rounds: \
             footmetrics {:.1} ns, prometheus_client {:.1} ns (medians); \
             median ratio footmetrics/prometheus_client = {:.2} (rounds {:.2}..{:.2})",
            median(ours),
            median(theirs),
            median(ratios.clone()),
            ratios.iter().copied().fold(f64::INFINITY, f64::min),
            ratios.iter().copied().fold(0.0, f64::max),
        );
    }
    let (cells, populated) =
        footmetrics_benches::native_memory(footmetrics_benches::NATIVE_MEMORY_BUCKETS);
    println!(
        "native histogram memory: {populated} populated buckets hold {cells} bucket cells = {} bytes",
        cells * 8
    );
}
