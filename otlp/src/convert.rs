//! The registry's families as one OTLP `ExportMetricsServiceRequest`, in cumulative
//! temporality (what a Prometheus registry holds: totals since the series was created).
//!
//! Names follow the Prometheus-to-OTLP mapping of the OpenTelemetry Collector's Prometheus
//! receiver, so a backend that turns OTLP back into Prometheus series gets the names a scrape
//! would have given: counters lose `_total` (backends add it back to monotonic sums), info
//! families keep `_info`, units travel in `unit`. A native histogram becomes an OTLP exponential
//! histogram (scale = schema, buckets re-indexed to OTLP's convention).

use footmetrics::{Exemplar, MetricFamily, MetricType, NativeBuckets, PointValue};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    exemplar, exponential_histogram_data_point::Buckets, metric, number_data_point,
    summary_data_point::ValueAtQuantile, AggregationTemporality, Exemplar as OtlpExemplar,
    ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

/// Exemplar labels that carry the trace link; they become the exemplar's `trace_id` and
/// `span_id` fields rather than attributes.
pub const TRACE_ID_LABEL: &str = "trace_id";
pub const SPAN_ID_LABEL: &str = "span_id";

/// What every request of one exporter shares.
#[derive(Debug, Clone)]
pub struct Source {
    pub resource: Vec<(String, String)>,
    /// Start time of series that do not carry their own `created` time.
    pub start_time_unix_nano: u64,
    /// Added to every point that lacks the label.
    pub default_labels: Vec<(String, String)>,
}

/// A converted snapshot and how many data points it holds (what the drop counter counts).
pub struct Snapshot {
    pub request: ExportMetricsServiceRequest,
    pub points: u64,
}

pub fn string_attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

fn attrs(labels: &[(String, String)]) -> Vec<KeyValue> {
    labels.iter().map(|(k, v)| string_attr(k, v)).collect()
}

fn seconds_to_nanos(s: f64) -> u64 {
    if s.is_finite() && s > 0.0 {
        (s * 1e9) as u64
    } else {
        0
    }
}

/// `hex` as bytes when it is an id of exactly `len` bytes.
fn hex_id(hex: &str, len: usize) -> Option<Vec<u8>> {
    if hex.len() != len * 2 {
        return None;
    }
    (0..len)
        .map(|i| u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok())
        .collect()
}

fn exemplar(e: &Exemplar) -> OtlpExemplar {
    let mut out = OtlpExemplar {
        time_unix_nano: seconds_to_nanos(e.timestamp),
        value: Some(exemplar::Value::AsDouble(e.value)),
        ..Default::default()
    };
    for (k, v) in &e.labels {
        // Ids that are not well-formed hex stay attributes, so nothing is silently lost.
        let id = match k.as_str() {
            TRACE_ID_LABEL => hex_id(v, 16).map(|b| out.trace_id = b),
            SPAN_ID_LABEL => hex_id(v, 8).map(|b| out.span_id = b),
            _ => None,
        };
        if id.is_none() {
            out.filtered_attributes.push(string_attr(k, v));
        }
    }
    out
}

struct Point<'a> {
    labels: &'a [(String, String)],
    created: Option<f64>,
}

impl Point<'_> {
    fn number(&self, src: &Source, now: u64, value: f64, ex: Option<&Exemplar>) -> NumberDataPoint {
        NumberDataPoint {
            attributes: attrs(self.labels),
            start_time_unix_nano: self.start(src),
            time_unix_nano: now,
            exemplars: ex.map(exemplar).into_iter().collect(),
            value: Some(number_data_point::Value::AsDouble(value)),
            ..Default::default()
        }
    }

    fn start(&self, src: &Source) -> u64 {
        self.created
            .map(seconds_to_nanos)
            .filter(|&n| n > 0)
            .unwrap_or(src.start_time_unix_nano)
    }
}

fn metric(name: String, f: &MetricFamily, data: metric::Data) -> Metric {
    Metric {
        name,
        description: f.help.clone(),
        unit: f.unit.clone().unwrap_or_default(),
        data: Some(data),
        ..Default::default()
    }
}

fn sum(points: Vec<NumberDataPoint>) -> metric::Data {
    metric::Data::Sum(Sum {
        data_points: points,
        aggregation_temporality: AggregationTemporality::Cumulative as i32,
        is_monotonic: true,
    })
}

fn gauge(points: Vec<NumberDataPoint>) -> metric::Data {
    metric::Data::Gauge(Gauge {
        data_points: points,
    })
}

/// Sparse `(key, count)` buckets (Prometheus keys: key `k` holds `(base^(k-1), base^k]`) as
/// OTLP's dense buckets, where index `i` holds `(base^i, base^(i+1)]`: the offset is the first
/// key minus one, and every bucket from the first key to the last is listed, empty ones as 0.
fn dense_buckets(sparse: &[(i32, u64)]) -> Buckets {
    let (Some(&(first, _)), Some(&(last, _))) = (sparse.first(), sparse.last()) else {
        return Buckets::default();
    };
    let mut bucket_counts = vec![0u64; (i64::from(last) - i64::from(first) + 1) as usize];
    for &(key, count) in sparse {
        bucket_counts[(key - first) as usize] += count;
    }
    Buckets {
        offset: first - 1,
        bucket_counts,
    }
}

