//! What every metric type shares: its kind, the per-child metadata a family keeps, the writer
//! a child encodes its samples into, and the owned data model ([`MetricFamily`]) used by custom
//! collectors, `gather()` and the bindings.

use crate::exemplar::Exemplar;
use crate::fmt;
use crate::label_value::{encoded_values, push_encoded_values};
use crate::opts::Opts;
use crate::Result;

pub use crate::kind::MetricType;

/// Per-child metadata kept next to a child's cells: its label values and their rendered,
/// escaped form (family const labels first), written once when the child is created, in one
/// allocation (a child costs memory per series, so it is kept small).
#[derive(Debug, Default)]
pub struct ChildMeta {
    /// The label values, each as its length (LEB128) then its bytes, followed by the rendered
    /// `k="v",…` block, which starts at `split`.
    labels: Box<[u8]>,
    split: u32,
    /// The child's creation number within its family (gathering lists children by it).
    pub(crate) seq: u64,
}

impl ChildMeta {
    /// Metadata for label `values` rendered as `rendered`.
    pub(crate) fn new<S: AsRef<str>>(values: &[S], rendered: &str, seq: u64) -> Self {
        let mut labels = Vec::with_capacity(
            values.iter().map(|v| v.as_ref().len() + 2).sum::<usize>() + rendered.len(),
        );
        push_encoded_values(&mut labels, values);
        let split = labels.len() as u32;
        labels.extend_from_slice(rendered.as_bytes());
        ChildMeta {
            labels: labels.into_boxed_slice(),
            split,
            seq,
        }
    }

    /// Metadata of a child without label values.
    pub(crate) fn unlabelled(rendered: &str) -> Self {
        Self::new::<&str>(&[], rendered, 0)
    }

    /// The child's label values, in the family's label-name order.
    pub fn label_values(&self) -> impl Iterator<Item = &str> {
        encoded_values(&self.labels[..self.split as usize])
    }

    /// The rendered `k="v",…` block (const labels first), without braces.
    #[inline]
    pub(crate) fn rendered(&self) -> &str {
        // SAFETY: the bytes from `split` were copied from a `&str` in `new`.
        unsafe { std::str::from_utf8_unchecked(&self.labels[self.split as usize..]) }
    }

    /// Whether the label values are `values` (a lookup's hit test: one length byte and one
    /// short comparison per value, inline).
    #[inline]
    pub(crate) fn matches<S: crate::label_value::AsLabelValue>(&self, values: &[S]) -> bool {
        let mut rest: &[u8] = &self.labels[..self.split as usize];
        for v in values {
            let v = v.label_str().as_bytes();
            let n = v.len();
            if n >= 0x80 {
                // Multi-byte length: rare, decode in full.
                return self.label_values().eq(values.iter().map(|v| v.label_str()));
            }
            match rest.split_first() {
                Some((&len, tail)) if usize::from(len) == n && tail.len() >= n => {
                    if !crate::fmt::bytes_eq(&tail[..n], v) {
                        return false;
                    }
                    rest = &tail[n..];
                }
                _ => return false,
            }
        }
        rest.is_empty()
    }
}

/// A metric type that can live in a [`Family`](crate::Family).
pub trait Metric: Clone + Send + Sync + Sized + 'static {
    /// The exposition type of this type's families.
    const TYPE: MetricType;
    /// Family-wide settings every child shares (bucket bounds, state names).
    type Config: Send + Sync + 'static;

    /// Validates the type-specific options and builds the shared config.
    fn config(opts: &Opts) -> Result<Self::Config>;
    /// Label names this type reserves for its own samples (`le`, `quantile`, …).
    fn reserved_labels(config: &Self::Config, name: &str) -> Vec<String>;
    /// A new child with zeroed cells.
    fn new_child(config: &Self::Config, meta: ChildMeta) -> Self;
    /// The child's label values and rendered labels.
    fn meta(&self) -> &ChildMeta;
    /// Writes this child's samples.
    fn encode(&self, config: &Self::Config, w: &mut SeriesWriter<'_>);
    /// This child's current value in the owned data model.
    fn point(&self, config: &Self::Config) -> PointValue;
    /// When the child was created (seconds since the epoch), for types with `_created`.
    fn created(&self) -> Option<f64> {
        None
    }
    /// A number that changes whenever the cells are written (used by expiry).
    fn fingerprint(&self) -> u64;

    /// The handle as its `Arc`'s raw pointer (the reference is kept): how a family's map
    /// stores children without an entry of its own.
    #[doc(hidden)]
    fn into_raw(self) -> *const ();

    /// The handle back from [`into_raw`](Self::into_raw)'s pointer.
    ///
    /// # Safety
    /// `p` came from `into_raw` of this type and its reference was not taken back yet.
    #[doc(hidden)]
    unsafe fn from_raw(p: *const ()) -> Self;

    /// The handle's raw pointer, the reference untouched.
    #[doc(hidden)]
    fn as_raw(&self) -> *const ();

    /// Asks the CPU to start loading the handle's own allocation (a scrape calls it a few
    /// children ahead of the one it writes; see [`prefetch_cells`](Self::prefetch_cells)).
    #[inline(always)]
    fn prefetch_handle(&self) {}

    /// Asks the CPU to start loading what [`encode`](Self::encode) reads behind the handle:
    /// cells and rendered labels. Called once the handle itself is likely cached.
    #[inline(always)]
    fn prefetch_cells(&self) {
        prefetch(self.meta().labels.as_ptr());
    }
}

