//! The exposition types of metric families.

/// The exposition type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// A monotonically increasing total (samples `_total`, `_created`).
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Observations counted in buckets (`_bucket`, `_count`, `_sum`).
    Histogram,
    /// A count and sum of observations (`_count`, `_sum`), optionally with quantiles.
    Summary,
    /// A constant 1 carrying descriptive labels (`_info`).
    Info,
    /// Named boolean states, one sample per state.
    StateSet,
    /// A histogram of a current distribution (e.g. queue items by age): `_gcount`/`_gsum`.
    GaugeHistogram,
    /// A value of unknown type (`untyped` in the classic format).
    Unknown,
}

impl MetricType {
    /// The `# TYPE` word in OpenMetrics.
    pub fn openmetrics_name(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Unknown => "unknown",
        }
    }

    /// The `# TYPE` word in the classic text format, which has no info or stateset.
    pub(crate) fn text_name(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge | MetricType::Info | MetricType::StateSet => "gauge",
            MetricType::Histogram | MetricType::GaugeHistogram => "histogram",
            MetricType::Summary => "summary",
            MetricType::Unknown => "untyped",
        }
    }

    /// The suffix the family's samples carry and the classic format's header names.
    pub(crate) fn name_suffix(self) -> &'static str {
        match self {
            MetricType::Counter => "_total",
            MetricType::Info => "_info",
            _ => "",
        }
    }
}
