//! A real Prometheus (2.42, native histograms on) scrapes a native histogram over the
//! protobuf exposition: its count and sum arrive exact, and its 0.99 quantile lands in the
//! bucket of the observed distribution's.

use footmetrics::native::{bucket_key, upper_bound};
use footmetrics::{NativeOpts, Opts, Registry};
use footmetrics_testkit::Prometheus;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

/// Serves `registry.scrape` on 127.0.0.1, honouring each request's `Accept` header.
fn serve(registry: Registry) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut accept = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    if k.eq_ignore_ascii_case("accept") {
                        accept = Some(v.trim().to_owned());
                    }
                }
            }
            let mut body = Vec::new();
            let content_type = registry.scrape(accept.as_deref(), &[], &mut body);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    addr
}

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
    let addr = serve(registry.clone());
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
    let n = values.len() as f64;
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
    assert_eq!(sum, values.iter().sum::<f64>());
    let q = prometheus
        .query_value(
            "histogram_quantile(0.99, rate(api_latency_seconds{route=\"/v1/matches\"}[1m]))",
        )
        .unwrap();
    let mut sorted = values.clone();
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
    // The classic formats still serve the histogram (its +Inf bucket).
    let text = registry.render(footmetrics::Format::Text);
    assert!(text.contains(&format!(
        "api_latency_seconds_bucket{{route=\"/v1/matches\",le=\"+Inf\"}} {}",
        values.len()
    )));
}
