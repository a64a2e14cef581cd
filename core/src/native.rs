//! Native (sparse, exponential) histograms with client_golang's semantics.
//!
//! A native histogram counts observations in buckets whose boundaries are powers of
//! `2^(2^-schema)`: bucket `k` holds `|v|` in `(2^((k-1)/2^schema), 2^(k/2^schema)]`, with
//! separate positive and negative buckets and a zero bucket for `|v| <= zero_threshold`.
//! The schema (−4…8) is the largest whose growth factor does not exceed the bucket factor
//! asked for. When a bucket limit is set and a new bucket would exceed it, the histogram does
//! what client_golang does: reset (if the minimum reset duration has passed), else widen the
//! zero bucket (up to the maximum zero threshold), else halve the resolution.
//!
//! # Concurrency
//! Each series has two buffers, *hot* and *cold*, and a word `hot_and_started`: bit 63 names
//! the hot buffer, the low 63 bits count observations started since the last reset.
//! - A writer adds 1 to `hot_and_started` (which names its buffer), adds to the sum, the
//!   classic bucket and last the native bucket (or zero bucket, or `skipped`), with
//!   `Release`: that last add is its completion. Nothing else: no lock, no allocation.
//! - Invariant **Q**: outside `control`'s lock, the cold buffer is quiescent (no writer has
//!   an unfinished observation in it) and all its counts are zero; every count lives in the
//!   hot buffer, and both buffers have the same window shape.
//! - Everything else (a scrape, growing the windows, the bucket-limit strategies, a reset)
//!   holds the lock and goes through `NativeCore::transition`: reshape the cold buffer
//!   (allowed by Q), flip, wait until the old hot buffer's completions reach the started
//!   count, read it if scraping, move its counts into the new hot buffer, zero it. A scrape
//!   thus reads a buffer nobody writes: count, sum and buckets agree exactly.
//! - A key outside the hot buffer's window cannot be counted lock-free. The writer completes
//!   its start as `skipped` (counted for quiescence, never exposed) and records the
//!   observation again under the lock after growing the windows. Keys that no window of at
//!   most [`MAX_WINDOW`] buckets can hold are counted in `spill` under the lock (their
//!   counts mirrored in `skipped` so quiescence still adds up).

use crate::error::{Error, Result};
use crate::exemplar::Exemplar;
use std::cell::UnsafeCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

/// client_golang's default zero threshold, 2^-128.
pub const DEFAULT_ZERO_THRESHOLD: f64 = 2.938735877055719e-39;
/// The bucket factor client_golang's documentation recommends (schema 3).
pub const DEFAULT_BUCKET_FACTOR: f64 = 1.1;
/// The most buckets one buffer's window holds per sign; keys beyond are counted under a lock.
pub const MAX_WINDOW: usize = 4096;
const SCHEMA_MIN: i8 = -4;
const SCHEMA_MAX: i8 = 8;
const STARTED: u64 = (1 << 63) - 1;

/// Options of a native histogram, in client_golang's terms (`NativeHistogram*` fields of
/// `HistogramOpts`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NativeOpts {
    /// Largest ratio between consecutive bucket boundaries, > 1 (1.1 gives schema 3).
    pub bucket_factor: f64,
    /// Observations with `|v| <=` this go to the zero bucket; ≥ 0.
    pub zero_threshold: f64,
    /// Most buckets (positive and negative) before the limit strategy; 0: no limit.
    pub max_buckets: u32,
    /// Past the bucket limit, reset when the last reset is at least this old; zero: never.
    pub min_reset_duration: Duration,
    /// Past the bucket limit, the zero bucket may widen up to this threshold; 0: never.
    pub max_zero_threshold: f64,
    /// Exemplars kept for the native buckets (the most recent ones).
    pub max_exemplars: u32,
}

impl Default for NativeOpts {
    fn default() -> Self {
        NativeOpts {
            bucket_factor: DEFAULT_BUCKET_FACTOR,
            zero_threshold: DEFAULT_ZERO_THRESHOLD,
            max_buckets: 0,
            min_reset_duration: Duration::ZERO,
            max_zero_threshold: 0.0,
            max_exemplars: 10,
        }
    }
}

impl NativeOpts {
    /// Options with bucket factor `factor` and client_golang's defaults otherwise.
    pub fn new(factor: f64) -> Self {
        NativeOpts {
            bucket_factor: factor,
            ..Default::default()
        }
    }
    /// Sets the zero threshold.
    pub fn zero_threshold(mut self, t: f64) -> Self {
        self.zero_threshold = t;
        self
    }
    /// Sets the bucket limit (0: none).
    pub fn max_buckets(mut self, n: u32) -> Self {
        self.max_buckets = n;
        self
    }
    /// Sets the minimum duration between resets caused by the bucket limit.
    pub fn min_reset_duration(mut self, d: Duration) -> Self {
        self.min_reset_duration = d;
        self
    }
    /// Sets the threshold the zero bucket may widen to under the bucket limit.
    pub fn max_zero_threshold(mut self, t: f64) -> Self {
        self.max_zero_threshold = t;
        self
    }

    pub(crate) fn validate(&self) -> Result<NativeConfig> {
        let f = self.bucket_factor;
        if !(f > 1.0) || f.is_infinite() {
            return Err(Error::InvalidOption(format!(
                "native histogram bucket factor must be a finite number greater than 1, got {f}"
            )));
        }
        for (what, t) in [
            ("zero threshold", self.zero_threshold),
            ("maximum zero threshold", self.max_zero_threshold),
        ] {
            if !(t >= 0.0) || t.is_infinite() {
                return Err(Error::InvalidOption(format!(
                    "native histogram {what} must be a finite number >= 0, got {t}"
                )));
            }
        }
        Ok(NativeConfig {
            schema: schema_for_factor(f),
            zero_threshold: self.zero_threshold,
            max_buckets: self.max_buckets,
            min_reset: self.min_reset_duration,
            max_zero_threshold: self.max_zero_threshold,
            max_exemplars: self.max_exemplars as usize,
        })
    }
}

