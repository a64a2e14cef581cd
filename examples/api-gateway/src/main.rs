//! The FootAnalytics API gateway in miniature, instrumented with `footmetrics-tower`.
//!
//! Starts the service on 127.0.0.1, sends it traffic, prints the scraped `/metrics` and a
//! summary computed from it (request rate, error ratio, p95 latency from the histogram),
//! then keeps serving (with light background traffic) until interrupted.
//!
//! `api-gateway [--addr 127.0.0.1:9464] [--requests 400] [--rps 10] [--once]
//! [--max-connections 64] [--header-read-timeout 10] [--idle-timeout 65]`
//!
//! The server runs within footmetrics-tower's [`ServeLimits`] (the exporter's defaults unless
//! the flags say otherwise), so a flood of slow or idle connections cannot take its file
//! descriptors or keep `/metrics` from answering.
//!
//! With `OTEL_EXPORTER_OTLP_ENDPOINT` set (and the other `OTEL_*` exporter variables), the
//! same metrics are also pushed to that OpenTelemetry collector.

mod app;
mod summary;
mod traffic;

use bytes::Bytes;
use footmetrics_tower::{MetricsLayer, ServeLimits};
use http::Request;
use http_body_util::Full;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

struct Args {
    addr: String,
    requests: usize,
    rps: u32,
    once: bool,
    limits: ServeLimits,
}

fn seconds(flag: &str, value: String) -> Result<Duration, String> {
    let s: f64 = value.parse().map_err(|e| format!("{flag}: {e}"))?;
    if !(s.is_finite() && s > 0.0 && s < 1e9) {
        return Err(format!("{flag}: must be a positive number of seconds"));
    }
    Ok(Duration::from_secs_f64(s))
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: "127.0.0.1:9464".into(),
        requests: 400,
        rps: 10,
        once: false,
        limits: ServeLimits::default(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--addr" => args.addr = value("--addr")?,
            "--requests" => {
                args.requests = value("--requests")?
                    .parse()
                    .map_err(|e| format!("--requests: {e}"))?
            }
            "--rps" => args.rps = value("--rps")?.parse().map_err(|e| format!("--rps: {e}"))?,
            "--once" => args.once = true,
            "--max-connections" => {
                args.limits.max_connections = value("--max-connections")?
                    .parse()
                    .map_err(|e| format!("--max-connections: {e}"))?
            }
            "--header-read-timeout" => {
                args.limits.header_read_timeout =
                    seconds("--header-read-timeout", value("--header-read-timeout")?)?
            }
            "--idle-timeout" => {
                args.limits.idle_timeout = seconds("--idle-timeout", value("--idle-timeout")?)?
            }
            "-h" | "--help" => {
                return Err(
                    "usage: api-gateway [--addr HOST:PORT] [--requests N] [--rps R] [--once] \
                     [--max-connections N] [--header-read-timeout SECS] [--idle-timeout SECS]"
                        .into(),
                )
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    args.limits.validate()?;
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("api-gateway: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let layer = MetricsLayer::builder()
        .skip_paths(["/metrics", "/healthz"])
        .build()?;
    // Push as well as serve, when an OpenTelemetry collector is configured.
    let otlp = match footmetrics_otlp::Config::from_env() {
        Some(config) => {
            let config = config?.service_name("api-gateway");
            eprintln!("exporting over OTLP to {}", config.endpoint);
            Some(footmetrics_otlp::OtlpExporter::start(
                footmetrics::default_registry(),
                config,
            )?)
        }
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(&args.addr).await?;
    let addr = listener.local_addr()?;
    let app = app::router(layer);
    // Within the limits, with the refusals and timeouts counted in the served registry.
    let service = hyper_util::service::TowerToHyperService::new(app);
    let limits = args.limits.clone();
    tokio::spawn(async move {
        footmetrics_tower::serve_with_limits(
            listener,
            service,
            limits,
            Some(footmetrics::default_registry()),
            std::future::pending(),
        )
        .await
    });
    println!("api-gateway listening on http://{addr} (metrics at http://{addr}/metrics)");

    let client = traffic::client();
    let started = Instant::now();
    let answered = traffic::burst(&client, addr, args.requests, 42, 16).await;
    let elapsed = started.elapsed();

    let exposition = scrape(&client, addr).await?;
    println!("--- GET /metrics ---");
    print!("{exposition}");
    println!("--- summary ---");
    println!("sent {} requests, {answered} answered", args.requests);
    summary::print(&exposition, elapsed)?;

    if args.once {
        if let Some(e) = otlp {
            e.shutdown(std::time::Duration::from_secs(5));
        }
        return Ok(());
    }
    if args.rps > 0 {
        tokio::spawn(traffic::steady(client, addr, args.rps, 7));
        println!(
            "serving with ~{} req/s of background traffic; Ctrl-C stops",
            args.rps
        );
    } else {
        println!("serving; Ctrl-C stops");
    }
    tokio::signal::ctrl_c().await?;
    if let Some(e) = otlp {
        // The final snapshot goes out before the process ends.
        tokio::task::spawn_blocking(move || e.shutdown(std::time::Duration::from_secs(5))).await?;
    }
    Ok(())
}

async fn scrape(client: &traffic::HttpClient, addr: SocketAddr) -> Result<String, String> {
    let req = Request::get(format!("http://{addr}/metrics"))
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
    match traffic::send(client, req).await {
        Some((200, body)) => String::from_utf8(body.to_vec()).map_err(|e| e.to_string()),
        Some((status, _)) => Err(format!("/metrics answered {status}")),
        None => Err("/metrics did not answer".into()),
    }
}
