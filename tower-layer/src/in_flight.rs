//! `http_requests_in_flight`, kept as requests started minus requests finished.
//!
//! Two sharded counters rather than one gauge: a gauge's increment is a compare-and-swap on
//! one cache line that every core serving requests contends for, twice per request; a
//! sharded counter's increment is one add on the calling thread's own shard. The difference
//! is taken when the gauge is read or scraped.

use footmetrics::{
    Collector, Counter, Desc, Family, Gauge, MetricFamily, MetricType, Opts, PointValue,
};

/// Requests currently in flight through a [`MetricsLayer`](crate::MetricsLayer).
#[derive(Clone)]
pub struct InFlight {
    started: Counter,
    finished: Counter,
}

impl InFlight {
    pub(crate) fn new() -> Self {
        InFlight {
            started: Counter::standalone(),
            finished: Counter::standalone(),
        }
    }

    #[inline]
    pub(crate) fn start(&self) {
        self.started.inc();
    }

    #[inline]
    pub(crate) fn finish(&self) {
        self.finished.inc();
    }

    /// The current value. Reads `finished` before `started`, so a request that finishes
    /// during the read is never counted as finished but not started.
    pub fn get(&self) -> f64 {
        let finished = self.finished.get();
        let started = self.started.get();
        (started - finished).max(0.0)
    }
}

/// Exposes an [`InFlight`] as a gauge family with its const labels.
pub(crate) struct InFlightCollector {
    desc: Desc,
    value: InFlight,
}

impl InFlightCollector {
    /// Validates `opts` as a gauge family without labels (the catalog's declaration).
    pub(crate) fn new(opts: &Opts) -> footmetrics::Result<Self> {
        let desc = Family::<Gauge>::new(opts)?.desc().clone();
        Ok(InFlightCollector {
            desc,
            value: InFlight::new(),
        })
    }

    pub(crate) fn value(&self) -> &InFlight {
        &self.value
    }
}

impl Collector for InFlightCollector {
    fn descs(&self) -> Vec<Desc> {
        vec![self.desc.clone()]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let d = &self.desc;
        let mut family = MetricFamily::new(&d.name, &d.help, MetricType::Gauge);
        if let Some(unit) = &d.unit {
            family = family.with_unit(unit);
        }
        family.push(
            d.const_labels.iter().cloned(),
            PointValue::Gauge(self.value.get()),
        );
        vec![family]
    }
}
