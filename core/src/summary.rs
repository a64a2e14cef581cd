//! Summaries: a count and a sum of observations, and optionally quantiles over a sliding
//! window for objectives given in [`Opts::objectives`] (client_golang's semantics, see
//! [`crate::targeted`]).
//!
//! # Cell layout
//! Two little-endian `u64` words at its [`SeriesCells`](crate::arena::SeriesCells)`.ptr`: the observation count (atomic add) and
//! the bits of the `f64` sum (compare-and-swap).
//!
//! # Locking
//! Count and sum stay lock-free. With objectives, each child also owns a
//! [`TargetedQuantiles`] behind its own mutex: an observation holds it to append to the hot
//! buffer (and, once per `buf_cap` observations, to merge the buffer into the streams); a
//! read or a scrape holds it to flush and query. No other lock is taken while it is held.
//! A poisoned mutex is taken over (the estimator has no invariant a panic could break
//! halfway that matters more than keeping the series alive).

use crate::arena::OwnedBlock;
use crate::error::{Error, Result};
use crate::exemplar::now_seconds;
use crate::metric::{ChildMeta, Metric, MetricType, PointValue, SeriesWriter, SumCount};
use crate::opts::Opts;
use crate::targeted::{Objectives, TargetedQuantiles};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

#[derive(Debug)]
pub struct SummaryConfig {
    created: bool,
    cells: crate::multiprocess::CellSource,
    objectives: Option<Objectives>,
}

#[derive(Debug)]
pub(crate) struct SummaryCore {
    /// Count and sum: two cells in lane 0 of the arena.
    cells: OwnedBlock,
    created: f64,
    meta: ChildMeta,
    window: Option<Mutex<TargetedQuantiles>>,
}

/// A handle to one summary.
#[derive(Debug, Clone)]
pub struct Summary(Arc<SummaryCore>);

impl Summary {
    /// A summary without quantiles, outside any registry (for tests and custom collectors).
    pub fn standalone() -> Self {
        Self::new_child(
            &SummaryConfig {
                created: true,
                objectives: None,
                cells: Default::default(),
            },
            ChildMeta::default(),
        )
    }

    /// A summary without labels reporting quantiles for `objectives`.
    #[cfg(test)]
    pub(crate) fn standalone_with_objectives(objectives: Objectives) -> Self {
        Self::new_child(
            &SummaryConfig {
                created: true,
                objectives: Some(objectives),
                cells: Default::default(),
            },
            ChildMeta::default(),
        )
    }

    fn window(&self) -> Option<MutexGuard<'_, TargetedQuantiles>> {
        self.0
            .window
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// Whether this summary computes quantiles.
    pub fn has_objectives(&self) -> bool {
        self.0.window.is_some()
    }

    /// Feeds values to the quantile estimator only (count and sum are not touched: for
    /// bindings that update the cells themselves). NaN anywhere rejects the whole batch;
    /// a summary without objectives is an error.
    pub fn observe_quantiles(&self, values: &[f64]) -> Result<()> {
        if let Some(v) = values.iter().find(|v| v.is_nan()) {
            return Err(Error::InvalidValue("summary observation", *v));
        }
        let mut w = self
            .window()
            .ok_or_else(|| Error::InvalidOption("the summary has no quantile objectives".into()))?;
        let now = Instant::now();
        for &v in values {
            w.observe(v, now);
        }
        Ok(())
    }

    /// `(quantile, value)` per objective, ascending (NaN values while the window is empty);
    /// empty without objectives.
    pub fn quantiles(&self) -> Vec<(f64, f64)> {
        self.window()
            .map(|mut w| w.quantiles(Instant::now()))
            .unwrap_or_default()
    }

    /// Records `v`. NaN is ignored (see [`try_observe`](Self::try_observe)).
    #[inline]
    pub fn observe(&self, v: f64) {
        if v.is_nan() {
            return;
        }
        self.0.cells.lane0()[0].fetch_add(1, Ordering::Relaxed);
        crate::counter::add_f64(&self.0.cells.lane0()[1], v);
        if let Some(mut w) = self.window() {
            w.observe(v, Instant::now());
        }
    }

    /// Records `v`, rejecting NaN with a typed error.
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
            self.0.cells.lane0()[0].load(Ordering::Relaxed),
            f64::from_bits(self.0.cells.lane0()[1].load(Ordering::Relaxed)),
        )
    }

    /// Zeroes the count and the sum, and forgets the observations of the quantile window.
    pub fn reset(&self) {
        self.0
            .cells
            .lane0()
            .iter()
            .for_each(|c| c.store(0, Ordering::Relaxed));
        if let Some(mut w) = self.window() {
            w.reset();
        }
    }
}

impl crate::arena::HasCells for Summary {
    fn series_cells(&self) -> crate::arena::SeriesCells {
        self.0.cells.series_cells(1)
    }
}

impl Metric for Summary {
    fn into_raw(self) -> *const () {
        Arc::into_raw(self.0) as *const ()
    }

    unsafe fn from_raw(p: *const ()) -> Self {
        // SAFETY: the caller's contract: `p` is from `into_raw`, its reference not taken back.
        Summary(unsafe { Arc::from_raw(p as *const SummaryCore) })
    }

    fn as_raw(&self) -> *const () {
        Arc::as_ptr(&self.0) as *const ()
    }

    const TYPE: MetricType = MetricType::Summary;
    type Config = SummaryConfig;

