//! Histograms with fixed buckets.
//!
//! # Cell layout
//! Its [`SeriesCells`](crate::arena::SeriesCells)`.ptr` points to `bucket_count() + 2` little-endian `u64` words, 8-byte aligned:
//! words `0..=n` count observations per bucket, *not* cumulative (word `i` counts values in
//! `(bound[i-1], bound[i]]`, word `n` those above the last bound, i.e. the `+Inf` bucket);
//! word `n + 1` holds the bits of the `f64` sum. An observation is one atomic add on its
//! bucket and a compare-and-swap on the sum.
//!
//! # Consistency without stopping writers
//! `_count` is not stored: a scrape reads each bucket word once and derives the cumulative
//! buckets and `_count` from that one reading, so in every exposition `+Inf == _count` and
//! buckets never decrease, whatever writers do meanwhile. `_sum` is read separately and may
//! include or miss observations in flight during the scrape (at most one per writer thread).

use crate::arena::OwnedBlock;
use crate::error::{Error, Result};
use crate::exemplar::{now_seconds, Exemplar};
use crate::fmt;
use crate::metric::{ChildMeta, Metric, MetricType, PointValue, SeriesWriter, SumCount};
use crate::native::NativeCore;
use crate::opts::{Opts, DEFAULT_BUCKETS};
use crate::validate;
use arc_swap::ArcSwapOption;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

/// Bucket bounds and their rendered `le` values, shared by a family's children.
#[derive(Debug)]
pub struct HistogramConfig {
    bounds: Arc<[f64]>,
    le_text: Box<[String]>,
    le_openmetrics: Box<[String]>,
    created: bool,
    cells: crate::multiprocess::CellSource,
    native: Option<Arc<crate::native::NativeConfig>>,
}

impl HistogramConfig {
    pub(crate) fn new(bounds: &[f64], created: bool) -> Result<Self> {
        Ok(Self::with_bounds(validate::buckets(bounds)?, created))
    }

    /// A config with already validated `bounds` (empty only for a native histogram).
    fn with_bounds(bounds: Vec<f64>, created: bool) -> Self {
        let le = |f: fn(f64) -> String| -> Box<[String]> {
            bounds
                .iter()
                .copied()
                .chain([f64::INFINITY])
                .map(f)
                .collect()
        };
        HistogramConfig {
            le_text: le(fmt::float_string),
            le_openmetrics: le(fmt::float_string_openmetrics),
            bounds: bounds.into(),
            created,
            cells: Default::default(),
            native: None,
        }
    }

    pub fn bounds(&self) -> &[f64] {
        &self.bounds
    }
}

#[derive(Debug)]
pub(crate) struct HistogramCore {
    bounds: Arc<[f64]>,
    /// `bucket_count() + 2` cells in lane 0 of the arena (see the layout above).
    cells: OwnedBlock,
    created: f64,
    exemplars: OnceLock<Box<[ArcSwapOption<Exemplar>]>>,
    /// Native histograms keep all their counts here (the classic cells stay zero).
    native: Option<Arc<NativeCore>>,
    meta: ChildMeta,
}

/// A handle to one histogram.
#[derive(Debug, Clone)]
pub struct Histogram(Arc<HistogramCore>);

/// A consistent reading of a histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// Cumulative counts, one per bound plus `+Inf` last.
    pub cumulative: Vec<u64>,
    /// Observations: the `+Inf` bucket's cumulative count, from the same reading.
    pub count: u64,
    /// The sum of observations, read after the buckets (it may include or miss observations
    /// in flight).
    pub sum: f64,
}

impl Histogram {
    /// A histogram with upper bounds `bounds`, outside any registry (for tests and custom
    /// collectors).
    pub fn standalone(bounds: &[f64]) -> Result<Self> {
        Ok(Self::new_child(
            &HistogramConfig::new(bounds, true)?,
            ChildMeta::default(),
        ))
    }

    #[inline(always)]
    fn bucket_index(&self, v: f64) -> usize {
        // First bound with v <= bound; NaN lands past the end, which callers rule out.
        self.0.bounds.partition_point(|&b| b < v)
    }

