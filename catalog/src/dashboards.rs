//! Grafana dashboards from the catalog: the platform overview with the health score, HTTP per
//! service, the ML pipeline and video processing. Every query is checked against the catalog
//! and the generated recording rules before a file is written.

use crate::rules::{
    error_ratio_record, k8s_metadata, k8s_yaml, queryable_names, sli_record, GENERATED_HEADER,
};
use crate::slo::SliKind;
use crate::{check_expr, Catalog, RuleFile};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One dashboard: its file stem under `monitoring/grafana/` and its Grafana JSON model.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub file: &'static str,
    pub model: Value,
}

impl Dashboard {
    /// Every PromQL query in the dashboard: panel targets, then template variable queries.
    pub fn queries(&self) -> Vec<String> {
        let mut out = Vec::new();
        for p in self.model["panels"].as_array().into_iter().flatten() {
            for t in p["targets"].as_array().into_iter().flatten() {
                out.extend(t["expr"].as_str().map(str::to_string));
            }
        }
        for v in self.model["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if v["type"] == "query" {
                out.extend(v["query"]["query"].as_str().map(str::to_string));
            }
        }
        out
    }

    pub fn render(&self) -> String {
        serde_json::to_string_pretty(&self.model).expect("JSON serializes") + "\n"
    }
}

/// Grafana's variables replaced by what they stand for, so the query parses as PromQL;
/// `label_values(metric, label)` (a variable query) becomes `metric`. Variables inside label
/// values (`job=~"$job"`) are plain strings to PromQL and stay.
pub fn grafana_to_promql(query: &str) -> String {
    let q = query.replace("$__rate_interval", "5m");
    match q
        .strip_prefix("label_values(")
        .and_then(|r| r.strip_suffix(')'))
        .and_then(|r| r.rsplit_once(','))
    {
        Some((metric, _label)) => metric.trim().to_string(),
        None => q,
    }
}

const RATE: &str = "$__rate_interval";

/// `sum by (by) (rate(series[$__rate_interval]))`: the per-second rate of a counter series,
/// grouped as a panel shows it.
fn sum_rate(by: &str, series: &str) -> String {
    format!("sum by ({by}) (rate({series}[{RATE}]))")
}

fn is_native(c: &Catalog, metric: &str) -> bool {
    c.metrics.iter().any(|m| m.name == metric && m.native)
}

/// `metric{sel}`, or `metric` without a selector.
fn with_selector(metric: &str, sel: &str) -> String {
    if sel.is_empty() {
        metric.to_owned()
    } else {
        format!("{metric}{{{sel}}}")
    }
}

/// The `q` quantile of catalog histogram `metric` per `by` (may be empty): native PromQL on
/// the histogram series for a native histogram, over `_bucket` and `le` for a classic one.
fn quantile(c: &Catalog, q: &str, metric: &str, by: &str, sel: &str) -> String {
    if is_native(c, metric) {
        let by = if by.is_empty() {
            String::new()
        } else {
            format!(" by ({by})")
        };
        let series = with_selector(metric, sel);
        format!("histogram_quantile({q}, sum{by} (rate({series}[{RATE}])))")
    } else {
        let by = if by.is_empty() {
            "le".to_owned()
        } else {
            format!("le, {by}")
        };
        let series = with_selector(&format!("{metric}_bucket"), sel);
        format!("histogram_quantile({q}, sum by ({by}) (rate({series}[{RATE}])))")
    }
}

/// Observations per second of catalog histogram `metric` per `by`: `histogram_count` of the
/// native histogram's rate, or the rate of the classic `_count`.
fn observation_rate(c: &Catalog, metric: &str, by: &str, sel: &str) -> String {
    if is_native(c, metric) {
        let series = with_selector(metric, sel);
        format!("sum by ({by}) (histogram_count(rate({series}[{RATE}])))")
    } else {
        sum_rate(by, &with_selector(&format!("{metric}_count"), sel))
    }
}

