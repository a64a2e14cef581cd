//! Options shared by every metric type: one struct, so bindings fill one shape.

use crate::error::{Error, Result};
use crate::kind::MetricType;
use crate::validate;
use std::time::Duration;

/// Default cap on label sets per family. OpenTelemetry's SDK uses 2,000 per instrument;
/// Prometheus users routinely go higher on request metrics, so allow more before folding.
pub const DEFAULT_CARDINALITY_LIMIT: usize = 10_000;

/// Default histogram buckets (client_golang's, client_rust's and prom-client's, in seconds).
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// prometheus_client's default histogram buckets (Python's `Histogram.DEFAULT_BUCKETS` without
/// `+Inf`): Go's with 0.075, 0.75 and 7.5 added. The Python binding uses these so that panels
/// reading `le="0.75"` keep working after the import swap.
pub const PYTHON_DEFAULT_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Options for creating a metric or family.
#[derive(Debug, Clone)]
pub struct Opts {
    /// The metric name: the last part of the full name, after namespace and subsystem.
    pub name: String,
    pub(crate) help: String,
    pub(crate) namespace: String,
    pub(crate) subsystem: String,
    pub(crate) unit: Option<String>,
    /// Label names, in the order children take their values.
    pub label_names: Vec<String>,
    pub(crate) const_labels: Vec<(String, String)>,
    /// Histogram upper bounds (`+Inf` implied); `None` means [`DEFAULT_BUCKETS`].
    pub(crate) buckets: Option<Vec<f64>>,
    /// State names of a state set / enum.
    pub(crate) states: Vec<String>,
    /// Maximum label sets before new ones fold into the overflow series.
    pub(crate) cardinality_limit: usize,
    /// Remove label sets whose cells have not changed for this long (checked at scrape time).
    pub(crate) expiry: Option<Duration>,
    /// Shards per counter cell; `None` picks the machine default.
    pub(crate) shards: Option<usize>,
    /// Emit `_created` samples in OpenMetrics output.
    pub created: bool,
    /// The name is the family's base name as given: a type suffix it ends with (`_total`,
    /// `_info`) is kept, as prometheus_client keeps `requests_total` built from `requests` and
    /// the unit `total` (its samples are then `requests_total_total`).
    pub(crate) name_is_base: bool,
    /// Summaries: `(quantile, epsilon)` objectives; empty keeps count and sum only. See
    /// [`crate::targeted`] (client_golang's quantile semantics).
    pub(crate) objectives: Vec<(f64, f64)>,
    /// Summaries with objectives: the quantile window (zero: 10 min), the streams it is split
    /// into (zero: 5) and the hot buffer's capacity (zero: 500).
    pub(crate) max_age: Duration,
    pub(crate) age_buckets: u32,
    pub(crate) buf_cap: u32,
    /// A counter's sample is the family's name exactly, as client_golang writes a counter
    /// named without `_total` (`# TYPE requests counter` / `requests 5`; in OpenMetrics, as
    /// client_golang's expfmt writes it, `# TYPE requests unknown` / `requests 5`). A name
    /// that ends in `_total` is unaffected. Other kinds ignore it.
    pub(crate) exact_name: bool,
    /// Histograms: native (exponential) buckets as well as, or instead of, classic ones.
    pub(crate) native: Option<crate::native::NativeOpts>,
    /// Multi-process mode: series cells in this process' lane files, and a gauge's mode.
    pub(crate) multiprocess: Option<(
        std::sync::Arc<crate::lanes::ProcessLanes>,
        crate::lanes::GaugeMode,
    )>,
}

impl Opts {
    /// Multi-process mode: the series' cells live in `lanes`' files, where any process can
    /// sum them ([`crate::multiprocess`]); `mode` says how a gauge's values combine.
    pub fn multiprocess(
        mut self,
        lanes: std::sync::Arc<crate::lanes::ProcessLanes>,
        mode: crate::lanes::GaugeMode,
    ) -> Self {
        self.multiprocess = Some((lanes, mode));
        self
    }