    /// Records `v`. NaN is ignored (use [`try_observe`](Self::try_observe) to get an error).
    #[inline]
    pub fn observe(&self, v: f64) {
        if let Some(native) = &self.0.native {
            native.observe(v);
            return;
        }
        if v.is_nan() {
            return;
        }
        let i = self.bucket_index(v);
        let cells = self.0.cells.lane0();
        // In bounds: i <= bounds.len() and cells has bounds.len() + 2 words.
        unsafe { cells.get_unchecked(i) }.fetch_add(1, Ordering::Relaxed);
        crate::counter::add_f64(unsafe { cells.get_unchecked(cells.len() - 1) }, v);
    }

    /// Records `v`, rejecting NaN with a typed error.
    pub fn try_observe(&self, v: f64) -> Result<()> {
        if v.is_nan() {
            return Err(Error::InvalidValue("histogram observation", v));
        }
        self.observe(v);
        Ok(())
    }

    /// Records `v` with an exemplar on its bucket.
    pub fn observe_with_exemplar<K: AsRef<str>, V: AsRef<str>>(
        &self,
        v: f64,
        labels: &[(K, V)],
    ) -> Result<()> {
        if v.is_nan() {
            return Err(Error::InvalidValue("histogram observation", v));
        }
        let exemplar = Exemplar::new(labels, v)?;
        self.observe(v);
        if let Some(native) = &self.0.native {
            native.record_exemplar(exemplar);
            return Ok(());
        }
        let slots = self.0.exemplars.get_or_init(|| {
            (0..=self.0.bounds.len())
                .map(|_| ArcSwapOption::empty())
                .collect()
        });
        let bucket = self.bucket_index(v);
        if self.0.cells.in_lane_file() {
            crate::lanes::record_exemplar(self.0.cells.ptr(), bucket as u32, &exemplar);
        }
        slots[bucket].store(Some(Arc::new(exemplar)));
        Ok(())
    }

    /// Starts a timer that observes the elapsed seconds when dropped or stopped.
    pub fn start_timer(&self) -> HistogramTimer {
        HistogramTimer {
            histogram: self.clone(),
            start: std::time::Instant::now(),
            done: false,
        }
    }

    /// Reads every bucket once and derives cumulative counts and `_count` from that reading.
    pub fn snapshot(&self) -> HistogramSnapshot {
        if let Some(native) = &self.0.native {
            let r = native.read();
            return HistogramSnapshot {
                cumulative: r.cumulative(),
                count: r.count,
                sum: r.sum,
            };
        }
        let cells = self.0.cells.lane0();
        let n = cells.len() - 1;
        let mut cumulative = Vec::with_capacity(n);
        let mut acc = 0u64;
        for c in &cells[..n] {
            acc = acc.wrapping_add(c.load(Ordering::Relaxed));
            cumulative.push(acc);
        }
        HistogramSnapshot {
            cumulative,
            count: acc,
            sum: f64::from_bits(cells[n].load(Ordering::Relaxed)),
        }
    }

    /// Zeroes the buckets and the sum, and drops the exemplars.
    pub fn reset(&self) {
        if let Some(native) = &self.0.native {
            native.reset();
            return;
        }
        for c in self.0.cells.lane0().iter() {
            c.store(0, Ordering::Relaxed);
        }
        if let Some(slots) = self.0.exemplars.get() {
            slots.iter().for_each(|s| s.store(None));
        }
    }

    /// Number of finite bounds `n`; the cells hold `n + 2` words.
    pub fn bucket_count(&self) -> usize {
        self.0.bounds.len()
    }

    /// The finite upper bounds, ascending (`+Inf` implied).
    pub fn bounds(&self) -> &[f64] {
        &self.0.bounds
    }

    /// Whether the histogram has native buckets (its cells are then not written: bindings
    /// must call [`observe`](Self::observe)).
    pub fn is_native(&self) -> bool {
        self.0.native.is_some()
    }

    /// For a native histogram, the bucket cells it holds now (8 bytes each, both buffers'
    /// windows): its memory beyond the fixed part grows with these.
    pub fn native_cells(&self) -> Option<usize> {
        self.0.native.as_ref().map(|n| n.window_cells())
    }

    /// For a native histogram, the addresses a binding observes through without calling into
    /// the core, following the protocol of [`crate::native::raw`]. Valid while any handle of
    /// this histogram lives.
    pub fn native_view(&self) -> Option<crate::native::raw::View> {
        self.0.native.as_ref().map(|n| n.view())
    }

    /// Step 3 of the [`crate::native::raw`] protocol (a key outside the window, its start
    /// counted as skipped): records `v` under the series' lock. No-op on a classic histogram.
    pub fn native_observe_skipped(&self, v: f64) {
        if let Some(n) = &self.0.native {
            n.observe_skipped(v);
        }
    }

