//! A real Prometheus (2.42, native histograms on) scrapes a native histogram over the
//! protobuf exposition: its count and sum arrive exact, and its 0.99 quantile lands in the
//! bucket of the observed distribution's. Every other kind of family in the same exposition
//! reads back as it was set.

use footmetrics::native::{bucket_key, upper_bound};
use footmetrics::{NativeOpts, Opts, Registry};
use footmetrics_testkit::Prometheus;
use std::time::Duration;

/// A seeded log-normal-ish sample: latencies from about 1 ms to a few seconds.
fn latencies(n: usize) -> Vec<f64> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            // Box-Muller: a standard normal from two uniforms.
            let (u1, u2) = (uniform().max(1e-12), uniform());
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            (-3.0 + 1.2 * z).exp()
        })
        .collect()
}

#[test]
fn prometheus_reads_native_histograms_exactly() {
    let registry = Registry::new();
    let h = registry
        .histogram_vec(
            &Opts::new("api_latency_seconds", "Latency.")
                .labels(&["route"])
                .native_histogram(NativeOpts::new(1.1)),
        )
        .unwrap();
    let child = h.with_label_values(&["/v1/matches"]).unwrap();
    // Every other kind in the same protobuf exposition, read back through Prometheus.
    let jobs = registry.counter(&Opts::new("jobs_total", "Jobs.")).unwrap();
    jobs.inc_by_with_exemplar(7.5, &[("trace_id", "abc123")])
        .unwrap();
    let queue = registry.gauge(&Opts::new("queue_depth", "Queue.")).unwrap();
    queue.set(-3.25);
    let sizes = registry
        .summary(&Opts::new("frame_bytes", "Frames.").objectives(vec![(0.5, 0.01)]))
        .unwrap();
    for v in [100.0, 200.0, 300.0] {
        sizes.observe(v);
    }
    let build = registry.info(&Opts::new("build", "Build.")).unwrap();
    build.set(&[("version", "1.2.3")]).unwrap();
    let mode = registry
        .state_set(&Opts::new("mode", "Mode.").states(&["live", "replay"]))
        .unwrap();
    mode.state("replay").unwrap();
    let classic = registry
        .histogram(&Opts::new("classic_seconds", "Classic.").buckets(vec![1.0, 2.0]))
        .unwrap();
    classic.observe(1.5);
    // A custom collector's samples, spelled out one by one as prometheus_client's custom
    // collectors give them: protobuf puts them back into typed families.
    registry
        .register(footmetrics::FnCollector::new(vec![], custom_families))
        .unwrap();
    let addr = footmetrics_testkit::serve_registry(registry.clone());
    let prometheus = Prometheus::start_native(&[("native", addr)]);
    // A first scrape with no observations, so that rate() sees the whole distribution.
    prometheus.wait_for_value(
        "histogram_count(api_latency_seconds{route=\"/v1/matches\"})",
        Duration::from_secs(30),
    );
    let values = latencies(20_000);
    for &v in &values {
        child.observe(v);
    }
    // An exemplar on the native histogram (its `exemplars` field in protobuf).
    child
        .observe_with_exemplar(0.5, &[("trace_id", "native1")])
        .unwrap();
    let n = values.len() as f64 + 1.0;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let count = prometheus
            .query_value("histogram_count(api_latency_seconds{route=\"/v1/matches\"})")
            .unwrap_or(0.0);
        if count == n {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "count {count}\n{}",
            prometheus.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let sum = prometheus
        .query_value("histogram_sum(api_latency_seconds{route=\"/v1/matches\"})")
        .unwrap();
    assert_eq!(sum, values.iter().sum::<f64>() + 0.5);
    let q = prometheus
        .query_value(
            "histogram_quantile(0.99, rate(api_latency_seconds{route=\"/v1/matches\"}[1m]))",
        )
        .unwrap();
    let mut sorted = values.clone();
    sorted.push(0.5);
    sorted.sort_by(f64::total_cmp);
    let rank = 0.99 * n;
    let (lo, hi) = (
        sorted[rank.floor() as usize - 1],
        sorted[rank.ceil() as usize],
    );
    // Schema 3 (factor 1.1): the estimate lies in the bucket(s) of the true quantile.
    let lower = upper_bound(bucket_key(lo, 3) - 1, 3);
    let upper = upper_bound(bucket_key(hi, 3), 3);
    assert!(
        (lower..=upper).contains(&q),
        "0.99 quantile {q}, true between {lo} and {hi}: not within ({lower}, {upper}]"
    );
    for (expr, want) in [
        ("jobs_total", 7.5),
        ("queue_depth", -3.25),
        ("frame_bytes{quantile=\"0.5\"}", 200.0),
        ("frame_bytes_count", 3.0),
        ("frame_bytes_sum", 600.0),
        ("build_info{version=\"1.2.3\"}", 1.0),
        ("mode{mode=\"replay\"}", 1.0),
        ("mode{mode=\"live\"}", 0.0),
        // Prometheus spells le from protobuf as OpenMetrics does.
        ("classic_seconds_bucket{le=\"2.0\"}", 1.0),
        ("classic_seconds_bucket{le=\"1.0\"}", 0.0),
        ("classic_seconds_bucket{le=\"+Inf\"}", 1.0),
        ("classic_seconds_count", 1.0),
    ] {
        assert_eq!(prometheus.query_value(expr), Some(want), "{expr}");
    }
    for (expr, want) in [
        ("custom_jobs_total{a=\"1\"}", 5.0),
        ("custom_temp", 21.5),
        ("custom_lat_bucket{le=\"1.0\"}", 2.0),
        ("custom_lat_bucket{le=\"+Inf\"}", 3.0),
        ("custom_lat_count", 3.0),
        ("custom_lat_sum", 4.5),
        ("custom_size{quantile=\"0.5\"}", 10.0),
        ("custom_size_count", 4.0),
        ("custom_size_sum", 40.0),
    ] {
        assert_eq!(prometheus.query_value(expr), Some(want), "{expr}");
    }
    let metadata = prometheus.api("targets/metadata", &[("match_target", "{job=\"native\"}")]);
    let kind_of = |metric: &str| {
        metadata
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["metric"] == metric)
            .map(|m| m["type"].as_str().unwrap().to_owned())
    };
    for (metric, kind) in [
        ("custom_jobs_total", "counter"),
        ("custom_temp", "gauge"),
        ("custom_lat", "histogram"),
        ("custom_size", "summary"),
        ("api_latency_seconds", "histogram"),
    ] {
        assert_eq!(
            kind_of(metric).as_deref(),
            Some(kind),
            "{metric}: {metadata}"
        );
    }
    // Exemplars travel in protobuf too: the counter's, and the native histogram's.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (start, end) = ((now - 600).to_string(), (now + 60).to_string());
    for (expr, trace) in [("jobs_total", "abc123"), ("api_latency_seconds", "native1")] {
        let data = prometheus.api(
            "query_exemplars",
            &[("query", expr), ("start", &start), ("end", &end)],
        );
        assert!(
            data.to_string().contains(trace),
            "no exemplar {trace} on {expr}: {data}"
        );
    }
    // The classic formats still serve the histogram (its +Inf bucket).
    let text = registry.render(footmetrics::Format::Text);
    assert!(text.contains(&format!(
        "api_latency_seconds_bucket{{route=\"/v1/matches\",le=\"+Inf\"}} {}",
        values.len() + 1
    )));
}

