//! The standard catalog (`catalog.toml`): parsing, validation, and code generation.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

mod c;
mod dashboards;
mod go;
#[cfg(feature = "lint")]
pub mod lint;
mod node;
mod promql;
mod python;
mod rules;
pub mod slo;
pub use c::{c_output_path, render_c};
pub use dashboards::{dashboards, grafana_to_promql, render_dashboard_configmaps, Dashboard};
pub use go::{go_output_path, render_go};
pub use node::{node_output_path, node_types_path, render_node, render_node_types};
pub use promql::{check_expr, known_series, referenced_names};
pub use python::{python_output_path, python_stub_path, render_python, render_python_stub};
pub use rules::{
    render_kubernetes_rules, render_rules, render_slo_configmap, rule_groups, Rule, RuleFile,
    RuleGroup,
};
pub use slo::{AlertDef, SliKind, SloDef};

/// The catalog file, next to this crate's manifest.
pub fn catalog_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog.toml")
}

/// A string literal between `quote`s with the quote, backslash and line feed escaped: valid
/// in Python and JavaScript alike (the catalog's text is plain; escape what could break it).
fn quoted(s: &str, quote: char) -> String {
    let mut o = String::from(quote);
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if c == quote => {
                o.push('\\');
                o.push(c);
            }
            c => o.push(c),
        }
    }
    o.push(quote);
    o
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("catalog/ has a parent")
        .to_path_buf()
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    #[serde(rename = "metric", default)]
    pub metrics: Vec<MetricDef>,
    #[serde(rename = "slo", default)]
    pub slos: Vec<SloDef>,
    #[serde(rename = "alert", default)]
    pub alerts: Vec<AlertDef>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Info,
}

impl Kind {
    /// The type's class name, the same in the core (`MetricType::Counter`, `Counter`) and in
    /// the bindings (`footmetrics.Counter`).
    pub fn class_name(self) -> &'static str {
        match self {
            Kind::Counter => "Counter",
            Kind::Gauge => "Gauge",
            Kind::Histogram => "Histogram",
            Kind::Summary => "Summary",
            Kind::Info => "Info",
        }
    }

    /// The type as the catalog and OpenMetrics spell it (`counter`).
    pub fn type_word(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Summary => "summary",
            Kind::Info => "info",
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MetricDef {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Kind,
    pub help: String,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub buckets: Vec<f64>,
    /// Histograms: native (sparse, exponential) buckets, created native in every language
    /// and queried with native PromQL in the generated rules. Classic `buckets` are then
    /// optional (with them, both are kept).
    #[serde(default)]
    pub native: bool,
    /// The native histogram's bucket factor (default [`DEFAULT_NATIVE_BUCKET_FACTOR`]).
    #[serde(default)]
    pub native_bucket_factor: Option<f64>,
    /// Allowed values for some labels, where the platform fixes them.
    #[serde(default)]
    pub label_values: BTreeMap<String, Vec<String>>,
    pub service: String,
    pub team: String,
}

/// The bucket factor of a native histogram that names none: client_golang's recommended 1.1
/// (schema 3, buckets about 9% wide).
pub const DEFAULT_NATIVE_BUCKET_FACTOR: f64 = 1.1;

impl MetricDef {
    /// The native bucket factor of a native histogram; `None` for a classic one.
    pub fn native_factor(&self) -> Option<f64> {
        self.native.then(|| {
            self.native_bucket_factor
                .unwrap_or(DEFAULT_NATIVE_BUCKET_FACTOR)
        })
    }
}

/// Parses and validates catalog text.
pub fn parse(text: &str) -> Result<Catalog, String> {
    let mut catalog: Catalog = toml::from_str(text).map_err(|e| format!("catalog.toml: {e}"))?;
    validate(&catalog)?;
    for s in &mut catalog.slos {
        s.native = catalog
            .metrics
            .iter()
            .any(|m| Some(&m.name) == s.metric.as_ref() && m.native);
    }
    Ok(catalog)
}

/// Loads the checked-in catalog.
pub fn load() -> Result<Catalog, String> {
    let path = catalog_path();
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text)
}

