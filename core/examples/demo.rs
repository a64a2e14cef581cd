//! The main job for now: an instrumented demo of the standard catalog.
//!
//! It registers the catalog's metrics, records simulated FootAnalytics traffic (API gateway
//! requests, ML inference, video processing, uploads, sessions, analytics jobs), serves
//! `/metrics` on 127.0.0.1 with content negotiation, scrapes itself, and prints the exposition
//! and a short summary (request rate, error ratio, p95 latency from the histogram). It then
//! keeps recording and serving until interrupted; `--once` exits after the first print.
//!
//! Usage: `demo [--once] [--addr 127.0.0.1:9464]`

use footmetrics::{catalog, default_registry, MetricFamily, PointValue, Registry};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

fn main() {
    if let Err(e) = run() {
        eprintln!("demo: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let once = args.iter().any(|a| a == "--once");
    let addr = args
        .iter()
        .position(|a| a == "--addr")
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| "127.0.0.1:9464".into());

    let registry = default_registry();
    let app = App::register(registry)?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let started = Instant::now();
    for _ in 0..2_000 {
        app.record(&mut rng)?;
    }
    let recorded_for = started.elapsed();

    let listener = TcpListener::bind(&addr)?;
    let local = listener.local_addr()?;
    std::thread::spawn(move || serve(listener, registry));

    let body = scrape(&local.to_string(), "text/plain")?;
    println!("{body}");
    print_summary(&registry.gather(), recorded_for);
    println!("serving http://{local}/metrics");
    if once {
        return Ok(());
    }
    loop {
        for _ in 0..50 {
            app.record(&mut rng)?;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The catalog metrics the demo writes.
struct App {
    requests: catalog::HttpRequestsTotal,
    duration: catalog::HttpRequestDurationSeconds,
    in_flight: footmetrics::Gauge,
    inference: catalog::MlInferenceDurationSeconds,
    accuracy: catalog::MlModelAccuracyScore,
    gpu_memory: catalog::GpuMemoryUsageBytes,
    gpu_util: catalog::NvidiaGpuUtilizationGpu,
    processing: catalog::VideoProcessingTotal,
    queue: catalog::VideoProcessingQueueLength,
    batches: catalog::VideoProcessingBatchesTotal,
    sessions: catalog::UserSessionsTotal,
    uploads: catalog::VideoUploadsTotal,
    analytics: catalog::AnalyticsGenerationDurationSeconds,
}

const ROUTES: &[&str] = &[
    "/api/matches",
    "/api/matches/{id}",
    "/api/videos",
    "/api/analytics/{id}",
    "/api/players/{id}",
];
const METHODS: &[&str] = &["GET", "GET", "GET", "POST", "PUT"];

impl App {
    fn register(r: &Registry) -> footmetrics::Result<Self> {
        Ok(App {
            requests: catalog::http_requests_total(r)?,
            duration: catalog::http_request_duration_seconds(r)?,
            in_flight: catalog::http_requests_in_flight(r)?,
            inference: catalog::ml_inference_duration_seconds(r)?,
            accuracy: catalog::ml_model_accuracy_score(r)?,
            gpu_memory: catalog::gpu_memory_usage_bytes(r)?,
            gpu_util: catalog::nvidia_gpu_utilization_gpu(r)?,
            processing: catalog::video_processing_total(r)?,
            queue: catalog::video_processing_queue_length(r)?,
            batches: catalog::video_processing_batches_total(r)?,
            sessions: catalog::user_sessions_total(r)?,
            uploads: catalog::video_uploads_total(r)?,
            analytics: catalog::analytics_generation_duration_seconds(r)?,
        })
    }

    fn record(&self, rng: &mut Rng) -> footmetrics::Result<()> {
        let method = METHODS[rng.below(METHODS.len())];
        let route = ROUTES[rng.below(ROUTES.len())];
        let roll = rng.unit();
        let code = if roll < 0.02 {
            "500"
        } else if roll < 0.05 {
            "404"
        } else if method == "POST" {
            "201"
        } else {
            "200"
        };
        self.in_flight.inc();
        // Log-normal-ish latency around 40 ms with a tail.
        let latency = 0.04 * (rng.normal() * 0.8).exp();
        self.requests.labels(method, route, code)?.inc();
        self.duration.labels(method, route)?.observe(latency);
        self.in_flight.dec();

        let device = if rng.unit() < 0.9 { "cuda" } else { "cpu" };
        let batch = ["8", "16", "32"][rng.below(3)];
        let base = if device == "cuda" { 0.15 } else { 1.2 };
        self.inference
            .labels("v2", batch, device)?
            .observe(base * (rng.normal() * 0.5).exp());
        self.accuracy.labels("v2", "validation")?.set(0.87);
        self.gpu_memory
            .labels("0", "inference")?
            .set(6.0e9 + rng.unit() * 1.0e9);
        self.gpu_util.labels("0")?.set(0.55 + rng.unit() * 0.4);

        let status = if rng.unit() < 0.97 {
            "success"
        } else {
            "failure"
        };
        self.processing.labels(status)?.inc();
        self.queue
            .labels("transcode", ["high", "normal", "low"][rng.below(3)])?
            .set(rng.below(40) as f64);
        if rng.below(10) == 0 {
            self.batches.labels(status, batch)?.inc();
            self.analytics
                .labels("match", ["low", "medium", "high"][rng.below(3)])?
                .observe(5.0 + rng.unit() * 120.0);
        }
        if rng.below(20) == 0 {
            self.sessions
                .labels(
                    "completed",
                    ["free", "premium"][rng.below(2)],
                    ["IL", "GB", "ES", "BR"][rng.below(4)],
                )?
                .inc();
            self.uploads
                .labels("success", "mp4", ["small", "medium", "large"][rng.below(3)])?
                .inc();
        }
        Ok(())
    }
}

/// Serves `/metrics` (GET and HEAD) with the format the `Accept` header asks for.
fn serve(listener: TcpListener, registry: &'static Registry) {
    let mut buf = Vec::with_capacity(64 * 1024);
    for stream in listener.incoming().flatten() {
        let _ = handle(stream, registry, &mut buf);
    }
}

fn handle(mut stream: TcpStream, registry: &Registry, buf: &mut Vec<u8>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut accept = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("accept") {
                accept = Some(v.trim().to_owned());
            }
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if path.split('?').next() != Some("/metrics") {
        return stream.write_all(
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        );
    }
    if method != "GET" && method != "HEAD" {
        return stream.write_all(b"HTTP/1.1 405 Method Not Allowed\r\nallow: GET, HEAD\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    }
    buf.clear();
    let format = registry.encode_for_accept(accept.as_deref(), buf);
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        format.content_type(),
        buf.len()
    );
    stream.write_all(head.as_bytes())?;
    if method == "GET" {
        stream.write_all(buf)?;
    }
    Ok(())
}

fn scrape(addr: &str, accept: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(addr)?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nhost: {addr}\r\naccept: {accept}\r\nconnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    s.read_to_string(&mut response)?;
    Ok(response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default())
}

fn print_summary(families: &[MetricFamily], elapsed: Duration) {
    let family = |name: &str| families.iter().find(|f| f.name == name);
    let (mut total, mut errors) = (0.0, 0.0);
    if let Some(f) = family("http_requests") {
        for p in &f.points {
            if let PointValue::Counter { value, .. } = p.value {
                total += value;
                if p.labels
                    .iter()
                    .any(|(k, v)| k == "code" && v.starts_with('5'))
                {
                    errors += value;
                }
            }
        }
    }
    // Sum the buckets over every series, as `sum(rate(..)) by (le)` does.
    let mut merged: Vec<(f64, u64)> = Vec::new();
    if let Some(f) = family("http_request_duration_seconds") {
        for p in &f.points {
            if let PointValue::Histogram { buckets, .. } = &p.value {
                if merged.is_empty() {
                    merged = buckets.iter().map(|(b, _, _)| (*b, 0)).collect();
                }
                for (m, (_, c, _)) in merged.iter_mut().zip(buckets) {
                    m.1 += c;
                }
            }
        }
    }
    println!("--- summary ---");
    println!(
        "requests: {total} in {:.3} s ({:.0} req/s recorded)",
        elapsed.as_secs_f64(),
        total / elapsed.as_secs_f64().max(1e-9)
    );
    println!("error ratio (5xx): {:.2}%", 100.0 * errors / total.max(1.0));
    match histogram_quantile(0.95, &merged) {
        Some(p95) => println!("p95 latency: {:.1} ms", p95 * 1000.0),
        None => println!("p95 latency: no observations"),
    }
}

/// Prometheus' `histogram_quantile`: linear interpolation inside the bucket holding the rank.
fn histogram_quantile(q: f64, buckets: &[(f64, u64)]) -> Option<f64> {
    let total = buckets.last()?.1 as f64;
    if total == 0.0 {
        return None;
    }
    let rank = q * total;
    let i = buckets.iter().position(|(_, c)| *c as f64 >= rank)?;
    if i == buckets.len() - 1 {
        return Some(buckets[buckets.len().saturating_sub(2)].0);
    }
    let (lower, below) = if i == 0 {
        (0.0, 0.0)
    } else {
        (buckets[i - 1].0, buckets[i - 1].1 as f64)
    };
    let (upper, count) = (buckets[i].0, buckets[i].1 as f64);
    Some(lower + (upper - lower) * (rank - below) / (count - below).max(1.0))
}

/// xorshift64*: deterministic traffic without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Standard normal by Box–Muller.
    fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-12);
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * self.unit()).cos()
    }
}
