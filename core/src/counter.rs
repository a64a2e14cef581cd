//! Counters: monotonically increasing totals.
//!
//! # Cell layout (stable, for bindings that write from their own language)
//! A child's cells are a block of two cells in the [arena](crate::arena), in each of
//! `shard_count()` lanes: shard `i` is at `ptr + i * lane_stride` of its [`SeriesCells`](crate::arena::SeriesCells) (the arena's
//! lane stride, a power of two), so two threads writing different shards never share a cache
//! line, and a lane holds the shard of every counter side by side. Each shard holds two
//! little-endian `u64` words:
//! - offset 0: the integer word, whole increments, only ever increased by atomic add;
//! - offset 8: the bits of an `f64`, the float word, only ever increased by compare-and-swap.
//!
//! The value is the sum over shards of `int as f64 + f64::from_bits(float)`, the integer
//! words summed without wrapping (as `u128` here, as one `f64` per shard in Go). Any writer
//! may write any shard atomically; a writer that owns a shard exclusively may use plain
//! stores. The address never moves while a handle to the child is alive.
//!
//! # No wrap-around: which word an amount goes to
//! The integer word must never pass `u64::MAX`, or the counter would go down. Every writer,
//! in every language, follows this rule:
//! - `inc` (an amount of exactly 1) is one atomic add on the integer word, nothing else;
//! - a whole amount `n < INT_AMOUNT_LIMIT` (2^32) is one atomic add on the integer word
//!   **if** a relaxed load of that word just before reads below `INT_WORD_LIMIT` (2^62);
//! - every other amount (fractions, whole amounts of 2^32 or more, `+Inf`, and any amount
//!   once the integer word has reached 2^62) is added to the float word by CAS, as
//!   `prometheus_client` adds to its one float.
//!
//! Invariant: the integer word is below `2^62 + W * 2^32 + I`, where `W` is the number of
//! writers that loaded a value below 2^62 and had not yet added (at most one per thread: the
//! load returns the word's latest value but for adds still in flight) and `I` the number of
//! `inc` calls made after the word reached 2^62. It wraps only if `W * 2^32 + I >= 3 * 2^62`:
//! `W >= 3 * 2^30` writers in that window at once (more threads than any OS runs; over 6 TB
//! even as Go's smallest goroutine stacks) or `I >= 2^62` single increments (146 years at
//! 10^9 increments per second on one counter). Nothing is ever moved from one word to the
//! other, and no word is ever decreased (but by `reset`), so each word only grows.
//!
//! What a concurrent reader observes: each word only grows, `u64 -> f64` conversion and `f64`
//! addition are monotonic (non-decreasing) in their operands, so a reading is never below a
//! reading that happened before it, with no retry and no generation word. A reading lies
//! between the counter's value when the read started and its value when it ended (each word
//! is loaded once, in between), up to float rounding.
//! The value is exact while the sum of whole amounts stays below 2^53 (both words then hold
//! integers below 2^53, which `f64` represents exactly), and beyond that within float
//! rounding of the exact sum, like the incumbents' float counters (`inc_by(1e19)` twice reads
//! `2e19`). Small whole amounts past 2^53 still count exactly in the integer word, where a
//! single `f64` would round an increment of 1 away.

use crate::arena::OwnedBlock;
use crate::error::{Error, Result};
use crate::exemplar::{now_seconds, Exemplar};
use crate::metric::{ChildMeta, Metric, MetricType, PointValue, SeriesWriter};
use crate::opts::Opts;
use crate::shard;
use arc_swap::ArcSwapOption;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Whole amounts below this may go to the integer word (see the module docs).
pub(crate) const INT_AMOUNT_LIMIT: u64 = 1 << 32;
/// Once the integer word reads this much, amounts other than `inc`'s go to the float word.
pub const INT_WORD_LIMIT: u64 = 1 << 62;

/// A counter's value from its summed words.
#[inline]
fn combine_words(int: u128, float: f64) -> f64 {
    // The `u64` conversion is a single instruction; `u128`'s is a library call.
    match u64::try_from(int) {
        Ok(i) => i as f64 + float,
        Err(_) => int as f64 + float,
    }
}