/// Validated native options shared by a family's series.
#[derive(Debug, Clone)]
pub(crate) struct NativeConfig {
    pub(crate) schema: i8,
    zero_threshold: f64,
    max_buckets: u32,
    min_reset: Duration,
    max_zero_threshold: f64,
    max_exemplars: usize,
}

/// The schema for a bucket factor: client_golang's choice, `-floor(log2(log2(factor)))`
/// clamped to −4…8.
pub fn schema_for_factor(factor: f64) -> i8 {
    let floor = factor.log2().log2().floor();
    if floor <= -(SCHEMA_MAX as f64) {
        SCHEMA_MAX
    } else if floor >= -(SCHEMA_MIN as f64) {
        SCHEMA_MIN
    } else {
        -(floor as i8)
    }
}

/// Boundaries within one power of two for a positive schema `s`: `2^(i/2^s - 1)` for
/// `i < 2^s`, the fractions (in `[0.5, 1)`) `frexp` results are compared against; and, to
/// find a fraction's place with one lookup and one comparison instead of a binary search,
/// `below[c]`: how many bounds lie under the start of cell `c`, the `[0.5, 1)` range cut
/// into `2^(s+1)` equal cells. Consecutive bounds are at least `0.5 * (2^(2^-s) - 1)` apart,
/// more than a cell's width `2^-(s+2)`, so a cell holds at most one bound.
#[derive(Debug)]
struct Fractions {
    bounds: Box<[f64]>,
    below: Box<[u16]>,
}

impl Fractions {
    /// How many bounds are `< frac` (client_golang's `sort.SearchFloat64s`), for `frac` in
    /// `[0.5, 1)` whose mantissa bits (the low 52 bits of its representation) are `mantissa`.
    #[inline(always)]
    fn rank(&self, frac: f64, mantissa: u64, schema: i8) -> usize {
        let cell = (mantissa >> (51 - schema as u32)) as usize;
        let i = self.below[cell] as usize;
        i + usize::from(self.bounds.get(i).is_some_and(|&b| b < frac))
    }
}

fn fractions(schema: i8) -> &'static Fractions {
    static TABLES: [OnceLock<Fractions>; 9] = [const { OnceLock::new() }; 9];
    TABLES[schema as usize].get_or_init(|| {
        let n = 1usize << schema;
        let bounds: Box<[f64]> = (0..n)
            .map(|i| ((i as f64) / (n as f64) - 1.0).exp2())
            .collect();
        let below = (0..2 * n)
            .map(|c| {
                let start = 0.5 + c as f64 / (4 * n) as f64;
                bounds.partition_point(|&b| b < start) as u16
            })
            .collect();
        Fractions { bounds, below }
    })
}

fn fraction_bounds(schema: i8) -> &'static [f64] {
    &fractions(schema).bounds
}

/// `v`'s mantissa in `[0.5, 1)` and exponent (C's `frexp`), for finite non-zero `v`.
#[inline(always)]
fn frexp(v: f64) -> (f64, i32) {
    let bits = v.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 {
        // Subnormal: scale into the normal range first.
        let (f, e) = frexp(v * 2f64.powi(64));
        return (f, e - 64);
    }
    let frac = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (frac, exp - 1022)
}

/// The bucket key of `|v|` (finite or infinite, not zero or NaN) at `schema`, as
/// client_golang computes it: ±Inf get the key after `f64::MAX`'s.
pub fn bucket_key(v: f64, schema: i8) -> i32 {
    key_with(v, schema, (schema > 0).then(|| fractions(schema)))
}

/// [`bucket_key`] with the schema's fraction table at hand (the hot path keeps it in the
/// buffer's layout).
#[inline(always)]
fn key_with(v: f64, schema: i8, table: Option<&Fractions>) -> i32 {
    let inf = v.is_infinite();
    let a = if inf { f64::MAX } else { v.abs() };
    let (frac, exp) = frexp(a);
    let mut key = match table {
        Some(t) => {
            let mantissa = frac.to_bits() & ((1 << 52) - 1);
            let n = 1i32 << schema;
            t.rank(frac, mantissa, schema) as i32 + (exp - 1) * n
        }
        None => {
            let mut key = exp;
            if frac == 0.5 {
                key -= 1;
            }
            let offset = (1i32 << -schema) - 1;
            (key + offset) >> -schema
        }
    };
    if inf {
        key += 1;
    }
    key
}

/// The upper bound of bucket `key` at `schema` (its lower bound is `upper_bound(key - 1)`).
/// The last finite bucket's bound is `f64::MAX`, so that ±Inf have a bucket of their own.
pub fn upper_bound(key: i32, schema: i8) -> f64 {
    if schema <= 0 {
        let exp = key << -schema;
        if exp == 1024 {
            return f64::MAX;
        }
        return ldexp(1.0, exp);
    }
    let bounds = fraction_bounds(schema);
    let frac = bounds[(key & ((1 << schema) - 1)) as usize];
    let exp = (key >> schema) + 1;
    if frac == 0.5 && exp == 1025 {
        return f64::MAX;
    }
    ldexp(frac, exp)
}

fn ldexp(f: f64, exp: i32) -> f64 {
    // Two steps keep intermediate powers representable over the whole float range.
    let half = exp / 2;
    f * 2f64.powi(half) * 2f64.powi(exp - half)
}

/// The native part of a histogram reading.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NativeBuckets {
    /// Resolution: boundaries are powers of `2^(2^-schema)`.
    pub schema: i8,
    /// `|v| <=` this counted in `zero_count`.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: u64,
    /// `(key, count)` of the positive buckets with observations, ascending keys.
    pub positive: Vec<(i32, u64)>,
    /// `(key, count)` of the negative buckets (keys of `|v|`), ascending keys.
    pub negative: Vec<(i32, u64)>,
    /// The most recent exemplars of the series' observations.
    pub exemplars: Vec<Exemplar>,
}

