//! Counters never wrap around: sequences of adds around 2^53, 2^63 and 2^64 read as the exact
//! sum (within float rounding, exactly below 2^53), and a reading is never below an earlier
//! one, also while other threads add.

use footmetrics::arena::HasCells;
use footmetrics::counter::{CounterCell, INT_WORD_LIMIT};
use footmetrics::*;
use proptest::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};

/// Amounts are multiples of 1/1024, so the exact sum is an integer count of 1/1024ths.
const SCALE: f64 = 1024.0;

#[derive(Debug, Clone)]
enum Add {
    /// `inc()`
    One,
    /// `inc_by_u64(n)`
    Whole(u64),
    /// `inc_by(v)`
    Float(f64),
}

impl Add {
    fn amount(&self) -> f64 {
        match *self {
            Add::One => 1.0,
            Add::Whole(n) => n as f64,
            Add::Float(v) => v,
        }
    }

    /// The exact amount in 1/1024ths. `Whole(n)` is exact as an integer, `Float(v)` is a
    /// multiple of 1/1024 (or an integer-valued float), so both are exact here.
    fn scaled(&self) -> u128 {
        match *self {
            Add::One => SCALE as u128,
            Add::Whole(n) => u128::from(n) * SCALE as u128,
            Add::Float(v) => (v * SCALE) as u128,
        }
    }

    fn is_whole(&self) -> bool {
        self.amount().fract() == 0.0
    }

    fn apply(&self, c: &Counter) {
        match *self {
            Add::One => c.inc(),
            Add::Whole(n) => c.inc_by_u64(n),
            Add::Float(v) => c.inc_by(v).unwrap(),
        }
    }
}

/// Magnitudes near the edges: 2^32 (where whole amounts leave the integer word), 2^53
/// (where floats stop being exact), 2^62 (the integer word's limit), 2^63 and 2^64.
fn near_edge() -> impl Strategy<Value = u64> {
    let base = prop_oneof![
        Just(1u64 << 32),
        Just(1u64 << 53),
        Just(1u64 << 62),
        Just(1u64 << 63),
        Just(u64::MAX),
    ];
    (base, -4096i64..=4096).prop_map(|(b, d)| b.saturating_add_signed(d))
}

fn add() -> impl Strategy<Value = Add> {
    prop_oneof![
        Just(Add::One),
        (0u64..10_000).prop_map(Add::Whole),
        near_edge().prop_map(Add::Whole),
        // Whole floats near the edges, up to 2^64 and a little beyond.
        near_edge().prop_map(|n| Add::Float(n as f64)),
        (0.0f64..=4.0).prop_map(|m| Add::Float(m * 2f64.powi(64))),
        // Fractions: k/1024.
        (0u32..1_000_000).prop_map(|k| Add::Float(f64::from(k) / SCALE)),
        (0u32..4096).prop_map(|k| Add::Float(f64::from(k))),
    ]
}

/// Relative error bound of `n` additions of non-negative floats (plus the final ones).
fn tolerance(exact: f64, n: usize) -> f64 {
    exact * (n as f64 + 4.0) * f64::EPSILON
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn adds_never_wrap_and_read_as_the_sum(adds in prop::collection::vec(add(), 1..40)) {
        let c = Counter::standalone();
        let mut exact: u128 = 0;
        let mut all_whole = true;
        let mut prev = 0.0;
        for (i, a) in adds.iter().enumerate() {
            a.apply(&c);
            exact += a.scaled();
            all_whole &= a.is_whole();
            let got = c.get();
            prop_assert!(got >= prev, "went down after {:?}: {} -> {}", a, prev, got);
            prev = got;
            let want = exact as f64 / SCALE;
            if all_whole && exact < (1u128 << 53) * SCALE as u128 {
                prop_assert_eq!(got, want, "whole amounts below 2^53 are exact");
            } else {
                prop_assert!(
                    (got - want).abs() <= tolerance(want, i + 1),
                    "after {} adds: got {}, exact {}", i + 1, got, want
                );
            }
        }
    }
}

