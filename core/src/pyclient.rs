//! The exposition as Python's `prometheus_client` writes it, byte for byte, for the Python
//! binding (a drop-in replacement for it): every value through `floatToGoString` (`2.0`,
//! `1e+06`), each sample's labels sorted by name, `_created`/`_gcount`/`_gsum` as gauge families
//! of their own in the classic format, and metric and label names under one of the name
//! escaping schemes a scraper may ask for (`escaping=` in `Accept`), UTF-8 names included.
//!
//! It works on the owned data model ([`MetricFamily`]), listing each family's samples as
//! `prometheus_client` lists them ([`MetricFamily::flat_samples`]). The Go-style encoder
//! ([`Encoder`](crate::Encoder)) every other binding uses is untouched.

use crate::exemplar::Exemplar;
use crate::fmt::{go_string_python, write_go_string_python, write_python_float};
use crate::metric::{FlatSample, MetricFamily, MetricPoint, MetricType, PointValue};

/// How metric and label names outside the legacy character set are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NameEscaping {
    /// As they are, in double quotes where the format allows it (`{"my.metric"}`).
    AllowUtf8,
    /// Each character outside the legacy set becomes `_` (the default).
    #[default]
    Underscores,
    /// Reversibly: `_` doubled, `.` as `_dot_`, anything else outside the set as `__`.
    Dots,
    /// `U__` then each character outside the set as `_<hex code point>_`, `_` doubled.
    Values,
}

impl NameEscaping {
    /// The scheme named `allow-utf-8`, `underscores`, `dots` or `values`; None otherwise.
    pub fn parse(name: &str) -> Option<NameEscaping> {
        Some(match name {
            "allow-utf-8" => NameEscaping::AllowUtf8,
            "underscores" => NameEscaping::Underscores,
            "dots" => NameEscaping::Dots,
            "values" => NameEscaping::Values,
            _ => return None,
        })
    }

    /// The scheme's name, as [`parse`](Self::parse) reads it.
    pub fn name(self) -> &'static str {
        match self {
            NameEscaping::AllowUtf8 => "allow-utf-8",
            NameEscaping::Underscores => "underscores",
            NameEscaping::Dots => "dots",
            NameEscaping::Values => "values",
        }
    }
}

/// One sample as `prometheus_client` lists it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample<'a> {
    pub(crate) name: String,
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) value: f64,
    /// Seconds since the epoch.
    pub(crate) timestamp: Option<f64>,
    pub(crate) exemplar: Option<&'a Exemplar>,
}

/// The samples of `f` in `prometheus_client`'s order and names: `_total` then `_created` per
/// counter child, buckets (`le` as `floatToGoString` spells it), `_count` (`_gcount`), `_sum`
/// (`_gsum`), `_created` per histogram child, and so on.
pub(crate) fn samples(f: &MetricFamily) -> Vec<Sample<'_>> {
    let mut out = Vec::new();
    let n = &f.name;
    let gauge_histogram = f.kind == MetricType::GaugeHistogram;
    for p in &f.points {
        let sample = |name: String, labels: Vec<(String, String)>, value: f64| Sample {
            name,
            labels,
            value,
            timestamp: None,
            exemplar: None,
        };
        let with = |k: &str, v: String| {
            let mut l = p.labels.clone();
            l.push((k.to_owned(), v));
            l
        };
        let created = |out: &mut Vec<Sample<'_>>, c: &Option<f64>| {
            if let Some(c) = c {
                out.push(sample(format!("{n}_created"), p.labels.clone(), *c));
            }
        };
        match &p.value {
            PointValue::Counter {
                value,
                created: c,
                exemplar,
            } => {
                out.push(Sample {
                    exemplar: exemplar.as_ref(),
                    ..sample(format!("{n}_total"), p.labels.clone(), *value)
                });
                created(&mut out, c);
            }
            PointValue::Gauge(v) | PointValue::Unknown(v) => {
                out.push(sample(n.clone(), p.labels.clone(), *v))
            }
            PointValue::Histogram {
                buckets,
                count,
                sum,
                created: c,
                ..
            } => {
                for (le, cum, ex) in buckets {
                    out.push(Sample {
                        exemplar: ex.as_ref(),
                        ..sample(
                            format!("{n}_bucket"),
                            with("le", go_string_python(*le)),
                            *cum as f64,
                        )
                    });
                }
                let (count_name, sum_name) = if gauge_histogram {
                    ("_gcount", "_gsum")
                } else {
                    ("_count", "_sum")
                };
                out.push(sample(
                    format!("{n}{count_name}"),
                    p.labels.clone(),
                    *count as f64,
                ));
                out.push(sample(format!("{n}{sum_name}"), p.labels.clone(), *sum));
                created(&mut out, c);
            }
            PointValue::Summary {
                count,
                sum,
                quantiles,
                created: c,
            } => {
                for (q, v) in quantiles {
                    out.push(sample(
                        n.clone(),
                        with("quantile", go_string_python(*q)),
                        *v,
                    ));
                }
                out.push(sample(
                    format!("{n}_count"),
                    p.labels.clone(),
                    *count as f64,
                ));
                out.push(sample(format!("{n}_sum"), p.labels.clone(), *sum));
                created(&mut out, c);
            }
            PointValue::Info(info) => {
                let mut l = p.labels.clone();
                l.extend(info.iter().cloned());
                out.push(sample(format!("{n}_info"), l, 1.0));
            }
            PointValue::Sample {
                name,
                value,
                timestamp,
                exemplar,
            } => out.push(Sample {
                timestamp: *timestamp,
                exemplar: exemplar.as_ref(),
                ..sample(name.clone(), p.labels.clone(), *value)
            }),
            PointValue::StateSet(states) => {
                for (s, on) in states {
                    let v = if *on { 1.0 } else { 0.0 };
                    out.push(sample(n.clone(), with(n, s.clone()), v));
                }
            }
        }
    }
    out
}

