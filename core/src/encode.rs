//! Exposition: the Prometheus text format 0.0.4 and OpenMetrics 1.0 text, chosen from an
//! `Accept` header by [`Format::negotiate`].

use crate::fmt::{self, escape_help, escape_label_value};
use crate::metric::{MetricFamily, MetricType, PointValue, SeriesWriter, SumCount};

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Text,
    /// OpenMetrics 1.0.0 text.
    OpenMetrics,
    /// Delimited protobuf `MetricFamily` messages ([`crate::protobuf`]): the format of native
    /// histograms. Binary, so only the byte-writing entry points (`encode`, `scrape`) give it.
    Protobuf,
}

/// The `Content-Type` of the classic text format 0.0.4.
pub const CONTENT_TYPE_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
/// The `Content-Type` of OpenMetrics 1.0.0 text.
pub const CONTENT_TYPE_OPENMETRICS: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

impl Format {
    /// The `Content-Type` a response in this format carries.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => CONTENT_TYPE_TEXT,
            Format::OpenMetrics => CONTENT_TYPE_OPENMETRICS,
            Format::Protobuf => crate::protobuf::CONTENT_TYPE_PROTOBUF,
        }
    }

    /// Picks the format an `Accept` header prefers (highest `q`, earliest on ties), as a
    /// scrape handler should: protobuf or OpenMetrics when acceptable and preferred
    /// (Prometheus asks for protobuf first when its native histograms are on, else for
    /// OpenMetrics), the classic text format otherwise or when nothing matches.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Text;
        };
        let mut best: Option<(f32, Format)> = None;
        for range in accept.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let (mut q, mut version, mut proto, mut encoding) = (1.0f32, None, None, None);
            for p in parts {
                if let Some((k, v)) = p.split_once('=') {
                    let v = v.trim().trim_matches('"');
                    match k.trim().to_ascii_lowercase().as_str() {
                        "q" => q = v.parse().unwrap_or(0.0),
                        "version" => version = Some(v.to_owned()),
                        "proto" => proto = Some(v.to_owned()),
                        "encoding" => encoding = Some(v.to_ascii_lowercase()),
                        _ => {}
                    }
                }
            }
            let format = match media.as_str() {
                "application/vnd.google.protobuf"
                    if proto.as_deref() == Some("io.prometheus.client.MetricFamily")
                        && encoding.as_deref() == Some("delimited") =>
                {
                    Format::Protobuf
                }
                "application/openmetrics-text"
                    if matches!(version.as_deref(), None | Some("1.0.0") | Some("0.0.1")) =>
                {
                    Format::OpenMetrics
                }
                "text/plain" if matches!(version.as_deref(), None | Some("0.0.4")) => Format::Text,
                "text/*" | "*/*" => Format::Text,
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, format));
            }
        }
        best.map_or(Format::Text, |(_, f)| f)
    }
}

/// How the classic text format spells what it shares with OpenMetrics. OpenMetrics output is
/// the same under every style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextStyle {
    /// As `client_golang` writes it: `le="5"`, no `_created` series.
    #[default]
    Go,
    /// As Python's `prometheus_client` writes it: `le="5.0"`, and each family's `_created`
    /// series as a gauge family `<name>_created` right after it.
    PrometheusClient,
}

/// Writes families into a caller-owned buffer. Collectors receive one during a scrape.
pub struct Encoder<'a> {
    out: &'a mut Vec<u8>,
    openmetrics: bool,
    style: TextStyle,
    registry_labels: &'a str,
    /// Labels added to each series that lacks a label of that name (prom-client's default
    /// labels); honoured by `CellFamily`.
    default_labels: &'a [(String, String)],
    /// Scratch for rendering owned label sets, reused across points.
    scratch: String,
}

impl<'a> Encoder<'a> {
    /// An encoder appending `format` to `out`. `registry_labels` is a rendered `k="v",…` block
    /// (see [`render_pairs`](crate::render_pairs)) put first on every series; empty for none.
    pub fn new(out: &'a mut Vec<u8>, format: Format, registry_labels: &'a str) -> Self {
        Encoder {
            out,
            openmetrics: format == Format::OpenMetrics,
            style: TextStyle::Go,
            registry_labels,
            default_labels: &[],
            scratch: String::new(),
        }
    }

    /// Labels for each series that does not carry its own value for them.
    pub fn with_default_labels(mut self, labels: &'a [(String, String)]) -> Self {
        self.default_labels = labels;
        self
    }