/// One shard of a counter: an integer part and a float part.
#[repr(C)]
#[derive(Debug, Default)]
pub struct CounterCell {
    /// The integer word (offset 0): whole increments, only ever added to.
    pub int: AtomicU64,
    pub(crate) float_bits: AtomicU64,
}

/// Shared by every child of a counter family.
#[derive(Debug)]
pub struct CounterConfig {
    shards: usize,
    cells: crate::multiprocess::CellSource,
    created: bool,
    /// The sample is the family name without `_total` (see `Opts::exact_name`).
    exact_name: bool,
}

#[derive(Debug)]
pub(crate) struct CounterCore {
    /// Read-only after creation: the pointer, shift and mask are shared by all writers
    /// without being written, so they stay in every core's cache. Shard `i` is at
    /// `cells.ptr() + (i << shift)`; `mask + 1` shards, a power of two.
    /// Its `spare` byte holds the shard mask.
    cells: OwnedBlock,
    /// `_created` as f64 bits (NaN when the family exports none); moved by [`Counter::reset`].
    created: AtomicU64,
    exemplar: ArcSwapOption<Exemplar>,
    meta: ChildMeta,
}

/// A handle to one counter (a family's child, or an unlabelled counter). Cloning is cheap;
/// all clones write the same cells.
#[derive(Debug, Clone)]
pub struct Counter(Arc<CounterCore>);

impl Counter {
    /// A standalone counter, not in any registry (for tests and custom collectors).
    pub fn standalone() -> Self {
        let config = CounterConfig {
            shards: shard::default_shards(),
            cells: Default::default(),
            created: true,
            exact_name: false,
        };
        Self::new_child(&config, ChildMeta::default())
    }

    #[inline(always)]
    fn shard(&self) -> &CounterCell {
        self.shard_at(shard::thread_index() & usize::from(self.0.cells.spare))
    }

    #[inline(always)]
    fn shard_at(&self, i: usize) -> &CounterCell {
        let core = &*self.0;
        // SAFETY: callers pass `i <= mask`; the block has `mask + 1` lanes of two cells, lane
        // `i` at `i << shift` bytes, which `CounterCell` (two `AtomicU64`, `repr(C)`) matches.
        unsafe {
            &*((core.cells.ptr() as *const u8).add(i << core.cells.lane_shift())
                as *const CounterCell)
        }
    }

    #[inline]
    fn shards(&self) -> impl Iterator<Item = &CounterCell> {
        (0..=usize::from(self.0.cells.spare)).map(|i| self.shard_at(i))
    }

