//! The protobuf exposition: length-delimited `io.prometheus.client.MetricFamily` messages
//! (client_model's `metrics.proto`), the only format that carries native histograms.
//! Prometheus asks for it first when its native-histograms feature is on.
//!
//! Written by hand: the messages are few and flat, and a scrape should not build an object
//! tree to serialise it.

use crate::exemplar::Exemplar;
use crate::metric::{MetricFamily, MetricPoint, MetricType, PointValue};
use crate::native::NativeBuckets;

/// The `Content-Type` of the delimited protobuf exposition.
pub const CONTENT_TYPE_PROTOBUF: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

// client_model's MetricType values.
const COUNTER: u64 = 0;
const GAUGE: u64 = 1;
const SUMMARY: u64 = 2;
const UNTYPED: u64 = 3;
const HISTOGRAM: u64 = 4;
const GAUGE_HISTOGRAM: u64 = 5;

/// Protobuf wire writing into a byte buffer.
struct Msg(Vec<u8>);

impl Msg {
    fn new() -> Self {
        Msg(Vec::new())
    }
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn key(&mut self, field: u32, wire: u8) {
        self.varint(((field as u64) << 3) | wire as u64);
    }
    fn uint(&mut self, field: u32, v: u64) {
        self.key(field, 0);
        self.varint(v);
    }
    fn sint(&mut self, field: u32, v: i64) {
        self.uint(field, ((v << 1) ^ (v >> 63)) as u64);
    }
    fn double(&mut self, field: u32, v: f64) {
        self.key(field, 1);
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }
    fn string(&mut self, field: u32, s: &str) {
        self.bytes(field, s.as_bytes());
    }
    fn message(&mut self, field: u32, m: Msg) {
        self.bytes(field, &m.0);
    }
}

fn label_pair(name: &str, value: &str) -> Msg {
    let mut m = Msg::new();
    m.string(1, name);
    m.string(2, value);
    m
}

fn timestamp(seconds: f64) -> Msg {
    let mut m = Msg::new();
    let secs = seconds.floor();
    let nanos = ((seconds - secs) * 1e9).round().min(999_999_999.0);
    m.uint(1, secs as i64 as u64);
    m.uint(2, nanos as i64 as u64);
    m
}

fn exemplar(e: &Exemplar) -> Msg {
    let mut m = Msg::new();
    for (k, v) in &e.labels {
        m.message(1, label_pair(k, v));
    }
    m.double(2, e.value);
    m.message(3, timestamp(e.timestamp));
    m
}

fn metric(labels: &[(String, String)], extra: Option<(&str, &str)>) -> Msg {
    let mut m = Msg::new();
    for (k, v) in labels {
        m.message(1, label_pair(k, v));
    }
    if let Some((k, v)) = extra {
        m.message(1, label_pair(k, v));
    }
    m
}

/// A `Gauge`, `Untyped` (or counter-less) message: field 1, the value.
fn value_msg(value: f64) -> Msg {
    let mut m = Msg::new();
    m.double(1, value);
    m
}

fn native_fields(h: &mut Msg, n: &NativeBuckets) {
    h.sint(5, n.schema as i64);
    h.double(6, n.zero_threshold);
    h.uint(7, n.zero_count);
    let spans = |h: &mut Msg, field_span: u32, field_delta: u32, buckets: &[(i32, u64)]| {
        let (spans, deltas) = NativeBuckets::spans_and_deltas(buckets);
        for (offset, length) in spans {
            let mut s = Msg::new();
            s.sint(1, offset as i64);
            s.uint(2, length as u64);
            h.message(field_span, s);
        }
        if !deltas.is_empty() {
            let mut packed = Msg::new();
            for d in deltas {
                packed.varint(((d << 1) ^ (d >> 63)) as u64);
            }
            h.bytes(field_delta, &packed.0);
        }
    };
    spans(h, 9, 10, &n.negative);
    spans(h, 12, 13, &n.positive);
    if n.zero_threshold == 0.0
        && n.zero_count == 0
        && n.positive.is_empty()
        && n.negative.is_empty()
    {
        // As client_golang: an empty span, so that the histogram is still seen as native.
        let mut s = Msg::new();
        s.sint(1, 0);
        s.uint(2, 0);
        h.message(12, s);
    }
    for e in &n.exemplars {
        h.message(16, exemplar(e));
    }
}

