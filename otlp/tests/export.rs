//! The exporter against real receivers: the test sink (decoding every request with
//! opentelemetry-proto) over OTLP/HTTP and OTLP/gRPC, and rotel-agent, a real collector,
//! forwarding to the sink. Then a collector that is down, slow or answering errors.

use footmetrics::{Opts, Registry};
use footmetrics_otlp::{Config, OtlpExporter, Protocol, Retry};
use footmetrics_testkit::otlp::{flatten, Behaviour, OtlpSink, Rotel, SinkTls};
use footmetrics_testkit::tls::TestPki;
use footmetrics_testkit::{free_port, parse_samples, sample_value};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN: &str = "00f067aa0ba902b7";

/// The catalog's kinds of metric, with known values.
fn instrumented() -> Registry {
    let r = Registry::new();
    let requests = r
        .counter_vec(
            &Opts::new("http_requests_total", "HTTP requests.").labels(&["method", "status"]),
        )
        .unwrap();
    requests
        .with_label_values(&["GET", "200"])
        .unwrap()
        .inc_by_u64(7);
    requests.with_label_values(&["POST", "500"]).unwrap().inc();
    r.gauge(&Opts::new("gpu_utilization_ratio", "GPU use."))
        .unwrap()
        .set(0.75);
    let lat = r
        .histogram_vec(
            &Opts::new("inference_duration_seconds", "Inference latency.")
                .unit("seconds")
                .labels(&["model"])
                .buckets(vec![0.1, 0.5, 2.0]),
        )
        .unwrap();
    let h = lat.with_label_values(&["v2"]).unwrap();
    for v in [0.05, 0.3, 0.4, 1.0, 9.0] {
        h.observe(v);
    }
    h.observe_with_exemplar(0.2, &[("trace_id", TRACE), ("span_id", SPAN)])
        .unwrap();
    r.info(&Opts::new("build", "Build."))
        .unwrap()
        .set(&[("version", "1.2.3")])
        .unwrap();
    r
}

fn point<'a>(points: &'a [Value], name: &str, attrs: Value) -> &'a Value {
    points
        .iter()
        .rev()
        .find(|p| p["name"] == name && p["attributes"] == attrs)
        .unwrap_or_else(|| panic!("no {name} {attrs} in {points:#?}"))
}

/// Asserts the sink got exactly what `instrumented()` recorded.
fn assert_exact(points: &[Value], service: &str) {
    let ok = point(
        points,
        "http_requests",
        json!({"method": "GET", "status": "200"}),
    );
    assert_eq!(ok["type"], "sum");
    assert_eq!(ok["monotonic"], true);
    assert_eq!(ok["temporality"], "cumulative");
    assert_eq!(ok["value"], 7.0);
    assert_eq!(ok["description"], "HTTP requests.");
    assert_eq!(ok["resource"]["service.name"], service);
    assert_eq!(ok["resource"]["telemetry.sdk.name"], "footmetrics");
    assert_eq!(ok["scope"], "footmetrics");
    let err = point(
        points,
        "http_requests",
        json!({"method": "POST", "status": "500"}),
    );
    assert_eq!(err["value"], 1.0);

    let gpu = point(points, "gpu_utilization_ratio", json!({}));
    assert_eq!(
        (gpu["type"].as_str(), gpu["value"].as_f64()),
        (Some("gauge"), Some(0.75))
    );

    let h = point(points, "inference_duration_seconds", json!({"model": "v2"}));
    assert_eq!(h["type"], "histogram");
    assert_eq!(h["unit"], "seconds");
    assert_eq!(h["temporality"], "cumulative");
    assert_eq!(h["bounds"], json!([0.1, 0.5, 2.0]));
    // 0.05 | 0.2 0.3 0.4 | 1.0 | 9.0
    assert_eq!(h["bucket_counts"], json!([1, 3, 1, 1]));
    assert_eq!(h["count"], 6);
    assert!((h["sum"].as_f64().unwrap() - 10.95).abs() < 1e-9);
    let ex = &h["exemplars"][0];
    assert_eq!(
        (ex["trace_id"].as_str(), ex["span_id"].as_str()),
        (Some(TRACE), Some(SPAN))
    );
    assert_eq!(ex["value"], 0.2);
    let start = h["start_time_unix_nano"].as_u64().unwrap();
    assert!(start > 0 && start <= h["time_unix_nano"].as_u64().unwrap());

    let info = point(points, "build_info", json!({"version": "1.2.3"}));
    assert_eq!(
        (info["type"].as_str(), info["value"].as_f64()),
        (Some("gauge"), Some(1.0))
    );
}