    /// Step 5 of the [`crate::native::raw`] protocol (a new bucket, `populated` now, possibly
    /// past the limit): applies the bucket-limit strategy. No-op on a classic histogram.
    pub fn native_bucket_created(&self, populated: u32, v: f64) {
        if let Some(n) = &self.0.native {
            n.bucket_created(populated, v);
        }
    }

    /// The native buckets of a consistent reading, for a native histogram.
    pub fn native_buckets(&self) -> Option<crate::native::NativeBuckets> {
        self.0.native.as_ref().map(|n| n.read().native)
    }

    fn exemplar(&self, i: usize) -> Option<arc_swap::Guard<Option<Arc<Exemplar>>>> {
        self.0.exemplars.get().map(|slots| slots[i].load())
    }
}

/// A native histogram's point from one consistent reading: its classic buckets (bounds
/// `bounds`, then `+Inf`; only `+Inf` without bounds) and its native buckets.
pub(crate) fn native_point(
    r: crate::native::NativeReading,
    bounds: &[f64],
    created: Option<f64>,
) -> PointValue {
    let buckets = bounds
        .iter()
        .copied()
        .chain([f64::INFINITY])
        .zip(r.cumulative())
        .zip(&r.classic_exemplars)
        .map(|((b, c), e)| (b, c, e.clone()))
        .collect();
    PointValue::Histogram {
        buckets,
        count: r.count,
        sum: r.sum,
        created,
        native: Some(Box::new(r.native)),
    }
}

/// Observes the elapsed time in seconds when stopped or dropped.
#[must_use = "a timer observes when dropped; binding it to `_` drops it at once"]
pub struct HistogramTimer {
    histogram: Histogram,
    start: std::time::Instant,
    done: bool,
}

impl HistogramTimer {
    /// Observes and returns the elapsed seconds.
    pub fn observe_duration(mut self) -> f64 {
        self.finish()
    }

    fn finish(&mut self) -> f64 {
        let secs = self.start.elapsed().as_secs_f64();
        if !self.done {
            self.done = true;
            self.histogram.observe(secs);
        }
        secs
    }
}

impl Drop for HistogramTimer {
    fn drop(&mut self) {
        self.finish();
    }
}

impl crate::arena::HasCells for Histogram {
    fn series_cells(&self) -> crate::arena::SeriesCells {
        self.0.cells.series_cells(1)
    }
}

impl Metric for Histogram {
    fn into_raw(self) -> *const () {
        Arc::into_raw(self.0) as *const ()
    }

    unsafe fn from_raw(p: *const ()) -> Self {
        // SAFETY: the caller's contract: `p` is from `into_raw`, its reference not taken back.
        Histogram(unsafe { Arc::from_raw(p as *const HistogramCore) })
    }

    fn as_raw(&self) -> *const () {
        Arc::as_ptr(&self.0) as *const ()
    }

    const TYPE: MetricType = MetricType::Histogram;
    type Config = HistogramConfig;

    fn config(opts: &Opts) -> Result<HistogramConfig> {
        if !opts.states.is_empty() {
            return Err(Error::InvalidOption("histograms take no states".into()));
        }
        let native = match &opts.native {
            Some(_) if opts.multiprocess.is_some() => {
                return Err(Error::InvalidOption(
                    "native histograms are not available in multi-process mode".into(),
                ))
            }
            Some(native) => Some(Arc::new(native.validate()?)),
            None => None,
        };
        let mut config = match (&opts.buckets, &native) {
            (Some(bounds), _) => HistogramConfig::new(bounds, opts.created)?,
            // A native histogram without classic bounds has only `+Inf`, as in client_golang.
            (None, Some(_)) => HistogramConfig::with_bounds(Vec::new(), opts.created),
            (None, None) => HistogramConfig::new(DEFAULT_BUCKETS, opts.created)?,
        };
        config.native = native;
        config.cells = crate::multiprocess::CellSource::for_family(
            opts,
            MetricType::Histogram,
            &config.bounds,
        )?;
        Ok(config)
    }

    fn reserved_labels(_: &HistogramConfig, _: &str) -> Vec<String> {
        vec!["le".into()]
    }

