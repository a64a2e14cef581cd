//! `footmetrics lint`: checks an exposition (classic text or OpenMetrics) against Prometheus
//! naming conventions and the catalog: units and `_total`, label sets, label values, buckets,
//! cardinality, and catalog metrics a service should export but does not.

use crate::{Catalog, Kind, MetricDef};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Read;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem: `error[labels] http_requests_total: ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    /// A stable short name of the rule broken (`counter-total`, `labels`, `missing`, ...).
    pub code: &'static str,
    pub metric: String,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{s}[{}] {}: {}", self.code, self.metric, self.message)
    }
}

#[derive(Debug, Clone)]
pub struct LintOptions {
    /// Catalog services whose metrics must all be present (`api-gateway`).
    pub services: Vec<String>,
    /// Expect every catalog metric.
    pub all_services: bool,
    /// A family with more series than this is reported.
    pub max_series: usize,
}

impl Default for LintOptions {
    fn default() -> Self {
        LintOptions {
            services: Vec::new(),
            all_services: false,
            max_series: 1000,
        }
    }
}

/// Units Prometheus wants in base form, and the base unit to use instead.
const NON_BASE_UNITS: &[(&str, &str)] = &[
    ("milliseconds", "seconds"),
    ("millis", "seconds"),
    ("ms", "seconds"),
    ("microseconds", "seconds"),
    ("us", "seconds"),
    ("nanoseconds", "seconds"),
    ("ns", "seconds"),
    ("minutes", "seconds"),
    ("hours", "seconds"),
    ("days", "seconds"),
    ("kilobytes", "bytes"),
    ("kb", "bytes"),
    ("kib", "bytes"),
    ("megabytes", "bytes"),
    ("mb", "bytes"),
    ("mib", "bytes"),
    ("gigabytes", "bytes"),
    ("gb", "bytes"),
    ("gib", "bytes"),
    ("percent", "ratio"),
    ("percentage", "ratio"),
    ("pct", "ratio"),
];

/// Label names that usually carry unbounded values (one series per user, request, URL...).
const UNBOUNDED_LABELS: &[&str] = &[
    "user_id",
    "session_id",
    "request_id",
    "trace_id",
    "span_id",
    "email",
    "ip",
    "client_ip",
    "url",
    "uuid",
];

/// Suffixes a sample name may add to its family's name.
const SAMPLE_SUFFIXES: &[&str] = &[
    "_bucket", "_count", "_sum", "_created", "_total", "_info", "_gcount", "_gsum",
];

#[derive(Default)]
struct Family {
    kind: Option<String>,
    unit: Option<String>,
    sample_names: BTreeSet<String>,
    /// Each series' labels without `le`/`quantile`, sorted.
    series: BTreeSet<Vec<(String, String)>>,
    le: BTreeSet<String>,
}

fn families(text: &str) -> Result<BTreeMap<String, Family>, String> {
    let mut fams: BTreeMap<String, Family> = BTreeMap::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("#") {
            continue;
        }
        match (words.next(), words.next(), words.next()) {
            (Some("TYPE"), Some(name), Some(kind)) => {
                fams.entry(name.to_string()).or_default().kind = Some(kind.to_string());
            }
            (Some("UNIT"), Some(name), Some(unit)) => {
                fams.entry(name.to_string()).or_default().unit = Some(unit.to_string());
            }
            _ => {}
        }
    }
    let samples = footmetrics::parse::parse_text(text).map_err(|e| e.to_string())?;
    for s in samples {
        let family = if fams.contains_key(&s.name) {
            s.name.clone()
        } else {
            SAMPLE_SUFFIXES
                .iter()
                .filter_map(|suf| s.name.strip_suffix(suf))
                .find(|base| fams.contains_key(*base))
                .unwrap_or(&s.name)
                .to_string()
        };
        let f = fams.entry(family).or_default();
        f.sample_names.insert(s.name.clone());
        let mut labels: Vec<(String, String)> = Vec::new();
        for (k, v) in s.labels {
            match k.as_str() {
                "le" => {
                    f.le.insert(v);
                }
                "quantile" => {}
                _ => labels.push((k, v)),
            }
        }
        labels.sort();
        f.series.insert(labels);
    }
    Ok(fams)
}

fn catalog_entry<'c>(c: &'c Catalog, family: &str) -> Option<&'c MetricDef> {
    c.metrics
        .iter()
        .find(|m| m.name == family || m.name.strip_suffix("_total") == Some(family))
}

fn list(items: &BTreeSet<&str>) -> String {
    items.iter().copied().collect::<Vec<_>>().join(", ")
}

/// Every problem in `text`, errors first.
pub fn lint(text: &str, c: &Catalog, o: &LintOptions) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push = |severity, code, metric: &str, message: String| {
        out.push(Finding {
            severity,
            code,
            metric: metric.to_string(),
            message,
        })
    };
    let fams = match families(text) {
        Ok(f) => f,
        Err(e) => {
            push(Severity::Error, "parse", "-", e);
            return out;
        }
    };
    for (name, f) in &fams {
        let kind = f.kind.as_deref().unwrap_or("untyped");
        // Names.
        if name.contains(':') {
            push(
                Severity::Error,
                "name",
                name,
                "colons are reserved for recording rules; exported names use [a-z0-9_]".into(),
            );
        }
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            push(
                Severity::Warning,
                "name",
                name,
                "metric names are snake_case, in lower case".into(),
            );
        }
        let values: Vec<&String> = f
            .sample_names
            .iter()
            .filter(|n| !n.ends_with("_created"))
            .collect();
        if kind == "counter" && values.iter().any(|n| !n.ends_with("_total")) {
            push(
                Severity::Error,
                "counter-total",
                name,
                format!("a counter's name must end in _total (rename it {name}_total)"),
            );
        }
        if kind != "counter" && kind != "untyped" && name.ends_with("_total") {
            push(
                Severity::Error,
                "total-suffix",
                name,
                format!("only counters end in _total, and this is a {kind}"),
            );
        }
        for token in name.split('_') {
            if let Some((_, base)) = NON_BASE_UNITS.iter().find(|(u, _)| *u == token) {
                push(
                    Severity::Error,
                    "unit",
                    name,
                    format!("{token:?} is not a base unit: record {base} and name it _{base}"),
                );
            }
        }
        if let Some(unit) = &f.unit {
            let base = name.strip_suffix("_total").unwrap_or(name);
            if !base.ends_with(&format!("_{unit}")) {
                push(
                    Severity::Error,
                    "unit",
                    name,
                    format!("declares unit {unit:?} but the name does not end in _{unit}"),
                );
            }
        }
        if f.kind.is_none() {
            push(
                Severity::Warning,
                "untyped",
                name,
                "no # TYPE line: Prometheus cannot tell a counter from a gauge".into(),
            );
        }
        // Cardinality.
        if f.series.len() > o.max_series {
            push(
                Severity::Error,
                "cardinality",
                name,
                format!(
                    "{} series, over the limit of {}: a label takes unbounded values",
                    f.series.len(),
                    o.max_series
                ),
            );
        }
        let label_names: BTreeSet<&str> =
            f.series.iter().flatten().map(|(k, _)| k.as_str()).collect();
        for l in label_names.iter().filter(|l| UNBOUNDED_LABELS.contains(l)) {
            push(
                Severity::Warning,
                "unbounded-label",
                name,
                format!("label {l:?} usually takes one value per user or request"),
            );
        }
        // The catalog.
        let Some(m) = catalog_entry(c, name) else {
            continue;
        };
        if f.kind.is_some() && kind != m.kind.type_word() {
            push(
                Severity::Error,
                "type",
                name,
                format!("is a {kind}; the catalog declares a {}", m.kind.type_word()),
            );
        }
        let declared: BTreeSet<&str> = m.labels.iter().map(String::as_str).collect();
        let mut missing = BTreeSet::new();
        let mut unexpected = BTreeSet::new();
        for series in &f.series {
            let have: BTreeSet<&str> = series.iter().map(|(k, _)| k.as_str()).collect();
            missing.extend(declared.difference(&have).copied());
            unexpected.extend(have.difference(&declared).copied());
        }
        if !missing.is_empty() || !unexpected.is_empty() {
            let mut why = Vec::new();
            if !missing.is_empty() {
                why.push(format!("missing {}", list(&missing)));
            }
            if !unexpected.is_empty() {
                why.push(format!("not declared: {}", list(&unexpected)));
            }
            push(
                Severity::Error,
                "labels",
                name,
                format!(
                    "label set differs from the catalog's [{}]: {}",
                    m.labels.join(", "),
                    why.join("; ")
                ),
            );
        }
        for (label, allowed) in &m.label_values {
            let bad: BTreeSet<&str> = f
                .series
                .iter()
                .flatten()
                .filter(|(k, v)| k == label && !allowed.contains(v))
                .map(|(_, v)| v.as_str())
                .collect();
            if !bad.is_empty() {
                push(
                    Severity::Error,
                    "label-value",
                    name,
                    format!(
                        "{label}={{{}}} is outside the catalog's values [{}]",
                        list(&bad),
                        allowed.join(", ")
                    ),
                );
            }
        }
        if m.kind == Kind::Histogram && !f.le.is_empty() {
            let got: BTreeSet<String> =
                f.le.iter()
                    .filter(|b| *b != "+Inf")
                    .filter_map(|b| b.parse::<f64>().ok())
                    .map(|b| format!("{b}"))
                    .collect();
            let want: BTreeSet<String> = m.buckets.iter().map(|b| format!("{b}")).collect();
            if got != want {
                push(
                    Severity::Error,
                    "buckets",
                    name,
                    format!(
                        "buckets [{}] differ from the catalog's [{}]",
                        got.iter().cloned().collect::<Vec<_>>().join(", "),
                        want.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                );
            }
        }
    }
    for m in &c.metrics {
        let expected = o.all_services || o.services.contains(&m.service);
        if expected
            && !fams
                .keys()
                .any(|f| catalog_entry(c, f).is_some_and(|e| e.name == m.name))
        {
            push(
                Severity::Error,
                "missing",
                &m.name,
                format!(
                    "the catalog expects it from {}, and it is not exported",
                    m.service
                ),
            );
        }
    }
    out.sort_by(|a, b| (a.severity, &a.metric, a.code).cmp(&(b.severity, &b.metric, b.code)));
    out
}

/// The exposition at `source`: a file, `-` for stdin, or an `http://` URL.
pub fn read_source(source: &str) -> Result<String, String> {
    if source == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("reading stdin: {e}"))?;
        return Ok(s);
    }
    if source.starts_with("http://") || source.starts_with("https://") {
        return http_get(source).map_err(|e| format!("{source}: {e}"));
    }
    std::fs::read_to_string(source).map_err(|e| format!("{source}: {e}"))
}

/// The largest exposition `lint` reads from a URL.
const MAX_EXPOSITION_BYTES: usize = 256 << 20;

/// GETs a `/metrics` page with the core's HTTP client (the one Pushgateway pushes use;
/// `https://` trusts the system's root certificates).
fn http_get(url: &str) -> Result<String, String> {
    let headers = [("Accept".to_owned(), "text/plain;version=0.0.4".to_owned())];
    let r = footmetrics::push::exchange(
        url,
        "GET",
        &headers,
        b"",
        std::time::Duration::from_secs(10),
        MAX_EXPOSITION_BYTES,
    )
    .map_err(|e| e.to_string())?;
    if r.status != 200 {
        return Err(format!("answered HTTP {}", r.status));
    }
    if r.truncated {
        return Err(format!(
            "the exposition is over {MAX_EXPOSITION_BYTES} bytes"
        ));
    }
    String::from_utf8(r.body).map_err(|_| "the body is not UTF-8".into())
}
