//! The layer and the endpoint through a real hyper server (axum) on 127.0.0.1: what is
//! scraped equals what was sent.

mod common;

use axum::body::Body;
use axum::http::StatusCode;
use axum::routing::{get, get_service, post};
use axum::Router;
use bytes::Bytes;
use footmetrics::{Error, Registry};
use footmetrics_testkit::{
    http_request, openmetrics_exemplars, parse_samples, sample_value, Sample,
};
use footmetrics_tower::{Exporter, MetricsEndpoint, MetricsLayer, RouteTemplates, TraceContext};
use http_body::Frame;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN: &str = "00f067aa0ba902b7";

/// Three chunks 150 ms apart; `started` flips when the first chunk is sent.
struct SlowBody {
    left: u32,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl http_body::Body for SlowBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        std::task::ready!(std::future::Future::poll(self.sleep.as_mut(), cx));
        self.left -= 1;
        let next = tokio::time::Instant::now() + Duration::from_millis(150);
        self.sleep.as_mut().reset(next);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"chunk\n")))))
    }
}

struct Server {
    addr: SocketAddr,
    registry: Registry,
    layer: MetricsLayer,
    _runtime: tokio::runtime::Runtime,
}

fn start() -> Server {
    let registry = Registry::new();
    let layer = MetricsLayer::builder()
        .registry(&registry)
        .skip_paths(["/metrics", "/healthz"])
        .build()
        .unwrap();
    let app = Router::new()
        .route("/api/v1/matches/{id}", get(|| async { "match" }))
        .route(
            "/api/v1/videos",
            post(|| async { (StatusCode::ACCEPTED, "queued") }),
        )
        .route(
            "/api/v1/fail",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "down") }),
        )
        .route(
            "/api/v1/panic",
            get(|| async {
                if true {
                    panic!("handler panicked on purpose");
                }
                "unreachable"
            }),
        )
        .route(
            "/api/v1/stream",
            get(|| async {
                Body::new(SlowBody {
                    left: 3,
                    sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
                })
            }),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get_service(MetricsEndpoint::new(&registry)))
        .layer(layer.clone());
    let (addr, runtime) = common::serve_app(app);
    Server {
        addr,
        registry,
        layer,
        _runtime: runtime,
    }
}

impl Server {
    fn send(&self, method: &str, path: &str) -> u16 {
        http_request(self.addr, method, path, &[]).unwrap().status
    }

    fn scrape(&self) -> Vec<Sample> {
        let r = http_request(self.addr, "GET", "/metrics", &[]).unwrap();
        assert_eq!(r.status, 200);
        parse_samples(&r.text())
    }
}

fn requests(s: &[Sample], method: &str, route: &str, code: &str) -> f64 {
    sample_value(
        s,
        "http_requests_total",
        &[("method", method), ("route", route), ("code", code)],
    )
    .unwrap_or(0.0)
}

fn duration_count(s: &[Sample], method: &str, route: &str) -> f64 {
    sample_value(
        s,
        "http_request_duration_seconds_count",
        &[("method", method), ("route", route)],
    )
    .unwrap_or(0.0)
}

#[test]
fn scraped_counts_equal_what_was_sent() {
    let server = start();
    for i in 0..7 {
        assert_eq!(server.send("GET", &format!("/api/v1/matches/{i}")), 200);
    }
    for _ in 0..3 {
        assert_eq!(server.send("POST", "/api/v1/videos"), 202);
    }
    for _ in 0..4 {
        assert_eq!(server.send("GET", "/api/v1/fail"), 503);
    }
    for p in [
        "/wp-admin/x.php",
        "/api/v1/nothing",
        "/.env",
        "/api/v1/matches",
        "/a/b/c",
    ] {
        assert_eq!(server.send("GET", p), 404);
    }
    for _ in 0..2 {
        assert_eq!(server.send("GET", "/healthz"), 200);
    }
    // A method outside the standard set folds into OTHER.
    server.send("PROPFIND", "/api/v1/matches/1");

    let s = server.scrape();
    assert_eq!(requests(&s, "GET", "/api/v1/matches/{id}", "200"), 7.0);
    assert_eq!(requests(&s, "POST", "/api/v1/videos", "202"), 3.0);
    assert_eq!(requests(&s, "GET", "/api/v1/fail", "503"), 4.0);
    assert_eq!(requests(&s, "GET", "unmatched", "404"), 5.0);
    assert_eq!(duration_count(&s, "GET", "/api/v1/matches/{id}"), 7.0);
    assert_eq!(duration_count(&s, "POST", "/api/v1/videos"), 3.0);
    assert_eq!(duration_count(&s, "GET", "/api/v1/fail"), 4.0);
    assert_eq!(duration_count(&s, "GET", "unmatched"), 5.0);

    let series: Vec<&Sample> = s
        .iter()
        .filter(|x| x.name == "http_requests_total")
        .collect();
    let total: f64 = series.iter().map(|x| x.value).sum();
    assert_eq!(total, 7.0 + 3.0 + 4.0 + 5.0 + 1.0, "{series:?}");
    // Unknown paths, skipped paths and odd methods add no series of their own.
    for x in &series {
        let route = x.label("route").unwrap();
        assert!(
            route == "unmatched" || route.starts_with("/api/v1/"),
            "raw path leaked into route: {route}"
        );
        assert_ne!(x.label("method"), Some("PROPFIND"));
    }
    assert_eq!(
        series
            .iter()
            .filter(|x| x.label("method") == Some("OTHER"))
            .count(),
        1
    );
    assert_eq!(
        sample_value(&s, "http_requests_in_flight", &[]),
        Some(0.0),
        "every request finished"
    );
    // Each histogram's +Inf bucket equals its count.
    for x in s
        .iter()
        .filter(|x| x.name == "http_request_duration_seconds_count")
    {
        let route = x.label("route").unwrap();
        let method = x.label("method").unwrap();
        let inf = sample_value(
            &s,
            "http_request_duration_seconds_bucket",
            &[("method", method), ("route", route), ("le", "+Inf")],
        );
        assert_eq!(inf, Some(x.value));
    }
    drop(server.registry);
}