    pub(crate) fn default_labels(&self) -> &'a [(String, String)] {
        self.default_labels
    }

    /// The classic format's style (ignored in OpenMetrics).
    pub(crate) fn with_text_style(mut self, style: TextStyle) -> Self {
        self.style = style;
        self
    }

    pub(crate) fn openmetrics(&self) -> bool {
        self.openmetrics
    }

    /// Whether `le`/`quantile` values take the OpenMetrics spelling (`1.0`).
    pub(crate) fn openmetrics_label_floats(&self) -> bool {
        self.openmetrics || self.style == TextStyle::PrometheusClient
    }

    /// Whether `_created` series go out as gauge families of their own (classic format,
    /// `prometheus_client` style).
    pub(crate) fn text_created_families(&self) -> bool {
        !self.openmetrics && self.style == TextStyle::PrometheusClient
    }

    pub(crate) fn registry_labels(&self) -> &'a str {
        self.registry_labels
    }

    pub(crate) fn buffer(&mut self) -> &mut Vec<u8> {
        self.out
    }

    /// `# HELP`, `# TYPE` and (OpenMetrics) `# UNIT` lines for a family with base name `name`.
    pub(crate) fn header(&mut self, name: &str, help: &str, unit: Option<&str>, kind: MetricType) {
        let suffix = if self.openmetrics {
            ""
        } else {
            kind.name_suffix()
        };
        self.header_parts(name, suffix, help, unit, kind);
    }

    /// [`header`](Self::header) with the suffix of the `# HELP`/`# TYPE` name given, for
    /// families named exactly as their users wrote them (prom-client's counters need not end
    /// in `_total`).
    pub(crate) fn header_parts(
        &mut self,
        name: &str,
        suffix: &str,
        help: &str,
        unit: Option<&str>,
        kind: MetricType,
    ) {
        let out = &mut *self.out;
        out.extend_from_slice(b"# HELP ");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(suffix.as_bytes());
        out.push(b' ');
        escape_help(out, help, self.openmetrics);
        out.extend_from_slice(b"\n# TYPE ");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(suffix.as_bytes());
        out.push(b' ');
        let t = if self.openmetrics {
            kind.openmetrics_name()
        } else {
            kind.text_name()
        };
        out.extend_from_slice(t.as_bytes());
        out.push(b'\n');
        if let (true, Some(unit)) = (self.openmetrics, unit) {
            out.extend_from_slice(b"# UNIT ");
            out.extend_from_slice(name.as_bytes());
            out.push(b' ');
            out.extend_from_slice(unit.as_bytes());
            out.push(b'\n');
        }
    }

    /// Encodes a family from the owned data model (custom collectors).
    ///
    /// The classic format has no `_created`, `_gcount` or `_gsum` samples inside a family:
    /// those go out afterwards as gauge families of their own, one per suffix in name order,
    /// as `prometheus_client` writes them (`_created` only in its style).
    pub fn family(&mut self, f: &MetricFamily) {
        self.header(&f.name, &f.help, f.unit.as_deref(), f.kind);
        let created_families = self.text_created_families();
        let mut deferred: Vec<(&'static str, usize, WhichSamples)> = Vec::new();
        for (i, p) in f.points.iter().enumerate() {
            if !self.openmetrics {
                if let Some(suffix) = deferred_suffix(&f.name, &p.value) {
                    if suffix != "_created" || created_families {
                        deferred.push((suffix, i, WhichSamples::Main));
                    }
                    continue;
                }
            }
            self.point(&f.name, p, WhichSamples::Main);
            if let (true, Some(c)) = (created_families, created_of(&p.value)) {
                deferred.push(("_created", i, WhichSamples::Created(c)));
            }
        }
        deferred.sort_by_key(|&(suffix, i, _)| (suffix, i));
        let mut current = "";
        for (suffix, i, which) in deferred {
            if suffix != current {
                current = suffix;
                let name = format!("{}{suffix}", f.name);
                self.header(&name, &f.help, None, MetricType::Gauge);
            }
            self.point(&f.name, &f.points[i], which);
        }
    }

    fn point(&mut self, name: &str, p: &crate::metric::MetricPoint, which: WhichSamples) {
        self.scratch.clear();
        crate::fmt::render_pairs(
            &mut self.scratch,
            p.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        );
        let openmetrics_label_floats = self.openmetrics_label_floats();
        let mut w = SeriesWriter {
            out: &mut *self.out,
            openmetrics: self.openmetrics,
            openmetrics_label_floats,
            name,
            registry_labels: self.registry_labels,
            labels: &self.scratch,
        };
        match which {
            WhichSamples::Main => write_point(&mut w, &p.value),
            WhichSamples::Created(c) => {
                w.start("_created", None);
                w.f64(c);
                w.end();
            }
        }
    }

    /// Ends the exposition (`# EOF` in OpenMetrics).
    pub fn finish(&mut self) {
        if self.openmetrics {
            self.out.extend_from_slice(b"# EOF\n");
        }
    }
}