    /// Options for a metric named `name` with help text `help`; no labels, default buckets,
    /// `_created` samples on, at most [`DEFAULT_CARDINALITY_LIMIT`] label sets.
    pub fn new(name: impl Into<String>, help: impl Into<String>) -> Self {
        Opts {
            name: name.into(),
            help: help.into(),
            namespace: String::new(),
            subsystem: String::new(),
            unit: None,
            label_names: Vec::new(),
            const_labels: Vec::new(),
            buckets: None,
            states: Vec::new(),
            cardinality_limit: DEFAULT_CARDINALITY_LIMIT,
            expiry: None,
            shards: None,
            created: true,
            name_is_base: false,
            objectives: Vec::new(),
            max_age: Duration::ZERO,
            age_buckets: 0,
            buf_cap: 0,
            exact_name: false,
            native: None,
            multiprocess: None,
        }
    }
    /// Prefixes the name with `ns` and an underscore (client_golang's `Namespace`).
    pub fn namespace(mut self, ns: impl Into<String>) -> Self {
        self.namespace = ns.into();
        self
    }
    /// Puts `sub` and an underscore before the name, after the namespace.
    pub fn subsystem(mut self, sub: impl Into<String>) -> Self {
        self.subsystem = sub.into();
        self
    }
    /// The unit (`seconds`, `bytes`): the name must end with it; OpenMetrics writes `# UNIT`.
    pub fn unit(mut self, unit: impl Into<String>) -> Self {
        self.unit = Some(unit.into());
        self
    }
    /// The label names; children take their values in this order.
    pub fn labels<S: AsRef<str>>(mut self, names: &[S]) -> Self {
        self.label_names = names.iter().map(|s| s.as_ref().to_owned()).collect();
        self
    }
    /// Adds a label with a fixed value to every sample of the family.
    pub fn const_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.const_labels.push((name.into(), value.into()));
        self
    }
    /// Histogram upper bounds, finite and strictly increasing (`+Inf` implied); without them,
    /// [`DEFAULT_BUCKETS`].
    pub fn buckets(mut self, buckets: impl Into<Vec<f64>>) -> Self {
        self.buckets = Some(buckets.into());
        self
    }
    /// Histograms: native buckets with these options (see [`crate::native`]). Without
    /// [`buckets`](Self::buckets) the histogram then has no classic buckets (only `+Inf`), as
    /// in client_golang; with them, it has both, read together.
    pub fn native_histogram(mut self, native: crate::native::NativeOpts) -> Self {
        self.native = Some(native);
        self
    }
    /// A state set's state names, in exposition order.
    pub fn states<S: AsRef<str>>(mut self, states: &[S]) -> Self {
        self.states = states.iter().map(|s| s.as_ref().to_owned()).collect();
        self
    }
    /// Most label sets the family admits; past it, new ones fold into the overflow series (every
    /// label value [`OVERFLOW_LABEL_VALUE`](crate::OVERFLOW_LABEL_VALUE)).
    pub fn cardinality_limit(mut self, limit: usize) -> Self {
        self.cardinality_limit = limit;
        self
    }
    /// Removes label sets whose cells have not changed for `ttl` (checked at scrape time).
    pub fn expiry(mut self, ttl: Duration) -> Self {
        self.expiry = Some(ttl);
        self
    }
    /// Shards per counter cell: more shards, less contention between writing threads, more
    /// memory. Rounded up to a power of two, at most 8; by default the machine's parallelism,
    /// rounded the same way.
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards);
        self
    }
    /// Whether the family exports `_created` samples (on by default).
    pub fn created(mut self, enabled: bool) -> Self {
        self.created = enabled;
        self
    }
    /// Quantile objectives for a summary: `(quantile, epsilon)` pairs.
    pub fn objectives(mut self, objectives: impl Into<Vec<(f64, f64)>>) -> Self {
        self.objectives = objectives.into();
        self
    }
    /// A summary's quantile window: `max_age` split into `age_buckets` streams, fed through a
    /// buffer of `buf_cap` observations (zeros take the defaults).
    pub fn quantile_window(mut self, max_age: Duration, age_buckets: u32, buf_cap: u32) -> Self {
        self.max_age = max_age;
        self.age_buckets = age_buckets;
        self.buf_cap = buf_cap;
        self
    }
    /// Keeps a type suffix the name ends with (`_total`, `_info`) in the base name, as
    /// prometheus_client does: a counter named `requests_total` then writes
    /// `requests_total_total`.
    pub fn name_is_base(mut self, yes: bool) -> Self {
        self.name_is_base = yes;
        self
    }

    /// Writes a counter's sample under the name exactly as given, as client_golang writes a
    /// counter named without `_total` (`# TYPE requests counter` / `requests 5`; in
    /// OpenMetrics `# TYPE requests unknown`). A name ending in `_total` is unaffected; other
    /// kinds ignore it.
    pub fn exact_name(mut self, yes: bool) -> Self {
        self.exact_name = yes;
        self
    }

    /// Whether a family of `kind` writes its sample under the name exactly as given (see
    /// [`exact_name`](Self::exact_name)).
    pub(crate) fn exact_sample_name(&self, kind: MetricType) -> bool {
        self.exact_name
            && kind == MetricType::Counter
            && !self.fq_name().ends_with(kind.name_suffix())
    }

    /// `namespace_subsystem_name`, skipping empty parts (as `client_golang` builds it).
    pub(crate) fn fq_name(&self) -> String {
        [
            self.namespace.as_str(),
            self.subsystem.as_str(),
            self.name.as_str(),
        ]
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("_")
    }

    /// The family's base name for `kind`: fully qualified, type suffix stripped, validated,
    /// and checked against the unit (which must be its suffix, as OpenMetrics requires).
    pub(crate) fn family_name(&self, kind: MetricType) -> Result<String> {
        let fq = self.fq_name();
        // A namespace or subsystem alone is no name (`client_golang`'s BuildFQName gives "").
        if self.name.is_empty() {
            return Err(Error::InvalidMetricName(fq));
        }
        validate::metric_name(&fq)?;
        let base = if self.name_is_base || self.exact_sample_name(kind) {
            fq.clone()
        } else {
            base_name(&fq, kind).to_owned()
        };
        if base.is_empty() {
            return Err(Error::InvalidMetricName(fq));
        }
        if let Some(unit) = &self.unit {
            if unit.is_empty() || !unit.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(Error::InvalidUnit(format!("{unit:?} is not a valid unit")));
            }
            if !base.ends_with(&format!("_{unit}")) {
                return Err(Error::InvalidUnit(format!(
                    "metric name {base:?} must end with the unit \"_{unit}\""
                )));
            }
        }
        Ok(base)
    }
}