fn config(endpoint: String, protocol: Protocol) -> Config {
    Config::new(endpoint)
        .protocol(protocol)
        .interval(Duration::from_secs(3600))
        .timeout(Duration::from_secs(2))
        .service_name("otlp-test")
}

fn all_points(sink: &OtlpSink) -> Vec<Value> {
    sink.requests().iter().flat_map(flatten).collect()
}

#[test]
fn http_protobuf_export_is_exact() {
    let sink = OtlpSink::start();
    let r = instrumented();
    let endpoint = format!("http://127.0.0.1:{}", sink.http_port);
    let exporter = OtlpExporter::start(&r, config(endpoint, Protocol::HttpProtobuf)).unwrap();
    assert!(
        exporter.force_flush(Duration::from_secs(10)),
        "{:?}",
        exporter.stats()
    );
    assert_exact(&all_points(&sink), "otlp-test");
    // The self-metric counts what was accepted: 2 + 1 + 1 + 1 points, plus the self-metrics'
    // own 4 dropped-reason, 1 exported, 1 failed and 1 queue points.
    assert_eq!(exporter.stats().exported_points, 12);
    let text = r.render(footmetrics::Format::Text);
    let samples = parse_samples(&text);
    assert_eq!(
        sample_value(&samples, "footmetrics_otlp_exported_points_total", &[]),
        Some(12.0)
    );
}

#[test]
fn grpc_export_is_exact() {
    let sink = OtlpSink::start();
    let r = instrumented();
    let endpoint = format!("http://127.0.0.1:{}", sink.grpc_port);
    let exporter = OtlpExporter::start(&r, config(endpoint, Protocol::Grpc)).unwrap();
    assert!(
        exporter.force_flush(Duration::from_secs(10)),
        "{:?}",
        exporter.stats()
    );
    assert_exact(&all_points(&sink), "otlp-test");
}

#[test]
fn exports_periodically_with_cumulative_values() {
    let sink = OtlpSink::start();
    let r = Registry::new();
    let c = r.counter(&Opts::new("ticks_total", "Ticks.")).unwrap();
    let cfg = config(
        format!("127.0.0.1:{}", sink.http_port),
        Protocol::HttpProtobuf,
    )
    .interval(Duration::from_millis(100));
    let _exporter = OtlpExporter::start(&r, cfg).unwrap();
    c.inc_by_u64(5);
    assert!(sink.wait_for(Duration::from_secs(10), |reqs| reqs.len() >= 2));
    c.inc_by_u64(5);
    let value_is = |want: f64| {
        move |reqs: &[footmetrics_otlp::proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest]| {
            reqs.iter()
                .flat_map(flatten)
                .any(|p| p["name"] == "ticks" && p["value"] == want)
        }
    };
    assert!(sink.wait_for(Duration::from_secs(10), value_is(10.0)));
    // Every point of a series keeps one start time: cumulative, never reset.
    let starts: Vec<_> = all_points(&sink)
        .into_iter()
        .filter(|p| p["name"] == "ticks")
        .map(|p| p["start_time_unix_nano"].clone())
        .collect();
    assert!(
        starts.len() >= 2 && starts.iter().all(|s| *s == starts[0]),
        "{starts:?}"
    );
}

