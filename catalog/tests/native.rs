//! A native histogram declared in the catalog: every language's generated code creates it
//! native, and the generated rules use native PromQL. The rules pass `promtool check rules`
//! and, loaded into a real Prometheus 2.42 with native histograms on that scrapes a Rust
//! exporter of the metric, record what the observations say.

use footmetrics::{PointValue, Registry};
use footmetrics_catalog::{
    parse, render_go, render_node, render_node_types, render_python, render_python_stub,
    render_rules, render_rust, rule_groups, Catalog, Rule,
};
use footmetrics_testkit::Prometheus;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

const CATALOG: &str = r#"
[[metric]]
name = "job_duration_seconds"
type = "histogram"
help = "Job duration"
unit = "seconds"
labels = ["queue"]
native = true
service = "worker"
team = "platform"

[[metric]]
name = "payload_size_bytes"
type = "histogram"
help = "Payload size"
unit = "bytes"
labels = []
buckets = [1024, 65536]
native = true
native_bucket_factor = 1.5
service = "worker"
team = "platform"

[[metric]]
name = "step_duration_seconds"
type = "histogram"
help = "Classic step duration"
unit = "seconds"
labels = []
buckets = [0.1, 1]
service = "worker"
team = "platform"

[[slo]]
name = "job_latency"
description = "Jobs finish within 250 ms"
sli = "latency"
metric = "job_duration_seconds"
selector = 'job="worker"'
threshold_seconds = 0.25
quantile = 0.99
target = 0.9
window = "30d"
service = "worker"
team = "platform"
runbook = "https://runbooks.example/job-latency"
"#;

fn catalog() -> Catalog {
    parse(CATALOG).unwrap()
}

fn records(c: &Catalog) -> Vec<(String, String)> {
    let (recording, _) = rule_groups(c).unwrap();
    recording
        .groups
        .iter()
        .flat_map(|g| &g.rules)
        .filter_map(|r| match r {
            Rule::Record { record, expr } => Some((record.clone(), expr.clone())),
            Rule::Alert { .. } => None,
        })
        .collect()
}

fn expr<'a>(records: &'a [(String, String)], name: &str) -> &'a str {
    &records
        .iter()
        .find(|(r, _)| r == name)
        .unwrap_or_else(|| panic!("no record {name} in {records:#?}"))
        .1
}

#[test]
fn every_language_creates_it_native() {
    let c = catalog();
    let rust = render_rust(&c);
    assert!(rust.contains("pub const JOB_DURATION_SECONDS: MetricSpec = MetricSpec {"));
    // Native with the default factor and no classic buckets; native with 1.5 and classic
    // buckets; the classic histogram unchanged.
    for (konst, buckets, native) in [
        ("JOB_DURATION_SECONDS", "&[]", "Some(1.1)"),
        ("PAYLOAD_SIZE_BYTES", "&[1024.0, 65536.0]", "Some(1.5)"),
        ("STEP_DURATION_SECONDS", "&[0.1, 1.0]", "None"),
    ] {
        let start = rust.find(&format!("pub const {konst}")).unwrap();
        let entry = &rust[start..start + rust[start..].find("};").unwrap()];
        assert!(entry.contains(&format!("buckets: {buckets},")), "{entry}");
        assert!(
            entry.contains(&format!("native_bucket_factor: {native},")),
            "{entry}"
        );
    }
    assert!(rust.contains("o = o.native_histogram(NativeOpts::new(factor));"));

    let py = render_python(&c);
    assert!(py.contains("native_histogram_bucket_factor=1.1,"), "{py}");
    assert!(py.contains("native_histogram_bucket_factor=1.5,"));
    assert_eq!(py.matches("native_histogram_bucket_factor=").count(), 2);
    assert!(py.contains("options[\"native_histogram_bucket_factor\"]"));
    assert!(render_python_stub(&c).contains("native_histogram_bucket_factor: float | None"));

    let js = render_node(&c);
    assert!(js.contains("nativeHistogramBucketFactor: 1.1,"), "{js}");
    assert!(js.contains("nativeHistogramBucketFactor: 1.5,"));
    assert!(js.contains("config.nativeHistogramBucketFactor = s.nativeHistogramBucketFactor"));
    assert!(render_node_types(&c).contains("readonly nativeHistogramBucketFactor?: number;"));

    let go = render_go(&c);
    assert!(
        go.contains(
            "var JobDurationSecondsOpts = HistogramOpts{Name: \"job_duration_seconds\", \
             Help: \"Job duration\", NativeHistogramBucketFactor: 1.1}"
        ),
        "{go}"
    );
    assert!(go.contains("Buckets: []float64{1024.0, 65536.0}, NativeHistogramBucketFactor: 1.5}"));
    assert!(go.contains("Buckets: []float64{0.1, 1.0}}"));
}