#[test]
fn a_panicking_handler_is_counted_as_a_500() {
    let server = start();
    // The connection dies with the handler's task; the request must still be counted.
    let r = http_request(server.addr, "GET", "/api/v1/panic", &[]);
    assert!(r.is_err() || r.unwrap().status == 500);
    let r = http_request(server.addr, "GET", "/api/v1/panic", &[]);
    assert!(r.is_err() || r.unwrap().status == 500);
    let s = server.scrape();
    assert_eq!(requests(&s, "GET", "/api/v1/panic", "500"), 2.0);
    assert_eq!(duration_count(&s, "GET", "/api/v1/panic"), 2.0);
    assert_eq!(sample_value(&s, "http_requests_in_flight", &[]), Some(0.0));
}

#[test]
fn a_streamed_body_is_timed_until_it_ends() {
    let server = start();
    let addr = server.addr;
    let in_flight = server.layer.in_flight().clone();
    let seen_in_flight = Arc::new(AtomicBool::new(false));
    let watcher = {
        let seen = seen_in_flight.clone();
        std::thread::spawn(move || {
            for _ in 0..100 {
                if in_flight.get() >= 1.0 {
                    seen.store(true, Ordering::SeqCst);
                    return;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let r = http_request(addr, "GET", "/api/v1/stream", &[]).unwrap();
    assert_eq!(r.text(), "chunk\n".repeat(3));
    watcher.join().unwrap();
    assert!(
        seen_in_flight.load(Ordering::SeqCst),
        "in flight while streaming"
    );

    let s = server.scrape();
    let labels = [("method", "GET"), ("route", "/api/v1/stream")];
    assert_eq!(duration_count(&s, "GET", "/api/v1/stream"), 1.0);
    let sum = sample_value(&s, "http_request_duration_seconds_sum", &labels).unwrap();
    // Two 150 ms gaps between three chunks: the head went out long before the body ended.
    assert!(sum >= 0.29, "duration {sum} does not cover the stream");
    let le = |b: &str| {
        sample_value(
            &s,
            "http_request_duration_seconds_bucket",
            &[labels[0], labels[1], ("le", b)],
        )
        .unwrap()
    };
    assert_eq!(le("0.25"), 0.0);
    assert_eq!(le("0.5"), 1.0);
    assert_eq!(sample_value(&s, "http_requests_in_flight", &[]), Some(0.0));
}

#[test]
fn sampled_traces_become_exemplars_in_openmetrics() {
    let server = start();
    let traced = format!("00-{TRACE}-{SPAN}-01");
    let unsampled = format!("00-{}-{SPAN}-00", "a".repeat(32));
    for tp in [traced.as_str(), unsampled.as_str(), "garbage"] {
        let r = http_request(
            server.addr,
            "GET",
            "/api/v1/matches/9",
            &[("traceparent", tp)],
        )
        .unwrap();
        assert_eq!(r.status, 200);
    }
    let r = http_request(
        server.addr,
        "GET",
        "/metrics",
        &[("Accept", "application/openmetrics-text; version=1.0.0")],
    )
    .unwrap();
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = r.text();
    assert!(text.ends_with("# EOF\n"));
    let exemplars = openmetrics_exemplars(&text, "http_request_duration_seconds");
    assert_eq!(exemplars.len(), 1, "only the sampled trace: {exemplars:?}");
    assert_eq!(exemplars[0]["labels"]["trace_id"], TRACE);
    assert_eq!(exemplars[0]["labels"]["span_id"], SPAN);
    assert!(TraceContext::new(TRACE, SPAN).is_some());
}

#[test]
fn endpoint_negotiates_compresses_and_allows_get_and_head_only() {
    let server = start();
    server.send("GET", "/api/v1/matches/1");
    let plain = http_request(server.addr, "GET", "/metrics", &[]).unwrap();
    assert_eq!(
        plain.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(!plain.text().contains("# EOF"));
    let (ok, msg) = footmetrics_testkit::promtool_check(&plain.text());
    assert!(ok, "{msg}");

    let gz = http_request(
        server.addr,
        "GET",
        "/metrics",
        &[("Accept-Encoding", "gzip")],
    )
    .unwrap();
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz.body[..]), &mut text)
        .unwrap();
    assert_eq!(parse_samples(&text), parse_samples(&plain.text()));

    let head = http_request(server.addr, "HEAD", "/metrics", &[]).unwrap();
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let len: usize = head.header("content-length").unwrap().parse().unwrap();
    assert!(len > 100, "HEAD announces the GET length, got {len}");

    // axum answers other methods on a get_service route itself; the endpoint does the same
    // wherever it is mounted.
    for method in ["POST", "DELETE"] {
        let r = http_request(server.addr, method, "/metrics", &[]).unwrap();
        assert_eq!(r.status, 405);
    }
    let endpoint = MetricsEndpoint::new(&server.registry);
    let res = endpoint.respond(&http::Method::PUT, &http::HeaderMap::new());
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "GET, HEAD");
}

#[test]
fn exporter_serves_its_path_and_stops() {
    let registry = Registry::new();
    let c = registry
        .counter(&footmetrics::Opts::new("exporter_test_total", "A counter."))
        .unwrap();
    c.inc_by_u64(5);
    let handle = Exporter::new(&registry).spawn("127.0.0.1:0").unwrap();
    let addr = handle.local_addr();
    let r = http_request(addr, "GET", "/metrics", &[]).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        sample_value(&parse_samples(&r.text()), "exporter_test_total", &[]),
        Some(5.0)
    );
    assert_eq!(
        http_request(addr, "GET", "/elsewhere", &[]).unwrap().status,
        404
    );
    assert_eq!(http_request(addr, "GET", "/", &[]).unwrap().status, 200);
    // A taken port is an error at spawn time.
    let err = Exporter::new(&registry)
        .spawn(addr)
        .err()
        .expect("port in use");
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    handle.shutdown();
    assert!(std::net::TcpStream::connect(addr).is_err(), "stopped");
}

#[test]
fn building_twice_on_one_registry_or_with_bad_buckets_is_a_typed_error() {
    let registry = Registry::new();
    let bad = MetricsLayer::builder()
        .registry(&registry)
        .buckets(vec![1.0, 0.5])
        .build();
    assert!(matches!(bad, Err(Error::InvalidBuckets(_))));
    // Nothing was left registered by the failed build.
    assert!(registry.gather().is_empty());
    let _layer = MetricsLayer::builder().registry(&registry).build().unwrap();
    let again = MetricsLayer::builder().registry(&registry).build();
    assert!(matches!(again, Err(Error::AlreadyRegistered(_))));
    // The default-registry layer is shared, so building it twice is fine.
    let (a, b) = (MetricsLayer::new(), MetricsLayer::new());
    a.requests().get(&["GET", "/x", "200"]).unwrap().inc();
    assert_eq!(b.requests().get(&["GET", "/x", "200"]).unwrap().get(), 1.0);
}

#[test]
fn const_labels_and_route_templates_for_non_axum_services() {
    use tower::ServiceExt;
    let registry = Registry::new();
    let layer = MetricsLayer::builder()
        .registry(&registry)
        .const_label("service", "api-gateway")
        .routes(RouteTemplates::new(["/api/v1/matches/{id}"]).unwrap())
        .build()
        .unwrap();
    let svc =
        tower::ServiceBuilder::new()
            .layer(layer)
            .service_fn(|req: http::Request<()>| async move {
                if req.uri().path() == "/boom" {
                    return Err::<http::Response<http_body_util::Full<Bytes>>, _>(
                        "backend exploded",
                    );
                }
                Ok(http::Response::new(http_body_util::Full::new(
                    Bytes::from_static(b"ok"),
                )))
            });
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        use http_body_util::BodyExt;
        let res = svc
            .clone()
            .oneshot(http::Request::get("/api/v1/matches/3").body(()).unwrap())
            .await
            .unwrap();
        res.into_body().collect().await.unwrap();
        // A service error is a 500, not a lost request.
        let err = svc
            .clone()
            .oneshot(http::Request::get("/boom").body(()).unwrap())
            .await;
        assert!(err.is_err());
    });
    let s = parse_samples(&registry.render(footmetrics::Format::Text));
    let v = |route: &str, code: &str| {
        sample_value(
            &s,
            "http_requests_total",
            &[
                ("service", "api-gateway"),
                ("method", "GET"),
                ("route", route),
                ("code", code),
            ],
        )
    };
    assert_eq!(v("/api/v1/matches/{id}", "200"), Some(1.0));
    assert_eq!(v("unmatched", "500"), Some(1.0));
}