#[test]
fn through_a_real_collector_over_grpc_and_http() {
    let sink = OtlpSink::start();
    let rotel = Rotel::start(sink.grpc_port);
    let r = instrumented();
    let grpc = OtlpExporter::start(
        &r,
        config(
            format!("http://127.0.0.1:{}", rotel.grpc_port),
            Protocol::Grpc,
        )
        .self_metrics(false),
    )
    .unwrap();
    assert!(
        grpc.force_flush(Duration::from_secs(10)),
        "{:?}",
        grpc.stats()
    );
    assert!(
        sink.wait_for(Duration::from_secs(20), |reqs| !reqs.is_empty()),
        "nothing came through rotel: {}",
        rotel.log()
    );
    assert_exact(&all_points(&sink), "otlp-test");

    let r2 = Registry::new();
    r2.gauge(&Opts::new("queue_depth", "Depth."))
        .unwrap()
        .set(42.0);
    let http = OtlpExporter::start(
        &r2,
        config(
            format!("127.0.0.1:{}", rotel.http_port),
            Protocol::HttpProtobuf,
        )
        .service_name("via-http"),
    )
    .unwrap();
    assert!(
        http.force_flush(Duration::from_secs(10)),
        "{:?}",
        http.stats()
    );
    assert!(
        sink.wait_for(Duration::from_secs(20), |reqs| {
            reqs.iter().flat_map(flatten).any(|p| {
                p["name"] == "queue_depth"
                    && p["value"] == 42.0
                    && p["resource"]["service.name"] == "via-http"
            })
        }),
        "{}",
        rotel.log()
    );
}

fn fast_retry(attempts: u32) -> Retry {
    Retry {
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        max_attempts: attempts,
    }
}

fn dropped(r: &Registry, reason: &str) -> f64 {
    let samples = parse_samples(&r.render(footmetrics::Format::Text));
    sample_value(
        &samples,
        "footmetrics_otlp_dropped_points_total",
        &[("reason", reason)],
    )
    .unwrap_or(0.0)
}

fn wait_until(timeout: Duration, f: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while !f() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

#[test]
fn absent_collector_costs_bounded_memory_and_data_arrives_when_it_is_back() {
    for protocol in [Protocol::HttpProtobuf, Protocol::Grpc] {
        let (http_port, grpc_port) = (free_port(), free_port());
        let port = if protocol == Protocol::Grpc {
            grpc_port
        } else {
            http_port
        };
        let r = Registry::new();
        let c = r.counter(&Opts::new("work_total", "Work.")).unwrap();
        let cfg = config(format!("http://127.0.0.1:{port}"), protocol)
            .interval(Duration::from_millis(20))
            .timeout(Duration::from_millis(300))
            .max_queue_batches(3)
            .retry(fast_retry(2));
        let exporter = OtlpExporter::start(&r, cfg).unwrap();
        // The program keeps recording at full speed while the exporter fails.
        let started = Instant::now();
        let mut max_queue = 0;
        while started.elapsed() < Duration::from_millis(1500) {
            for _ in 0..1000 {
                c.inc();
            }
            max_queue = max_queue.max(exporter.stats().queued_batches);
            std::thread::sleep(Duration::from_millis(5));
        }
        let s = exporter.stats();
        assert!(max_queue <= 3, "queue grew to {max_queue}");
        assert!(s.dropped_points > 0 && s.failed_requests > 0, "{s:?}");
        assert!(dropped(&r, "queue_full") + dropped(&r, "retries_exhausted") > 0.0);
        assert!(s.last_error.is_some());
        // A flush while the collector is away answers within its timeout.
        let t = Instant::now();
        assert!(!exporter.force_flush(Duration::from_millis(200)));
        assert!(t.elapsed() < Duration::from_secs(2));

        let sink = OtlpSink::start_on(http_port, grpc_port);
        let total = c.get();
        assert!(
            sink.wait_for(Duration::from_secs(15), |reqs| reqs
                .iter()
                .flat_map(flatten)
                .any(|p| p["name"] == "work" && p["value"].as_f64() >= Some(total))),
            "{protocol:?}: {:?}",
            exporter.stats()
        );
        assert!(exporter.shutdown(Duration::from_secs(5)));
    }
}

#[test]
fn erroring_collector_is_retried_then_dropped_and_recovers() {
    let sink = OtlpSink::start();
    sink.set_behaviour(Behaviour {
        status: 503,
        ..Default::default()
    });
    let r = Registry::new();
    r.gauge(&Opts::new("temperature_celsius", "T."))
        .unwrap()
        .set(21.5);
    let cfg = config(
        format!("127.0.0.1:{}", sink.http_port),
        Protocol::HttpProtobuf,
    )
    .retry(Retry {
        max_backoff: Duration::from_secs(2),
        ..fast_retry(3)
    });
    let exporter = OtlpExporter::start(&r, cfg).unwrap();
    assert!(!exporter.force_flush(Duration::from_secs(10)));
    // One snapshot, three attempts, then its points are dropped.
    assert_eq!(sink.refused(), 3);
    assert_eq!(exporter.stats().failed_requests, 3);
    assert!(dropped(&r, "retries_exhausted") > 0.0);
    assert!(exporter.stats().last_error.unwrap().contains("503"));

    // A 400 is not retried: one attempt, counted as rejected.
    sink.set_behaviour(Behaviour {
        status: 400,
        ..Default::default()
    });
    assert!(!exporter.force_flush(Duration::from_secs(10)));
    assert_eq!(sink.refused(), 4);
    assert!(dropped(&r, "rejected") > 0.0);

    // Retry-After is honoured: the retry waits for it, and succeeds once the sink is fine.
    sink.set_behaviour(Behaviour {
        status: 429,
        retry_after: Some(1),
        ..Default::default()
    });
    let s = &sink;
    let t = Instant::now();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            wait_until(Duration::from_secs(5), || s.refused() >= 5);
            s.set_behaviour(Behaviour::default());
        });
        assert!(exporter.force_flush(Duration::from_secs(10)));
    });
    assert_eq!(sink.refused(), 5);
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );
    assert!(sink
        .requests()
        .iter()
        .flat_map(flatten)
        .any(|p| p["name"] == "temperature_celsius"));
}