impl NativeBuckets {
    /// client_golang's encoding of buckets: spans `(offset, length)` and count deltas, gaps
    /// of one or two buckets filled with empty buckets rather than a new span.
    pub fn spans_and_deltas(buckets: &[(i32, u64)]) -> (Vec<(i32, u32)>, Vec<i64>) {
        let (mut spans, mut deltas): (Vec<(i32, u32)>, Vec<i64>) = (Vec::new(), Vec::new());
        let (mut prev, mut next_key) = (0i64, 0i32);
        for (n, &(key, count)) in buckets.iter().enumerate() {
            let gap = key - next_key;
            if n == 0 || gap > 2 {
                spans.push((gap, 0));
            } else {
                for _ in 0..gap {
                    spans.last_mut().expect("a span").1 += 1;
                    deltas.push(-prev);
                    prev = 0;
                }
            }
            spans.last_mut().expect("a span").1 += 1;
            deltas.push(count as i64 - prev);
            prev = count as i64;
            next_key = key + 1;
        }
        (spans, deltas)
    }
}

/// A consistent reading of a native histogram: classic buckets, count and sum from the
/// same quiescent buffer as the native buckets.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NativeReading {
    /// Per classic bucket (bounds then `+Inf`), not cumulative.
    pub classic: Vec<u64>,
    pub count: u64,
    pub sum: f64,
    pub native: NativeBuckets,
    pub classic_exemplars: Vec<Option<Exemplar>>,
}

impl NativeReading {
    /// The classic buckets' cumulative counts (the last is `count`).
    pub(crate) fn cumulative(&self) -> Vec<u64> {
        let mut acc = 0u64;
        self.classic
            .iter()
            .map(|c| {
                acc = acc.wrapping_add(*c);
                acc
            })
            .collect()
    }
}

/// Dense counts of keys `base .. base + counts.len()` and which of them were touched.
#[derive(Debug, Default)]
struct Window {
    base: i32,
    counts: Box<[AtomicU64]>,
    present: Box<[AtomicU64]>,
}

impl Window {
    fn new(base: i32, len: usize) -> Self {
        Window {
            base,
            counts: (0..len).map(|_| AtomicU64::new(0)).collect(),
            present: (0..len.div_ceil(64)).map(|_| AtomicU64::new(0)).collect(),
        }
    }
    #[inline(always)]
    fn index(&self, key: i32) -> Option<usize> {
        let i = key.wrapping_sub(self.base) as u32 as usize;
        (i < self.counts.len()).then_some(i)
    }
    fn range(&self) -> Option<(i32, i32)> {
        (!self.counts.is_empty()).then(|| (self.base, self.base + self.counts.len() as i32 - 1))
    }
    /// Sets `i`'s present bit; whether it was clear.
    #[inline]
    fn mark(&self, i: usize) -> bool {
        let (w, m) = (i / 64, 1u64 << (i % 64));
        self.present[w].load(Ordering::Relaxed) & m == 0
            && self.present[w].fetch_or(m, Ordering::Relaxed) & m == 0
    }
    /// Zeroes counts and touched bits (the window is quiescent).
    fn clear(&self) {
        for c in self.counts.iter().chain(self.present.iter()) {
            c.store(0, Ordering::Relaxed);
        }
    }
    fn total(&self) -> u64 {
        self.counts
            .iter()
            .map(|c| c.load(Ordering::Acquire))
            .fold(0, u64::wrapping_add)
    }
    /// `(key, count)` of touched keys.
    fn entries(&self) -> impl Iterator<Item = (i32, u64)> + '_ {
        self.counts.iter().enumerate().filter_map(|(i, c)| {
            let touched = self.present[i / 64].load(Ordering::Relaxed) & (1 << (i % 64)) != 0;
            let c = c.load(Ordering::Relaxed);
            (touched || c > 0).then_some((self.base + i as i32, c))
        })
    }
}

/// A buffer's shape: what writers read without synchronisation beyond the flip.
#[derive(Debug, Default)]
struct Layout {
    schema: i8,
    /// The fraction table of a positive schema.
    fractions: Option<&'static Fractions>,
    zero_threshold: f64,
    pos: Window,
    neg: Window,
    /// The same, spelled for bindings that observe from their own language (see [`raw`]).
    raw: raw::Layout,
}

/// A native histogram's hot path laid out for bindings that observe without calling into
/// the core (Go, whose cgo call would cost as much as the observation): the addresses a
/// writer needs ([`View`](raw::View), from [`Histogram::native_view`](crate::Histogram::native_view)),
/// stable for the series' life, and each buffer's [`Layout`](raw::Layout), whose contents
/// change only while that buffer is cold.
///
/// # The protocol (what `Histogram::observe` does for a native histogram)
/// 1. A NaN is ignored. Otherwise add 1 to `*hot_and_started`; bit 63 of the value *before*
///    the add picks `buffers[i]`; read its layout.
/// 2. Unless `v > zero_threshold` or `v < -zero_threshold`: add `v` to `sum` by
///    compare-and-swap, 1 to the classic bucket (`classic`, `classic_len` cells, if any: the
///    first bound `>= v`, else the last cell), then 1 to `zero` (release). Done.
/// 3. Otherwise the key of `|v|` ([`bucket_key`]: with `bounds`/`below` for a positive
///    schema, as `Fractions::rank` does) and the side (`pos_*` for `v > 0`, `neg_*`).
///    `i = key - base`; if `i` is not in `0..len`: add 1 to `skipped` (release), then call
///    [`Histogram::native_observe_skipped`](crate::Histogram::native_observe_skipped). Done.
/// 4. Add `v` to `sum`, 1 to the classic bucket; then, *before* the count: if bit `i % 64` of
///    `present[i / 64]` is clear and an atomic OR sets it, add 1 to `populated` (the new
///    value is `p`). Then add 1 to `counts[i]` (release): the observation is complete, and
///    the layout must not be read again.
/// 5. If the bit was set by this writer, `max_buckets > 0` and `p + *spilled > max_buckets`,
///    call [`Histogram::native_bucket_created`](crate::Histogram::native_bucket_created).
pub mod raw {
    use std::sync::atomic::{AtomicU32, AtomicU64};