/// Families as a custom collector spells them: one sample per line of the exposition.
fn custom_families() -> Vec<footmetrics::MetricFamily> {
    use footmetrics::{MetricFamily, MetricType, PointValue};
    let sample = |name: &str, value: f64| PointValue::Sample {
        name: name.into(),
        value,
        timestamp: None,
        exemplar: None,
    };
    let mut jobs = MetricFamily::new("custom_jobs", "Jobs.", MetricType::Counter);
    jobs.push([("a", "1")], sample("custom_jobs_total", 5.0));
    jobs.push([("a", "1")], sample("custom_jobs_created", 1.7e9));
    let mut temp = MetricFamily::new("custom_temp", "Temperature.", MetricType::Gauge);
    temp.push(Vec::<(String, String)>::new(), sample("custom_temp", 21.5));
    let mut lat = MetricFamily::new("custom_lat", "Latency.", MetricType::Histogram);
    lat.push([("le", "1.0")], sample("custom_lat_bucket", 2.0));
    lat.push([("le", "+Inf")], sample("custom_lat_bucket", 3.0));
    lat.push(
        Vec::<(String, String)>::new(),
        sample("custom_lat_count", 3.0),
    );
    lat.push(
        Vec::<(String, String)>::new(),
        sample("custom_lat_sum", 4.5),
    );
    let mut size = MetricFamily::new("custom_size", "Sizes.", MetricType::Summary);
    size.push([("quantile", "0.5")], sample("custom_size", 10.0));
    size.push(
        Vec::<(String, String)>::new(),
        sample("custom_size_count", 4.0),
    );
    size.push(
        Vec::<(String, String)>::new(),
        sample("custom_size_sum", 40.0),
    );
    vec![jobs, temp, lat, size]
}