    /// Adds one: a single atomic add on this thread's shard (no check: see the module docs
    /// for why the integer word cannot wrap).
    #[inline]
    pub fn inc(&self) {
        self.shard().int.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds an integer amount: one atomic add for amounts below 2^32 while the integer word is
    /// below 2^62, otherwise a compare-and-swap on the float word (see the module docs).
    #[inline]
    pub fn inc_by_u64(&self, v: u64) {
        let cell = self.shard();
        if v < INT_AMOUNT_LIMIT && cell.int.load(Ordering::Relaxed) < INT_WORD_LIMIT {
            cell.int.fetch_add(v, Ordering::Relaxed);
        } else {
            add_f64(&cell.float_bits, v as f64);
        }
    }

    /// Adds `v`, which must be non-negative and not NaN. Whole numbers below 2^32 take the
    /// integer path (one atomic add), others a compare-and-swap on the float part.
    #[inline]
    pub fn inc_by(&self, v: f64) -> Result<()> {
        if !(v >= 0.0) {
            return Err(Error::CounterDecrement(v));
        }
        let cell = self.shard();
        // Below 2^32 the cast truncates exactly, so the round trip tells whole amounts apart.
        let whole = v as u64;
        if v < INT_AMOUNT_LIMIT as f64
            && whole as f64 == v
            && cell.int.load(Ordering::Relaxed) < INT_WORD_LIMIT
        {
            cell.int.fetch_add(whole, Ordering::Relaxed);
        } else {
            add_f64(&cell.float_bits, v);
        }
        Ok(())
    }

    /// Adds `v` and records an exemplar for it (shown in OpenMetrics output).
    pub fn inc_by_with_exemplar<K: AsRef<str>, V: AsRef<str>>(
        &self,
        v: f64,
        labels: &[(K, V)],
    ) -> Result<()> {
        let exemplar = Exemplar::new(labels, v)?;
        self.inc_by(v)?;
        if self.0.cells.in_lane_file() {
            crate::lanes::record_exemplar(self.0.cells.ptr(), 0, &exemplar);
        }
        self.0.exemplar.store(Some(Arc::new(exemplar)));
        Ok(())
    }

    /// The current total: never below a total read before it (see the module docs).
    pub fn get(&self) -> f64 {
        // At most `MAX_SHARDS` words below 2^64 each: the `u128` sum cannot overflow, and it
        // only grows when a word does.
        let (int, float) = self.words();
        combine_words(int, float)
    }

    /// The sums over shards of the integer words and of the float words.
    #[inline]
    fn words(&self) -> (u128, f64) {
        let mut int: u128 = 0;
        let mut float = 0.0;
        for s in self.shards() {
            int += u128::from(s.int.load(Ordering::Relaxed));
            float += f64::from_bits(s.float_bits.load(Ordering::Relaxed));
        }
        (int, float)
    }

    /// Sets the counter back to zero, as a restart would (prom-client's and prometheus_client's
    /// `reset`): its `_created` time, when it has one, becomes now.
    pub fn reset(&self) {
        for s in self.shards() {
            s.int.store(0, Ordering::Relaxed);
            s.float_bits.store(0, Ordering::Relaxed);
        }
        self.0.exemplar.store(None);
        if !self.created().is_nan() {
            self.0
                .created
                .store(now_seconds().to_bits(), Ordering::Relaxed);
        }
    }

    /// When the counter was created (seconds since the epoch).
    pub fn created(&self) -> f64 {
        f64::from_bits(self.0.created.load(Ordering::Relaxed))
    }

    /// Number of shards (lanes of its [`SeriesCells`](crate::arena::SeriesCells)).
    pub(crate) fn shard_count(&self) -> usize {
        usize::from(self.0.cells.spare) + 1
    }
}

pub(crate) use crate::arena::add_f64;

impl crate::arena::HasCells for Counter {
    fn series_cells(&self) -> crate::arena::SeriesCells {
        self.0.cells.series_cells(self.shard_count())
    }
}

impl Metric for Counter {
    fn into_raw(self) -> *const () {
        Arc::into_raw(self.0) as *const ()
    }

    unsafe fn from_raw(p: *const ()) -> Self {
        // SAFETY: the caller's contract: `p` is from `into_raw`, its reference not taken back.
        Counter(unsafe { Arc::from_raw(p as *const CounterCore) })
    }

    fn as_raw(&self) -> *const () {
        Arc::as_ptr(&self.0) as *const ()
    }

    const TYPE: MetricType = MetricType::Counter;
    type Config = CounterConfig;

    fn config(opts: &Opts) -> Result<CounterConfig> {
        if opts.buckets.is_some() || !opts.states.is_empty() {
            return Err(Error::InvalidOption(
                "counters take no buckets or states".into(),
            ));
        }
        let cells = crate::multiprocess::CellSource::for_family(opts, MetricType::Counter, &[])?;
        // A lane file holds one shard per series: other processes read it as one lane.
        let shards = if cells.is_file() {
            1
        } else {
            opts.shards
                .map(shard::normalize)
                .unwrap_or_else(shard::default_shards)
        };
        Ok(CounterConfig {
            shards,
            cells,
            created: opts.created,
            exact_name: opts.exact_sample_name(MetricType::Counter),
        })
    }

