//! The request duration histogram as a native histogram: requests through an axum app with
//! the layer, read back from the registry and through a real Prometheus 2.x with native
//! histograms on, scraping the standalone exporter (which must answer its protobuf Accept
//! header with the protobuf exposition).

mod common;

use axum::routing::{get, get_service};
use axum::Router;
use footmetrics::{Error, Format, PointValue, Registry};
use footmetrics_testkit::{http_request, parse_samples, sample_value, Prometheus};
use footmetrics_tower::{Exporter, MetricsEndpoint, MetricsLayer, NativeOpts};
use std::net::SocketAddr;
use std::time::Duration;

/// What Prometheus 2.42 sends with `--enable-feature=native-histograms`.
const PROMETHEUS_PROTOBUF_ACCEPT: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

struct App {
    addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

fn serve(registry: &Registry, layer: MetricsLayer) -> App {
    let app = Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(30)).await;
                "slow"
            }),
        )
        .route("/fast", get(|| async { "fast" }))
        .route("/metrics", get_service(MetricsEndpoint::new(registry)))
        .layer(layer);
    let (addr, runtime) = common::serve_app(app);
    App {
        addr,
        _runtime: runtime,
    }
}

fn native_layer(registry: &Registry) -> MetricsLayer {
    MetricsLayer::builder()
        .registry(registry)
        .skip_paths(["/metrics"])
        .native_histogram(NativeOpts::new(1.1))
        .build()
        .unwrap()
}

/// The gathered native buckets of `route`: (count, sum, schema, buckets' total, zero count).
fn native_point(registry: &Registry, route: &str) -> (u64, f64, i8, u64) {
    let families = registry.gather();
    let f = families
        .iter()
        .find(|f| f.name == "http_request_duration_seconds")
        .expect("the duration family");
    let p = f
        .points
        .iter()
        .find(|p| p.labels.iter().any(|(k, v)| k == "route" && v == route))
        .unwrap_or_else(|| panic!("no {route} in {f:?}"));
    let PointValue::Histogram {
        count, sum, native, ..
    } = &p.value
    else {
        panic!("{p:?}")
    };
    let native = native.as_ref().expect("native buckets");
    let in_buckets: u64 = native
        .positive
        .iter()
        .chain(&native.negative)
        .map(|(_, c)| c)
        .sum::<u64>()
        + native.zero_count;
    assert_eq!(in_buckets, *count, "{native:?}");
    (*count, *sum, native.schema, in_buckets)
}