/// Writes `families` as delimited `MetricFamily` messages.
pub fn encode(families: &[MetricFamily], out: &mut Vec<u8>) {
    for f in families {
        encode_family(f, out);
    }
}

fn write_family(out: &mut Vec<u8>, name: &str, help: &str, kind: u64, metrics: Vec<Msg>) {
    if metrics.is_empty() {
        return;
    }
    let mut m = Msg::new();
    m.string(1, name);
    if !help.is_empty() {
        m.string(2, help);
    }
    m.uint(3, kind);
    for x in metrics {
        m.message(4, x);
    }
    let mut len = Msg::new();
    len.varint(m.0.len() as u64);
    out.extend_from_slice(&len.0);
    out.extend_from_slice(&m.0);
}

fn encode_family(f: &MetricFamily, out: &mut Vec<u8>) {
    let mut metrics = Vec::new();
    for p in &f.points {
        if !matches!(p.value, PointValue::Sample { .. }) {
            encode_point(f, p, &mut metrics);
        }
    }
    // Foreign samples (custom collectors) are put back together into the family's type
    // where their names say what they are; the others each form an untyped family of their
    // own name.
    let (typed, leftover) = typed_from_samples(f);
    for (point, timestamp) in &typed {
        encode_point(f, point, &mut metrics);
        if let (Some(ts), Some(m)) = (timestamp, metrics.last_mut()) {
            m.uint(6, (ts * 1000.0).round() as i64 as u64);
        }
    }
    let mut samples: Vec<(&str, Msg)> = Vec::new();
    for p in leftover {
        if let PointValue::Sample {
            name,
            value,
            timestamp: ts,
            ..
        } = &p.value
        {
            let mut m = metric(&p.labels, None);
            m.message(5, value_msg(*value));
            if let Some(ts) = ts {
                m.uint(6, (ts * 1000.0).round() as i64 as u64);
            }
            samples.push((name.as_str(), m));
        }
    }
    let (name, kind) = match f.kind {
        MetricType::Counter => (format!("{}_total", f.name), COUNTER),
        MetricType::Gauge | MetricType::StateSet => (f.name.clone(), GAUGE),
        MetricType::Info => (format!("{}_info", f.name), GAUGE),
        MetricType::Histogram => (f.name.clone(), HISTOGRAM),
        MetricType::GaugeHistogram => (f.name.clone(), GAUGE_HISTOGRAM),
        MetricType::Summary => (f.name.clone(), SUMMARY),
        MetricType::Unknown => (f.name.clone(), UNTYPED),
    };
    write_family(out, &name, &f.help, kind, metrics);
    samples.sort_by(|a, b| a.0.cmp(b.0));
    let mut i = 0;
    while i < samples.len() {
        let name = samples[i].0;
        let group: Vec<Msg> = samples[i..]
            .iter_mut()
            .take_while(|(n, _)| *n == name)
            .map(|(_, m)| std::mem::replace(m, Msg::new()))
            .collect();
        i += group.len();
        write_family(out, name, &f.help, UNTYPED, group);
    }
}