/// The issue's cases, next to the float counters of the incumbents.
#[test]
fn the_issue_cases() {
    let c = Counter::standalone();
    c.inc_by(1e19).unwrap();
    c.inc_by(1e19).unwrap();
    assert_eq!(c.get(), 2e19);

    let c = Counter::standalone();
    c.inc_by(2f64.powi(64)).unwrap();
    c.inc();
    assert_eq!(c.get(), 1.8446744073709552e19);

    let c = Counter::standalone();
    c.inc_by_u64(u64::MAX);
    c.inc_by_u64(u64::MAX);
    c.inc();
    assert_eq!(c.get(), 2.0 * 2f64.powi(64));

    let c = Counter::standalone();
    c.inc_by(2f64.powi(53)).unwrap();
    c.inc();
    c.inc_by_u64(1);
    assert_eq!(c.get(), 2f64.powi(53) + 2.0, "exact at 2^53 + 2");
}

/// Once an integer word reads 2^62, whole amounts go to the float word: the word itself stops
/// growing, so it can never wrap.
#[test]
fn a_full_integer_word_sends_amounts_to_the_float_word() {
    let c = Counter::standalone();
    let cells = c.series_cells();
    let base = cells.ptr as usize;
    for i in 0..cells.lanes {
        // SAFETY: the documented layout; the counter is alive.
        let cell = unsafe { &*((base + cells.lane_stride * i) as *const CounterCell) };
        cell.int.store(INT_WORD_LIMIT, Ordering::Relaxed);
    }
    let start = c.get();
    for _ in 0..1000 {
        c.inc_by_u64(1 << 31);
        c.inc_by(3.0).unwrap();
    }
    let mut ints = 0u128;
    for i in 0..cells.lanes {
        let cell = unsafe { &*((base + cells.lane_stride * i) as *const CounterCell) };
        ints += u128::from(cell.int.load(Ordering::Relaxed));
    }
    assert_eq!(ints, cells.lanes as u128 * u128::from(INT_WORD_LIMIT));
    assert_eq!(c.get(), start + 1000.0 * (2f64.powi(31) + 3.0));
}

/// Writers adding amounts of every size (whole, fractional, past 2^53 and 2^64) while readers
/// check that no reading is below the one before it.
#[test]
fn concurrent_readings_never_go_down() {
    let c = Counter::standalone();
    let stop = Arc::new(AtomicBool::new(false));
    // Readers read once before the writers start, so reads and writes overlap.
    let start = Arc::new(Barrier::new(6));
    let writers: Vec<_> = (0..4u64)
        .map(|t| {
            let (c, start) = (c.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                for i in 0..20_000u64 {
                    match (i + t) % 5 {
                        0 => c.inc(),
                        1 => c.inc_by_u64((1 << 31) + i),
                        2 => c.inc_by(0.25).unwrap(),
                        3 => c.inc_by(((1u64 << 53) + 1) as f64).unwrap(),
                        _ => c.inc_by_u64(u64::MAX - i),
                    }
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (c, stop, start) = (c.clone(), stop.clone(), start.clone());
            std::thread::spawn(move || {
                let mut prev = c.get();
                let mut reads = 1u64;
                start.wait();
                while !stop.load(Ordering::Relaxed) {
                    let v = c.get();
                    assert!(v >= prev, "went down: {prev} -> {v}");
                    prev = v;
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    // 4 threads x 4,000 of each kind.
    let per = 4.0 * 4000.0;
    let total = c.get();
    let approx = per * (1.0 + 2f64.powi(31) + 0.25 + 2f64.powi(53) + 2f64.powi(64));
    assert!(
        (total - approx).abs() <= approx * 1e-6,
        "{total} vs {approx}"
    );
}