    fn new_child(config: &HistogramConfig, meta: ChildMeta) -> Self {
        let words = config.bounds.len() + 2;
        let cells = config.cells.block(words, 1, &meta);
        let native = config
            .native
            .as_ref()
            .map(|n| NativeCore::new(n.clone(), config.bounds.clone()));
        Histogram(Arc::new(HistogramCore {
            native,
            bounds: config.bounds.clone(),
            cells,
            created: if config.created {
                now_seconds()
            } else {
                f64::NAN
            },
            exemplars: OnceLock::new(),
            meta,
        }))
    }

    fn meta(&self) -> &ChildMeta {
        &self.0.meta
    }

    fn encode(&self, config: &HistogramConfig, w: &mut SeriesWriter<'_>) {
        let les = if w.openmetrics_label_floats() {
            &config.le_openmetrics
        } else {
            &config.le_text
        };
        if let Some(native) = &self.0.native {
            // Classic text and OpenMetrics carry the classic buckets only.
            // One classic count per `le` (bounds and `+Inf`, or `+Inf` alone).
            let r = native.read();
            w.histogram_lines(
                les,
                r.classic.iter().map(|&c| c as f64),
                r.sum,
                SumCount::CountFirst,
                "",
                |i| r.classic_exemplars.get(i).cloned().flatten().map(Arc::new),
            );
            if !self.0.created.is_nan() {
                w.created(self.0.created);
            }
            return;
        }
        let cells = self.0.cells.lane0();
        let n = cells.len() - 1;
        w.histogram_lines(
            les,
            cells[..n].iter().map(|c| c.load(Ordering::Relaxed) as f64),
            f64::from_bits(cells[n].load(Ordering::Relaxed)),
            SumCount::CountFirst,
            "",
            |i| self.exemplar(i).and_then(|g| g.as_ref().cloned()),
        );
        if !self.0.created.is_nan() {
            w.created(self.0.created);
        }
    }

    fn created(&self) -> Option<f64> {
        Some(self.0.created).filter(|c| !c.is_nan())
    }

    fn point(&self, _: &HistogramConfig) -> PointValue {
        if let Some(native) = &self.0.native {
            let created = Some(self.0.created).filter(|c| !c.is_nan());
            return native_point(native.read(), &self.0.bounds, created);
        }
        let s = self.snapshot();
        let buckets = s
            .cumulative
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                let bound = self.0.bounds.get(i).copied().unwrap_or(f64::INFINITY);
                let ex = self.exemplar(i).and_then(|g| g.as_deref().cloned());
                (bound, c, ex)
            })
            .collect();
        PointValue::Histogram {
            buckets,
            count: s.count,
            sum: s.sum,
            created: Some(self.0.created).filter(|c| !c.is_nan()),
            native: None,
        }
    }

    fn fingerprint(&self) -> u64 {
        if let Some(native) = &self.0.native {
            return native.started();
        }
        self.0
            .cells
            .lane0()
            .iter()
            .fold(0u64, |a, c| a.wrapping_add(c.load(Ordering::Relaxed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_upper_inclusive() {
        let h = Histogram::standalone(&[1.0, 2.0, 5.0]).unwrap();
        for v in [0.5, 1.0, 1.5, 2.0, 5.0, 7.0, f64::INFINITY] {
            h.observe(v);
        }
        h.observe(f64::NAN);
        assert!(h.try_observe(f64::NAN).is_err());
        let s = h.snapshot();
        assert_eq!(s.cumulative, vec![2, 4, 5, 7]);
        assert_eq!(s.count, 7);
        assert_eq!(s.sum, f64::INFINITY);
    }

    #[test]
    fn layout_is_as_documented() {
        let h = Histogram::standalone(&[1.0, 2.0]).unwrap();
        let words = unsafe {
            std::slice::from_raw_parts(
                crate::arena::HasCells::series_cells(&h).ptr,
                h.bucket_count() + 2,
            )
        };
        words[1].fetch_add(3, Ordering::Relaxed);
        words[3].store(4.5f64.to_bits(), Ordering::Relaxed);
        let s = h.snapshot();
        assert_eq!((s.cumulative, s.count, s.sum), (vec![0, 3, 3], 3, 4.5));
    }

    #[test]
    fn timer_observes_once() {
        let h = Histogram::standalone(&[10.0]).unwrap();
        let t = h.start_timer();
        let secs = t.observe_duration();
        assert!(secs >= 0.0);
        drop(h.start_timer());
        assert_eq!(h.snapshot().count, 2);
    }
}