/// Strips the suffix the type adds to its samples, so `http_requests_total` and
/// `http_requests` name the same counter family.
pub(crate) fn base_name(name: &str, kind: MetricType) -> &str {
    let suffix = kind.name_suffix();
    if suffix.is_empty() {
        name
    } else {
        name.strip_suffix(suffix).unwrap_or(name)
    }
}

/// `count` buckets starting at `start`, `width` apart (as `prometheus.LinearBuckets`).
pub fn linear_buckets(start: f64, width: f64, count: usize) -> Result<Vec<f64>> {
    if count < 1 {
        return Err(Error::InvalidBuckets(
            "linear buckets need a count of at least 1".into(),
        ));
    }
    if !(width > 0.0) || !start.is_finite() || !width.is_finite() {
        return Err(Error::InvalidBuckets(format!(
            "linear buckets need a positive width, got {width}"
        )));
    }
    Ok((0..count).map(|i| start + width * i as f64).collect())
}

/// `count` buckets starting at `start`, each `factor` times the previous one
/// (as `prometheus.ExponentialBuckets`).
pub fn exponential_buckets(start: f64, factor: f64, count: usize) -> Result<Vec<f64>> {
    if count < 1 {
        return Err(Error::InvalidBuckets(
            "exponential buckets need a count of at least 1".into(),
        ));
    }
    if !(start > 0.0) || !start.is_finite() {
        return Err(Error::InvalidBuckets(format!(
            "exponential buckets need a positive start, got {start}"
        )));
    }
    if !(factor > 1.0) || !factor.is_finite() {
        return Err(Error::InvalidBuckets(format!(
            "exponential buckets need a factor above 1, got {factor}"
        )));
    }
    let mut out = Vec::with_capacity(count);
    let mut b = start;
    for _ in 0..count {
        out.push(b);
        b *= factor;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_suffixes() {
        let o = Opts::new("requests_total", "h")
            .namespace("api")
            .subsystem("http");
        assert_eq!(o.fq_name(), "api_http_requests_total");
        assert_eq!(
            o.family_name(MetricType::Counter).unwrap(),
            "api_http_requests"
        );
        assert_eq!(
            o.family_name(MetricType::Gauge).unwrap(),
            "api_http_requests_total"
        );
        let u = Opts::new("latency_seconds", "h").unit("seconds");
        assert_eq!(
            u.family_name(MetricType::Histogram).unwrap(),
            "latency_seconds"
        );
        let bad = Opts::new("latency", "h").unit("seconds");
        assert!(matches!(
            bad.family_name(MetricType::Histogram),
            Err(Error::InvalidUnit(_))
        ));
        assert!(Opts::new("_total", "h")
            .family_name(MetricType::Counter)
            .is_err());
    }

    #[test]
    fn bucket_helpers() {
        assert_eq!(linear_buckets(1.0, 2.0, 3).unwrap(), vec![1.0, 3.0, 5.0]);
        assert_eq!(
            exponential_buckets(1.0, 10.0, 3).unwrap(),
            vec![1.0, 10.0, 100.0]
        );
        assert!(linear_buckets(1.0, 0.0, 3).is_err());
        assert!(linear_buckets(1.0, 1.0, 0).is_err());
        assert!(exponential_buckets(0.0, 2.0, 3).is_err());
        assert!(exponential_buckets(1.0, 1.0, 3).is_err());
        assert!(exponential_buckets(1.0, f64::NAN, 3).is_err());
    }
}