fn encode_point(f: &MetricFamily, p: &MetricPoint, metrics: &mut Vec<Msg>) {
    match &p.value {
        PointValue::Counter {
            value,
            created,
            exemplar: ex,
        } => {
            let mut c = Msg::new();
            c.double(1, *value);
            if let Some(e) = ex {
                c.message(2, exemplar(e));
            }
            if let Some(t) = created {
                c.message(3, timestamp(*t));
            }
            let mut m = metric(&p.labels, None);
            m.message(3, c);
            metrics.push(m);
        }
        PointValue::Gauge(v) => {
            let mut m = metric(&p.labels, None);
            m.message(2, value_msg(*v));
            metrics.push(m);
        }
        PointValue::Unknown(v) => {
            let mut m = metric(&p.labels, None);
            m.message(5, value_msg(*v));
            metrics.push(m);
        }
        PointValue::Info(pairs) => {
            let mut labels = p.labels.clone();
            labels.extend(pairs.iter().cloned());
            let mut m = metric(&labels, None);
            m.message(2, value_msg(1.0));
            metrics.push(m);
        }
        PointValue::StateSet(states) => {
            for (state, on) in states {
                let mut m = metric(&p.labels, Some((&f.name, state)));
                m.message(2, value_msg(if *on { 1.0 } else { 0.0 }));
                metrics.push(m);
            }
        }
        PointValue::Summary {
            count,
            sum,
            quantiles,
            created,
        } => {
            let mut s = Msg::new();
            s.uint(1, *count);
            s.double(2, *sum);
            for (q, v) in quantiles {
                let mut qm = Msg::new();
                qm.double(1, *q);
                qm.double(2, *v);
                s.message(3, qm);
            }
            if let Some(t) = created {
                s.message(4, timestamp(*t));
            }
            let mut m = metric(&p.labels, None);
            m.message(4, s);
            metrics.push(m);
        }
        PointValue::Histogram {
            buckets,
            count,
            sum,
            created,
            native,
        } => {
            let mut h = Msg::new();
            h.uint(1, *count);
            h.double(2, *sum);
            for (bound, cumulative, ex) in buckets {
                // `+Inf` is implied (the count), unless it carries an exemplar.
                if bound.is_infinite() && ex.is_none() {
                    continue;
                }
                let mut b = Msg::new();
                b.uint(1, *cumulative);
                b.double(2, *bound);
                if let Some(e) = ex {
                    b.message(3, exemplar(e));
                }
                h.message(3, b);
            }
            if let Some(n) = native {
                native_fields(&mut h, n);
            }
            if let Some(t) = created {
                h.message(15, timestamp(*t));
            }
            let mut m = metric(&p.labels, None);
            m.message(7, h);
            metrics.push(m);
        }
        PointValue::Sample { .. } => unreachable!("foreign samples are grouped by name"),
    }
}

/// What one label set's foreign samples say, gathered by their names.
#[derive(Default)]
struct Gathered<'a> {
    labels: Vec<(String, String)>,
    value: Option<f64>,
    exemplar: Option<Exemplar>,
    created: Option<f64>,
    timestamp: Option<f64>,
    buckets: Vec<(f64, f64, Option<Exemplar>)>,
    quantiles: Vec<(f64, f64)>,
    count: Option<f64>,
    sum: Option<f64>,
    samples: Vec<&'a MetricPoint>,
}

/// An `le` or `quantile` label value as a number (Go's and Python's spellings).
fn label_float(v: &str) -> Option<f64> {
    match v {
        "+Inf" | "Inf" | "inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        v => v.parse().ok(),
    }
}

/// A whole, non-negative number as a count.
fn whole(v: f64) -> Option<u64> {
    (v >= 0.0 && v.fract() == 0.0 && v < 2f64.powi(64)).then_some(v as u64)
}

