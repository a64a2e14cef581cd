//! `cluster` aggregation: the primary receives each worker's `getMetricsAsJSON()` as one JSON
//! string and hands them all here; parsing, aggregating and rendering run on the thread pool,
//! so the primary's event loop only moves strings. With a shared directory (see `shared`), the
//! workers' shared series are read from it first, without asking them.

use crate::errors::{Failure, Fallible, Kind};
use crate::registry::Exposition;
use footmetrics::fmt::{escape_help, write_float};
use footmetrics::multiprocess::{read_dir, warn_skipped, MergedView};
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

/// Families by name, in order of first appearance, each with its samples' values from every
/// source (a worker's JSON, or the shared directory's merged view).
#[derive(Default)]
struct Families {
    order: Vec<String>,
    fams: HashMap<String, Family>,
}

impl Families {
    fn family(&mut self, name: &str, help: &str, kind: &str, aggregator: &str) -> &mut Family {
        if !self.fams.contains_key(name) {
            self.order.push(name.to_owned());
        }
        self.fams.entry(name.to_owned()).or_insert_with(|| Family {
            help: help.to_owned(),
            kind: kind.to_owned(),
            aggregator: aggregator.to_owned(),
            order: Vec::new(),
            values: HashMap::new(),
        })
    }
}

impl Family {
    fn push(&mut self, key: SampleKey, v: f64) {
        let order = &mut self.order;
        self.values
            .entry(key)
            .or_insert_with_key(|k| {
                order.push(k.clone());
                Vec::new()
            })
            .push(v);
    }
}

/// A bucket bound as a label value (`+Inf` for the last).
fn le_text(b: f64) -> String {
    let mut out = Vec::new();
    write_float(&mut out, b);
    String::from_utf8(out).unwrap_or_default()
}

/// The cluster's shared directory, read: every process' lanes summed (gauges combined by
/// their mode), as samples of the families prom-client's JSON would give.
fn add_shared(fams: &mut Families, view: &MergedView) {
    use footmetrics::multiprocess::{GaugeMode, Merged};
    use footmetrics::MetricType;
    for m in &view.families {
        let (kind, aggregator) = match (m.kind, m.mode) {
            (MetricType::Counter, _) => ("counter", "sum"),
            (MetricType::Histogram, _) => ("histogram", "sum"),
            (MetricType::Summary, _) => ("summary", "sum"),
            (MetricType::Gauge, Some(GaugeMode::Min | GaugeMode::LiveMin)) => ("gauge", "min"),
            (MetricType::Gauge, Some(GaugeMode::Max | GaugeMode::LiveMax)) => ("gauge", "max"),
            (MetricType::Gauge, Some(GaugeMode::MostRecent | GaugeMode::LiveMostRecent)) => {
                ("gauge", "first")
            }
            // One series per process (a last label `pid`): their average.
            (MetricType::Gauge, Some(GaugeMode::All | GaugeMode::LiveAll)) => ("gauge", "average"),
            (MetricType::Gauge, _) => ("gauge", "sum"),
            _ => continue,
        };
        let per_process = aggregator == "average";
        let f = fams.family(&m.name, &m.help, kind, aggregator);
        for (values, merged) in &m.series {
            let n = if per_process {
                values.len().saturating_sub(1)
            } else {
                values.len()
            };
            let labels: Vec<(String, String)> = m
                .label_names
                .iter()
                .cloned()
                .zip(values.iter().cloned())
                .take(n)
                // A missing label is the empty value (as the worker's own view omits it).
                .filter(|(_, v)| !v.is_empty())
                .collect();
            match merged {
                Merged::Counter { .. } | Merged::Gauge { .. } => {
                    f.push((m.name.clone(), labels), merged.value())
                }
                Merged::Histogram { buckets, sum } => {
                    let mut acc = 0u64;
                    for (i, c) in buckets.iter().enumerate() {
                        acc = acc.saturating_add(*c);
                        let le = le_text(m.bounds.get(i).copied().unwrap_or(f64::INFINITY));
                        let mut l = vec![("le".to_owned(), le)];
                        l.extend(labels.iter().cloned());
                        f.push((format!("{}_bucket", m.name), l), acc as f64);
                    }
                    f.push((format!("{}_sum", m.name), labels.clone()), *sum);
                    f.push((format!("{}_count", m.name), labels), acc as f64);
                }
                Merged::Summary { count, sum } => {
                    f.push((format!("{}_sum", m.name), labels.clone()), *sum);
                    f.push((format!("{}_count", m.name), labels), *count as f64);
                }
            }
        }
    }
}

/// Aggregates the workers' metrics into `all` as prom-client's `AggregatorRegistry` does
/// (per-metric `aggregator`: sum, first, min, max, average, omit) and renders them.
fn aggregate_into(mut all: Families, workers: &[String], openmetrics: bool) -> Fallible<Vec<u8>> {
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
            let f = all.family(
                &m.name,
                &m.help,
                &m.kind,
                m.aggregator.as_deref().unwrap_or("sum"),
            );
            for v in m.values {
                let name = v.metric_name.clone().unwrap_or_else(|| m.name.clone());
                let labels: Vec<(String, String)> = v
                    .labels
                    .iter()
                    .map(|(k, x)| (k.clone(), label_text(x)))
                    .collect();
                f.push((name, labels), number(&v.value));
            }
        }
    }
    let Families { order, fams } = all;
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
    /// The cluster's shared directory, read first.
    dir: Option<String>,
    workers: Vec<String>,
    openmetrics: bool,
    /// Why `compute` failed, for `reject` (on the JavaScript thread) to throw.
    failure: Option<Failure>,
}

impl Task for Aggregate {
    type Output = Vec<u8>;
    type JsValue = Exposition;
    fn compute(&mut self) -> Result<Vec<u8>> {
        let run = || -> Fallible<Vec<u8>> {
            let mut all = Families::default();
            if let Some(dir) = &self.dir {
                let view = read_dir(std::path::Path::new(dir))?;
                warn_skipped(&view.skipped);
                add_shared(&mut all, &view);
            }
            aggregate_into(all, &self.workers, self.openmetrics)
        };
        run().map_err(|f| {
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
        dir: None,
        workers,
        openmetrics,
        failure: None,
    })
}

/// The primary's scrape: the shared directory `dir` (every worker's shared series, read
/// without asking them) plus the workers' `getMetricsAsJSON()` strings for what they do not
/// share, aggregated and rendered off the main thread.
#[napi(catch_unwind, ts_return_type = "Promise<string>")]
pub fn cluster_scrape(
    dir: Option<String>,
    workers: Vec<String>,
    openmetrics: bool,
) -> AsyncTask<Aggregate> {
    AsyncTask::new(Aggregate {
        dir,
        workers,
        openmetrics,
        failure: None,
    })
}
