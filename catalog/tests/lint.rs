//! `footmetrics lint` as users run it: the binary, on crafted expositions from a file, stdin
//! or a URL; exit status and messages.

use std::io::Write;
use std::process::{Command, Stdio};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn lint(args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_footmetrics"))
        .arg("lint")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn lint_stdin(args: &[&str], text: &str) -> Run {
    let mut all = args.to_vec();
    all.push("-");
    lint(&all, text)
}

/// What a conforming api-gateway exports (classic text).
const GATEWAY: &str = r#"# HELP http_requests_total Total number of HTTP requests
# TYPE http_requests_total counter
http_requests_total{method="GET",route="/api/v1/matches/{id}",code="200"} 24
http_requests_total{method="GET",route="/api/v1/matches/{id}",code="503"} 1
# HELP http_request_duration_seconds HTTP request duration
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{method="GET",route="/",le="0.005"} 0
http_request_duration_seconds_bucket{method="GET",route="/",le="0.01"} 0
http_request_duration_seconds_bucket{method="GET",route="/",le="0.025"} 1
http_request_duration_seconds_bucket{method="GET",route="/",le="0.05"} 1
http_request_duration_seconds_bucket{method="GET",route="/",le="0.1"} 2
http_request_duration_seconds_bucket{method="GET",route="/",le="0.25"} 2
http_request_duration_seconds_bucket{method="GET",route="/",le="0.5"} 2
http_request_duration_seconds_bucket{method="GET",route="/",le="1"} 2
http_request_duration_seconds_bucket{method="GET",route="/",le="2.5"} 2
http_request_duration_seconds_bucket{method="GET",route="/",le="5"} 2
http_request_duration_seconds_bucket{method="GET",route="/",le="10"} 2
http_request_duration_seconds_bucket{method="GET",route="/",le="+Inf"} 2
http_request_duration_seconds_sum{method="GET",route="/"} 0.1
http_request_duration_seconds_count{method="GET",route="/"} 2
# TYPE http_requests_in_flight gauge
http_requests_in_flight 0
# TYPE user_sessions_total counter
user_sessions_total{status="started",plan="pro",country="GB"} 1
# TYPE video_uploads_total counter
video_uploads_total{status="accepted",format="mp4",size_category="small"} 1
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 0.2
"#;

#[test]
fn a_conforming_exposition_passes() {
    let r = lint_stdin(&["--service", "api-gateway"], GATEWAY);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.contains("-: 0 error(s), 0 warning(s)"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_same_metrics_in_openmetrics_pass() {
    let om = "# TYPE http_requests counter\n\
              http_requests_total{method=\"GET\",route=\"/\",code=\"200\"} 3\n\
              http_requests_created{method=\"GET\",route=\"/\",code=\"200\"} 1.7e9\n\
              # TYPE http_requests_in_flight gauge\nhttp_requests_in_flight 1\n\
              # TYPE video_processing_queue_length gauge\n\
              video_processing_queue_length{queue_type=\"upload\",priority=\"high\"} 4\n# EOF\n";
    let r = lint_stdin(&[], om);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

#[test]
fn naming_conventions_are_enforced() {
    let bad = "# TYPE jobs_processed counter\njobs_processed 3\n\
               # TYPE queue_depth_total gauge\nqueue_depth_total 1\n\
               # TYPE request_latency_milliseconds histogram\n\
               request_latency_milliseconds_bucket{le=\"+Inf\"} 1\n\
               request_latency_milliseconds_count 1\nrequest_latency_milliseconds_sum 5\n\
               # TYPE cpu_usage_percent gauge\ncpu_usage_percent 40\n\
               # TYPE disk_free gauge\n# UNIT disk_free bytes\ndisk_free 1e9\n\
               # TYPE node:cpu:rate5m gauge\nnode:cpu:rate5m 0.3\n\
               mystery_value 1\n";
    let r = lint_stdin(&[], bad);
    assert_eq!(r.code, 1);
    for line in [
        "error[counter-total] jobs_processed: a counter's name must end in _total (rename it jobs_processed_total)",
        "error[total-suffix] queue_depth_total: only counters end in _total, and this is a gauge",
        "error[unit] request_latency_milliseconds: \"milliseconds\" is not a base unit: record seconds and name it _seconds",
        "error[unit] cpu_usage_percent: \"percent\" is not a base unit: record ratio and name it _ratio",
        "error[unit] disk_free: declares unit \"bytes\" but the name does not end in _bytes",
        "error[name] node:cpu:rate5m: colons are reserved for recording rules",
        "warning[untyped] mystery_value: no # TYPE line",
    ] {
        assert!(r.stdout.contains(line), "missing {line:?} in:\n{}", r.stdout);
    }
    assert!(
        r.stderr.contains("6 error(s), 1 warning(s)"),
        "{}",
        r.stderr
    );
}

#[test]
fn differences_from_the_catalog_are_reported() {
    let bad = "# TYPE http_requests_total counter\n\
               http_requests_total{method=\"GET\",route=\"/\",status=\"200\"} 1\n\
               # TYPE video_processing_total counter\n\
               video_processing_total{status=\"success\"} 5\n\
               video_processing_total{status=\"done\"} 1\n\
               # TYPE video_processing_queue_length counter\n\
               video_processing_queue_length_total{queue_type=\"a\",priority=\"b\"} 1\n\
               # TYPE ml_inference_duration_seconds histogram\n\
               ml_inference_duration_seconds_bucket{model_version=\"v1\",batch_size=\"8\",device=\"gpu\",le=\"0.5\"} 1\n\
               ml_inference_duration_seconds_bucket{model_version=\"v1\",batch_size=\"8\",device=\"gpu\",le=\"+Inf\"} 1\n\
               ml_inference_duration_seconds_count{model_version=\"v1\",batch_size=\"8\",device=\"gpu\"} 1\n\
               ml_inference_duration_seconds_sum{model_version=\"v1\",batch_size=\"8\",device=\"gpu\"} 0.3\n";
    let r = lint_stdin(&[], bad);
    assert_eq!(r.code, 1);
    for line in [
        "error[labels] http_requests_total: label set differs from the catalog's [method, route, code]: missing code; not declared: status",
        "error[label-value] video_processing_total: status={done} is outside the catalog's values [success, failure]",
        "error[type] video_processing_queue_length: is a counter; the catalog declares a gauge",
        "error[buckets] ml_inference_duration_seconds: buckets [0.5] differ from the catalog's",
    ] {
        assert!(r.stdout.contains(line), "missing {line:?} in:\n{}", r.stdout);
    }
}

#[test]
fn cardinality_over_the_threshold_is_reported() {
    let mut text = String::from("# TYPE logins_total counter\n");
    for i in 0..25 {
        text.push_str(&format!("logins_total{{user_id=\"u{i}\"}} 1\n"));
    }
    let r = lint_stdin(&["--max-series", "20"], &text);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("error[cardinality] logins_total: 25 series, over the limit of 20"),
        "{}",
        r.stdout
    );
    assert!(r
        .stdout
        .contains("warning[unbounded-label] logins_total: label \"user_id\""));
    // Under the default threshold the family passes; the label warning stays.
    let r = lint_stdin(&[], &text);
    assert_eq!(r.code, 0, "{}", r.stdout);
}

#[test]
fn missing_catalog_metrics_are_reported_per_service() {
    let r = lint_stdin(&["--service", "ml-pipeline"], GATEWAY);
    assert_eq!(r.code, 1);
    for m in [
        "ml_inference_duration_seconds",
        "ml_model_accuracy_score",
        "gpu_memory_usage_bytes",
        "nvidia_gpu_utilization_gpu",
    ] {
        assert!(
            r.stdout.contains(&format!(
                "error[missing] {m}: the catalog expects it from ml-pipeline, and it is not exported"
            )),
            "{m}: {}",
            r.stdout
        );
    }
    assert!(!r.stdout.contains("http_requests_total"));
    // Without --service nothing is expected, and the linter says so.
    let r = lint_stdin(&[], "");
    assert_eq!(r.code, 0);
    assert!(r
        .stderr
        .contains("missing catalog metrics were not checked"));
}

#[test]
fn sources_and_usage_errors() {
    let file = std::env::temp_dir().join(format!("footmetrics-lint-{}.prom", std::process::id()));
    std::fs::write(&file, GATEWAY).unwrap();
    let r = lint(&["--service", "api-gateway", file.to_str().unwrap()], "");
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    std::fs::remove_file(&file).unwrap();

    let r = lint_stdin(&[], "http_requests_total{code=\"200\" 1\n");
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .starts_with("error[parse] -: exposition line 1: unterminated label set"),
        "{}",
        r.stdout
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let r = lint(&[&format!("http://127.0.0.1:{port}/metrics")], "");
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains(&format!("http://127.0.0.1:{port}/metrics: ")),
        "{}",
        r.stderr
    );

    // https:// goes through the same client (TLS with the system's roots): a closed port is
    // a connection error naming the URL.
    let r = lint(&[&format!("https://127.0.0.1:{port}/metrics")], "");
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains(&format!("https://127.0.0.1:{port}/metrics: ")),
        "{}",
        r.stderr
    );

    assert_eq!(lint(&[], "").code, 2);
    assert_eq!(lint(&["--bogus", "-"], "").code, 2);
    let r = lint(&["--service", "nope", "-"], "");
    assert_eq!(r.code, 1);
    assert!(r
        .stderr
        .contains("no catalog metric belongs to service \"nope\""));
}