#[test]
fn slow_collector_times_out_without_blocking_the_program() {
    let sink = OtlpSink::start();
    sink.set_behaviour(Behaviour {
        delay: Duration::from_secs(3),
        ..Default::default()
    });
    let r = Registry::new();
    let c = r.counter(&Opts::new("events_total", "Events.")).unwrap();
    let cfg = config(
        format!("http://127.0.0.1:{}", sink.grpc_port),
        Protocol::Grpc,
    )
    .timeout(Duration::from_millis(200))
    .retry(fast_retry(2));
    let exporter = OtlpExporter::start(&r, cfg).unwrap();
    let t = Instant::now();
    assert!(!exporter.force_flush(Duration::from_millis(300)));
    assert!(t.elapsed() < Duration::from_secs(1));
    c.inc_by_u64(3);
    assert!(wait_until(Duration::from_secs(10), || exporter
        .stats()
        .failed_requests
        >= 2));
    assert!(wait_until(Duration::from_secs(10), || dropped(
        &r,
        "retries_exhausted"
    ) > 0.0));

    sink.set_behaviour(Behaviour::default());
    assert!(
        exporter.force_flush(Duration::from_secs(10)),
        "{:?}",
        exporter.stats()
    );
    assert!(sink
        .requests()
        .iter()
        .flat_map(flatten)
        .any(|p| p["name"] == "events" && p["value"] == 3.0));
}