#[derive(Clone, Copy)]
enum WhichSamples {
    Main,
    Created(f64),
}

/// The `_created` time of a built-in point, if it has one.
fn created_of(v: &PointValue) -> Option<f64> {
    match v {
        PointValue::Counter { created, .. }
        | PointValue::Histogram { created, .. }
        | PointValue::Summary { created, .. } => *created,
        _ => None,
    }
}

/// For a foreign sample the classic format cannot hold inside its family, the suffix of the
/// gauge family it moves to.
fn deferred_suffix(family: &str, v: &PointValue) -> Option<&'static str> {
    let PointValue::Sample { name, .. } = v else {
        return None;
    };
    let suffix = name.strip_prefix(family)?;
    ["_created", "_gcount", "_gsum"]
        .into_iter()
        .find(|s| *s == suffix)
}

fn write_point(w: &mut SeriesWriter<'_>, value: &PointValue) {
    let le = |v: f64, om: bool| {
        if om {
            fmt::float_string_openmetrics(v)
        } else {
            fmt::float_string(v)
        }
    };
    match value {
        PointValue::Counter {
            value,
            created,
            exemplar,
        } => {
            w.start("_total", None);
            w.f64(*value);
            w.exemplar(exemplar.as_ref());
            w.end();
            if let Some(c) = created {
                w.created(*c);
            }
        }
        PointValue::Gauge(v) | PointValue::Unknown(v) => {
            w.start("", None);
            w.f64(*v);
            w.end();
        }
        PointValue::Histogram {
            buckets,
            count,
            sum,
            created,
            ..
        } => {
            let om = w.openmetrics_label_floats();
            let les: Vec<String> = buckets.iter().map(|(b, _, _)| le(*b, om)).collect();
            w.histogram_lines_cumulative(
                &les,
                buckets.iter().map(|(_, c, _)| *c as f64),
                *count as f64,
                *sum,
                SumCount::CountFirst,
                |i| buckets[i].2.clone().map(std::sync::Arc::new),
            );
            if let Some(c) = created {
                w.created(*c);
            }
        }
        PointValue::Summary {
            count,
            sum,
            quantiles,
            created,
        } => {
            let om = w.openmetrics_label_floats();
            w.summary_lines(
                quantiles.iter().map(|(q, v)| (le(*q, om), *v)),
                *count as f64,
                *sum,
                SumCount::CountFirst,
                "",
            );
            if let Some(c) = created {
                w.created(*c);
            }
        }
        PointValue::Info(labels) => {
            let mut raw = String::new();
            crate::fmt::render_pairs(
                &mut raw,
                labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            );
            w.start_with("_info", None, &raw);
            w.f64(1.0);
            w.end();
        }
        PointValue::Sample {
            name,
            value,
            timestamp,
            exemplar,
        } => {
            let mut s = SeriesWriter {
                out: &mut *w.out,
                openmetrics: w.openmetrics,
                openmetrics_label_floats: w.openmetrics_label_floats,
                name,
                registry_labels: w.registry_labels,
                labels: w.labels,
            };
            s.start("", None);
            s.f64(*value);
            if let Some(t) = timestamp {
                s.out.push(b' ');
                if s.openmetrics {
                    fmt::write_float(s.out, *t);
                } else {
                    // The classic format's timestamps are integer milliseconds.
                    fmt::write_float(s.out, (*t * 1000.0).trunc());
                }
            }
            s.exemplar(exemplar.as_ref());
            s.end();
        }
        PointValue::StateSet(states) => {
            let label = w.name.to_owned();
            for (state, on) in states {
                let mut esc = String::new();
                escape_label_value(&mut esc, state);
                w.start("", Some((&label, &esc)));
                w.f64(if *on { 1.0 } else { 0.0 });
                w.end();
            }
        }
    }
}