fn is_label_rune(c: char, i: usize) -> bool {
    c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit())
}

fn is_metric_rune(c: char, i: usize) -> bool {
    c == ':' || is_label_rune(c, i)
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
pub(crate) fn is_legacy_metric_name(s: &str) -> bool {
    !s.is_empty() && s.chars().enumerate().all(|(i, c)| is_metric_rune(c, i))
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, not `__`-prefixed.
pub(crate) fn is_legacy_label_name(s: &str) -> bool {
    !s.is_empty() && s.chars().enumerate().all(|(i, c)| is_label_rune(c, i)) && !s.starts_with("__")
}

/// Backslash, line feed and double quote escaped (label values, OpenMetrics HELP, quoted names).
fn escape_quoted(out: &mut String, s: &str) {
    // Most values need no escaping: one scan, one copy.
    if !s.bytes().any(|b| matches!(b, b'\\' | b'\n' | b'"')) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// `s` under `escaping`, keeping the characters `valid(c, index)` accepts.
fn escape_runes(out: &mut String, s: &str, escaping: NameEscaping, valid: fn(char, usize) -> bool) {
    match escaping {
        NameEscaping::AllowUtf8 => escape_quoted(out, s),
        NameEscaping::Underscores => {
            out.extend(
                s.chars()
                    .enumerate()
                    .map(|(i, c)| if valid(c, i) { c } else { '_' }),
            )
        }
        NameEscaping::Dots => {
            for (i, c) in s.chars().enumerate() {
                match c {
                    '_' => out.push_str("__"),
                    '.' => out.push_str("_dot_"),
                    c if valid(c, i) => out.push(c),
                    _ => out.push_str("__"),
                }
            }
        }
        NameEscaping::Values => {
            out.push_str("U__");
            for (i, c) in s.chars().enumerate() {
                match c {
                    '_' => out.push_str("__"),
                    c if valid(c, i) => out.push(c),
                    c => {
                        use std::fmt::Write;
                        let _ = write!(out, "_{:x}_", c as u32);
                    }
                }
            }
        }
    }
}

/// A metric or label name as written in a header or label block: quoted under `allow-utf-8`
/// when outside the legacy set; left alone when legacy (except under `dots`, which doubles
/// underscores); escaped otherwise.
fn escape_name(
    out: &mut String,
    s: &str,
    escaping: NameEscaping,
    legacy: fn(&str) -> bool,
    valid: fn(char, usize) -> bool,
) {
    if s.is_empty() {
        return;
    }
    match escaping {
        NameEscaping::AllowUtf8 if !legacy(s) => {
            out.push('"');
            escape_quoted(out, s);
            out.push('"');
        }
        NameEscaping::Underscores | NameEscaping::Values if legacy(s) => out.push_str(s),
        _ => escape_runes(out, s, escaping, valid),
    }
}

pub(crate) fn escape_metric_name(out: &mut String, s: &str, escaping: NameEscaping) {
    escape_name(out, s, escaping, is_legacy_metric_name, is_metric_rune)
}

pub(crate) fn escape_label_name(out: &mut String, s: &str, escaping: NameEscaping) {
    escape_name(out, s, escaping, is_legacy_label_name, is_label_rune)
}

/// `k="v",…` sorted by name.
fn label_block(out: &mut String, labels: &[(String, String)], escaping: NameEscaping) {
    let mut sorted: Vec<&(String, String)> = labels.iter().collect();
    sorted.sort();
    for (i, (k, v)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        escape_label_name(out, k, escaping);
        out.push_str("=\"");
        escape_quoted(out, v);
        out.push('"');
    }
}

fn push_go(out: &mut String, v: f64) {
    let mut b = Vec::with_capacity(24);
    write_go_string_python(&mut b, v);
    out.push_str(std::str::from_utf8(&b).expect("ASCII"));
}

fn push_repr(out: &mut String, v: f64) {
    let mut b = Vec::with_capacity(24);
    write_python_float(&mut b, v);
    out.push_str(std::str::from_utf8(&b).expect("ASCII"));
}

fn text_help(out: &mut String, help: &str) {
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn text_header(out: &mut String, name: &str, help: &str, kind: &str, escaping: NameEscaping) {
    out.push_str("# HELP ");
    escape_metric_name(out, name, escaping);
    out.push(' ');
    text_help(out, help);
    out.push_str("\n# TYPE ");
    escape_metric_name(out, name, escaping);
    out.push(' ');
    out.push_str(kind);
    out.push('\n');
}

fn text_sample(out: &mut String, s: &Sample<'_>, escaping: NameEscaping) {
    let quoted = escaping == NameEscaping::AllowUtf8 && !is_legacy_metric_name(&s.name);
    if quoted {
        out.push('{');
        escape_metric_name(out, &s.name, escaping);
        if !s.labels.is_empty() {
            out.push(',');
        }
    } else {
        escape_metric_name(out, &s.name, escaping);
        if !s.labels.is_empty() {
            out.push('{');
        }
    }
    label_block(out, &s.labels, escaping);
    if quoted || !s.labels.is_empty() {
        out.push('}');
    }
    out.push(' ');
    push_go(out, s.value);
    if let Some(t) = s.timestamp {
        // Integer milliseconds, truncated toward zero.
        use std::fmt::Write;
        let _ = write!(out, " {}", (t * 1000.0).trunc() as i64);
    }
    out.push('\n');
}

/// A sample name as written at the start of a line, escaped once per family and suffix:
/// `name{` (or `name` when a sample has no labels), or `{"name"` under `allow-utf-8`.
struct LineName {
    text: String,
    quoted: bool,
}

impl LineName {
    fn new(base: &str, suffix: &str, escaping: NameEscaping) -> LineName {
        let full = format!("{base}{suffix}");
        let quoted = escaping == NameEscaping::AllowUtf8 && !is_legacy_metric_name(&full);
        let mut text = String::new();
        escape_metric_name(&mut text, &full, escaping);
        LineName { text, quoted }
    }
}

/// One point's labels, sorted by name and rendered once into one buffer (`k="v",k="v"`), with
/// the byte offset where a bucket's `le` or a quantile's `quantile` label falls among them.
/// Reused from point to point, so a scrape allocates per family, not per point.
#[derive(Default)]
struct PointLabels {
    joined: String,
    extra_at: usize,
    order: Vec<usize>,
}

impl PointLabels {
    fn render(&mut self, labels: &[(String, String)], extra: &str, escaping: NameEscaping) {
        self.joined.clear();
        self.order.clear();
        self.order.extend(0..labels.len());
        if labels.len() > 1 {
            self.order.sort_by(|&a, &b| labels[a].cmp(&labels[b]));
        }
        self.extra_at = 0;
        for (i, &at) in self.order.iter().enumerate() {
            let (k, v) = &labels[at];
            if i > 0 {
                self.joined.push(',');
            }
            escape_label_name(&mut self.joined, k, escaping);
            self.joined.push_str("=\"");
            escape_quoted(&mut self.joined, v);
            self.joined.push('"');
            if !extra.is_empty() && k.as_str() < extra {
                // Sorted, so this ends the labels before the extra one.
                self.extra_at = self.joined.len();
            }
        }
    }
}

/// Writes `name{labels} value\n`, with `extra` (already rendered, `le="0.5"`) in its sorted place.
fn text_line(
    out: &mut String,
    name: &LineName,
    labels: &PointLabels,
    extra: Option<&str>,
    value: f64,
    num: &mut Vec<u8>,
) {
    let empty = labels.joined.is_empty() && extra.is_none();
    if name.quoted {
        out.push('{');
        out.push_str(&name.text);
        if !empty {
            out.push(',');
        }
    } else {
        out.push_str(&name.text);
        if !empty {
            out.push('{');
        }
    }
    match extra {
        None => out.push_str(&labels.joined),
        Some(e) => {
            let (before, after) = labels.joined.split_at(labels.extra_at);
            out.push_str(before);
            if !before.is_empty() {
                out.push(',');
            }
            out.push_str(e);
            // `after` starts with the comma that separated it from `before`, if any.
            let after = after.strip_prefix(',').unwrap_or(after);
            if !after.is_empty() {
                out.push(',');
                out.push_str(after);
            }
        }
    }
    if name.quoted || !empty {
        out.push('}');
    }
    out.push(' ');
    num.clear();
    write_go_string_python(num, value);
    out.push_str(std::str::from_utf8(num).expect("ASCII"));
    out.push('\n');
}

/// The classic text of a counter, gauge, histogram or summary family written straight from
/// its points (one label sort and name escaping per point and family instead of per sample);
/// false, having written nothing, for any other family, which [`write_text`] lists through
/// [`samples`]. Produces the same bytes as that path.
fn write_text_direct(out: &mut String, f: &MetricFamily, escaping: NameEscaping) -> bool {
    let simple = f.points.iter().all(|p| {
        matches!(
            (&f.kind, &p.value),
            (MetricType::Counter, PointValue::Counter { .. })
                | (MetricType::Gauge, PointValue::Gauge(_))
                | (
                    MetricType::Histogram | MetricType::GaugeHistogram,
                    PointValue::Histogram { .. }
                )
                | (MetricType::Summary, PointValue::Summary { .. })
        )
    });
    if !simple {
        return false;
    }
    let n = f.name.as_str();
    let (header_suffix, kind, extra) = match f.kind {
        MetricType::Counter => ("_total", "counter", ""),
        MetricType::Gauge => ("", "gauge", ""),
        MetricType::Summary => ("", "summary", "quantile"),
        _ => ("", "histogram", "le"),
    };
    text_header(out, &format!("{n}{header_suffix}"), &f.help, kind, escaping);
    let gauge_histogram = f.kind == MetricType::GaugeHistogram;
    let (count_suffix, sum_suffix) = if gauge_histogram {
        ("_gcount", "_gsum")
    } else {
        ("_count", "_sum")
    };
    let main = LineName::new(n, header_suffix, escaping);
    let bucket = LineName::new(n, "_bucket", escaping);
    let count = LineName::new(n, count_suffix, escaping);
    let sum = LineName::new(n, sum_suffix, escaping);
    let created_name = LineName::new(n, "_created", escaping);
    // `_created` (and a gauge histogram's `_gcount`/`_gsum`) go in gauge families of their own
    // after the family, as prometheus_client writes them.
    let (mut created, mut gcount, mut gsum) = (String::new(), String::new(), String::new());
    let mut num = Vec::with_capacity(32);
    let mut extra_label = String::new();
    let mut extra_value = Vec::with_capacity(32);
    let mut render_extra = |into: &mut String, v: f64| {
        into.clear();
        into.push_str(extra);
        into.push_str("=\"");
        extra_value.clear();
        write_go_string_python(&mut extra_value, v);
        into.push_str(std::str::from_utf8(&extra_value).expect("ASCII"));
        into.push('"');
    };
    let mut labels = PointLabels::default();
    for p in &f.points {
        labels.render(&p.labels, extra, escaping);
        let c = match &p.value {
            PointValue::Counter { value, created, .. } => {
                text_line(out, &main, &labels, None, *value, &mut num);
                created
            }
            PointValue::Gauge(v) => {
                text_line(out, &main, &labels, None, *v, &mut num);
                &None
            }
            PointValue::Histogram {
                buckets,
                count: total,
                sum: s,
                created,
                ..
            } => {
                for (le, cum, _) in buckets {
                    render_extra(&mut extra_label, *le);
                    text_line(
                        out,
                        &bucket,
                        &labels,
                        Some(&extra_label),
                        *cum as f64,
                        &mut num,
                    );
                }
                if gauge_histogram {
                    text_line(&mut gcount, &count, &labels, None, *total as f64, &mut num);
                    text_line(&mut gsum, &sum, &labels, None, *s, &mut num);
                } else {
                    text_line(out, &count, &labels, None, *total as f64, &mut num);
                    text_line(out, &sum, &labels, None, *s, &mut num);
                }
                created
            }
            PointValue::Summary {
                count: total,
                sum: s,
                quantiles,
                created,
            } => {
                for (q, v) in quantiles {
                    render_extra(&mut extra_label, *q);
                    text_line(out, &main, &labels, Some(&extra_label), *v, &mut num);
                }
                text_line(out, &count, &labels, None, *total as f64, &mut num);
                text_line(out, &sum, &labels, None, *s, &mut num);
                created
            }
            _ => unreachable!("checked above"),
        };
        if let Some(c) = c {
            text_line(&mut created, &created_name, &labels, None, *c, &mut num);
        }
    }
    for (suffix, lines) in [("_created", created), ("_gcount", gcount), ("_gsum", gsum)] {
        if !lines.is_empty() {
            text_header(out, &format!("{n}{suffix}"), &f.help, "gauge", escaping);
            out.push_str(&lines);
        }
    }
    true
}

/// The classic text format (0.0.4) of `families`, as `prometheus_client.generate_latest`.
pub(crate) fn write_text(out: &mut String, families: &[MetricFamily], escaping: NameEscaping) {
    for f in families {
        if !write_text_direct(out, f, escaping) {
            write_text_listed(out, f, escaping);
        }
    }
}

/// One family's classic text through [`samples`]: every kind, custom samples included.
fn write_text_listed(out: &mut String, f: &MetricFamily, escaping: NameEscaping) {
    {
        let (suffix, kind) = match f.kind {
            MetricType::Counter => ("_total", "counter"),
            MetricType::Info => ("_info", "gauge"),
            MetricType::StateSet | MetricType::Gauge => ("", "gauge"),
            MetricType::GaugeHistogram | MetricType::Histogram => ("", "histogram"),
            MetricType::Summary => ("", "summary"),
            MetricType::Unknown => ("", "untyped"),
        };
        text_header(out, &format!("{}{suffix}", f.name), &f.help, kind, escaping);
        let mut deferred: Vec<(&'static str, String)> = Vec::new();
        for s in samples(f) {
            let suffix = s.name.strip_prefix(f.name.as_str()).and_then(|rest| {
                ["_created", "_gsum", "_gcount"]
                    .into_iter()
                    .find(|x| *x == rest)
            });
            match suffix {
                Some(suffix) => {
                    let mut line = String::new();
                    text_sample(&mut line, &s, escaping);
                    match deferred.iter_mut().find(|(x, _)| *x == suffix) {
                        Some((_, lines)) => lines.push_str(&line),
                        None => deferred.push((suffix, line)),
                    }
                }
                None => text_sample(out, &s, escaping),
            }
        }
        deferred.sort_by_key(|(suffix, _)| *suffix);
        for (suffix, lines) in deferred {
            text_header(
                out,
                &format!("{}{suffix}", f.name),
                &f.help,
                "gauge",
                escaping,
            );
            out.push_str(&lines);
        }
    }
}

/// OpenMetrics 1.0 text of `families` (with `# EOF`), as
/// `prometheus_client.openmetrics.exposition.generate_latest`.
pub(crate) fn write_openmetrics(
    out: &mut String,
    families: &[MetricFamily],
    escaping: NameEscaping,
) {
    for f in families {
        out.push_str("# HELP ");
        escape_metric_name(out, &f.name, escaping);
        out.push(' ');
        escape_quoted(out, &f.help);
        out.push_str("\n# TYPE ");
        escape_metric_name(out, &f.name, escaping);
        out.push(' ');
        out.push_str(f.kind.openmetrics_name());
        out.push('\n');
        if let Some(unit) = f.unit.as_deref().filter(|u| !u.is_empty()) {
            out.push_str("# UNIT ");
            escape_metric_name(out, &f.name, escaping);
            out.push(' ');
            out.push_str(unit);
            out.push('\n');
        }
        for s in samples(f) {
            let quoted = escaping == NameEscaping::AllowUtf8 && !is_legacy_metric_name(&s.name);
            let mut block = String::new();
            if quoted {
                escape_metric_name(&mut block, &s.name, escaping);
                if !s.labels.is_empty() {
                    block.push(',');
                }
            } else {
                // prometheus_client escapes every sample name under the scheme, with the label
                // name character set (so `values` prefixes even a legacy name with `U__`).
                escape_runes(out, &s.name, escaping, is_label_rune);
            }
            label_block(&mut block, &s.labels, escaping);
            if !block.is_empty() {
                out.push('{');
                out.push_str(&block);
                out.push('}');
            }
            out.push(' ');
            push_go(out, s.value);
            if let Some(t) = s.timestamp {
                out.push(' ');
                push_repr(out, t);
            }
            if let Some(e) = s.exemplar {
                out.push_str(" # {");
                let mut labels = e.labels.clone();
                labels.sort();
                for (i, (k, v)) in labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(k);
                    out.push_str("=\"");
                    escape_quoted(out, v);
                    out.push('"');
                }
                out.push_str("} ");
                push_go(out, e.value);
                // A NaN timestamp stands for none (a custom collector's exemplar without one).
                if e.timestamp.is_finite() {
                    out.push(' ');
                    push_repr(out, e.timestamp);
                }
            }
            out.push('\n');
        }
    }
    out.push_str("# EOF\n");
}

/// The renderer an `Accept` header gets, as `prometheus_client`'s `choose_encoder` picks it:
/// the first `application/openmetrics-text` (version 1.0.0 or later, or none) or `text/plain`
/// with version 1.0.0 or later, with its `escaping=` scheme (underscores unless one of the
/// four is named); the classic text format 0.0.4 with underscores otherwise. `q` values are not
/// weighed. Returns the format, the escaping and the content type to answer with.
pub fn negotiate(accept: Option<&str>) -> (crate::Format, NameEscaping, String) {
    use crate::Format;
    for accepted in accept.unwrap_or("").split(',') {
        let toks: Vec<&str> = accepted.split(';').collect();
        let media = toks[0].trim();
        let param = |key: &str| {
            toks.iter().find_map(|t| {
                let (k, v) = t.trim().split_once('=')?;
                (k == key).then_some(v)
            })
        };
        let version = param("version").filter(|v| !v.is_empty());
        let escaping = param("escaping")
            .and_then(NameEscaping::parse)
            .unwrap_or_default();
        let at_least_1 = version.is_some_and(version_at_least_1);
        match media {
            "application/openmetrics-text" => match version {
                None => {
                    return (
                        Format::OpenMetrics,
                        NameEscaping::Underscores,
                        crate::CONTENT_TYPE_OPENMETRICS.to_owned(),
                    )
                }
                Some(v) if at_least_1 => {
                    return (
                        Format::OpenMetrics,
                        escaping,
                        format!(
                            "application/openmetrics-text; version={v}; charset=utf-8; escaping={}",
                            escaping.name()
                        ),
                    )
                }
                _ => {}
            },
            "text/plain" if at_least_1 => {
                return (
                    Format::Text,
                    escaping,
                    format!(
                        "text/plain; version=1.0.0; charset=utf-8; escaping={}",
                        escaping.name()
                    ),
                )
            }
            _ => {}
        }
    }
    (
        crate::Format::Text,
        NameEscaping::Underscores,
        crate::CONTENT_TYPE_TEXT.to_owned(),
    )
}

/// Whether a dotted version compares at least `1.0.0` (numeric parts compared as numbers; a
/// part that is not a number ends the comparison as "not at least").
fn version_at_least_1(v: &str) -> bool {
    for (i, want) in [1u64, 0, 0].into_iter().enumerate() {
        match v.split('.').nth(i) {
            None => return false,
            Some(part) => match part.parse::<u64>() {
                Ok(n) if n > want => return true,
                Ok(n) if n == want => continue,
                _ => return false,
            },
        }
    }
    true
}

impl MetricFamily {
    /// Every sample of the family spelled out, as prometheus_client lists them (`_total`,
    /// `_bucket{le}`, `_count`/`_gcount`, `_sum`/`_gsum`, `_created`, `{quantile}`, `_info`, one
    /// per state), owned: the listing the Python exposition writes from, so what `collect()`
    /// returns and what a scrape shows agree.
    pub fn flat_samples(&self) -> Vec<FlatSample> {
        crate::pyclient::samples(self)
            .into_iter()
            .map(|s| FlatSample {
                name: s.name,
                labels: s.labels,
                value: s.value,
                timestamp: s.timestamp,
                exemplar: s.exemplar.cloned(),
            })
            .collect()
    }

    /// This family with only the samples named in `names`, each spelled out as a
    /// [`PointValue::Sample`]; None when none is left (prometheus_client's restricted
    /// registries yield such families).
    pub(crate) fn restricted(
        &self,
        names: &std::collections::HashSet<String>,
    ) -> Option<MetricFamily> {
        let points: Vec<MetricPoint> = self
            .flat_samples()
            .into_iter()
            .filter(|s| names.contains(&s.name))
            .map(|s| MetricPoint {
                labels: s.labels,
                value: PointValue::Sample {
                    name: s.name,
                    value: s.value,
                    timestamp: s.timestamp,
                    exemplar: s.exemplar,
                },
            })
            .collect();
        if points.is_empty() {
            return None;
        }
        Some(MetricFamily {
            name: self.name.clone(),
            help: self.help.clone(),
            unit: self.unit.clone(),
            kind: self.kind,
            points,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;

    fn text(families: &[MetricFamily], escaping: NameEscaping) -> String {
        let mut out = String::new();
        write_text(&mut out, families, escaping);
        out
    }

    fn om(families: &[MetricFamily], escaping: NameEscaping) -> String {
        let mut out = String::new();
        write_openmetrics(&mut out, families, escaping);
        out
    }

    fn counter(name: &str) -> MetricFamily {
        let mut f = MetricFamily::new(name, "A counter", MetricType::Counter);
        f.push(
            Vec::<(String, String)>::new(),
            PointValue::Counter {
                value: 1.0,
                created: Some(123.456),
                exemplar: None,
            },
        );
        f
    }

    #[test]
    fn classic_text_as_prometheus_client_writes_it() {
        let mut g = MetricFamily::new("cc", "A\ngaug\\e \"q\"", MetricType::Gauge);
        g.push([("b", "2"), ("a", "\\x\n\"")], PointValue::Gauge(17.0));
        let mut h = MetricFamily::new("hh", "H", MetricType::Histogram);
        h.push(
            Vec::<(String, String)>::new(),
            PointValue::Histogram {
                buckets: vec![(1.0, 0, None), (1e6, 1, None), (f64::INFINITY, 1, None)],
                count: 1,
                sum: 0.05,
                created: Some(1.0),
                native: None,
            },
        );
        assert_eq!(
            text(&[counter("cc"), g, h], NameEscaping::Underscores),
            "# HELP cc_total A counter\n# TYPE cc_total counter\ncc_total 1.0\n\
             # HELP cc_created A counter\n# TYPE cc_created gauge\ncc_created 123.456\n\
             # HELP cc A\\ngaug\\\\e \"q\"\n# TYPE cc gauge\ncc{a=\"\\\\x\\n\\\"\",b=\"2\"} 17.0\n\
             # HELP hh H\n# TYPE hh histogram\nhh_bucket{le=\"1.0\"} 0.0\n\
             hh_bucket{le=\"1e+06\"} 1.0\nhh_bucket{le=\"+Inf\"} 1.0\nhh_count 1.0\nhh_sum 0.05\n\
             # HELP hh_created H\n# TYPE hh_created gauge\nhh_created 1.0\n"
        );
    }

    /// The direct writer and the sample-listing one give the same bytes for every kind it takes:
    /// labels sorting before and after `le`/`quantile`, none, escaped and UTF-8 names, special
    /// values, gauge histograms' deferred families.
    #[test]
    fn direct_text_matches_the_listed_samples() {
        let labelled = [
            ("zone", "b\"x"),
            ("app", "a\n"),
            ("lf", "1"),
            ("quality", "q"),
        ];
        let mut c = MetricFamily::new("jobs.done", "Jobs", MetricType::Counter);
        c.push(
            labelled,
            PointValue::Counter {
                value: 1e6,
                created: None,
                exemplar: None,
            },
        );
        c.push(
            [("app", "z")],
            PointValue::Counter {
                value: -0.0,
                created: Some(5.5),
                exemplar: None,
            },
        );
        let mut g = MetricFamily::new("temp", "T", MetricType::Gauge);
        for v in [
            0.0,
            -0.0,
            3.0,
            -7.0,
            999_999.0,
            1e6,
            1.5e-7,
            f64::NAN,
            f64::NEG_INFINITY,
        ] {
            g.push([("v", format!("{v}"))], PointValue::Gauge(v));
        }
        let hist = |f: &mut MetricFamily| {
            f.push(
                labelled,
                PointValue::Histogram {
                    buckets: vec![(0.5, 1, None), (1.0, 2, None), (f64::INFINITY, 3, None)],
                    count: 3,
                    sum: 2.25,
                    created: Some(7.0),
                    native: None,
                },
            );
            f.push(
                Vec::<(String, String)>::new(),
                PointValue::Histogram {
                    buckets: vec![(f64::INFINITY, 0, None)],
                    count: 0,
                    sum: 0.0,
                    created: None,
                    native: None,
                },
            );
        };
        let mut h = MetricFamily::new("lat", "L", MetricType::Histogram);
        hist(&mut h);
        let mut gh = MetricFamily::new("queue", "Q", MetricType::GaugeHistogram);
        hist(&mut gh);
        let mut sm = MetricFamily::new("size", "S", MetricType::Summary);
        sm.push(
            labelled,
            PointValue::Summary {
                count: 4,
                sum: 10.0,
                quantiles: vec![(0.5, 2.0), (0.99, 4.0)],
                created: Some(1.0),
            },
        );
        let empty = MetricFamily::new("nothing", "N", MetricType::Gauge);
        for f in [c, g, h, gh, sm, empty] {
            for escaping in [
                NameEscaping::Underscores,
                NameEscaping::AllowUtf8,
                NameEscaping::Dots,
                NameEscaping::Values,
            ] {
                let (mut direct, mut listed) = (String::new(), String::new());
                assert!(write_text_direct(&mut direct, &f, escaping));
                write_text_listed(&mut listed, &f, escaping);
                assert_eq!(direct, listed, "{} under {escaping:?}", f.name);
            }
        }
    }

    #[test]
    fn utf8_names_under_each_escaping() {
        let f = [counter("utf8.cc")];
        assert_eq!(
            text(&f, NameEscaping::AllowUtf8),
            "# HELP \"utf8.cc_total\" A counter\n# TYPE \"utf8.cc_total\" counter\n\
             {\"utf8.cc_total\"} 1.0\n# HELP \"utf8.cc_created\" A counter\n\
             # TYPE \"utf8.cc_created\" gauge\n{\"utf8.cc_created\"} 123.456\n"
        );
        assert!(text(&f, NameEscaping::Underscores).contains("\nutf8_cc_total 1.0\n"));
        assert!(text(&f, NameEscaping::Dots).contains("\nutf8_dot_cc__total 1.0\n"));
        assert!(text(&f, NameEscaping::Values).contains("\nU__utf8_2e_cc__total 1.0\n"));
        let o = om(&f, NameEscaping::AllowUtf8);
        assert!(o.starts_with("# HELP \"utf8.cc\" A counter\n# TYPE \"utf8.cc\" counter\n"));
        assert!(o.contains("\n{\"utf8.cc_total\"} 1.0\n{\"utf8.cc_created\"} 123.456\n# EOF\n"));
        let mut l = MetricFamily::new("g", "G", MetricType::Gauge);
        l.push([("my.label", "v")], PointValue::Gauge(-0.0));
        assert_eq!(
            text(&[l.clone()], NameEscaping::AllowUtf8),
            "# HELP g G\n# TYPE g gauge\ng{\"my.label\"=\"v\"} -0.0\n"
        );
        assert!(text(&[l], NameEscaping::Underscores).ends_with("g{my_label=\"v\"} -0.0\n"));
    }

    #[test]
    fn negotiation_as_choose_encoder() {
        let n = |a: Option<&str>| negotiate(a);
        assert_eq!(
            n(None),
            (
                Format::Text,
                NameEscaping::Underscores,
                crate::CONTENT_TYPE_TEXT.into()
            )
        );
        assert_eq!(
            n(Some(
                "application/openmetrics-text; version=1.0.0; charset=utf-8"
            ))
            .2,
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
        );
        assert_eq!(
            n(Some(
                "application/openmetrics-text; charset=utf-8; escaping=allow-utf-8"
            )),
            (
                Format::OpenMetrics,
                NameEscaping::Underscores,
                crate::CONTENT_TYPE_OPENMETRICS.into()
            )
        );
        assert_eq!(
            n(Some(
                "text/plain; version=1.0.0; charset=utf-8; escaping=dots"
            )),
            (
                Format::Text,
                NameEscaping::Dots,
                "text/plain; version=1.0.0; charset=utf-8; escaping=dots".into()
            )
        );
        assert_eq!(
            n(Some("text/plain; escaping=allow-utf-8")).1,
            NameEscaping::Underscores
        );
        assert_eq!(
            n(Some("application/openmetrics-text; version=0.0.1")).0,
            Format::Text
        );
    }
}