#[test]
fn shutdown_flushes_a_final_snapshot_and_is_bounded_when_the_collector_is_gone() {
    let sink = OtlpSink::start();
    let r = Registry::new();
    let c = r.counter(&Opts::new("batch_rows_total", "Rows.")).unwrap();
    let exporter = OtlpExporter::start(
        &r,
        config(
            format!("127.0.0.1:{}", sink.http_port),
            Protocol::HttpProtobuf,
        ),
    )
    .unwrap();
    c.inc_by_u64(1234);
    assert!(exporter.shutdown(Duration::from_secs(5)));
    assert!(all_points(&sink)
        .iter()
        .any(|p| p["name"] == "batch_rows" && p["value"] == 1234.0));
    // The self-metrics leave with the exporter, so a new one can start on the registry.
    assert!(!r
        .render(footmetrics::Format::Text)
        .contains("footmetrics_otlp_"));
    assert!(!exporter.force_flush(Duration::from_secs(1)));
    drop(exporter);
    let again = OtlpExporter::start(
        &r,
        config(format!("127.0.0.1:{}", free_port()), Protocol::HttpProtobuf)
            .timeout(Duration::from_millis(300))
            .retry(fast_retry(100)),
    )
    .unwrap();
    let t = Instant::now();
    assert!(!again.shutdown(Duration::from_millis(500)));
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(again.stats().dropped_points > 0);
}

#[test]
fn bad_configuration_is_a_clear_error() {
    let r = Registry::new();
    let err = |cfg: Config| OtlpExporter::start(&r, cfg).err().unwrap().to_string();
    assert!(err(Config::new("ftp://c:4318")).contains("https://"));
    let half = Config {
        client_key: None,
        ..Config::new("https://c:4318").client_cert_files("c.pem", "k.pem")
    };
    assert!(err(half).contains("client certificate"));
    let unreadable = Config::new("https://c:4317")
        .protocol(Protocol::Grpc)
        .ca_file("/nonexistent/ca.pem");
    assert!(err(unreadable).contains("/nonexistent/ca.pem"));
    assert!(err(Config::new("c:4318").interval(Duration::ZERO)).contains("interval"));
    assert!(err(Config::new("c:4317")
        .protocol(Protocol::Grpc)
        .header("bad header", "x"))
    .contains("header"));
    let _first = OtlpExporter::start(&r, Config::new("127.0.0.1:9")).unwrap();
    assert!(err(Config::new("127.0.0.1:9")).contains("one exporter per registry"));
}

fn tls_sink(name: &str, require_client_cert: bool) -> (OtlpSink, TestPki) {
    let dir = std::env::temp_dir().join(format!("footmetrics-otlp-{name}-{}", std::process::id()));
    let pki = TestPki::generate(&dir);
    let sink = OtlpSink::start_tls(SinkTls {
        pki: pki.clone(),
        require_client_cert,
    });
    (sink, pki)
}

#[test]
fn tls_exports_are_exact_over_http_and_grpc_with_a_private_ca() {
    let (sink, pki) = tls_sink("ca", false);
    for (protocol, port) in [
        (Protocol::HttpProtobuf, sink.http_port),
        (Protocol::Grpc, sink.grpc_port),
    ] {
        let before = sink.requests().len();
        let r = instrumented();
        let cfg = config(format!("https://127.0.0.1:{port}"), protocol)
            .ca_file(&pki.ca)
            .bearer_token("otlp-token");
        let exporter = OtlpExporter::start(&r, cfg).unwrap();
        assert!(
            exporter.force_flush(Duration::from_secs(10)),
            "{protocol:?}: {:?}",
            exporter.stats()
        );
        let requests = sink.requests();
        let points: Vec<Value> = requests[before..].iter().flat_map(flatten).collect();
        assert_exact(&points, "otlp-test");
        assert_eq!(
            sink.authorizations()[before..],
            vec![Some("Bearer otlp-token".to_owned()); requests.len() - before]
        );
        assert!(exporter.shutdown(Duration::from_secs(5)));
    }
    let _ = std::fs::remove_dir_all(&pki.dir);
}