/// Which of `_count` and `_sum` a histogram or summary writes first: client_golang's expfmt
/// and prometheus_client write `_count` first, prom-client `_sum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SumCount {
    /// `_count`, then `_sum`.
    CountFirst,
    /// `_sum`, then `_count`.
    SumFirst,
}

/// Writes the samples of one child: `name+suffix{registry labels,child labels,extra} value`.
pub struct SeriesWriter<'a> {
    pub(crate) out: &'a mut Vec<u8>,
    pub(crate) openmetrics: bool,
    /// Spell `le`/`quantile` values as OpenMetrics does (`1.0`): always in OpenMetrics, and in
    /// the classic format under [`TextStyle::PrometheusClient`](crate::TextStyle).
    pub(crate) openmetrics_label_floats: bool,
    pub(crate) name: &'a str,
    pub(crate) registry_labels: &'a str,
    pub(crate) labels: &'a str,
}

impl SeriesWriter<'_> {
    /// Whether the output is OpenMetrics (exemplars, `_created`, `le="1.0"`).
    #[inline]
    pub(crate) fn openmetrics(&self) -> bool {
        self.openmetrics
    }

    /// Whether `le`/`quantile` label values take the OpenMetrics spelling (`1.0`, not `1`).
    #[inline]
    pub(crate) fn openmetrics_label_floats(&self) -> bool {
        self.openmetrics_label_floats
    }

    /// Starts a sample line: name, suffix, label block and the separating space. `extra` is a
    /// label whose value is already escaped.
    #[inline]
    pub(crate) fn start(&mut self, suffix: &str, extra: Option<(&str, &str)>) {
        self.start_with(suffix, extra, "");
    }

    /// Like [`start`](Self::start) with an already rendered `k="v",…` block appended.
    #[inline]
    pub(crate) fn start_with(&mut self, suffix: &str, extra: Option<(&str, &str)>, raw: &str) {
        let out = &mut *self.out;
        if extra.is_none() && raw.is_empty() && self.registry_labels.is_empty() {
            // Most lines: `name suffix {labels} `, with small copies done inline.
            let (name, labels) = (self.name.as_bytes(), self.labels.as_bytes());
            out.reserve(name.len() + suffix.len() + labels.len() + 3);
            fmt::push_small(out, name);
            fmt::push_small(out, suffix.as_bytes());
            if !labels.is_empty() {
                out.push(b'{');
                fmt::push_small(out, labels);
                out.push(b'}');
            }
            out.push(b' ');
            return;
        }
        out.extend_from_slice(self.name.as_bytes());
        out.extend_from_slice(suffix.as_bytes());
        let mut first = true;
        for part in [self.registry_labels, self.labels] {
            if !part.is_empty() {
                out.push(if first { b'{' } else { b',' });
                out.extend_from_slice(part.as_bytes());
                first = false;
            }
        }
        if let Some((k, v)) = extra {
            out.push(if first { b'{' } else { b',' });
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b"=\"");
            out.extend_from_slice(v.as_bytes());
            out.push(b'"');
            first = false;
        }
        if !raw.is_empty() {
            out.push(if first { b'{' } else { b',' });
            out.extend_from_slice(raw.as_bytes());
            first = false;
        }
        if !first {
            out.push(b'}');
        }
        out.push(b' ');
    }

    #[inline]
    pub(crate) fn f64(&mut self, v: f64) {
        fmt::write_float(self.out, v);
    }

    /// Appends ` # {labels} value timestamp` in OpenMetrics; nothing in the classic format.
    pub(crate) fn exemplar(&mut self, e: Option<&Exemplar>) {
        if let (true, Some(e)) = (self.openmetrics, e) {
            self.out.extend_from_slice(b" # {");
            self.out.extend_from_slice(e.rendered.as_bytes());
            self.out.extend_from_slice(b"} ");
            fmt::write_float(self.out, e.value);
            self.out.push(b' ');
            fmt::write_float(self.out, e.timestamp);
        }
    }

    #[inline]
    pub(crate) fn end(&mut self) {
        self.out.push(b'\n');
    }

    /// A histogram's lines, the one expansion every family's histograms go through:
    /// cumulative `_bucket{le}` lines from per-bucket `counts` (each with the exemplar
    /// `exemplar(i)` gives, in OpenMetrics), then `_count` (their total) and `_sum` in
    /// `order`. `raw` is a rendered label block appended to every line (default labels), `les`
    /// the `le` values.
    pub(crate) fn histogram_lines<L: AsRef<str>>(
        &mut self,
        les: &[L],
        counts: impl Iterator<Item = f64>,
        sum: f64,
        order: SumCount,
        raw: &str,
        exemplar: impl Fn(usize) -> Option<std::sync::Arc<Exemplar>>,
    ) {
        let mut acc = 0.0;
        let cumulative = counts.map(|c| {
            acc += c;
            acc
        });
        let total = self.cumulative_buckets(les, cumulative, raw, exemplar);
        self.count_and_sum(total, sum, order, raw);
    }

    /// [`histogram_lines`](Self::histogram_lines) from cumulative bucket counts and a `count`
    /// of its own (as a collector's owned data gives them).
    pub(crate) fn histogram_lines_cumulative<L: AsRef<str>>(
        &mut self,
        les: &[L],
        cumulative: impl Iterator<Item = f64>,
        count: f64,
        sum: f64,
        order: SumCount,
        exemplar: impl Fn(usize) -> Option<std::sync::Arc<Exemplar>>,
    ) {
        self.cumulative_buckets(les, cumulative, "", exemplar);
        self.count_and_sum(count, sum, order, "");
    }

    /// The `_bucket` lines; returns the last cumulative count.
    fn cumulative_buckets<L: AsRef<str>>(
        &mut self,
        les: &[L],
        cumulative: impl Iterator<Item = f64>,
        raw: &str,
        exemplar: impl Fn(usize) -> Option<std::sync::Arc<Exemplar>>,
    ) -> f64 {
        let mut last = 0.0;
        for (i, (le, c)) in les.iter().zip(cumulative).enumerate() {
            last = c;
            self.start_with("_bucket", Some(("le", le.as_ref())), raw);
            self.f64(c);
            if self.openmetrics {
                if let Some(ex) = exemplar(i) {
                    self.exemplar(Some(&ex));
                }
            }
            self.end();
        }
        last
    }

    /// A summary's lines: `{quantile}` lines from `(rendered quantile, value)` pairs, then
    /// `_count` and `_sum` in `order`.
    pub(crate) fn summary_lines<Q: AsRef<str>>(
        &mut self,
        quantiles: impl Iterator<Item = (Q, f64)>,
        count: f64,
        sum: f64,
        order: SumCount,
        raw: &str,
    ) {
        for (q, v) in quantiles {
            self.start_with("", Some(("quantile", q.as_ref())), raw);
            self.f64(v);
            self.end();
        }
        self.count_and_sum(count, sum, order, raw);
    }

    fn count_and_sum(&mut self, count: f64, sum: f64, order: SumCount, raw: &str) {
        let count_line = |w: &mut Self| {
            w.start_with("_count", None, raw);
            w.f64(count);
            w.end();
        };
        let sum_line = |w: &mut Self| {
            w.start_with("_sum", None, raw);
            w.f64(sum);
            w.end();
        };
        match order {
            SumCount::CountFirst => {
                count_line(self);
                sum_line(self);
            }
            SumCount::SumFirst => {
                sum_line(self);
                count_line(self);
            }
        }
    }

    /// A whole `name_created{labels} <seconds>` line, OpenMetrics only.
    pub(crate) fn created(&mut self, created: f64) {
        if self.openmetrics {
            self.start("_created", None);
            self.f64(created);
            self.end();
        }
    }
}