fn exponential_point(
    p: &footmetrics::MetricPoint,
    native: &NativeBuckets,
    count: u64,
    sum: f64,
    start: u64,
    now: u64,
) -> ExponentialHistogramDataPoint {
    ExponentialHistogramDataPoint {
        attributes: attrs(&p.labels),
        start_time_unix_nano: start,
        time_unix_nano: now,
        count,
        sum: Some(sum),
        scale: i32::from(native.schema),
        zero_count: native.zero_count,
        zero_threshold: native.zero_threshold,
        positive: Some(dense_buckets(&native.positive)),
        negative: Some(dense_buckets(&native.negative)),
        exemplars: native.exemplars.iter().map(exemplar).collect(),
        ..Default::default()
    }
}

/// Converts one family; `out` gets zero or more metrics (foreign samples may name several).
fn family(f: &MetricFamily, src: &Source, now: u64, out: &mut Vec<Metric>) -> u64 {
    let mut numbers = Vec::new();
    let mut histograms = Vec::new();
    let mut exponentials = Vec::new();
    let mut summaries = Vec::new();
    // Samples spelled out by custom collectors, grouped by their full name.
    let mut samples: Vec<(String, Vec<NumberDataPoint>)> = Vec::new();
    for p in &f.points {
        let mut point = Point {
            labels: &p.labels,
            created: None,
        };
        match &p.value {
            PointValue::Counter {
                value,
                created,
                exemplar,
            } => {
                point.created = *created;
                numbers.push(point.number(src, now, *value, exemplar.as_ref()));
            }
            PointValue::Gauge(v) | PointValue::Unknown(v) => {
                numbers.push(point.number(src, now, *v, None))
            }
            PointValue::Info(info) => {
                let mut labels = p.labels.clone();
                labels.extend(info.iter().cloned());
                let point = Point {
                    labels: &labels,
                    created: None,
                };
                numbers.push(point.number(src, now, 1.0, None));
            }
            PointValue::StateSet(states) => {
                for (state, enabled) in states {
                    let mut labels = p.labels.clone();
                    labels.push((f.name.clone(), state.clone()));
                    let point = Point {
                        labels: &labels,
                        created: None,
                    };
                    numbers.push(point.number(src, now, f64::from(u8::from(*enabled)), None));
                }
            }
            PointValue::Histogram {
                buckets,
                count,
                sum,
                created,
                native,
            } => {
                point.created = *created;
                if let Some(native) = native {
                    let start = point.start(src);
                    exponentials.push(exponential_point(p, native, *count, *sum, start, now));
                    continue;
                }
                // OTLP wants per-bucket counts and finite bounds; the core keeps cumulative
                // counts ending in `+Inf`.
                let mut bucket_counts = Vec::with_capacity(buckets.len());
                let mut explicit_bounds = Vec::with_capacity(buckets.len());
                let mut below = 0u64;
                for (bound, cumulative, _) in buckets {
                    bucket_counts.push(cumulative.saturating_sub(below));
                    below = *cumulative;
                    if bound.is_finite() {
                        explicit_bounds.push(*bound);
                    }
                }
                if explicit_bounds.len() == bucket_counts.len() {
                    // No `+Inf` bucket was listed: everything above the last bound.
                    bucket_counts.push(count.saturating_sub(below));
                }
                histograms.push(HistogramDataPoint {
                    attributes: attrs(&p.labels),
                    start_time_unix_nano: point.start(src),
                    time_unix_nano: now,
                    count: *count,
                    sum: Some(*sum),
                    bucket_counts,
                    explicit_bounds,
                    exemplars: buckets
                        .iter()
                        .filter_map(|(_, _, e)| e.as_ref().map(exemplar))
                        .collect(),
                    ..Default::default()
                });
            }
            PointValue::Summary {
                count,
                sum,
                quantiles,
                created,
            } => {
                point.created = *created;
                summaries.push(SummaryDataPoint {
                    attributes: attrs(&p.labels),
                    start_time_unix_nano: point.start(src),
                    time_unix_nano: now,
                    count: *count,
                    sum: *sum,
                    quantile_values: quantiles
                        .iter()
                        .map(|&(quantile, value)| ValueAtQuantile { quantile, value })
                        .collect(),
                    ..Default::default()
                });
            }
            PointValue::Sample {
                name,
                value,
                timestamp,
                exemplar,
            } => {
                let mut dp = point.number(src, now, *value, exemplar.as_ref());
                if let Some(ts) = timestamp {
                    dp.time_unix_nano = seconds_to_nanos(*ts);
                }
                match samples.iter_mut().find(|(n, _)| n == name) {
                    Some((_, points)) => points.push(dp),
                    None => samples.push((name.clone(), vec![dp])),
                }
            }
        }
    }
    let mut n = (numbers.len() + histograms.len() + exponentials.len() + summaries.len()) as u64;
    if !numbers.is_empty() {
        let (name, data) = match f.kind {
            MetricType::Counter => (f.name.clone(), sum(numbers)),
            MetricType::Info => (format!("{}_info", f.name), gauge(numbers)),
            _ => (f.name.clone(), gauge(numbers)),
        };
        out.push(metric(name, f, data));
    }
    if !histograms.is_empty() {
        let data = metric::Data::Histogram(Histogram {
            data_points: histograms,
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        });
        out.push(metric(f.name.clone(), f, data));
    }
    if !exponentials.is_empty() {
        let data = metric::Data::ExponentialHistogram(ExponentialHistogram {
            data_points: exponentials,
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        });
        out.push(metric(f.name.clone(), f, data));
    }
    if !summaries.is_empty() {
        let data = metric::Data::Summary(Summary {
            data_points: summaries,
        });
        out.push(metric(f.name.clone(), f, data));
    }
    for (name, points) in samples {
        n += points.len() as u64;
        // A custom collector's counter sample is a monotonic sum named without `_total`.
        let data = match (f.kind, name.strip_suffix("_total")) {
            (MetricType::Counter, Some(base)) => (base.to_owned(), sum(points)),
            _ => (name, gauge(points)),
        };
        out.push(metric(data.0, f, data.1));
    }
    n
}

