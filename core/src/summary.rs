//! Summaries: a count and a sum of observations (no quantiles; use a histogram for those).
//!
//! # Cell layout
//! Two little-endian `u64` words at `cells_ptr()`: the observation count (atomic add) and
//! the bits of the `f64` sum (compare-and-swap).

use crate::error::{Error, Result};
use crate::exemplar::now_seconds;
use crate::metric::{ChildMeta, Metric, MetricType, PointValue, SeriesWriter};
use crate::opts::Opts;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Debug)]
pub struct SummaryConfig {
    created: bool,
}

#[derive(Debug)]
pub struct SummaryCore {
    cells: [AtomicU64; 2],
    created: f64,
    meta: ChildMeta,
}

/// A handle to one summary.
#[derive(Debug, Clone)]
pub struct Summary(Arc<SummaryCore>);

impl Summary {
    pub fn standalone() -> Self {
        Self::new_child(&SummaryConfig { created: true }, ChildMeta::default())
    }

    /// Records `v`. NaN is ignored (see [`try_observe`](Self::try_observe)).
    #[inline]
    pub fn observe(&self, v: f64) {
        if v.is_nan() {
            return;
        }
        self.0.cells[0].fetch_add(1, Ordering::Relaxed);
        crate::counter::add_f64(&self.0.cells[1], v);
    }

    pub fn try_observe(&self, v: f64) -> Result<()> {
        if v.is_nan() {
            return Err(Error::InvalidValue("summary observation", v));
        }
        self.observe(v);
        Ok(())
    }

    /// `(count, sum)`.
    pub fn get(&self) -> (u64, f64) {
        (
            self.0.cells[0].load(Ordering::Relaxed),
            f64::from_bits(self.0.cells[1].load(Ordering::Relaxed)),
        )
    }

    pub fn reset(&self) {
        self.0
            .cells
            .iter()
            .for_each(|c| c.store(0, Ordering::Relaxed));
    }

    pub fn cells_ptr(&self) -> *const AtomicU64 {
        self.0.cells.as_ptr()
    }
}

impl Metric for Summary {
    const TYPE: MetricType = MetricType::Summary;
    type Config = SummaryConfig;

    fn config(opts: &Opts) -> Result<SummaryConfig> {
        if opts.buckets.is_some() || !opts.states.is_empty() {
            return Err(Error::InvalidOption(
                "summaries take no buckets or states".into(),
            ));
        }
        Ok(SummaryConfig {
            created: opts.created,
        })
    }

    fn reserved_labels(_: &SummaryConfig, _: &str) -> Vec<String> {
        vec!["quantile".into()]
    }

    fn new_child(config: &SummaryConfig, meta: ChildMeta) -> Self {
        Summary(Arc::new(SummaryCore {
            cells: [AtomicU64::new(0), AtomicU64::new(0)],
            created: if config.created {
                now_seconds()
            } else {
                f64::NAN
            },
            meta,
        }))
    }

    fn meta(&self) -> &ChildMeta {
        &self.0.meta
    }

    fn encode(&self, _: &SummaryConfig, w: &mut SeriesWriter<'_>) {
        let (count, sum) = self.get();
        w.start("_count", None);
        w.u64(count);
        w.end();
        w.start("_sum", None);
        w.f64(sum);
        w.end();
        if !self.0.created.is_nan() {
            w.created(self.0.created);
        }
    }

    fn created(&self) -> Option<f64> {
        Some(self.0.created).filter(|c| !c.is_nan())
    }

    fn point(&self, _: &SummaryConfig) -> PointValue {
        let (count, sum) = self.get();
        PointValue::Summary {
            count,
            sum,
            quantiles: Vec::new(),
            created: Some(self.0.created).filter(|c| !c.is_nan()),
        }
    }

    fn fingerprint(&self) -> u64 {
        self.0.cells[0].load(Ordering::Relaxed)
    }
}