/// A value in the owned data model.
#[derive(Debug, Clone, PartialEq)]
pub enum PointValue {
    /// A counter's total.
    Counter {
        /// The total.
        value: f64,
        /// Creation time in seconds since the epoch, exported as `_created`.
        created: Option<f64>,
        /// The exemplar of the last increment that had one.
        exemplar: Option<Exemplar>,
    },
    /// A gauge's value.
    Gauge(f64),
    /// A histogram's buckets, count and sum.
    Histogram {
        /// `(upper bound, cumulative count, exemplar)`; the last bound is `+Inf`.
        buckets: Vec<(f64, u64, Option<Exemplar>)>,
        /// Observations: the `+Inf` bucket's count.
        count: u64,
        /// The sum of observations.
        sum: f64,
        /// Creation time in seconds since the epoch, exported as `_created`.
        created: Option<f64>,
        /// Native buckets, for a native histogram (carried by the protobuf exposition and
        /// OTLP; the text formats show the classic buckets).
        native: Option<Box<crate::native::NativeBuckets>>,
    },
    /// A summary's count, sum and quantiles.
    Summary {
        /// Observations.
        count: u64,
        /// The sum of observations.
        sum: f64,
        /// `(quantile, value)` per objective, ascending; empty without objectives.
        quantiles: Vec<(f64, f64)>,
        /// Creation time in seconds since the epoch, exported as `_created`.
        created: Option<f64>,
    },
    /// Info labels; the sample value is always 1.
    Info(Vec<(String, String)>),
    /// `(state, enabled)` in declaration order.
    StateSet(Vec<(String, bool)>),
    /// An untyped value.
    Unknown(f64),
    /// One sample spelled out by a foreign collector: its full name (the family name plus any
    /// suffix), value, optional timestamp (seconds) and exemplar. The point's labels are the
    /// sample's.
    Sample {
        /// The full sample name.
        name: String,
        /// The sample value.
        value: f64,
        /// Seconds since the epoch, for a sample that carries its own time.
        timestamp: Option<f64>,
        /// The sample's exemplar, if any.
        exemplar: Option<Exemplar>,
    },
}