    /// One buffer's shape (`#[repr(C)]`): schema, zero threshold, the positive schema's
    /// fraction tables (null otherwise: `bounds` has `2^schema` entries, `below`
    /// `2^(schema+1)`), and the two windows of counts and touched bits.
    #[repr(C)]
    #[derive(Debug, Clone, Copy)]
    pub struct Layout {
        /// −4…8.
        pub schema: i32,
        /// Keys `pos_base .. pos_base + pos_len` are counted in `pos_counts`.
        pub pos_base: i32,
        /// Cells of `pos_counts` (`pos_present` has `ceil(len / 64)` words).
        pub pos_len: u32,
        /// The negative window's first key.
        pub neg_base: i32,
        /// Cells of `neg_counts`.
        pub neg_len: u32,
        /// Unused.
        pub reserved: u32,
        /// `|v| <=` this goes to the zero bucket.
        pub zero_threshold: f64,
        /// Fraction bounds of a positive schema, else null.
        pub bounds: *const f64,
        /// Bounds under each of `2^(schema+1)` mantissa cells, else null.
        pub below: *const u16,
        /// Positive counts.
        pub pos_counts: *const AtomicU64,
        /// Positive touched bits.
        pub pos_present: *const AtomicU64,
        /// Negative counts.
        pub neg_counts: *const AtomicU64,
        /// Negative touched bits.
        pub neg_present: *const AtomicU64,
    }

    impl Default for Layout {
        fn default() -> Self {
            Layout {
                schema: 0,
                pos_base: 0,
                pos_len: 0,
                neg_base: 0,
                neg_len: 0,
                reserved: 0,
                zero_threshold: 0.0,
                bounds: std::ptr::null(),
                below: std::ptr::null(),
                pos_counts: std::ptr::null(),
                pos_present: std::ptr::null(),
                neg_counts: std::ptr::null(),
                neg_present: std::ptr::null(),
            }
        }
    }

    /// One buffer's addresses.
    #[derive(Debug, Clone, Copy)]
    pub struct Buffer {
        /// Its layout (contents change only while the buffer is cold).
        pub layout: *const Layout,
        /// The zero bucket.
        pub zero: *const AtomicU64,
        /// The sum's `f64` bits.
        pub sum: *const AtomicU64,
        /// Completed starts that recorded nothing.
        pub skipped: *const AtomicU64,
        /// Touched buckets.
        pub populated: *const AtomicU32,
        /// Classic buckets (bounds then `+Inf`), not cumulative; null without classic bounds.
        pub classic: *const AtomicU64,
        /// Cells of `classic`.
        pub classic_len: usize,
    }

    /// A series' addresses, valid while any handle of it lives.
    #[derive(Debug, Clone, Copy)]
    pub struct View {
        /// Bit 63: the hot buffer; the rest: observations started.
        pub hot_and_started: *const AtomicU64,
        /// Buckets counted outside the windows.
        pub spilled: *const AtomicU32,
        /// The bucket limit (0: none).
        pub max_buckets: u32,
        /// The two buffers.
        pub buffers: [Buffer; 2],
    }
}

#[derive(Debug, Default)]
struct Buffer {
    /// Written only under the lock while the buffer is cold and quiescent (invariant Q).
    layout: UnsafeCell<Layout>,
    /// Classic buckets (bounds then `+Inf`), not cumulative; empty without classic bounds.
    classic: Box<[AtomicU64]>,
    zero: AtomicU64,
    sum: AtomicU64,
    /// Completed starts that recorded nothing here (see the module docs).
    skipped: AtomicU64,
    /// Touched keys in the windows (client_golang's `nativeHistogramBucketsNumber`).
    populated: AtomicU32,
}

impl Buffer {
    fn completed(&self) -> u64 {
        // SAFETY: a layout is replaced only while its buffer is cold, under the lock, and
        // this is called under the lock.
        let l = unsafe { &*self.layout.get() };
        l.pos
            .total()
            .wrapping_add(l.neg.total())
            .wrapping_add(self.zero.load(Ordering::Acquire))
            .wrapping_add(self.skipped.load(Ordering::Acquire))
    }
}

// SAFETY: the layout cell is written only under `NativeCore::control` while no writer can
// reach the buffer (invariant Q); otherwise it is only read. Its raw pointers point into
// allocations the layout itself owns.
unsafe impl Sync for Buffer {}
// SAFETY: as above; nothing in a buffer is tied to a thread.
unsafe impl Send for Buffer {}

#[derive(Debug)]
struct Control {
    /// Keys no window holds: `(negative, key)` → count.
    spill: BTreeMap<(bool, i32), u64>,
    last_reset: Instant,
    reset_scheduled: bool,
    exemplars: Vec<Exemplar>,
    classic_exemplars: Vec<Option<Exemplar>>,
}

/// The native histogram of one series (see the module docs for its invariants).
#[derive(Debug)]
pub(crate) struct NativeCore {
    hot_and_started: AtomicU64,
    bufs: [Buffer; 2],
    /// Spill entries, readable without the lock for the bucket limit.
    spilled: AtomicU32,
    control: Mutex<Control>,
    config: Arc<NativeConfig>,
    bounds: Arc<[f64]>,
    me: Weak<NativeCore>,
}

/// A change of shape applied by `NativeCore::transition`.
struct Shape {
    schema: i8,
    zero_threshold: f64,
    pos: Option<(i32, i32)>,
    neg: Option<(i32, i32)>,
}