struct Panel {
    title: String,
    kind: &'static str,
    width: u32,
    unit: &'static str,
    description: String,
    targets: Vec<(String, String)>,
    /// `(value, color)` steps, lowest first.
    thresholds: Vec<(f64, &'static str)>,
}

fn panel(kind: &'static str, title: &str, unit: &'static str) -> Panel {
    Panel {
        title: title.into(),
        kind,
        width: if kind == "stat" { 6 } else { 12 },
        unit,
        description: String::new(),
        targets: Vec::new(),
        thresholds: Vec::new(),
    }
}

impl Panel {
    fn target(mut self, expr: impl Into<String>, legend: &str) -> Self {
        self.targets.push((expr.into(), legend.into()));
        self
    }
    fn thresholds(mut self, steps: &[(f64, &'static str)]) -> Self {
        self.thresholds = steps.to_vec();
        self
    }
    fn describe(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }
}

/// The dashboard model Grafana provisions from a file (`uid` keeps links stable).
fn dashboard(uid: &str, title: &str, panels: Vec<Panel>, job_variable: bool) -> Value {
    let (mut x, mut y, mut row_height) = (0, 0, 0);
    let mut models = Vec::new();
    for (i, p) in panels.into_iter().enumerate() {
        let height = if p.kind == "stat" { 5 } else { 8 };
        if x + p.width > 24 {
            x = 0;
            y += row_height;
            row_height = 0;
        }
        let mut defaults = json!({ "unit": p.unit });
        if !p.thresholds.is_empty() {
            defaults["thresholds"] = json!({
                "mode": "absolute",
                "steps": p.thresholds.iter().enumerate().map(|(i, (v, color))| {
                    // Grafana's first step is the base and has a null value.
                    json!({ "color": color, "value": if i == 0 { Value::Null } else { json!(v) } })
                }).collect::<Vec<_>>(),
            });
            defaults["color"] = json!({ "mode": "thresholds" });
        }
        models.push(json!({
            "id": i + 1,
            "type": p.kind,
            "title": p.title,
            "description": p.description,
            "datasource": { "type": "prometheus", "uid": "${datasource}" },
            "gridPos": { "h": height, "w": p.width, "x": x, "y": y },
            "fieldConfig": { "defaults": defaults, "overrides": [] },
            "targets": p.targets.iter().enumerate().map(|(i, (expr, legend))| json!({
                "refId": ((b'A' + i as u8) as char).to_string(),
                "datasource": { "type": "prometheus", "uid": "${datasource}" },
                "expr": expr,
                "legendFormat": legend,
            })).collect::<Vec<_>>(),
        }));
        x += p.width;
        row_height = row_height.max(height);
    }
    let mut variables = vec![json!({
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
    })];
    if job_variable {
        variables.push(json!({
            "name": "job",
            "label": "Service",
            "type": "query",
            "datasource": { "type": "prometheus", "uid": "${datasource}" },
            "query": { "query": "label_values(http_requests_total, job)", "refId": "jobs" },
            "refresh": 2,
            "includeAll": true,
            "multi": true,
            "current": { "text": "All", "value": "$__all" },
        }));
    }
    json!({
        "uid": uid,
        "title": title,
        "tags": ["footanalytics", "footmetrics"],
        "editable": false,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": { "from": "now-6h", "to": "now" },
        "timezone": "browser",
        "templating": { "list": variables },
        "panels": models,
    })
}

/// The seed's health-score steps: red below 95%, yellow below 99%, green above.
const AVAILABILITY_STEPS: [(f64, &str); 3] = [(0.0, "red"), (95.0, "yellow"), (99.0, "green")];

fn overview(c: &Catalog) -> Value {
    let mut panels = Vec::new();
    for s in c.slos.iter().filter(|s| s.name == "platform_availability") {
        panels.push(
            panel("stat", "Platform Health Score", "percent")
                .target(format!("{} * 100", sli_record(s).0), "Availability %")
                .thresholds(&AVAILABILITY_STEPS)
                .describe(format!(
                    "{}: 5-minute availability, target {}%",
                    s.description,
                    s.target * 100.0
                )),
        );
    }
    for s in &c.slos {
        panels.push(
            panel("stat", &format!("Error budget left: {}", s.name), "percent")
                .target(format!("slo:{}:error_budget_remaining * 100", s.name), "")
                .thresholds(&[(0.0, "red"), (25.0, "yellow"), (50.0, "green")])
                .describe(format!(
                    "Share of the {} error budget of \"{}\" still unspent",
                    s.window, s.description
                )),
        );
    }
    let mut burn = panel("timeseries", "SLO burn rate over 1h (1 = on budget)", "none")
        .describe("Error ratio over the last hour divided by the SLO's allowed error ratio; the fast-burn alert fires above 14.4");
    for s in &c.slos {
        burn = burn.target(
            format!("{} / {}", error_ratio_record(s, "1h"), s.budget_expr()),
            &s.name,
        );
    }
    panels.push(burn);
    panels.push(
        panel("timeseries", "Request rate by service", "reqps")
            .target("job:http_requests:rate5m", "{{job}}"),
    );
    panels.push(
        panel("timeseries", "5xx error rate by service", "percent").target(
            format!(
                "sum by (job) (rate(http_requests_total{{code=~\"5..\"}}[{RATE}])) / \
                 sum by (job) (rate(http_requests_total[{RATE}])) * 100"
            ),
            "{{job}}",
        ),
    );
    panels.push(
        panel("timeseries", "P95 latency by service", "s")
            .target("job:http_request_duration_seconds:p95_5m", "{{job}}"),
    );
    dashboard(
        "footmetrics-overview",
        "FootAnalytics Platform Overview",
        panels,
        false,
    )
}

fn service_http(c: &Catalog) -> Value {
    let sel = r#"job=~"$job""#;
    let mut latency = panel("timeseries", "Latency percentiles", "s");
    for q in ["0.5", "0.95", "0.99"] {
        latency = latency.target(
            quantile(c, q, "http_request_duration_seconds", "", sel),
            &format!("p{}", (q.parse::<f64>().unwrap_or(0.0) * 100.0).round()),
        );
    }
    let panels = vec![
        panel("timeseries", "Request rate by route", "reqps").target(
            sum_rate("route", &format!("http_requests_total{{{sel}}}")),
            "{{route}}",
        ),
        panel("timeseries", "Errors by route and code", "reqps").target(
            sum_rate(
                "route, code",
                &format!("http_requests_total{{{sel},code=~\"5..\"}}"),
            ),
            "{{route}} {{code}}",
        ),
        panel("timeseries", "5xx error ratio", "percentunit").target(
            format!(
                "sum(rate(http_requests_total{{{sel},code=~\"5..\"}}[{RATE}])) / \
                 sum(rate(http_requests_total{{{sel}}}[{RATE}]))"
            ),
            "errors",
        ),
        latency,
        panel("timeseries", "P95 latency by route", "s").target(
            quantile(c, "0.95", "http_request_duration_seconds", "route", sel),
            "{{route}}",
        ),
        panel("timeseries", "Requests in flight", "short").target(
            format!("sum by (job) (http_requests_in_flight{{{sel}}})"),
            "{{job}}",
        ),
    ];
    dashboard(
        "footmetrics-service-http",
        "FootAnalytics Service HTTP",
        panels,
        true,
    )
}

fn ml_pipeline(c: &Catalog) -> Value {
    let job = r#"job="ml-pipeline""#;
    let mut panels = Vec::new();
    for s in c.slos.iter().filter(|s| s.sli == SliKind::Latency) {
        let limit = s.threshold_seconds.unwrap_or(0.0);
        panels.push(
            panel("stat", &format!("{} (SLI)", s.description), "s")
                .target(sli_record(s).0, "")
                .thresholds(&[(0.0, "green"), (limit, "red")]),
        );
    }
    for s in c.slos.iter().filter(|s| s.sli == SliKind::Threshold) {
        panels.push(
            panel("stat", "GPU utilization (SLI)", "percentunit")
                .target(sli_record(s).0, "")
                .thresholds(&[(0.0, "red"), (s.threshold.unwrap_or(0.0), "green")]),
        );
    }
    let mut latency = panel("timeseries", "Inference latency by model version", "s");
    for q in ["0.5", "0.99"] {
        latency = latency.target(
            quantile(c, q, "ml_inference_duration_seconds", "model_version", job),
            &format!("{{{{model_version}}}} q{q}"),
        );
    }
    panels.extend([
        latency,
        panel("timeseries", "Inferences per second by device", "ops").target(
            observation_rate(c, "ml_inference_duration_seconds", "device", job),
            "{{device}}",
        ),
        panel("timeseries", "GPU utilization by GPU", "percentunit").target(
            format!("avg by (gpu_id) (nvidia_gpu_utilization_gpu{{{job}}})"),
            "GPU {{gpu_id}}",
        ),
        panel("timeseries", "GPU memory by GPU", "bytes").target(
            format!("sum by (gpu_id) (gpu_memory_usage_bytes{{{job}}})"),
            "GPU {{gpu_id}}",
        ),
        panel("timeseries", "Model accuracy", "percent").target(
            format!("avg by (model_version) (ml_model_accuracy_score{{{job}}}) * 100"),
            "{{model_version}}",
        ),
    ]);
    dashboard(
        "footmetrics-ml-pipeline",
        "FootAnalytics ML Pipeline",
        panels,
        false,
    )
}

fn video_processing(c: &Catalog) -> Value {
    let mut panels = Vec::new();
    for s in c
        .slos
        .iter()
        .filter(|s| s.name == "video_processing_success")
    {
        panels.push(
            panel("stat", "Video processing success rate", "percent")
                .target(format!("{} * 100", sli_record(s).0), "Success %")
                .thresholds(&AVAILABILITY_STEPS),
        );
    }
    panels.extend([
        panel("timeseries", "Videos processed by status", "ops")
            .target(sum_rate("status", "video_processing_total"), "{{status}}"),
        panel("timeseries", "Processing queue length", "short").target(
            "sum by (queue_type, priority) (video_processing_queue_length)",
            "{{queue_type}} {{priority}}",
        ),
        panel("timeseries", "Batch throughput by status", "ops").target(
            sum_rate("status", "video_processing_batches_total"),
            "{{status}}",
        ),
        panel("timeseries", "Uploads by status and format", "ops").target(
            sum_rate("status, format", "video_uploads_total"),
            "{{status}} {{format}}",
        ),
        panel("timeseries", "Analytics generation P95 by video type", "s").target(
            quantile(
                c,
                "0.95",
                "analytics_generation_duration_seconds",
                "video_type",
                "",
            ),
            "{{video_type}}",
        ),
    ]);
    dashboard(
        "footmetrics-video-processing",
        "FootAnalytics Video Processing",
        panels,
        false,
    )
}

/// Every dashboard, each query checked against the catalog series and `recording`'s records.
pub fn dashboards(c: &Catalog, recording: &RuleFile) -> Result<Vec<Dashboard>, String> {
    let all = vec![
        Dashboard {
            file: "platform-overview",
            model: overview(c),
        },
        Dashboard {
            file: "service-http",
            model: service_http(c),
        },
        Dashboard {
            file: "ml-pipeline",
            model: ml_pipeline(c),
        },
        Dashboard {
            file: "video-processing",
            model: video_processing(c),
        },
    ];
    let known = queryable_names(c, recording)?;
    for d in &all {
        for q in d.queries() {
            check_expr(&grafana_to_promql(&q), &known)
                .map_err(|e| format!("dashboard {}: {e}", d.file))?;
        }
    }
    Ok(all)
}

/// The dashboards as ConfigMaps Grafana's sidecar loads (`grafana_dashboard: "1"`), as the
/// platform document shows.
pub fn render_dashboard_configmaps(all: &[Dashboard]) -> String {
    #[derive(Serialize)]
    struct Data {
        data: BTreeMap<String, String>,
    }
    let docs: Vec<String> = all
        .iter()
        .map(|d| {
            k8s_yaml(
                "ConfigMap",
                k8s_metadata(
                    &format!("grafana-dashboard-{}", d.file),
                    &[("grafana_dashboard", "1")],
                ),
                Data {
                    data: [(format!("{}.json", d.file), d.render())].into(),
                },
            )
        })
        .collect();
    format!("{GENERATED_HEADER}{}", docs.join("---\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queries(c: &Catalog) -> Vec<String> {
        let (recording, _) = crate::rule_groups(c).unwrap();
        dashboards(c, &recording)
            .unwrap()
            .iter()
            .flat_map(Dashboard::queries)
            .collect()
    }

    #[test]
    fn native_histograms_get_native_panels() {
        let classic = crate::load().unwrap();
        let mut native = classic.clone();
        let natives = [
            "http_request_duration_seconds",
            "ml_inference_duration_seconds",
            "analytics_generation_duration_seconds",
        ];
        for m in &mut native.metrics {
            m.native |= natives.contains(&m.name.as_str());
        }
        for s in &mut native.slos {
            s.native = s.metric.as_deref().is_some_and(|m| natives.contains(&m));
        }
        let (before, after) = (queries(&classic), queries(&native));
        assert_eq!(before.len(), after.len());
        for n in natives {
            assert!(before.iter().any(|q| q.contains(&format!("{n}_bucket"))));
            for q in &after {
                for suffix in ["_bucket", "_count", "_sum"] {
                    assert!(!q.contains(&format!("{n}{suffix}")), "{q}");
                }
            }
        }
        assert!(after.contains(
            &"histogram_quantile(0.95, sum by (route) (rate(http_request_duration_seconds{job=~\"$job\"}[$__rate_interval])))"
                .to_owned()
        ), "{after:#?}");
        assert!(after.contains(
            &"sum by (device) (histogram_count(rate(ml_inference_duration_seconds{job=\"ml-pipeline\"}[$__rate_interval])))"
                .to_owned()
        ), "{after:#?}");
        // Everything else is unchanged.
        let changed = before.iter().zip(&after).filter(|(a, b)| a != b).count();
        // Service HTTP: three percentiles and P95 by route; ML: two percentiles and the
        // inference rate; video processing: analytics P95.
        assert_eq!(changed, 8, "{before:#?}\n{after:#?}");
    }
}
