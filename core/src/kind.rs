//! The exposition types of metric families.

/// The exposition type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Info,
    StateSet,
    /// A histogram of a current distribution (e.g. queue items by age): `_gcount`/`_gsum`.
    GaugeHistogram,
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
    pub fn text_name(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge | MetricType::Info | MetricType::StateSet => "gauge",
            MetricType::Histogram | MetricType::GaugeHistogram => "histogram",
            MetricType::Summary => "summary",
            MetricType::Unknown => "untyped",
        }
    }

    /// The suffix the family's samples carry and the classic format's header names.
    pub fn name_suffix(self) -> &'static str {
        match self {
            MetricType::Counter => "_total",
            MetricType::Info => "_info",
            _ => "",
        }
    }
}