    fn reserved_labels(_: &CounterConfig, _: &str) -> Vec<String> {
        Vec::new()
    }

    fn new_child(config: &CounterConfig, meta: ChildMeta) -> Self {
        let mut cells = config.cells.block(2, config.shards, &meta);
        // At most `MAX_SHARDS` (8) shards, a power of two: the mask fits the spare byte.
        cells.spare = (config.shards - 1) as u8;
        Counter(Arc::new(CounterCore {
            cells,
            created: AtomicU64::new(
                if config.created {
                    now_seconds()
                } else {
                    f64::NAN
                }
                .to_bits(),
            ),
            exemplar: ArcSwapOption::empty(),
            meta,
        }))
    }

    fn meta(&self) -> &ChildMeta {
        &self.0.meta
    }

    fn encode(&self, config: &CounterConfig, w: &mut SeriesWriter<'_>) {
        w.start(if config.exact_name { "" } else { "_total" }, None);
        let (int, float) = self.words();
        if float == 0.0 && int < 1_000_000 {
            // Most counters: whole and small, written as digits with no float formatting.
            crate::fmt::write_below_million(w.out, int as u32);
        } else {
            w.f64(combine_words(int, float));
        }
        // Only OpenMetrics carries exemplars: the classic format skips the slot's load.
        if w.openmetrics() {
            let ex = self.0.exemplar.load();
            w.exemplar(ex.as_deref());
        }
        w.end();
        let created = Counter::created(self);
        if !created.is_nan() {
            w.created(created);
        }
    }

    fn created(&self) -> Option<f64> {
        Some(Counter::created(self)).filter(|c| !c.is_nan())
    }

    fn point(&self, _: &CounterConfig) -> PointValue {
        PointValue::Counter {
            value: self.get(),
            created: Some(Counter::created(self)).filter(|c| !c.is_nan()),
            exemplar: self.0.exemplar.load_full().map(|e| (*e).clone()),
        }
    }

    #[inline(always)]
    fn prefetch_handle(&self) {
        crate::metric::prefetch(Arc::as_ptr(&self.0));
    }

    #[inline(always)]
    fn prefetch_cells(&self) {
        crate::metric::prefetch(self.0.cells.ptr());
        crate::metric::prefetch(self.0.meta.rendered().as_ptr());
    }

    fn fingerprint(&self) -> u64 {
        self.shards().fold(0u64, |acc, s| {
            acc.wrapping_add(s.int.load(Ordering::Relaxed))
                .wrapping_add(s.float_bits.load(Ordering::Relaxed))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn increments() {
        let c = Counter::standalone();
        c.inc();
        c.inc_by_u64(2);
        c.inc_by(0.5).unwrap();
        c.inc_by(1.0).unwrap();
        assert_eq!(c.get(), 4.5);
        assert_eq!(c.inc_by(-1.0), Err(Error::CounterDecrement(-1.0)));
        assert!(matches!(
            c.inc_by(f64::NAN),
            Err(Error::CounterDecrement(_))
        ));
        assert_eq!(c.get(), 4.5, "a rejected increment changes nothing");
        c.inc_by(f64::INFINITY).unwrap();
        assert_eq!(c.get(), f64::INFINITY);
    }

    #[test]
    fn layout_is_as_documented() {
        let c = Counter::standalone();
        let cells = crate::arena::HasCells::series_cells(&c);
        let base = cells.ptr as usize;
        assert_eq!(base % 8, 0);
        assert_eq!((cells.width, cells.lanes), (2, c.shard_count()));
        assert!(cells.lane_stride.is_power_of_two() && cells.lane_stride >= 64);
        // A write through the documented address shows in the value.
        for i in 0..c.shard_count() {
            let cell = unsafe { &*((base + cells.lane_stride * i) as *const CounterCell) };
            cell.int.fetch_add(10, Ordering::Relaxed);
            cell.float_bits.store(0.25f64.to_bits(), Ordering::Relaxed);
        }
        assert_eq!(c.get(), c.shard_count() as f64 * 10.25);
    }
}