#[test]
fn mutual_tls_exports_and_basic_auth_reach_the_sink() {
    let (sink, pki) = tls_sink("mtls", true);
    for (protocol, port) in [
        (Protocol::HttpProtobuf, sink.http_port),
        (Protocol::Grpc, sink.grpc_port),
    ] {
        let before = sink.requests().len();
        let r = instrumented();
        let cfg = config(format!("https://127.0.0.1:{port}"), protocol)
            .ca_file(&pki.ca)
            .client_cert_files(&pki.client_cert, &pki.client_key)
            .basic_auth("collector", "pa55");
        let exporter = OtlpExporter::start(&r, cfg).unwrap();
        assert!(
            exporter.force_flush(Duration::from_secs(10)),
            "{protocol:?}: {:?}",
            exporter.stats()
        );
        let points: Vec<Value> = sink.requests()[before..].iter().flat_map(flatten).collect();
        assert_exact(&points, "otlp-test");
        // "collector:pa55" in base64.
        assert_eq!(
            sink.authorizations().last().unwrap().as_deref(),
            Some("Basic Y29sbGVjdG9yOnBhNTU=")
        );
        assert!(exporter.shutdown(Duration::from_secs(5)));
    }
    let _ = std::fs::remove_dir_all(&pki.dir);
}

#[test]
fn a_wrong_ca_or_a_missing_client_certificate_fails_clearly_and_in_time() {
    let (sink, pki) = tls_sink("wrong", true);
    let cases = [
        (
            Protocol::HttpProtobuf,
            sink.http_port,
            Some(&pki.other_ca),
            false,
        ),
        (Protocol::Grpc, sink.grpc_port, Some(&pki.other_ca), false),
        (Protocol::HttpProtobuf, sink.http_port, Some(&pki.ca), true),
        (Protocol::Grpc, sink.grpc_port, Some(&pki.ca), true),
    ];
    for (protocol, port, ca, client_missing) in cases {
        let r = Registry::new();
        r.gauge(&Opts::new("g", "G.")).unwrap().set(1.0);
        let mut cfg = config(format!("https://127.0.0.1:{port}"), protocol)
            .timeout(Duration::from_secs(2))
            .retry(fast_retry(1))
            .self_metrics(false);
        if let Some(ca) = ca {
            cfg = cfg.ca_file(ca);
        }
        if !client_missing {
            cfg = cfg.client_cert_files(&pki.client_cert, &pki.client_key);
        }
        let exporter = OtlpExporter::start(&r, cfg).unwrap();
        let t = Instant::now();
        assert!(!exporter.force_flush(Duration::from_secs(5)));
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        let s = exporter.stats();
        let err = s.last_error.clone().unwrap_or_default();
        let case = format!("{protocol:?} client_missing={client_missing}: {s:?}");
        assert!(s.failed_requests >= 1, "{case}");
        if client_missing && protocol == Protocol::HttpProtobuf {
            // The server refuses the handshake and closes while the request is written.
            // Either way the message says what happened.
            assert!(
                err.contains("CertificateRequired") || err.contains("client certificate"),
                "{case}"
            );
        } else if client_missing {
            assert!(err.starts_with("gRPC "), "{case}");
        } else if protocol == Protocol::HttpProtobuf {
            assert!(
                err.contains("TLS") && err.contains("UnknownIssuer"),
                "{case}"
            );
        } else {
            assert!(err.contains("gRPC"), "{case}");
        }
        eprintln!("{case}");
        // Nothing can be delivered: shutdown gives up within its timeout.
        let t = Instant::now();
        assert!(!exporter.shutdown(Duration::from_secs(1)));
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    }
    assert!(sink.requests().is_empty());
    let _ = std::fs::remove_dir_all(&pki.dir);
}

/// The OTLP index of `|v|` at `scale`, from the OTLP data model's definition alone: bucket `i`
/// holds `(base^i, base^(i+1)]` with `base = 2^(2^-scale)`, so `i = ceil(log2|v| * 2^scale) - 1`.
/// `log2` is exact at powers of two (where `ceil` matters); elsewhere the value must not sit
/// on a boundary within rounding, which is checked so the data cannot make the test vacuous.
fn otlp_index(v: f64, scale: i32) -> i32 {
    let x = v.abs().log2() * 2f64.powi(scale);
    let power_of_two = v.abs().to_bits() & ((1u64 << 52) - 1) == 0;
    if !power_of_two {
        assert!(
            (x - x.round()).abs() > 1e-9,
            "{v} is too close to a boundary at scale {scale}"
        );
    }
    x.ceil() as i32 - 1
}