/// One labelled point of a family.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    /// The point's label pairs, in order.
    pub labels: Vec<(String, String)>,
    /// Its value, shaped by the family's type.
    pub value: PointValue,
}

/// One sample of a family spelled out (see [`MetricFamily::flat_samples`]).
#[derive(Debug, Clone, PartialEq)]
pub struct FlatSample {
    /// The full sample name (`requests_total`, `latency_bucket`).
    pub name: String,
    /// Label pairs, with `le` or `quantile` last where the sample has one.
    pub labels: Vec<(String, String)>,
    /// The sample value.
    pub value: f64,
    /// Seconds since the epoch, for a sample that carries its own time.
    pub timestamp: Option<f64>,
    pub(crate) exemplar: Option<Exemplar>,
}

/// A family in the owned data model: what custom collectors produce and `gather()` returns.
/// `name` is the family name without the type suffix (`http_requests`, not
/// `http_requests_total`).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricFamily {
    /// The family name, without the type suffix.
    pub name: String,
    /// The `# HELP` text.
    pub help: String,
    /// The unit (`seconds`), which the name ends with; OpenMetrics writes it as `# UNIT`.
    pub unit: Option<String>,
    /// The exposition type.
    pub kind: MetricType,
    /// Its points, usually one per label set.
    pub points: Vec<MetricPoint>,
}

impl MetricFamily {
    /// A family named `name` (a `_total`/`_info` suffix matching `kind` is stripped).
    pub fn new(name: &str, help: &str, kind: MetricType) -> Self {
        MetricFamily {
            name: crate::opts::base_name(name, kind).to_owned(),
            help: help.to_owned(),
            unit: None,
            kind,
            points: Vec::new(),
        }
    }

    /// This family with unit `unit`.
    pub fn with_unit(mut self, unit: &str) -> Self {
        self.unit = Some(unit.to_owned());
        self
    }

    /// Adds a point; label pairs in order.
    pub fn push<K: Into<String>, V: Into<String>>(
        &mut self,
        labels: impl IntoIterator<Item = (K, V)>,
        value: PointValue,
    ) -> &mut Self {
        let labels = labels
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self.points.push(MetricPoint { labels, value });
        self
    }
}