    fn config(opts: &Opts) -> Result<SummaryConfig> {
        if opts.buckets.is_some() || !opts.states.is_empty() {
            return Err(Error::InvalidOption(
                "summaries take no buckets or states".into(),
            ));
        }
        let objectives = if opts.objectives.is_empty() {
            None
        } else {
            Some(Objectives::new(
                &opts.objectives,
                opts.max_age,
                opts.age_buckets,
                opts.buf_cap,
            )?)
        };
        Ok(SummaryConfig {
            created: opts.created,
            cells: crate::multiprocess::CellSource::for_family(opts, MetricType::Summary, &[])?,
            objectives,
        })
    }

    fn reserved_labels(_: &SummaryConfig, _: &str) -> Vec<String> {
        vec!["quantile".into()]
    }

    fn new_child(config: &SummaryConfig, meta: ChildMeta) -> Self {
        Summary(Arc::new(SummaryCore {
            cells: config.cells.block(2, 1, &meta),
            created: if config.created {
                now_seconds()
            } else {
                f64::NAN
            },
            meta,
            window: config
                .objectives
                .as_ref()
                .map(|o| Mutex::new(TargetedQuantiles::new(o, Instant::now()))),
        }))
    }

    fn meta(&self) -> &ChildMeta {
        &self.0.meta
    }

    fn encode(&self, _: &SummaryConfig, w: &mut SeriesWriter<'_>) {
        // Quantiles first (ascending), read before count and sum as client_golang does.
        let om = w.openmetrics_label_floats();
        let quantiles = self.quantiles().into_iter().map(|(q, v)| {
            let label = if om {
                crate::fmt::float_string_openmetrics(q)
            } else {
                crate::fmt::float_string(q)
            };
            (label, v)
        });
        let quantiles: Vec<(String, f64)> = quantiles.collect();
        let (count, sum) = self.get();
        w.summary_lines(
            quantiles.into_iter(),
            count as f64,
            sum,
            SumCount::CountFirst,
            "",
        );
        if !self.0.created.is_nan() {
            w.created(self.0.created);
        }
    }

    fn created(&self) -> Option<f64> {
        Some(self.0.created).filter(|c| !c.is_nan())
    }

    fn point(&self, _: &SummaryConfig) -> PointValue {
        let quantiles = self.quantiles();
        let (count, sum) = self.get();
        PointValue::Summary {
            count,
            sum,
            quantiles,
            created: Some(self.0.created).filter(|c| !c.is_nan()),
        }
    }

    fn fingerprint(&self) -> u64 {
        self.0.cells.lane0()[0].load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Format, Registry};
    use std::time::Duration;

    #[test]
    fn quantile_lines_precede_count_and_sum() {
        let r = Registry::new();
        let f = r
            .summary_vec(
                &Opts::new("rpc_seconds", "RPC latency.")
                    .labels(&["svc"])
                    .objectives(vec![(0.99, 0.001), (0.5, 0.05), (0.9, 0.01)])
                    .created(false),
            )
            .unwrap();
        let a = f.with_label_values(&["a"]).unwrap();
        a.observe(10.0);
        a.observe(20.0);
        f.with_label_values(&["b"]).unwrap();
        let text = r.render(Format::Text);
        let a_lines: Vec<&str> = text.lines().filter(|l| l.contains("svc=\"a\"")).collect();
        assert_eq!(
            a_lines,
            [
                "rpc_seconds{svc=\"a\",quantile=\"0.5\"} 10",
                "rpc_seconds{svc=\"a\",quantile=\"0.9\"} 20",
                "rpc_seconds{svc=\"a\",quantile=\"0.99\"} 20",
                "rpc_seconds_count{svc=\"a\"} 2",
                "rpc_seconds_sum{svc=\"a\"} 30",
            ]
        );
        assert!(text.contains("rpc_seconds{svc=\"b\",quantile=\"0.5\"} NaN"));
        let om = r.render(Format::OpenMetrics);
        assert!(
            om.contains("rpc_seconds{svc=\"a\",quantile=\"0.99\"} 20\n"),
            "{om}"
        );
        match a.point(&f_config()) {
            PointValue::Summary { quantiles, .. } => {
                assert_eq!(quantiles, vec![(0.5, 10.0), (0.9, 20.0), (0.99, 20.0)])
            }
            other => panic!("{other:?}"),
        }
    }

    fn f_config() -> SummaryConfig {
        SummaryConfig {
            created: false,
            objectives: None,
            cells: Default::default(),
        }
    }

    #[test]
    fn estimator_only_feed_and_reset() {
        let o = Objectives::new(&[(0.5, 0.05)], Duration::ZERO, 0, 0).unwrap();
        let s = Summary::standalone_with_objectives(o);
        s.observe_quantiles(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!(s.get(), (0, 0.0), "count and sum are the caller's");
        assert_eq!(s.quantiles(), vec![(0.5, 2.0)]);
        assert!(matches!(
            s.observe_quantiles(&[1.0, f64::NAN]),
            Err(Error::InvalidValue(..))
        ));
        s.observe(f64::NAN);
        assert_eq!(
            s.quantiles(),
            vec![(0.5, 2.0)],
            "NaN never reaches the estimator"
        );
        s.reset();
        assert!(s.quantiles()[0].1.is_nan());
        assert!(Summary::standalone().observe_quantiles(&[1.0]).is_err());
        assert!(Summary::standalone().quantiles().is_empty());
    }

    #[test]
    fn bad_objectives_are_refused_by_the_family() {
        let r = Registry::new();
        for bad in [
            vec![(1.0, 0.01)],
            vec![(0.5, 1.5)],
            vec![(0.5, 0.1), (0.5, 0.2)],
        ] {
            let err = r
                .summary_vec(&Opts::new("bad", "h").objectives(bad.clone()))
                .unwrap_err();
            assert!(matches!(err, Error::InvalidOption(_)), "{bad:?}: {err}");
        }
    }
}
