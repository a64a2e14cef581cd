//! End to end: a real Prometheus (1 s scrapes, exemplar storage on) scrapes the running
//! api-gateway example; the target is healthy and the seed document's queries answer.

use footmetrics_testkit::Prometheus;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The example binary, killed by PID when the test ends.
struct Gateway {
    child: Child,
    addr: SocketAddr,
}

impl Gateway {
    fn start() -> Gateway {
        let mut child = Command::new(env!("CARGO_BIN_EXE_api-gateway"))
            .args(["--addr", "127.0.0.1:0", "--requests", "200", "--rps", "40"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the api-gateway example starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().expect("a first line").unwrap();
        let addr = first
            .split("http://")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no address in {first:?}"));
        // Keep draining stdout so the example never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Gateway { child, addr }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn with_otel_variables_set_the_demo_pushes_to_a_collector() {
    let sink = footmetrics_testkit::otlp::OtlpSink::start();
    let status = Command::new(env!("CARGO_BIN_EXE_api-gateway"))
        .args(["--addr", "127.0.0.1:0", "--requests", "50", "--once"])
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{}", sink.grpc_port),
        )
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .stdout(Stdio::null())
        .status()
        .expect("the api-gateway example runs");
    assert!(status.success());
    // `--once` shuts the exporter down, which sends the final snapshot.
    let points: Vec<_> = sink
        .requests()
        .iter()
        .flat_map(footmetrics_testkit::otlp::flatten)
        .collect();
    let last = points
        .iter()
        .map(|p| p["time_unix_nano"].as_u64())
        .max()
        .flatten();
    let latest = |name: &str| -> Vec<&serde_json::Value> {
        points
            .iter()
            .filter(|p| p["name"] == name && p["time_unix_nano"].as_u64() == last)
            .collect()
    };
    let requests = latest("http_requests");
    assert!(!requests.is_empty(), "{points:#?}");
    assert!(requests
        .iter()
        .all(|p| p["resource"]["service.name"] == "api-gateway"));
    let total: f64 = requests.iter().map(|p| p["value"].as_f64().unwrap()).sum();
    assert_eq!(total, 50.0);
    let observed: u64 = latest("http_request_duration_seconds")
        .iter()
        .map(|p| p["count"].as_u64().unwrap())
        .sum();
    assert_eq!(observed, 50);
}

#[test]
fn the_live_exposition_passes_the_catalog_linter() {
    let gateway = Gateway::start();
    let catalog = footmetrics_catalog::load().unwrap();
    let url = format!("http://{}/metrics", gateway.addr);
    let text = footmetrics_catalog::lint::read_source(&url).unwrap();
    let options = footmetrics_catalog::lint::LintOptions {
        services: vec!["api-gateway".into()],
        ..Default::default()
    };
    let findings = footmetrics_catalog::lint::lint(&text, &catalog, &options);
    assert!(findings.is_empty(), "{findings:#?}");
    // The linter does look: another service's metrics are missing here.
    let ml = footmetrics_catalog::lint::LintOptions {
        services: vec!["ml-pipeline".into()],
        ..Default::default()
    };
    assert!(!footmetrics_catalog::lint::lint(&text, &catalog, &ml).is_empty());
}

#[test]
fn prometheus_scrapes_the_gateway_and_the_seed_queries_answer() {
    let gateway = Gateway::start();
    let monitoring = footmetrics_catalog::monitoring_dir().join("prometheus");
    let prometheus = Prometheus::start_with_rules(
        &[("api-gateway", gateway.addr)],
        &[
            monitoring.join("recording-rules.yml"),
            monitoring.join("alerting-rules.yml"),
        ],
    );
    let wait = Duration::from_secs(60);

    let up = prometheus.wait_for_value(r#"up{job="api-gateway"}"#, wait);
    assert_eq!(up, 1.0);
    // Prometheus asks for OpenMetrics first and marks a target down on malformed output.
    let targets = prometheus.api("targets", &[]);
    let target = &targets["activeTargets"][0];
    assert_eq!(target["health"], "up", "{target}");
    assert_eq!(target["lastError"], "", "{target}");

    let rate = prometheus.wait_for_value("sum(rate(http_requests_total[1m]))", wait);
    assert!(rate > 0.0, "request rate {rate}");

    // The seed's availability and p95 expressions, verbatim.
    let availability = prometheus.wait_for_value(
        r#"(
  sum(rate(http_requests_total{job="api-gateway",code!~"5.."}[5m])) /
  sum(rate(http_requests_total{job="api-gateway"}[5m]))
) * 100"#,
        wait,
    );
    assert!(
        (50.0..=100.0).contains(&availability),
        "availability {availability}"
    );
    let p95 = prometheus.wait_for_value(
        r#"histogram_quantile(0.95,
  sum(rate(http_request_duration_seconds_bucket{job="api-gateway"}[5m])) by (le)
)"#,
        wait,
    );
    assert!(p95 > 0.0 && p95 < 10.0, "p95 {p95}");

    // The generated recording rules evaluate on live data: the platform SLI (which the seed's
    // alerts and health score read) and the per-job rate, and no rule reports an error.
    let sli = prometheus.wait_for_value("sli:platform_availability:rate5m", wait);
    assert!((0.5..=1.0).contains(&sli), "sli {sli}");
    let job_rate =
        prometheus.wait_for_value(r#"job:http_requests:rate5m{job="api-gateway"}"#, wait);
    assert!(job_rate > 0.0, "job rate {job_rate}");
    let budget =
        prometheus.wait_for_value("slo:platform_availability:error_budget_remaining", wait);
    assert!(budget <= 1.0, "budget {budget}");
    let rules = prometheus.api("rules", &[]);
    let groups = rules["groups"].as_array().unwrap();
    assert!(groups.len() >= 8, "{rules}");
    for g in groups {
        for r in g["rules"].as_array().unwrap() {
            assert_ne!(r["health"], "err", "{r}");
        }
    }

    // Exemplars: the example sends sampled traceparents on a quarter of its requests.
    let deadline = std::time::Instant::now() + wait;
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let data = prometheus.api(
            "query_exemplars",
            &[
                ("query", "http_request_duration_seconds_bucket"),
                ("start", &(now - 300).to_string()),
                ("end", &(now + 60).to_string()),
            ],
        );
        let exemplar = data
            .as_array()
            .and_then(|series| series.iter().find_map(|s| s["exemplars"].get(0)))
            .cloned();
        if let Some(e) = exemplar {
            let trace_id = e["labels"]["trace_id"].as_str().unwrap();
            assert_eq!(trace_id.len(), 32, "{e}");
            assert_eq!(e["labels"]["span_id"].as_str().unwrap().len(), 16, "{e}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exemplars stored; prometheus log:\n{}",
            prometheus.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}