pub(crate) fn valid_name(s: &str, colons: bool) -> bool {
    !s.is_empty()
        && s.bytes().enumerate().all(|(i, b)| {
            b.is_ascii_alphabetic()
                || b == b'_'
                || (colons && b == b':')
                || (i > 0 && b.is_ascii_digit())
        })
}

/// The rules every catalog entry obeys (checked before anything is generated).
pub fn validate(c: &Catalog) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for m in &c.metrics {
        let n = &m.name;
        let fail = |why: String| Err(format!("metric {n:?}: {why}"));
        if !valid_name(n, true) {
            return fail("invalid metric name".into());
        }
        if !seen.insert(n.clone()) {
            return fail("declared twice".into());
        }
        if m.help.trim().is_empty() {
            return fail("help is empty".into());
        }
        if (m.kind == Kind::Counter) != n.ends_with("_total") {
            return fail("counters, and only counters, end in _total".into());
        }
        if let Some(u) = &m.unit {
            let base = n.strip_suffix("_total").unwrap_or(n);
            if !base.ends_with(&format!("_{u}")) {
                return fail(format!("the unit {u:?} must be the name's suffix"));
            }
        }
        for (i, l) in m.labels.iter().enumerate() {
            if !valid_name(l, false) || l.starts_with("__") {
                return fail(format!("invalid label name {l:?}"));
            }
            if m.labels[..i].contains(l) {
                return fail(format!("label {l:?} repeated"));
            }
            let reserved = match m.kind {
                Kind::Histogram => Some("le"),
                Kind::Summary => Some("quantile"),
                _ => None,
            };
            if reserved == Some(l.as_str()) {
                return fail(format!("label {l:?} is reserved for this type"));
            }
        }
        for l in m.label_values.keys() {
            if !m.labels.contains(l) {
                return fail(format!("label_values names {l:?}, which is not a label"));
            }
        }
        if m.native && m.kind != Kind::Histogram {
            return fail("only histograms can be native".into());
        }
        if let Some(f) = m.native_bucket_factor {
            if !m.native {
                return fail("native_bucket_factor needs native = true".into());
            }
            if !(f > 1.0 && f.is_finite()) {
                return fail(format!(
                    "native_bucket_factor must be a finite number greater than 1, got {f}"
                ));
            }
        }
        match m.kind {
            Kind::Histogram => {
                if m.buckets.is_empty() && !m.native {
                    return fail("histograms need buckets (or native = true)".into());
                }
                if m.buckets
                    .windows(2)
                    .any(|w| w[0].partial_cmp(&w[1]) != Some(std::cmp::Ordering::Less))
                    || m.buckets.iter().any(|b| !b.is_finite())
                {
                    return fail("buckets must be finite and strictly increasing".into());
                }
            }
            _ if !m.buckets.is_empty() => return fail("only histograms take buckets".into()),
            _ => {}
        }
    }
    slo::validate(c)
}

