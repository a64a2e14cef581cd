//! Gauges: values that go up and down.
//!
//! # Cell layout
//! One `u64` at its [`SeriesCells`](crate::arena::SeriesCells)`.ptr`, 8-byte aligned, holding the bits of an `f64`. `set` is a plain
//! atomic store; `inc`/`dec` are compare-and-swap loops on the bits. In a multi-process lane
//! file a gauge has a second cell, the time of its last write (the bits of an `f64`, seconds
//! since the epoch), written after the value by gauges of the `mostrecent` modes.

use crate::arena::OwnedBlock;
use crate::error::{Error, Result};
use crate::exemplar::now_seconds;
use crate::metric::{ChildMeta, Metric, MetricType, PointValue, SeriesWriter};
use crate::opts::Opts;
use std::sync::atomic::Ordering;
use std::sync::Arc;

#[derive(Debug)]
pub(crate) struct GaugeCore {
    /// One cell in lane 0 of the arena: the bits of the value (two in a lane file; its
    /// `spare` byte is 1 when writes record their time).
    bits: OwnedBlock,
    meta: ChildMeta,
}

/// Shared by every child of a gauge family: where its cells come from.
#[derive(Debug, Default)]
pub struct GaugeConfig {
    cells: crate::multiprocess::CellSource,
}

/// A handle to one gauge.
#[derive(Debug, Clone)]
pub struct Gauge(Arc<GaugeCore>);

impl Gauge {
    /// A gauge outside any registry (for tests and custom collectors).
    pub fn standalone() -> Self {
        Self::new_child(&GaugeConfig::default(), ChildMeta::default())
    }

    /// Sets the value: one atomic store (NaN is stored; see [`try_set`](Self::try_set)).
    #[inline]
    pub fn set(&self, v: f64) {
        self.0.bits.first().store(v.to_bits(), Ordering::Relaxed);
        self.written();
    }

    /// Records the time of a write, for gauges whose mode needs it.
    #[inline(always)]
    fn written(&self) {
        if self.0.bits.spare != 0 {
            self.0.bits.lane0()[1].store(now_seconds().to_bits(), Ordering::Relaxed);
        }
    }

    /// Adds `v` (negative to subtract), by compare-and-swap.
    #[inline]
    pub fn add(&self, v: f64) {
        crate::counter::add_f64(self.0.bits.first(), v);
        self.written();
    }

    /// Subtracts `v`.
    #[inline]
    pub fn sub(&self, v: f64) {
        self.add(-v);
    }

    /// Adds 1.
    #[inline]
    pub fn inc(&self) {
        self.add(1.0);
    }

    /// Subtracts 1.
    #[inline]
    pub fn dec(&self) {
        self.add(-1.0);
    }

    /// Sets the gauge to the current Unix time in seconds.
    pub fn set_to_current_time(&self) {
        self.set(now_seconds());
    }

    /// Like [`set`](Self::set) but rejects NaN, for callers that treat NaN as a bug.
    pub fn try_set(&self, v: f64) -> Result<()> {
        if v.is_nan() {
            return Err(Error::InvalidValue("gauge", v));
        }
        self.set(v);
        Ok(())
    }

    /// The current value.
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.bits.first().load(Ordering::Relaxed))
    }
}

impl crate::arena::HasCells for Gauge {
    fn series_cells(&self) -> crate::arena::SeriesCells {
        self.0.bits.series_cells(1)
    }
}

impl Metric for Gauge {
    fn into_raw(self) -> *const () {
        Arc::into_raw(self.0) as *const ()
    }

    unsafe fn from_raw(p: *const ()) -> Self {
        // SAFETY: the caller's contract: `p` is from `into_raw`, its reference not taken back.
        Gauge(unsafe { Arc::from_raw(p as *const GaugeCore) })
    }

    fn as_raw(&self) -> *const () {
        Arc::as_ptr(&self.0) as *const ()
    }

    const TYPE: MetricType = MetricType::Gauge;
    type Config = GaugeConfig;

    fn config(opts: &Opts) -> Result<GaugeConfig> {
        if opts.buckets.is_some() || !opts.states.is_empty() {
            return Err(Error::InvalidOption(
                "gauges take no buckets or states".into(),
            ));
        }
        Ok(GaugeConfig {
            cells: crate::multiprocess::CellSource::for_family(opts, MetricType::Gauge, &[])?,
        })
    }

    fn reserved_labels(_: &GaugeConfig, _: &str) -> Vec<String> {
        Vec::new()
    }

    fn new_child(config: &GaugeConfig, meta: ChildMeta) -> Self {
        // A lane file's gauge has a second cell for the time of its last write.
        let width = if config.cells.is_file() { 2 } else { 1 };
        Gauge(Arc::new(GaugeCore {
            bits: config.cells.block(width, 1, &meta),
            meta,
        }))
    }

    fn meta(&self) -> &ChildMeta {
        &self.0.meta
    }

    fn encode(&self, _: &GaugeConfig, w: &mut SeriesWriter<'_>) {
        w.start("", None);
        w.f64(self.get());
        w.end();
    }

    fn point(&self, _: &GaugeConfig) -> PointValue {
        PointValue::Gauge(self.get())
    }

    fn fingerprint(&self) -> u64 {
        self.0.bits.first().load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_and_down() {
        let g = Gauge::standalone();
        g.inc();
        g.add(2.5);
        g.dec();
        g.sub(0.5);
        assert_eq!(g.get(), 2.0);
        g.set(-7.0);
        assert_eq!(g.get(), -7.0);
        assert!(g.try_set(f64::NAN).is_err());
        assert_eq!(g.get(), -7.0);
        g.set_to_current_time();
        assert!(g.get() > 1.7e9);
    }
}