/// Dense OTLP buckets `{offset, bucket_counts}` of the values' indices.
fn expected_buckets(values: &[f64], scale: i32) -> Value {
    let idx: Vec<i32> = values.iter().map(|&v| otlp_index(v, scale)).collect();
    let (Some(&lo), Some(&hi)) = (idx.iter().min(), idx.iter().max()) else {
        return json!({"offset": 0, "bucket_counts": []});
    };
    let mut counts = vec![0u64; (hi - lo + 1) as usize];
    for i in idx {
        counts[(i - lo) as usize] += 1;
    }
    json!({"offset": lo, "bucket_counts": counts})
}

#[test]
fn native_histograms_export_as_exact_exponential_histograms() {
    let sink = OtlpSink::start();
    let r = Registry::new();
    // Factor 1.1: client_golang's schema 3 (base 2^(1/8)); factor 4: schema -1 (base 4).
    let fine = r
        .histogram_vec(
            &Opts::new("rpc_duration_seconds", "RPC latency.")
                .labels(&["method"])
                .native_histogram(footmetrics::NativeOpts::new(1.1)),
        )
        .unwrap()
        .with_label_values(&["get"])
        .unwrap();
    let coarse = r
        .histogram(
            &Opts::new("payload_bytes", "Payload size.")
                .native_histogram(footmetrics::NativeOpts::new(4.0).zero_threshold(0.5)),
        )
        .unwrap();
    // Spread over decades, exact powers of two (bucket upper bounds), negatives, zeros.
    let mut positive: Vec<f64> = (0..40).map(|i| 0.0007 * 1.37f64.powi(i)).collect();
    positive.extend([0.25, 1.0, 2.0, 8.0, 1.0, 3.0e-5]);
    let negative = [-0.003, -1.0, -0.5, -12.0, -12.5];
    for &v in positive.iter().chain(&negative) {
        fine.observe(v);
    }
    fine.observe(0.0);
    fine.observe(-0.0);
    fine.observe_with_exemplar(0.042, &[("trace_id", TRACE), ("span_id", SPAN)])
        .unwrap();
    positive.push(0.042);
    // Coarse: |v| <= 0.5 goes to the zero bucket.
    let coarse_values = [
        0.3, 0.5, -0.2, 0.6, 4.0, 5.0, 16.0, 17.0, 1000.0, -64.0, -70.0,
    ];
    for v in coarse_values {
        coarse.observe(v);
    }

    let endpoint = format!("http://127.0.0.1:{}", sink.http_port);
    let exporter = OtlpExporter::start(
        &r,
        config(endpoint, Protocol::HttpProtobuf).self_metrics(false),
    )
    .unwrap();
    assert!(exporter.force_flush(Duration::from_secs(10)));
    let points = all_points(&sink);

    let p = point(&points, "rpc_duration_seconds", json!({"method": "get"}));
    assert_eq!(p["type"], "exponential_histogram", "{p:#}");
    assert_eq!(p["temporality"], "cumulative");
    assert_eq!(p["description"], "RPC latency.");
    assert_eq!(p["scale"], 3);
    assert_eq!(p["zero_count"], 2);
    assert_eq!(
        p["zero_threshold"].as_f64(),
        Some(footmetrics::native::DEFAULT_ZERO_THRESHOLD)
    );
    assert_eq!(p["positive"], expected_buckets(&positive, 3));
    assert_eq!(p["negative"], expected_buckets(&negative, 3));
    let n = positive.len() + negative.len() + 2;
    assert_eq!(p["count"], n);
    let sum: f64 = positive.iter().chain(&negative).sum();
    assert!((p["sum"].as_f64().unwrap() - sum).abs() < 1e-9, "{p:#}");
    // Counts add up as OTLP requires: positive + negative + zero = count.
    let total: u64 = ["positive", "negative"]
        .iter()
        .flat_map(|s| p[s]["bucket_counts"].as_array().unwrap())
        .map(|c| c.as_u64().unwrap())
        .sum::<u64>()
        + 2;
    assert_eq!(total, n as u64);
    let ex = &p["exemplars"][0];
    assert_eq!(
        (
            ex["trace_id"].as_str(),
            ex["span_id"].as_str(),
            ex["value"].as_f64()
        ),
        (Some(TRACE), Some(SPAN), Some(0.042))
    );
    let start = p["start_time_unix_nano"].as_u64().unwrap();
    assert!(start > 0 && start <= p["time_unix_nano"].as_u64().unwrap());

    let c = point(&points, "payload_bytes", json!({}));
    assert_eq!(c["type"], "exponential_histogram");
    assert_eq!(c["scale"], -1);
    assert_eq!(
        (c["zero_count"].as_u64(), c["zero_threshold"].as_f64()),
        (Some(3), Some(0.5))
    );
    let pos: Vec<f64> = coarse_values.iter().copied().filter(|v| *v > 0.5).collect();
    let neg: Vec<f64> = coarse_values
        .iter()
        .copied()
        .filter(|v| *v < -0.5)
        .collect();
    assert_eq!(c["positive"], expected_buckets(&pos, -1), "{c:#}");
    assert_eq!(c["negative"], expected_buckets(&neg, -1), "{c:#}");
    assert_eq!(c["count"], coarse_values.len());
}