impl NativeCore {
    pub(crate) fn new(config: Arc<NativeConfig>, bounds: Arc<[f64]>) -> Arc<Self> {
        let classic = if bounds.is_empty() {
            0
        } else {
            bounds.len() + 1
        };
        let shape = Shape {
            schema: config.schema,
            zero_threshold: config.zero_threshold,
            pos: None,
            neg: None,
        };
        let buffer = || Buffer {
            layout: UnsafeCell::new(make_layout(&shape)),
            classic: (0..classic).map(|_| AtomicU64::new(0)).collect(),
            ..Default::default()
        };
        Arc::new_cyclic(|me| NativeCore {
            hot_and_started: AtomicU64::new(0),
            bufs: [buffer(), buffer()],
            spilled: AtomicU32::new(0),
            control: Mutex::new(Control {
                spill: BTreeMap::new(),
                last_reset: Instant::now(),
                reset_scheduled: false,
                exemplars: Vec::new(),
                classic_exemplars: vec![None; bounds.len() + 1],
            }),
            config,
            bounds,
            me: me.clone(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records `v` (NaN is ignored). Lock-free unless the key is new beyond the windows or
    /// the bucket limit is exceeded.
    #[inline]
    pub(crate) fn observe(&self, v: f64) {
        if v.is_nan() {
            return;
        }
        let n = self.hot_and_started.fetch_add(1, Ordering::AcqRel);
        let buf = &self.bufs[(n >> 63) as usize];
        // SAFETY: this buffer is hot for this observation (invariant Q): its layout is not
        // replaced until the observation completes, and nothing reads it after that.
        let layout = unsafe { &*buf.layout.get() };
        let side = if v > layout.zero_threshold {
            &layout.pos
        } else if v < -layout.zero_threshold {
            &layout.neg
        } else {
            self.add_common(buf, v);
            buf.zero.fetch_add(1, Ordering::Release);
            return;
        };
        let key = key_with(v, layout.schema, layout.fractions);
        let Some(i) = side.index(key) else {
            buf.skipped.fetch_add(1, Ordering::Release);
            self.observe_locked(v);
            return;
        };
        self.add_common(buf, v);
        // Marking comes before the bucket's add: that add completes the observation, after
        // which the layout may be replaced (a later touch of `side` could be a use after free).
        let created = side.mark(i);
        let buckets = if created {
            buf.populated.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            0
        };
        side.counts[i].fetch_add(1, Ordering::Release);
        if created {
            self.check_limit(buckets, v);
        }
    }

    #[inline(always)]
    fn add_common(&self, buf: &Buffer, v: f64) {
        crate::arena::add_f64(&buf.sum, v);
        if !buf.classic.is_empty() {
            let i = self.bounds.partition_point(|&b| b < v);
            buf.classic[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    fn check_limit(&self, populated: u32, v: f64) {
        let max = self.config.max_buckets;
        if max == 0 || populated + self.spilled.load(Ordering::Relaxed) <= max {
            return;
        }
        let mut ctl = self.lock();
        self.limit_buckets(&mut ctl, v);
    }

    /// The hot buffer; stable while the lock is held.
    fn hot(&self) -> (usize, &Buffer) {
        let i = (self.hot_and_started.load(Ordering::Acquire) >> 63) as usize;
        (i, &self.bufs[i])
    }

    fn layout_of(buf: &Buffer) -> &Layout {
        // SAFETY: called under the lock; layouts change only under it.
        unsafe { &*buf.layout.get() }
    }

    /// Records `v` under the lock, growing the windows to hold its key when it can.
    fn observe_locked(&self, v: f64) {
        let mut ctl = self.lock();
        let (_, hot) = self.hot();
        let layout = Self::layout_of(hot);
        let neg = v < -layout.zero_threshold;
        let key = bucket_key(v, layout.schema);
        let side = if neg { &layout.neg } else { &layout.pos };
        if side.index(key).is_none() {
            if let Some(range) = grown(side.range(), key) {
                let mut shape = Shape {
                    schema: layout.schema,
                    zero_threshold: layout.zero_threshold,
                    pos: layout.pos.range(),
                    neg: layout.neg.range(),
                };
                *(if neg { &mut shape.neg } else { &mut shape.pos }) = Some(range);
                self.transition(&mut ctl, shape, |k| k, None, false, |_| {});
            }
        }
        if self.record_locked(&mut ctl, v) {
            // A new bucket: `limit_buckets` checks the limit itself.
            self.limit_buckets(&mut ctl, v);
        }
    }

    /// Records `v` into the hot buffer while holding the lock; whether it made a new bucket.
    fn record_locked(&self, ctl: &mut Control, v: f64) -> bool {
        let n = self.hot_and_started.fetch_add(1, Ordering::AcqRel);
        let buf = &self.bufs[(n >> 63) as usize];
        let layout = Self::layout_of(buf);
        self.add_common(buf, v);
        if v.abs() <= layout.zero_threshold {
            buf.zero.fetch_add(1, Ordering::Release);
            return false;
        }
        let neg = v < 0.0;
        let key = bucket_key(v, layout.schema);
        self.add_key(ctl, buf, neg, key, 1)
    }

    /// Adds `c` at `key` of the live or quiescent buffer `buf` (under the lock): into its
    /// window when it fits, else into the spill, mirrored in `skipped`. Whether the bucket
    /// is new.
    fn add_key(&self, ctl: &mut Control, buf: &Buffer, neg: bool, key: i32, c: u64) -> bool {
        let layout = Self::layout_of(buf);
        let side = if neg { &layout.neg } else { &layout.pos };
        if let Some(i) = side.index(key) {
            side.counts[i].fetch_add(c, Ordering::Release);
            if side.mark(i) {
                buf.populated.fetch_add(1, Ordering::Relaxed);
                return true;
            }
            return false;
        }
        buf.skipped.fetch_add(c, Ordering::Release);
        let entry = ctl.spill.entry((neg, key)).or_insert(0);
        *entry += c;
        let new = *entry == c;
        self.spilled
            .store(ctl.spill.len() as u32, Ordering::Relaxed);
        new
    }

    /// The one way the shape or the hot buffer changes (see the module docs). Reshapes the
    /// cold buffer to `shape`, flips (with `reset`, also zeroes the started count), waits
    /// for the old hot buffer to be quiescent, lets `read` see it, and unless resetting moves
    /// its counts into the new hot buffer, keys mapped by `rekey`, the bucket `zero_cut`
    /// (if any) into the zero bucket. Spill entries are moved the same way.
    fn transition(
        &self,
        ctl: &mut Control,
        shape: Shape,
        rekey: impl Fn(i32) -> i32,
        zero_cut: Option<i32>,
        reset: bool,
        read: impl FnOnce(&Buffer),
    ) {
        let (hot_i, _) = self.hot();
        let cold_i = hot_i ^ 1;
        // SAFETY: invariant Q: the cold buffer is quiescent (and zero) and we hold the lock.
        unsafe { reshape(&mut *self.bufs[cold_i].layout.get(), &shape) };
        let n = if reset {
            self.hot_and_started
                .swap((cold_i as u64) << 63, Ordering::AcqRel)
        } else {
            self.hot_and_started.fetch_add(1 << 63, Ordering::AcqRel)
        };
        let started = n & STARTED;
        let (old, new) = (&self.bufs[hot_i], &self.bufs[cold_i]);
        let mut spins = 0u32;
        while old.completed() != started {
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        read(old);
        let spill = std::mem::take(&mut ctl.spill);
        self.spilled.store(0, Ordering::Relaxed);
        if !reset {
            for (a, b) in old.classic.iter().zip(new.classic.iter()) {
                b.fetch_add(a.load(Ordering::Relaxed), Ordering::Relaxed);
            }
            crate::arena::add_f64(&new.sum, f64::from_bits(old.sum.load(Ordering::Relaxed)));
            let old_layout = Self::layout_of(old);
            let mut skipped = old.skipped.load(Ordering::Relaxed);
            let mut zero = old.zero.load(Ordering::Relaxed);
            let spilled: u64 = spill.values().sum();
            skipped = skipped.saturating_sub(spilled);
            let moved = old_layout
                .pos
                .entries()
                .map(|(k, c)| (false, k, c))
                .chain(old_layout.neg.entries().map(|(k, c)| (true, k, c)))
                .chain(spill.into_iter().map(|((neg, k), c)| (neg, k, c)));
            for (neg, k, c) in moved {
                if zero_cut == Some(k) {
                    zero += c;
                } else {
                    self.add_key(ctl, new, neg, rekey(k), c);
                }
            }
            new.zero.fetch_add(zero, Ordering::Release);
            new.skipped.fetch_add(skipped, Ordering::Release);
        }
        // The old buffer becomes the cold one: same shape, zero counts.
        // SAFETY: it is quiescent now (all its starts completed) and we hold the lock.
        unsafe {
            let layout = &mut *old.layout.get();
            layout.pos.clear();
            layout.neg.clear();
            reshape(layout, &shape);
        }
        for c in old.classic.iter() {
            c.store(0, Ordering::Relaxed);
        }
        for a in [&old.zero, &old.sum, &old.skipped] {
            a.store(0, Ordering::Relaxed);
        }
        old.populated.store(0, Ordering::Relaxed);
    }

    fn shape(&self) -> Shape {
        let l = Self::layout_of(self.hot().1);
        Shape {
            schema: l.schema,
            zero_threshold: l.zero_threshold,
            pos: l.pos.range(),
            neg: l.neg.range(),
        }
    }

    /// client_golang's strategy once a new bucket exceeds the limit.
    fn limit_buckets(&self, ctl: &mut Control, v: f64) {
        let (_, hot) = self.hot();
        let n = hot.populated.load(Ordering::Relaxed) + self.spilled.load(Ordering::Relaxed);
        if self.config.max_buckets == 0 || n <= self.config.max_buckets {
            return;
        }
        let min_reset = self.config.min_reset;
        if !min_reset.is_zero() && !ctl.reset_scheduled && ctl.last_reset.elapsed() >= min_reset {
            self.reset_locked(ctl, Some(v));
            return;
        }
        if !min_reset.is_zero() && !ctl.reset_scheduled {
            ctl.reset_scheduled = true;
            // A reset too far ahead for the clock (`Duration::MAX`) never comes.
            if let Some(at) = ctl.last_reset.checked_add(min_reset) {
                schedule_reset(at, self.me.clone());
            }
        }
        if self.widen_zero_bucket(ctl) {
            return;
        }
        self.halve_resolution(ctl);
    }

    /// Zeroes everything and restores the configured schema and zero threshold; `replay`
    /// is recorded again afterwards (the observation that hit the limit).
    fn reset_locked(&self, ctl: &mut Control, replay: Option<f64>) {
        let shape = Shape {
            schema: self.config.schema,
            zero_threshold: self.config.zero_threshold,
            ..self.shape()
        };
        self.transition(ctl, shape, |k| k, None, true, |_| {});
        ctl.exemplars.clear();
        ctl.classic_exemplars.iter_mut().for_each(|e| *e = None);
        ctl.last_reset = Instant::now();
        if let Some(v) = replay {
            self.record_locked(ctl, v);
        }
    }

    fn widen_zero_bucket(&self, ctl: &mut Control) -> bool {
        let shape = self.shape();
        if shape.zero_threshold >= self.config.max_zero_threshold {
            return false;
        }
        let l = Self::layout_of(self.hot().1);
        let smallest = [l.pos.entries().next(), l.neg.entries().next()]
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
            .chain(ctl.spill.keys().map(|&(_, k)| k))
            .min();
        let Some(smallest) = smallest else {
            return false;
        };
        let threshold = upper_bound(smallest, shape.schema);
        if threshold > self.config.max_zero_threshold {
            return false;
        }
        let shape = Shape {
            zero_threshold: threshold,
            ..shape
        };
        self.transition(ctl, shape, |k| k, Some(smallest), false, |_| {});
        true
    }

    fn halve_resolution(&self, ctl: &mut Control) {
        let shape = self.shape();
        if shape.schema == SCHEMA_MIN {
            return;
        }
        let half = |k: i32| (k + 1).div_euclid(2);
        let shape = Shape {
            schema: shape.schema - 1,
            pos: shape.pos.map(|(a, b)| (half(a), half(b))),
            neg: shape.neg.map(|(a, b)| (half(a), half(b))),
            ..shape
        };
        self.transition(ctl, shape, half, None, false, |_| {});
    }

    /// A reset scheduled by the bucket limit (client_golang's timer).
    fn scheduled_reset(&self) {
        let mut ctl = self.lock();
        self.reset_locked(&mut ctl, None);
        ctl.reset_scheduled = false;
    }

    /// Zeroes the histogram (a user's `reset()`).
    pub(crate) fn reset(&self) {
        let mut ctl = self.lock();
        self.reset_locked(&mut ctl, None);
    }

    /// A consistent reading (see the module docs).
    pub(crate) fn read(&self) -> NativeReading {
        let mut ctl = self.lock();
        let mut out = None;
        let spill: Vec<((bool, i32), u64)> = ctl.spill.iter().map(|(k, v)| (*k, *v)).collect();
        let shape = self.shape();
        self.transition(
            &mut ctl,
            shape,
            |k| k,
            None,
            false,
            |buf| {
                let l = Self::layout_of(buf);
                let mut positive: Vec<(i32, u64)> = l.pos.entries().filter(|e| e.1 > 0).collect();
                let mut negative: Vec<(i32, u64)> = l.neg.entries().filter(|e| e.1 > 0).collect();
                for ((neg, k), c) in spill {
                    (if neg { &mut negative } else { &mut positive }).push((k, c));
                }
                positive.sort_unstable();
                negative.sort_unstable();
                let zero_count = buf.zero.load(Ordering::Relaxed);
                let count = positive
                    .iter()
                    .chain(&negative)
                    .map(|e| e.1)
                    .fold(zero_count, u64::wrapping_add);
                let classic = if buf.classic.is_empty() {
                    vec![count]
                } else {
                    buf.classic
                        .iter()
                        .map(|c| c.load(Ordering::Relaxed))
                        .collect()
                };
                out = Some(NativeReading {
                    classic,
                    count,
                    sum: f64::from_bits(buf.sum.load(Ordering::Relaxed)),
                    native: NativeBuckets {
                        schema: l.schema,
                        zero_threshold: l.zero_threshold,
                        zero_count,
                        positive,
                        negative,
                        exemplars: Vec::new(),
                    },
                    classic_exemplars: Vec::new(),
                });
            },
        );
        let mut out = out.expect("read runs once");
        out.native.exemplars = ctl.exemplars.clone();
        out.classic_exemplars = ctl.classic_exemplars.clone();
        out
    }

    /// Keeps `e` among the native exemplars (the most recent `max_exemplars`) and as its
    /// classic bucket's exemplar.
    pub(crate) fn record_exemplar(&self, e: Exemplar) {
        let bucket = self.bounds.partition_point(|&b| b < e.value);
        let mut ctl = self.lock();
        ctl.classic_exemplars[bucket] = Some(e.clone());
        let max = self.config.max_exemplars;
        if max > 0 {
            if ctl.exemplars.len() >= max {
                ctl.exemplars.remove(0);
            }
            ctl.exemplars.push(e);
        }
    }

    /// The addresses bindings observe through (see [`raw`]).
    pub(crate) fn view(&self) -> raw::View {
        let buffer = |b: &Buffer| raw::Buffer {
            // SAFETY: only the address is taken; the cell lives as long as `self`.
            layout: unsafe { &(*b.layout.get()).raw },
            zero: &b.zero,
            sum: &b.sum,
            skipped: &b.skipped,
            populated: &b.populated,
            classic: if b.classic.is_empty() {
                std::ptr::null()
            } else {
                b.classic.as_ptr()
            },
            classic_len: b.classic.len(),
        };
        raw::View {
            hot_and_started: &self.hot_and_started,
            spilled: &self.spilled,
            max_buckets: self.config.max_buckets,
            buffers: [buffer(&self.bufs[0]), buffer(&self.bufs[1])],
        }
    }

    /// Step 3 of the [`raw`] protocol: a writer whose key was outside the window has counted
    /// its start as skipped; record `v` under the lock.
    pub(crate) fn observe_skipped(&self, v: f64) {
        if !v.is_nan() {
            self.observe_locked(v);
        }
    }

    /// Step 5 of the [`raw`] protocol: a writer made a new bucket, `populated` buckets now.
    pub(crate) fn bucket_created(&self, populated: u32, v: f64) {
        self.check_limit(populated, v);
    }

    /// Observations started since the last reset (changes with every observation).
    pub(crate) fn started(&self) -> u64 {
        self.hot_and_started.load(Ordering::Relaxed) & STARTED
    }

    /// Bucket cells the series holds (both buffers' windows), for memory reports.
    pub(crate) fn window_cells(&self) -> usize {
        let _ctl = self.lock();
        self.bufs
            .iter()
            .map(|b| {
                let l = Self::layout_of(b);
                l.pos.counts.len() + l.neg.counts.len()
            })
            .sum()
    }
}

/// Gives a zeroed `layout` the shape `shape`, keeping its windows when they already have it
/// (a scrape changes no shape, and should not allocate per series).
fn reshape(layout: &mut Layout, shape: &Shape) {
    let same = layout.schema == shape.schema
        && layout.zero_threshold.to_bits() == shape.zero_threshold.to_bits()
        && layout.pos.range() == shape.pos
        && layout.neg.range() == shape.neg;
    if !same {
        *layout = make_layout(shape);
    }
}

fn make_layout(shape: &Shape) -> Layout {
    let window = |r: Option<(i32, i32)>| match r {
        Some((lo, hi)) => Window::new(lo, (hi - lo + 1) as usize),
        None => Window::default(),
    };
    let fractions = (shape.schema > 0).then(|| fractions(shape.schema));
    let (pos, neg) = (window(shape.pos), window(shape.neg));
    let raw = raw::Layout {
        schema: shape.schema as i32,
        pos_base: pos.base,
        pos_len: pos.counts.len() as u32,
        neg_base: neg.base,
        neg_len: neg.counts.len() as u32,
        reserved: 0,
        zero_threshold: shape.zero_threshold,
        bounds: fractions.map_or(std::ptr::null(), |f| f.bounds.as_ptr()),
        below: fractions.map_or(std::ptr::null(), |f| f.below.as_ptr()),
        pos_counts: pos.counts.as_ptr(),
        pos_present: pos.present.as_ptr(),
        neg_counts: neg.counts.as_ptr(),
        neg_present: neg.present.as_ptr(),
    };
    Layout {
        schema: shape.schema,
        fractions,
        zero_threshold: shape.zero_threshold,
        pos,
        neg,
        raw,
    }
}

/// A window covering `range` and `key` (outside it), grown towards `key` by half the new span
/// (so that a drifting distribution regrows rarely), or `None` when that would exceed
/// [`MAX_WINDOW`] (the key is then spilled).
fn grown(range: Option<(i32, i32)>, key: i32) -> Option<(i32, i32)> {
    let Some((lo, hi)) = range else {
        return Some((key.saturating_sub(8), key.saturating_add(8)));
    };
    let span = (hi.max(key) as i64 - lo.min(key) as i64 + 1) as usize;
    if span > MAX_WINDOW {
        return None;
    }
    let pad = (span / 2).max(8).min(MAX_WINDOW - span) as i32;
    Some(if key > hi {
        (lo, key.saturating_add(pad))
    } else {
        (key.saturating_sub(pad), hi)
    })
}

/// client_golang resets a limited histogram after its minimum reset duration with a timer;
/// here one thread serves every scheduled reset.
fn schedule_reset(at: Instant, target: Weak<NativeCore>) {
    type Queue = (Mutex<Vec<(Instant, Weak<NativeCore>)>>, std::sync::Condvar);
    static QUEUE: OnceLock<Arc<Queue>> = OnceLock::new();
    let queue = QUEUE.get_or_init(|| {
        let q: Arc<Queue> = Arc::new((Mutex::new(Vec::new()), std::sync::Condvar::new()));
        let worker = q.clone();
        std::thread::Builder::new()
            .name("footmetrics-native-reset".into())
            .spawn(move || loop {
                let (lock, cv) = &*worker;
                let mut due = Vec::new();
                {
                    let mut pending = lock.lock().unwrap_or_else(|e| e.into_inner());
                    let now = Instant::now();
                    pending.retain(|(t, w)| {
                        if *t <= now {
                            due.push(w.clone());
                            false
                        } else {
                            true
                        }
                    });
                    if due.is_empty() {
                        let wait = pending
                            .iter()
                            .map(|(t, _)| t.saturating_duration_since(now))
                            .min()
                            .unwrap_or(Duration::from_secs(3600));
                        let _ = cv.wait_timeout(pending, wait);
                    }
                }
                for w in due {
                    if let Some(h) = w.upgrade() {
                        h.scheduled_reset();
                    }
                }
            })
            .expect("spawn the native histogram reset thread");
        q
    });
    queue
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((at, target));
    queue.1.notify_one();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core(opts: NativeOpts) -> Arc<NativeCore> {
        NativeCore::new(Arc::new(opts.validate().unwrap()), Arc::from(vec![]))
    }

    #[test]
    fn schema_follows_the_factor() {
        assert_eq!(schema_for_factor(1.1), 3);
        assert_eq!(schema_for_factor(2.0), 0);
        assert_eq!(schema_for_factor(4.0), -1);
        assert_eq!(schema_for_factor(1.0001), 8);
        assert_eq!(schema_for_factor(1e300), -4);
    }

    #[test]
    fn keys_bound_their_values() {
        for schema in SCHEMA_MIN..=SCHEMA_MAX {
            for v in [
                1e-300,
                1e-5,
                0.1,
                0.5,
                1.0,
                1.5,
                2.0,
                3.0,
                1000.0,
                1e300,
                f64::MAX,
            ] {
                let k = bucket_key(v, schema);
                assert!(v <= upper_bound(k, schema), "{v} at {schema}");
                assert!(v > upper_bound(k - 1, schema), "{v} at {schema}");
            }
            assert_eq!(
                upper_bound(bucket_key(f64::INFINITY, schema), schema),
                f64::INFINITY
            );
        }
        assert_eq!(bucket_key(1.0, 3), 0);
        assert_eq!(bucket_key(2.0, 0), 1);
        assert_eq!(bucket_key(2.5, 0), 2);
    }

    /// The one-lookup rank agrees with a binary search over the bounds (client_golang's),
    /// at every bound, just around it, and on a sweep of fractions.
    #[test]
    fn fraction_ranks_agree_with_a_binary_search() {
        for schema in 1..=SCHEMA_MAX {
            let t = fractions(schema);
            let mut probes: Vec<f64> = t
                .bounds
                .iter()
                .flat_map(|&b| {
                    [
                        b,
                        f64::from_bits(b.to_bits() - 1),
                        f64::from_bits(b.to_bits() + 1),
                    ]
                })
                .filter(|f| (0.5..1.0).contains(f))
                .collect();
            probes.extend((0..100_000).map(|i| 0.5 + i as f64 / 200_000.0));
            probes.push(f64::from_bits(1.0f64.to_bits() - 1));
            for f in probes {
                let expected = t.bounds.partition_point(|&b| b < f);
                let mantissa = f.to_bits() & ((1 << 52) - 1);
                assert_eq!(t.rank(f, mantissa, schema), expected, "{f} at {schema}");
            }
        }
    }

    #[test]
    fn spans_fill_small_gaps() {
        let (spans, deltas) = NativeBuckets::spans_and_deltas(&[(-2, 1), (-1, 3), (2, 2), (7, 1)]);
        // Keys 0 and 1 (a gap of two) become empty buckets; 3..=6 (four) start a new span.
        assert_eq!(spans, vec![(-2, 5), (4, 1)]);
        assert_eq!(deltas, vec![1, 2, -3, 0, 2, -1]);
    }

    #[test]
    fn counts_agree_and_limits_halve() {
        let h = core(NativeOpts::new(1.1).max_buckets(10));
        for i in 1..=1000 {
            h.observe(i as f64 / 10.0);
        }
        h.observe(0.0);
        h.observe(-3.0);
        let r = h.read();
        let n = r.native.positive.len() + r.native.negative.len();
        assert!(n <= 11, "{n} buckets");
        assert!(r.native.schema < 3);
        assert_eq!(r.count, 1002);
        assert_eq!(r.native.zero_count, 1);
        let total: u64 = r.native.positive.iter().map(|e| e.1).sum();
        assert_eq!(total, 1000);
    }
}