/// What the generated Rust `MetricSpec::opts` does with each entry, run for real: the
/// checked-in `footmetrics::catalog` module is this generator's output, so its `MetricSpec`
/// is the generated type.
#[test]
fn the_generated_rust_spec_creates_a_native_histogram() {
    let c = catalog();
    let registry = Registry::new();
    for m in &c.metrics {
        let spec = footmetrics::catalog::MetricSpec {
            name: Box::leak(m.name.clone().into_boxed_str()),
            help: Box::leak(m.help.clone().into_boxed_str()),
            kind: footmetrics::MetricType::Histogram,
            unit: m.unit.clone().map(|u| &*Box::leak(u.into_boxed_str())),
            labels: Box::leak(
                m.labels
                    .iter()
                    .map(|l| &*Box::leak(l.clone().into_boxed_str()))
                    .collect::<Vec<&'static str>>()
                    .into_boxed_slice(),
            ),
            buckets: Box::leak(m.buckets.clone().into_boxed_slice()),
            native_bucket_factor: m.native_factor(),
            label_values: &[],
            service: "worker",
            team: "platform",
        };
        let family = registry
            .family::<footmetrics::Histogram>(&spec.opts())
            .unwrap();
        let values: Vec<&str> = m.labels.iter().map(|_| "q").collect();
        let h = family.with_label_values(&values).unwrap();
        h.observe(0.3);
        assert_eq!(h.is_native(), m.native, "{}", m.name);
        if let Some(b) = h.native_buckets() {
            // client_golang's schema for the factor: 1.1 -> 3, 1.5 -> 1.
            let want = if m.name == "job_duration_seconds" {
                3
            } else {
                1
            };
            assert_eq!(b.schema, want, "{}", m.name);
        }
    }
    // Classic buckets where the catalog lists them (+Inf only for the native-only one).
    for f in registry.gather() {
        let PointValue::Histogram { buckets, .. } = &f.points[0].value else {
            panic!()
        };
        let want = match f.name.as_str() {
            "job_duration_seconds" => 1,
            _ => 3,
        };
        assert_eq!(buckets.len(), want, "{}", f.name);
    }
}

#[test]
fn rules_use_native_promql() {
    let c = catalog();
    let r = records(&c);
    assert_eq!(
        expr(&r, "job:job_duration_seconds:p99_5m"),
        "histogram_quantile(0.99, sum by (job) (rate(job_duration_seconds[5m])))"
    );
    assert_eq!(
        expr(&r, "job:job_duration_seconds:rate5m"),
        "sum by (job) (histogram_count(rate(job_duration_seconds[5m])))"
    );
    assert_eq!(
        expr(&r, "job:job_duration_seconds:mean_5m"),
        "sum by (job) (histogram_sum(rate(job_duration_seconds[5m]))) / \
         sum by (job) (histogram_count(rate(job_duration_seconds[5m])))"
    );
    assert_eq!(
        expr(&r, "sli:job_latency:p99_5m"),
        "histogram_quantile(0.99, sum(rate(job_duration_seconds{job=\"worker\"}[5m])))"
    );
    assert_eq!(
        expr(&r, "slo:job_latency:error_ratio_rate1h"),
        "1 - histogram_fraction(0, 0.25, sum(rate(job_duration_seconds{job=\"worker\"}[1h])))"
    );
    // No classic series of a native histogram anywhere: no _bucket, _count, _sum, le.
    for (name, e) in &r {
        for native in ["job_duration_seconds", "payload_size_bytes"] {
            for classic in ["_bucket", "_count", "_sum"] {
                assert!(!e.contains(&format!("{native}{classic}")), "{name}: {e}");
            }
        }
        if e.contains("job_duration_seconds") || e.contains("payload_size_bytes") {
            for le in ["(le", "le)", "le,", "le="] {
                assert!(!e.contains(le), "{name}: {e}");
            }
        }
    }
    // The classic histogram keeps its classic rules.
    assert_eq!(
        expr(&r, "job:step_duration_seconds:p99_5m"),
        "histogram_quantile(0.99, sum by (job, le) (rate(step_duration_seconds_bucket[5m])))"
    );
}