/// `http_requests_total` -> `HttpRequestsTotal`.
pub(crate) fn camel(name: &str) -> String {
    name.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn rust_float(v: f64) -> String {
    let s = format!("{v:?}");
    if s.contains(['.', 'e']) {
        s
    } else {
        format!("{s}.0")
    }
}

/// Where the generated Rust module lives.
pub fn rust_output_path() -> PathBuf {
    workspace_root().join("core/src/catalog.rs")
}

/// Renders the Rust catalog module for `core/src/catalog.rs`.
pub fn render_rust(c: &Catalog) -> String {
    let mut o = String::new();
    o.push_str(
        "// @generated by `footmetrics generate` from catalog/catalog.toml. Do not edit:\n\
         // change the catalog and run `make generate`.\n\
         //! The FootAnalytics standard metrics, typed: one line registers a metric with the\n\
         //! platform's name, help, unit, labels and buckets.\n\
         //!\n\
         //! ```\n\
         //! let registry = footmetrics::Registry::new();\n\
         //! let requests = footmetrics::catalog::http_requests_total(&registry).unwrap();\n\
         //! requests.labels(\"GET\", \"/matches/{id}\", \"200\").unwrap().inc();\n\
         //! ```\n\n\
         use crate::{ChildRef, Counter, Family, Gauge, Histogram, Info, MetricType, NativeOpts, Opts, Registry, Result, Summary};\n\
         use std::ops::Deref;\n\n\
         /// A catalog entry.\n\
         #[derive(Debug, Clone, Copy, PartialEq)]\n\
         pub struct MetricSpec {\n\
         \x20   /// The family name, as exposed (`http_requests_total`).\n\
         \x20   pub name: &'static str,\n\
         \x20   /// The `# HELP` text.\n\
         \x20   pub help: &'static str,\n\
         \x20   /// The metric type.\n\
         \x20   pub kind: MetricType,\n\
         \x20   /// The unit (`seconds`), the name's suffix; `None` without one.\n\
         \x20   pub unit: Option<&'static str>,\n\
         \x20   /// Label names, in the order the typed handles take their values.\n\
         \x20   pub labels: &'static [&'static str],\n\
         \x20   /// Histogram upper bounds (`+Inf` implied); empty for other types.\n\
         \x20   pub buckets: &'static [f64],\n\
         \x20   /// Histograms: the native bucket factor when the histogram is native (sparse,\n\
         \x20   /// exponential buckets; classic ones only if `buckets` lists some); `None`: classic.\n\
         \x20   pub native_bucket_factor: Option<f64>,\n\
         \x20   /// Allowed values per label, where the platform fixes them.\n\
         \x20   pub label_values: &'static [(&'static str, &'static [&'static str])],\n\
         \x20   /// The service that emits it (`api-gateway`): `footmetrics lint` expects it there.\n\
         \x20   pub service: &'static str,\n\
         \x20   /// The team that owns it.\n\
         \x20   pub team: &'static str,\n\
         }\n\n\
         impl MetricSpec {\n\
         \x20   /// Options to create this metric in any registry.\n\
         \x20   pub fn opts(&self) -> Opts {\n\
         \x20       let mut o = Opts::new(self.name, self.help).labels(self.labels);\n\
         \x20       if let Some(u) = self.unit {\n\
         \x20           o = o.unit(u);\n\
         \x20       }\n\
         \x20       if !self.buckets.is_empty() {\n\
         \x20           o = o.buckets(self.buckets);\n\
         \x20       }\n\
         \x20       if let Some(factor) = self.native_bucket_factor {\n\
         \x20           o = o.native_histogram(NativeOpts::new(factor));\n\
         \x20       }\n\
         \x20       o\n\
         \x20   }\n\
         }\n\n",
    );
    for m in &c.metrics {
        let konst = m.name.to_ascii_uppercase();
        let rust_type = m.kind.class_name();
        let labels = m
            .labels
            .iter()
            .map(|l| format!("{l:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let buckets = m
            .buckets
            .iter()
            .map(|b| rust_float(*b))
            .collect::<Vec<_>>()
            .join(", ");
        let values = m
            .label_values
            .iter()
            .map(|(k, vs)| {
                format!(
                    "({k:?}, &[{}])",
                    vs.iter()
                        .map(|v| format!("{v:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(o, "/// `{}`: {}", m.name, m.help);
        let _ = writeln!(o, "pub const {konst}: MetricSpec = MetricSpec {{");
        let _ = writeln!(o, "    name: {:?},", m.name);
        let _ = writeln!(o, "    help: {:?},", m.help);
        let _ = writeln!(o, "    kind: MetricType::{rust_type},");
        let _ = writeln!(
            o,
            "    unit: {},",
            m.unit
                .as_ref()
                .map_or("None".into(), |u| format!("Some({u:?})"))
        );
        let _ = writeln!(o, "    labels: &[{labels}],");
        let _ = writeln!(o, "    buckets: &[{buckets}],");
        let _ = writeln!(
            o,
            "    native_bucket_factor: {},",
            m.native_factor()
                .map_or("None".into(), |f| format!("Some({})", rust_float(f)))
        );
        let _ = writeln!(o, "    label_values: &[{values}],");
        let _ = writeln!(o, "    service: {:?},", m.service);
        let _ = writeln!(o, "    team: {:?},", m.team);
        let _ = writeln!(o, "}};\n");
        let f = &m.name;
        if m.labels.is_empty() {
            let _ = writeln!(o, "/// Registers `{f}` in `registry`.");
            let _ = writeln!(
                o,
                "pub fn {f}(registry: &Registry) -> Result<{rust_type}> {{"
            );
            let _ = writeln!(
                o,
                "    registry.family::<{rust_type}>(&{konst}.opts())?.unlabelled()"
            );
            let _ = writeln!(o, "}}\n");
            continue;
        }
        let ty = camel(f);
        let params = m
            .labels
            .iter()
            .map(|l| format!("{l}: &str"))
            .collect::<Vec<_>>()
            .join(", ");
        let args = m.labels.join(", ");
        let _ = writeln!(o, "/// `{f}`, with its label names as parameters.");
        let _ = writeln!(o, "#[derive(Debug, Clone)]");
        let _ = writeln!(o, "pub struct {ty}(pub Family<{rust_type}>);\n");
        let _ = writeln!(o, "impl {ty} {{");
        let _ = writeln!(
            o,
            "    /// The child for these label values (no lock, no allocation once it exists)."
        );
        let _ = writeln!(o, "    #[inline]");
        let _ = writeln!(
            o,
            "    pub fn labels(&self, {params}) -> Result<ChildRef<'_, {rust_type}>> {{"
        );
        let _ = writeln!(o, "        self.0.get(&[{args}])");
        let _ = writeln!(o, "    }}\n");
        let _ = writeln!(
            o,
            "    /// An owned handle to the child for these label values."
        );
        let _ = writeln!(
            o,
            "    pub fn with_labels(&self, {params}) -> Result<{rust_type}> {{"
        );
        let _ = writeln!(o, "        self.0.with_label_values(&[{args}])");
        let _ = writeln!(o, "    }}");
        let _ = writeln!(o, "}}\n");
        let _ = writeln!(o, "impl Deref for {ty} {{");
        let _ = writeln!(o, "    type Target = Family<{rust_type}>;");
        let _ = writeln!(o, "    fn deref(&self) -> &Family<{rust_type}> {{");
        let _ = writeln!(o, "        &self.0");
        let _ = writeln!(o, "    }}");
        let _ = writeln!(o, "}}\n");
        let _ = writeln!(o, "/// Registers `{f}` in `registry`.");
        let _ = writeln!(o, "pub fn {f}(registry: &Registry) -> Result<{ty}> {{");
        let _ = writeln!(o, "    Ok({ty}(registry.family(&{konst}.opts())?))");
        let _ = writeln!(o, "}}\n");
    }
    let all = c
        .metrics
        .iter()
        .map(|m| m.name.to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(o, "/// Every catalog metric, in catalog order.");
    let _ = writeln!(o, "pub const ALL: &[MetricSpec] = &[{all}];");
    // Keep the imports used whatever the catalog holds.
    o.push_str("\n#[allow(dead_code)]\nfn _uses(_: Option<(Counter, Gauge, Histogram, Summary, Info)>) {}\n");
    o
}

/// Where the monitoring assets go: rule files, Kubernetes objects, Grafana dashboards.
pub fn monitoring_dir() -> PathBuf {
    workspace_root().join("monitoring")
}

/// Every generated file with its expected content. An error when a rule or dashboard would
/// query a name that neither the catalog nor a generated recording rule declares.
pub fn outputs(c: &Catalog) -> Result<Vec<(PathBuf, String)>, String> {
    let (recording, alerting) = rule_groups(c)?;
    let boards = dashboards(c, &recording)?;
    let mon = monitoring_dir();
    let mut out = vec![
        (rust_output_path(), render_rust(c)),
        (python_output_path(), render_python(c)),
        (python_stub_path(), render_python_stub(c)),
        (node_output_path(), render_node(c)),
        (node_types_path(), render_node_types(c)),
        (c_output_path(), render_c(c)),
        (go_output_path(), render_go(c)),
        (
            mon.join("prometheus/recording-rules.yml"),
            render_rules(&recording),
        ),
        (
            mon.join("prometheus/alerting-rules.yml"),
            render_rules(&alerting),
        ),
        (
            mon.join("kubernetes/recording-rules.yaml"),
            render_kubernetes_rules("footmetrics-recording-rules", &recording),
        ),
        (
            mon.join("kubernetes/alerting-rules.yaml"),
            render_kubernetes_rules("footmetrics-alerting-rules", &alerting),
        ),
        (
            mon.join("kubernetes/slo-definitions.yaml"),
            render_slo_configmap(c),
        ),
        (
            mon.join("kubernetes/grafana-dashboards.yaml"),
            render_dashboard_configmaps(&boards),
        ),
    ];
    for d in &boards {
        out.push((mon.join(format!("grafana/{}.json", d.file)), d.render()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_is_valid_and_complete() {
        let c = load().unwrap();
        for name in [
            "http_requests_total",
            "http_request_duration_seconds",
            "ml_inference_duration_seconds",
            "ml_model_accuracy_score",
            "gpu_memory_usage_bytes",
            "video_processing_total",
            "video_processing_queue_length",
            "video_processing_batches_total",
            "user_sessions_total",
            "video_uploads_total",
            "analytics_generation_duration_seconds",
        ] {
            assert!(c.metrics.iter().any(|m| m.name == name), "{name} missing");
        }
        let analytics = c
            .metrics
            .iter()
            .find(|m| m.name == "analytics_generation_duration_seconds")
            .unwrap();
        assert_eq!(
            analytics.buckets,
            vec![1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0]
        );
    }

    fn one(extra: &str) -> String {
        format!("[[metric]]\nservice = \"s\"\nteam = \"t\"\n{extra}\n")
    }

    #[test]
    fn rejects_bad_entries() {
        let cases = [
            (
                r#"name = "a-b"
type = "gauge"
help = "h""#,
                "invalid metric name",
            ),
            (
                r#"name = "jobs"
type = "counter"
help = "h""#,
                "_total",
            ),
            (
                r#"name = "x_total"
type = "gauge"
help = "h""#,
                "_total",
            ),
            (
                r#"name = "latency"
type = "gauge"
unit = "seconds"
help = "h""#,
                "suffix",
            ),
            (
                r#"name = "h_seconds"
type = "histogram"
help = "h"
buckets = [2, 1]"#,
                "strictly increasing",
            ),
            (
                r#"name = "h_seconds"
type = "histogram"
help = "h"
labels = ["le"]
buckets = [1]"#,
                "reserved",
            ),
            (
                r#"name = "g"
type = "gauge"
help = "h"
labels = ["a", "a"]"#,
                "repeated",
            ),
            (
                r#"name = "g"
type = "gauge"
help = "h"
buckets = [1]"#,
                "only histograms",
            ),
            (
                r#"name = "g"
type = "gauge"
help = "h"
wat = 1"#,
                "unknown field",
            ),
        ];
        for (body, want) in cases {
            let err = parse(&one(body)).unwrap_err();
            assert!(err.contains(want), "{body}: {err}");
        }
        let dup = one("name = \"g\"\ntype = \"gauge\"\nhelp = \"h\"").repeat(2);
        assert!(parse(&dup).unwrap_err().contains("declared twice"));
    }

    #[test]
    fn renders_typed_constructors() {
        let rust = render_rust(&load().unwrap());
        assert!(rust.contains("pub fn labels(&self, method: &str, route: &str, code: &str)"));
        assert!(
            rust.contains("pub fn http_requests_in_flight(registry: &Registry) -> Result<Gauge>")
        );
        assert!(rust.contains("buckets: &[1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0]"));
    }
}