/// Converts gathered families into one request for `src`'s resource.
pub fn request(families: &[MetricFamily], src: &Source, now_unix_nano: u64) -> Snapshot {
    let mut metrics = Vec::with_capacity(families.len());
    let mut points = 0;
    for f in families {
        if src.default_labels.is_empty() {
            points += family(f, src, now_unix_nano, &mut metrics);
        } else {
            let mut f = f.clone();
            for p in &mut f.points {
                for (k, v) in &src.default_labels {
                    if !p.labels.iter().any(|(n, _)| n == k) {
                        p.labels.push((k.clone(), v.clone()));
                    }
                }
            }
            points += family(&f, src, now_unix_nano, &mut metrics);
        }
    }
    let request = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: attrs(&src.resource),
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "footmetrics".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    Snapshot { request, points }
}

#[cfg(test)]
mod tests {
    use super::*;
    use footmetrics::{Opts, Registry};

    fn src() -> Source {
        Source {
            resource: vec![("service.name".into(), "svc".into())],
            start_time_unix_nano: 7,
            default_labels: vec![],
        }
    }

    fn metrics(r: &Registry) -> Vec<Metric> {
        let s = request(&r.gather(), &src(), 99);
        s.request.resource_metrics[0].scope_metrics[0]
            .metrics
            .clone()
    }

    #[test]
    fn histogram_buckets_become_per_bucket_counts() {
        let r = Registry::new();
        let h = r
            .histogram(&Opts::new("lat_seconds", "Latency.").buckets(vec![0.1, 1.0]))
            .unwrap();
        for v in [0.05, 0.5, 0.7, 3.0] {
            h.observe(v);
        }
        let m = metrics(&r);
        let Some(metric::Data::Histogram(hist)) = &m[0].data else {
            panic!("{m:?}")
        };
        let p = &hist.data_points[0];
        assert_eq!(p.explicit_bounds, vec![0.1, 1.0]);
        assert_eq!(p.bucket_counts, vec![1, 2, 1]);
        assert_eq!((p.count, p.sum), (4, Some(4.25)));
        assert_eq!(
            hist.aggregation_temporality,
            AggregationTemporality::Cumulative as i32
        );
        assert_eq!(p.time_unix_nano, 99);
    }

    #[test]
    fn counters_are_monotonic_sums_without_total() {
        let r = Registry::new();
        let c = r
            .counter_vec(&Opts::new("jobs_total", "Jobs.").labels(&["kind"]))
            .unwrap();
        c.with_label_values(&["a"]).unwrap().inc_by_u64(3);
        let m = metrics(&r);
        assert_eq!(m[0].name, "jobs");
        let Some(metric::Data::Sum(s)) = &m[0].data else {
            panic!()
        };
        assert!(s.is_monotonic);
        assert_eq!(s.data_points[0].attributes, vec![string_attr("kind", "a")]);
        assert_eq!(
            s.data_points[0].value,
            Some(number_data_point::Value::AsDouble(3.0))
        );
        // The series' own creation time, not the exporter's.
        assert!(s.data_points[0].start_time_unix_nano > 7);
    }

    #[test]
    fn trace_labels_become_exemplar_ids() {
        let e = Exemplar::new(
            &[
                ("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"),
                ("span_id", "00f067aa0ba902b7"),
                ("user", "x"),
            ],
            0.5,
        )
        .unwrap();
        let o = exemplar(&e);
        assert_eq!(o.trace_id.len(), 16);
        assert_eq!(o.trace_id[0], 0x4b);
        assert_eq!(
            o.span_id,
            vec![0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]
        );
        assert_eq!(o.filtered_attributes, vec![string_attr("user", "x")]);
        let bad = Exemplar::new(&[("trace_id", "xyz")], 1.0).unwrap();
        assert_eq!(
            exemplar(&bad).filtered_attributes,
            vec![string_attr("trace_id", "xyz")]
        );
    }
}