#[test]
fn classic_and_native_histograms_export_side_by_side_over_grpc() {
    let sink = OtlpSink::start();
    let r = instrumented();
    let h = r
        .histogram(&Opts::new("queue_wait_seconds", "Wait.").native_histogram(Default::default()))
        .unwrap();
    h.observe(0.5);
    h.observe(2.0);
    let endpoint = format!("http://127.0.0.1:{}", sink.grpc_port);
    let exporter = OtlpExporter::start(&r, config(endpoint, Protocol::Grpc)).unwrap();
    assert!(exporter.force_flush(Duration::from_secs(10)));
    let points = all_points(&sink);
    // The classic histogram is unchanged.
    assert_exact(&points, "otlp-test");
    let p = point(&points, "queue_wait_seconds", json!({}));
    assert_eq!(p["type"], "exponential_histogram");
    // 0.5 = 2^-1 and 2 = 2^1 at scale 3: indices -9 and 7.
    assert_eq!(p["positive"], expected_buckets(&[0.5, 2.0], 3));
    assert_eq!(p["positive"]["offset"], -9);
    assert_eq!(p["positive"]["bucket_counts"].as_array().unwrap().len(), 17);
    assert_eq!(p["negative"], json!({"offset": 0, "bucket_counts": []}));
    assert_eq!(
        (p["count"].as_u64(), p["sum"].as_f64()),
        (Some(2), Some(2.5))
    );
}

#[test]
fn native_histograms_pass_through_a_real_collector() {
    let sink = OtlpSink::start();
    let rotel = Rotel::start(sink.grpc_port);
    let r = Registry::new();
    let h = r
        .histogram(
            &Opts::new("frame_decode_seconds", "Decode time.")
                .native_histogram(footmetrics::NativeOpts::new(1.1)),
        )
        .unwrap();
    let values = [0.004, 0.0042, 0.01, 0.5, 1.0, 3.3, 0.0];
    for v in values {
        h.observe(v);
    }
    let exporter = OtlpExporter::start(
        &r,
        config(
            format!("http://127.0.0.1:{}", rotel.grpc_port),
            Protocol::Grpc,
        )
        .self_metrics(false),
    )
    .unwrap();
    assert!(exporter.force_flush(Duration::from_secs(10)));
    assert!(
        sink.wait_for(Duration::from_secs(20), |reqs| !reqs.is_empty()),
        "nothing came through rotel: {}",
        rotel.log()
    );
    let points = all_points(&sink);
    let p = point(&points, "frame_decode_seconds", json!({}));
    assert_eq!(p["type"], "exponential_histogram", "{p:#}");
    assert_eq!(
        (p["scale"].as_i64(), p["zero_count"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(p["positive"], expected_buckets(&values[..6], 3));
    assert_eq!(p["count"], 7);
}