impl MetricFamily {
    /// Whether a sample of this family, as prometheus_client names samples (`x_total`,
    /// `x_created`, `x_bucket`, `x_count`, `x_sum` or `x_gcount`/`x_gsum`, `x_info`, `x`),
    /// is named `name`: the test of a `name[]` scrape filter, which serves whole families.
    pub(crate) fn has_sample_named(&self, name: &str) -> bool {
        let suffix = name.strip_prefix(self.name.as_str());
        let gauge_histogram = self.kind == MetricType::GaugeHistogram;
        self.points.iter().any(|p| {
            // A custom collector's sample is named as it was given, prefix or not.
            if let PointValue::Sample { name: sample, .. } = &p.value {
                return sample == name;
            }
            let Some(suffix) = suffix else {
                return false;
            };
            match &p.value {
                PointValue::Counter { created, .. } => {
                    suffix == "_total" || (suffix == "_created" && created.is_some())
                }
                PointValue::Gauge(_) | PointValue::Unknown(_) => suffix.is_empty(),
                PointValue::StateSet(states) => suffix.is_empty() && !states.is_empty(),
                PointValue::Histogram { created, .. } if gauge_histogram => {
                    matches!(suffix, "_bucket" | "_gcount" | "_gsum")
                        || (suffix == "_created" && created.is_some())
                }
                PointValue::Histogram { created, .. } => {
                    matches!(suffix, "_bucket" | "_count" | "_sum")
                        || (suffix == "_created" && created.is_some())
                }
                PointValue::Summary {
                    quantiles, created, ..
                } => {
                    (suffix.is_empty() && !quantiles.is_empty())
                        || matches!(suffix, "_count" | "_sum")
                        || (suffix == "_created" && created.is_some())
                }
                PointValue::Info(_) => suffix == "_info",
                PointValue::Sample { .. } => unreachable!("answered above"),
            }
        })
    }
}

/// Starts loading the cache line at `p` (a hint: no effect on what the program computes).
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[cfg(test)]
mod sample_name_tests {
    use super::*;

    #[test]
    fn sample_names_as_prometheus_client_spells_them() {
        let mut c = MetricFamily::new("jobs_total", "J.", MetricType::Counter);
        c.push(
            [("a", "1")],
            PointValue::Counter {
                value: 1.0,
                created: Some(5.0),
                exemplar: None,
            },
        );
        assert!(c.has_sample_named("jobs_total") && c.has_sample_named("jobs_created"));
        assert!(!c.has_sample_named("jobs") && !c.has_sample_named("jobs_totalx"));
        let mut h = MetricFamily::new("lat", "L.", MetricType::GaugeHistogram);
        h.push(
            std::iter::empty::<(String, String)>(),
            PointValue::Histogram {
                buckets: vec![(f64::INFINITY, 1, None)],
                count: 1,
                sum: 2.0,
                created: None,
                native: None,
            },
        );
        assert!(h.has_sample_named("lat_gsum") && h.has_sample_named("lat_bucket"));
        assert!(!h.has_sample_named("lat_sum") && !h.has_sample_named("lat_created"));
        h.kind = MetricType::Histogram;
        assert!(h.has_sample_named("lat_sum") && h.has_sample_named("lat_count"));
        let mut i = MetricFamily::new("build_info", "B.", MetricType::Info);
        i.push(
            std::iter::empty::<(String, String)>(),
            PointValue::Info(vec![]),
        );
        assert!(i.has_sample_named("build_info") && !i.has_sample_named("build"));
        // An empty family has no samples to match.
        assert!(!MetricFamily::new("g", "G.", MetricType::Gauge).has_sample_named("g"));
    }

    /// `has_sample_named` answers exactly what the listing of samples (the names the
    /// exposition writes) answers, without building it.
    #[test]
    fn sample_names_agree_with_the_listed_samples() {
        let mut families = Vec::new();
        let mut s = MetricFamily::new("states", "S.", MetricType::StateSet);
        s.push(
            std::iter::empty::<(String, String)>(),
            PointValue::StateSet(vec![]),
        );
        families.push(s);
        let mut s = MetricFamily::new("mode", "M.", MetricType::StateSet);
        s.push(
            std::iter::empty::<(String, String)>(),
            PointValue::StateSet(vec![("on".into(), true)]),
        );
        families.push(s);
        let mut c = MetricFamily::new("custom", "C.", MetricType::Unknown);
        for name in ["custom", "custom_extra", "elsewhere"] {
            c.push(
                std::iter::empty::<(String, String)>(),
                PointValue::Sample {
                    name: name.into(),
                    value: 1.0,
                    timestamp: None,
                    exemplar: None,
                },
            );
        }
        families.push(c);
        let mut q = MetricFamily::new("size", "S.", MetricType::Summary);
        q.push(
            std::iter::empty::<(String, String)>(),
            PointValue::Summary {
                count: 1,
                sum: 1.0,
                quantiles: vec![],
                created: Some(1.0),
            },
        );
        families.push(q);
        let names = [
            "states",
            "mode",
            "custom",
            "custom_extra",
            "elsewhere",
            "custom_total",
            "size",
            "size_count",
            "size_sum",
            "size_created",
            "size_bucket",
        ];
        for f in &families {
            let listed = crate::pyclient::samples(f);
            for name in names {
                assert_eq!(
                    f.has_sample_named(name),
                    listed.iter().any(|s| s.name == name),
                    "{} asked for {name}",
                    f.name
                );
            }
        }
    }
}