/// Typed points (with the timestamp their samples carried) rebuilt from a family's foreign
/// samples, grouped by label set (`le` and `quantile` aside); and the samples that fit no
/// typed point.
#[allow(clippy::type_complexity)]
fn typed_from_samples(f: &MetricFamily) -> (Vec<(MetricPoint, Option<f64>)>, Vec<&MetricPoint>) {
    let mut groups: Vec<Gathered<'_>> = Vec::new();
    let mut leftover = Vec::new();
    for p in &f.points {
        let PointValue::Sample {
            name,
            value,
            timestamp,
            exemplar: ex,
        } = &p.value
        else {
            continue;
        };
        let Some(suffix) = name.strip_prefix(f.name.as_str()) else {
            leftover.push(p);
            continue;
        };
        let label = |k: &str| p.labels.iter().find(|(n, _)| n == k).map(|(_, v)| v);
        let le = label("le").and_then(|v| label_float(v));
        let quantile = label("quantile").and_then(|v| label_float(v));
        let key: Vec<(String, String)> = p
            .labels
            .iter()
            .filter(|(k, _)| !(k == "le" && le.is_some() || k == "quantile" && quantile.is_some()))
            .cloned()
            .collect();
        let g = match groups.iter().position(|g| g.labels == key) {
            Some(i) => &mut groups[i],
            None => {
                groups.push(Gathered {
                    labels: key,
                    ..Default::default()
                });
                groups.last_mut().expect("pushed")
            }
        };
        let histogram = matches!(f.kind, MetricType::Histogram | MetricType::GaugeHistogram);
        let (count, sum) = if f.kind == MetricType::GaugeHistogram {
            ("_gcount", "_gsum")
        } else {
            ("_count", "_sum")
        };
        let known = match (f.kind, suffix) {
            (MetricType::Counter, "_total" | "")
            | (MetricType::Gauge | MetricType::Unknown | MetricType::StateSet, "")
            | (MetricType::Info, "_info") => {
                g.value = Some(*value);
                g.exemplar = ex.clone();
                true
            }
            (MetricType::Summary, "") if quantile.is_some() => {
                g.quantiles.push((quantile.unwrap_or_default(), *value));
                true
            }
            (_, "_bucket") if histogram && le.is_some() => {
                g.buckets.push((le.unwrap_or_default(), *value, ex.clone()));
                true
            }
            (MetricType::Counter | MetricType::Summary, "_created") => {
                g.created = Some(*value);
                true
            }
            (_, "_created") if histogram => {
                g.created = Some(*value);
                true
            }
            (MetricType::Summary, "_count") => {
                g.count = Some(*value);
                true
            }
            (MetricType::Summary, "_sum") => {
                g.sum = Some(*value);
                true
            }
            (_, s) if histogram && s == count => {
                g.count = Some(*value);
                true
            }
            (_, s) if histogram && s == sum => {
                g.sum = Some(*value);
                true
            }
            _ => false,
        };
        if known {
            g.timestamp = g.timestamp.or(*timestamp);
            g.samples.push(p);
        } else {
            leftover.push(p);
        }
    }
    let mut typed = Vec::new();
    for g in groups {
        let point = match f.kind {
            MetricType::Counter => g.value.map(|value| PointValue::Counter {
                value,
                created: g.created,
                exemplar: g.exemplar,
            }),
            MetricType::Gauge | MetricType::StateSet | MetricType::Info => {
                g.value.map(PointValue::Gauge)
            }
            MetricType::Unknown => g.value.map(PointValue::Unknown),
            MetricType::Histogram | MetricType::GaugeHistogram => {
                let mut buckets = g.buckets;
                buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
                let count = g
                    .count
                    .or_else(|| buckets.last().filter(|b| b.0.is_infinite()).map(|b| b.1));
                let cumulative: Option<Vec<_>> = buckets
                    .into_iter()
                    .map(|(le, c, e)| whole(c).map(|c| (le, c, e)))
                    .collect();
                match (count.and_then(whole), cumulative) {
                    (Some(count), Some(mut buckets)) if !buckets.is_empty() || g.sum.is_some() => {
                        if buckets.last().is_none_or(|b| b.0.is_finite()) {
                            buckets.push((f64::INFINITY, count, None));
                        }
                        Some(PointValue::Histogram {
                            buckets,
                            count,
                            sum: g.sum.unwrap_or(0.0),
                            created: g.created,
                            native: None,
                        })
                    }
                    _ => None,
                }
            }
            MetricType::Summary => match (g.count.map(whole), g.sum) {
                (Some(Some(count)), Some(sum)) => Some(PointValue::Summary {
                    count,
                    sum,
                    quantiles: g.quantiles,
                    created: g.created,
                }),
                _ => None,
            },
        };
        match point {
            Some(value) => typed.push((
                MetricPoint {
                    labels: g.labels,
                    value,
                },
                g.timestamp,
            )),
            None => leftover.extend(g.samples),
        }
    }
    (typed, leftover)
}
