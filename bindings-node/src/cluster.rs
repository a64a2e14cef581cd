//! `cluster` aggregation: the primary receives each worker's `getMetricsAsJSON()` as one JSON
//! string and hands them all here; parsing, aggregating and rendering run on the thread pool,
//! so the primary's event loop only moves strings.

use crate::errors::{Failure, Fallible, Kind};
use crate::registry::Exposition;
use footmetrics::fmt::{escape_help, write_float};
use footmetrics::render_pairs;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Deserialize)]
struct JsonMetric {
    name: String,
    #[serde(default)]
    help: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    values: Vec<JsonValue>,
    #[serde(default)]
    aggregator: Option<String>,
}

#[derive(Deserialize)]
struct JsonValue {
    #[serde(default)]
    labels: serde_json::Map<String, serde_json::Value>,
    value: Option<serde_json::Value>,
    #[serde(rename = "metricName")]
    metric_name: Option<String>,
}

fn number(v: &Option<serde_json::Value>) -> f64 {
    match v {
        Some(serde_json::Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
        Some(serde_json::Value::String(s)) => match s.as_str() {
            "+Inf" | "Infinity" => f64::INFINITY,
            "-Inf" | "-Infinity" => f64::NEG_INFINITY,
            s => s.parse().unwrap_or(f64::NAN),
        },
        _ => f64::NAN,
    }
}

fn label_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Sample key: its name and its labels in order of appearance.
type SampleKey = (String, Vec<(String, String)>);

struct Family {
    help: String,
    kind: String,
    aggregator: String,
    order: Vec<SampleKey>,
    values: HashMap<SampleKey, Vec<f64>>,
}

/// prom-client's aggregators by name.
const AGGREGATORS: [&str; 6] = ["sum", "first", "min", "max", "average", "omit"];

fn aggregate(aggregator: &str, vs: &[f64]) -> Option<f64> {
    let n = vs.len() as f64;
    match aggregator {
        "omit" => None,
        "first" => vs.first().copied(),
        "min" => vs.iter().copied().reduce(f64::min),
        "max" => vs.iter().copied().reduce(f64::max),
        "average" => Some(vs.iter().sum::<f64>() / n),
        _ => Some(vs.iter().sum()),
    }
}

/// Aggregates the workers' metrics as prom-client's `AggregatorRegistry` does (per-metric
/// `aggregator`: sum, first, min, max, average, omit) and renders them.
fn aggregate_and_render(workers: &[String], openmetrics: bool) -> Fallible<Vec<u8>> {
    let mut order: Vec<String> = Vec::new();
    let mut fams: HashMap<String, Family> = HashMap::new();
    for w in workers {
        let metrics: Vec<JsonMetric> = serde_json::from_str(w)
            .map_err(|e| Failure::new(Kind::ClusterWorker, format!("bad worker metrics: {e}")))?;
        for m in metrics {
            if let Some(a) = m.aggregator.as_deref().filter(|a| !AGGREGATORS.contains(a)) {
                // prom-client's message and class.
                return Err(Failure::new(
                    Kind::InvalidOption,
                    format!("'{a}' is not a defined aggregator."),
                ));
            }
            let f = fams.entry(m.name.clone()).or_insert_with(|| {
                order.push(m.name.clone());
                Family {
                    help: m.help.clone(),
                    kind: m.kind.clone(),
                    aggregator: m.aggregator.clone().unwrap_or_else(|| "sum".into()),
                    order: Vec::new(),
                    values: HashMap::new(),
                }
            });
            for v in m.values {
                let name = v.metric_name.clone().unwrap_or_else(|| m.name.clone());
                let labels: Vec<(String, String)> = v
                    .labels
                    .iter()
                    .map(|(k, x)| (k.clone(), label_text(x)))
                    .collect();
                let key = (name, labels);
                let slot = f.values.entry(key.clone()).or_insert_with(|| {
                    f.order.push(key);
                    Vec::new()
                });
                slot.push(number(&v.value));
            }
        }
    }
    let mut out = Vec::with_capacity(1 << 16);
    for name in &order {
        let f = &fams[name];
        if f.aggregator == "omit" {
            continue;
        }
        let (head, counter_om) = if openmetrics && f.kind == "counter" {
            (name.strip_suffix("_total").unwrap_or(name), true)
        } else {
            (name.as_str(), false)
        };
        out.extend_from_slice(format!("# HELP {head} ").as_bytes());
        escape_help(&mut out, &f.help, openmetrics);
        out.extend_from_slice(format!("\n# TYPE {head} {}\n", f.kind).as_bytes());
        for key in &f.order {
            let Some(v) = aggregate(&f.aggregator, &f.values[key]) else {
                continue;
            };
            let (sample, labels) = key;
            let sample = if counter_om && !sample.ends_with("_total") {
                format!("{sample}_total")
            } else {
                sample.clone()
            };
            out.extend_from_slice(sample.as_bytes());
            if !labels.is_empty() {
                let mut s = String::from("{");
                render_pairs(&mut s, labels.iter().map(|(k, x)| (k.as_str(), x.as_str())));
                s.push('}');
                out.extend_from_slice(s.as_bytes());
            }
            out.push(b' ');
            write_float(&mut out, v);
            out.push(b'\n');
        }
    }
    if openmetrics {
        out.extend_from_slice(b"# EOF\n");
    }
    Ok(out)
}

pub struct Aggregate {
    workers: Vec<String>,
    openmetrics: bool,
    /// Why `compute` failed, for `reject` (on the JavaScript thread) to throw.
    failure: Option<Failure>,
}

impl Task for Aggregate {
    type Output = Vec<u8>;
    type JsValue = Exposition;
    fn compute(&mut self) -> Result<Vec<u8>> {
        aggregate_and_render(&self.workers, self.openmetrics).map_err(|f| {
            let e = Error::from_reason(f.message.clone());
            self.failure = Some(f);
            e
        })
    }
    fn resolve(&mut self, _env: Env, out: Vec<u8>) -> Result<Exposition> {
        Ok(Exposition(out))
    }
    fn reject(&mut self, env: Env, err: Error) -> Result<Exposition> {
        let f = self
            .failure
            .take()
            .unwrap_or_else(|| Failure::new(Kind::Internal, err.reason));
        Err(f.into_js(&env))
    }
}

/// Aggregates workers' `getMetricsAsJSON()` strings off the main thread.
#[napi(catch_unwind, ts_return_type = "Promise<string>")]
pub fn aggregate_workers(workers: Vec<String>, openmetrics: bool) -> AsyncTask<Aggregate> {
    AsyncTask::new(Aggregate {
        workers,
        openmetrics,
        failure: None,
    })
}