#[test]
fn native_durations_count_every_request() {
    let registry = Registry::new();
    let app = serve(&registry, native_layer(&registry));
    for _ in 0..4 {
        assert_eq!(
            http_request(app.addr, "GET", "/slow", &[]).unwrap().status,
            200
        );
    }
    for _ in 0..9 {
        assert_eq!(
            http_request(app.addr, "GET", "/fast", &[]).unwrap().status,
            200
        );
    }
    let (slow, slow_sum, schema, _) = native_point(&registry, "/slow");
    assert_eq!((slow, schema), (4, 3));
    // Each slow request slept 30 ms.
    assert!(slow_sum >= 0.12, "{slow_sum}");
    assert_eq!(native_point(&registry, "/fast").0, 9);

    // Text keeps the classic view: no classic buckets, only +Inf, with the same count.
    let text = http_request(app.addr, "GET", "/metrics", &[]).unwrap();
    assert_eq!(
        text.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let samples = parse_samples(&text.text());
    assert_eq!(
        sample_value(
            &samples,
            "http_request_duration_seconds_bucket",
            &[("method", "GET"), ("route", "/slow"), ("le", "+Inf")]
        ),
        Some(4.0)
    );
    assert!(!text.text().contains("le=\"0.005\""), "{}", text.text());

    // Prometheus' Accept header gets the protobuf exposition.
    let proto = http_request(
        app.addr,
        "GET",
        "/metrics",
        &[("Accept", PROMETHEUS_PROTOBUF_ACCEPT)],
    )
    .unwrap();
    assert_eq!(
        proto.header("content-type"),
        Some(footmetrics::protobuf::CONTENT_TYPE_PROTOBUF)
    );
    assert_eq!(
        Format::negotiate(Some(PROMETHEUS_PROTOBUF_ACCEPT)),
        Format::Protobuf
    );
}

#[test]
fn classic_buckets_as_well_when_asked_and_bad_native_options_are_typed_errors() {
    let registry = Registry::new();
    let layer = MetricsLayer::builder()
        .registry(&registry)
        .native_histogram(NativeOpts::new(1.1))
        .buckets(vec![0.01, 0.1, 1.0])
        .build()
        .unwrap();
    let app = serve(&registry, layer);
    for _ in 0..3 {
        http_request(app.addr, "GET", "/slow", &[]).unwrap();
    }
    assert_eq!(native_point(&registry, "/slow").0, 3);
    let samples = parse_samples(
        &http_request(app.addr, "GET", "/metrics", &[])
            .unwrap()
            .text(),
    );
    let le = |b: &str| {
        sample_value(
            &samples,
            "http_request_duration_seconds_bucket",
            &[("method", "GET"), ("route", "/slow"), ("le", b)],
        )
    };
    // Each request slept 30 ms: none under 10 ms, all under 1 s.
    assert_eq!(
        (le("0.01"), le("1"), le("+Inf")),
        (Some(0.0), Some(3.0), Some(3.0))
    );

    let registry = Registry::new();
    for bad in [1.0, f64::NAN, 0.5] {
        let r = MetricsLayer::builder()
            .registry(&registry)
            .native_histogram(NativeOpts::new(bad))
            .build();
        assert!(matches!(r, Err(Error::InvalidOption(_))), "{bad}");
    }
    let r = MetricsLayer::builder()
        .registry(&registry)
        .native_histogram(NativeOpts::new(1.1).zero_threshold(-1.0))
        .build();
    assert!(matches!(r, Err(Error::InvalidOption(_))));
    // Nothing was left registered by the failed builds.
    assert!(registry.gather().is_empty());
}

#[test]
fn a_real_prometheus_scrapes_native_durations_from_the_exporter() {
    let registry = Registry::new();
    let app = serve(&registry, native_layer(&registry));
    let exporter = Exporter::new(&registry).spawn("127.0.0.1:0").unwrap();
    // The standalone exporter negotiates as the endpoint does.
    let r = http_request(
        exporter.local_addr(),
        "GET",
        "/metrics",
        &[("Accept", PROMETHEUS_PROTOBUF_ACCEPT)],
    )
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some(footmetrics::protobuf::CONTENT_TYPE_PROTOBUF)
    );
    let text = http_request(exporter.local_addr(), "GET", "/metrics", &[]).unwrap();
    assert_eq!(
        text.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );

    for _ in 0..5 {
        http_request(app.addr, "GET", "/slow", &[]).unwrap();
    }
    for _ in 0..11 {
        http_request(app.addr, "GET", "/fast", &[]).unwrap();
    }
    let (_, slow_sum, _, _) = native_point(&registry, "/slow");
    let prom = Prometheus::start_native(&[("api", exporter.local_addr())]);
    // Only a protobuf scrape stores the histogram as native: histogram_count() of the
    // series itself (no _count suffix) is empty after a text scrape.
    let selector = |route: &str| {
        format!("http_request_duration_seconds{{job=\"api\",method=\"GET\",route=\"{route}\"}}")
    };
    let slow = prom.wait_for_value(
        &format!("histogram_count({})", selector("/slow")),
        Duration::from_secs(30),
    );
    assert_eq!(slow, 5.0, "{}", prom.log());
    let fast = prom.wait_for_value(
        &format!("histogram_count({})", selector("/fast")),
        Duration::from_secs(30),
    );
    assert_eq!(fast, 11.0);
    let sum = prom.wait_for_value(
        &format!("histogram_sum({})", selector("/slow")),
        Duration::from_secs(30),
    );
    assert!((sum - slow_sum).abs() < 1e-9, "{sum} vs {slow_sum}");
    // Every slow request took at least 30 ms: Prometheus' median from the native buckets
    // lands in or above the bucket holding 30 ms (schema 3: bucket (2^-5.125, 2^-5]).
    let median = prom.wait_for_value(
        &format!("histogram_quantile(0.5, {})", selector("/slow")),
        Duration::from_secs(30),
    );
    assert!(
        median >= 2f64.powf(-5.125) && median <= slow_sum,
        "{median}"
    );
    exporter.shutdown();
}