#[test]
fn bad_native_declarations_are_refused() {
    let base = "[[metric]]\nservice = \"s\"\nteam = \"t\"\n";
    for (body, want) in [
        (
            "name = \"g\"\ntype = \"gauge\"\nhelp = \"h\"\nnative = true",
            "only histograms can be native",
        ),
        (
            "name = \"h_seconds\"\ntype = \"histogram\"\nhelp = \"h\"\nbuckets = [1]\nnative_bucket_factor = 1.2",
            "needs native = true",
        ),
        (
            "name = \"h_seconds\"\ntype = \"histogram\"\nhelp = \"h\"\nnative = true\nnative_bucket_factor = 1.0",
            "greater than 1",
        ),
        (
            "name = \"h_seconds\"\ntype = \"histogram\"\nhelp = \"h\"",
            "histograms need buckets (or native = true)",
        ),
    ] {
        let err = parse(&format!("{base}{body}\n")).unwrap_err();
        assert!(err.contains(want), "{body}: {err}");
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("footmetrics-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The generated rule file, written to `dir`; with `interval` in place of the generated 30 s.
fn rule_file(dir: &std::path::Path, interval: &str) -> PathBuf {
    let (recording, _) = rule_groups(&catalog()).unwrap();
    let text = render_rules(&recording).replace("interval: 30s", &format!("interval: {interval}"));
    let path = dir.join("native-rules.yml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn promtool_accepts_the_native_rules() {
    let dir = temp_dir("native-rules-check");
    let path = rule_file(&dir, "30s");
    let out = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&path)
        .output()
        .expect("promtool (Debian package prometheus; `make deps`)");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("SUCCESS"), "{text}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_real_prometheus_evaluates_the_native_rules() {
    let registry = Registry::new();
    let family = registry
        .family::<footmetrics::Histogram>(
            &footmetrics::catalog::MetricSpec {
                name: "job_duration_seconds",
                help: "Job duration",
                kind: footmetrics::MetricType::Histogram,
                unit: Some("seconds"),
                labels: &["queue"],
                buckets: &[],
                native_bucket_factor: catalog().metrics[0].native_factor(),
                label_values: &[],
                service: "worker",
                team: "platform",
            }
            .opts(),
        )
        .unwrap();
    let h = family.with_label_values(&["default"]).unwrap();
    let addr = footmetrics_testkit::serve_registry(registry.clone());
    let dir = temp_dir("native-rules-live");
    let rules = rule_file(&dir, "1s");
    let prom = Prometheus::start_native_with_rules(&[("worker", addr)], &[rules]);
    // A first scrape of the empty histogram, so rate() sees every observation below.
    prom.wait_for_value(
        "histogram_count(job_duration_seconds{queue=\"default\"})",
        Duration::from_secs(30),
    );
    // 90 jobs at 0.1 s and 10 at 0.5 s: 10% over the 0.25 s threshold (a bucket bound at
    // every schema, so histogram_fraction is exact), mean 0.14 s, p99 in 0.5's bucket.
    for _ in 0..90 {
        h.observe(0.1);
    }
    for _ in 0..10 {
        h.observe(0.5);
    }
    let settled = |expr: &str, ok: &dyn Fn(f64) -> bool| {
        let deadline = std::time::Instant::now() + Duration::from_secs(40);
        loop {
            let v = prom.query_value(expr);
            if v.is_some_and(ok) {
                return v.unwrap();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{expr} = {v:?}\n{}",
                prom.log()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    // The count reaches 100 in the store first.
    settled(
        "histogram_count(job_duration_seconds{queue=\"default\"})",
        &|v| v == 100.0,
    );
    let error_ratio = settled("slo:job_latency:error_ratio_rate5m", &|v| v > 0.0);
    assert!((error_ratio - 0.1).abs() < 1e-9, "{error_ratio}");
    let mean = settled("job:job_duration_seconds:mean_5m{job=\"worker\"}", &|v| {
        v.is_finite()
    });
    assert!((mean - 0.14).abs() < 1e-9, "{mean}");
    // 0.5 = 2^-1 is the upper bound of schema 3's bucket (2^(-1 - 1/8), 2^-1].
    let p99 = settled("sli:job_latency:p99_5m", &|v| v > 0.25);
    assert!(p99 > 2f64.powf(-1.125) && p99 <= 0.5, "{p99}");
    let job_p99 = settled("job:job_duration_seconds:p99_5m{job=\"worker\"}", &|v| {
        v > 0.25
    });
    assert!((job_p99 - p99).abs() < 1e-12, "{job_p99} vs {p99}");
    let rate = settled("job:job_duration_seconds:rate5m{job=\"worker\"}", &|v| {
        v > 0.0
    });
    assert!(rate.is_finite());
    let _ = std::fs::remove_dir_all(dir);
}
