//! What a request is recorded as when it does not simply answer: dropped before its response,
//! status in gRPC trailers, a body that fails mid-stream.

use bytes::Bytes;
use footmetrics::{Format, Registry};
use footmetrics_testkit::{parse_samples, sample_value};
use footmetrics_tower::{GrpcClassifier, MetricsLayer, RequestHead, Route};
use http::{HeaderMap, Request, Response};
use http_body::Frame;
use http_body_util::BodyExt;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tower::{Service, ServiceBuilder, ServiceExt};

/// A body made of given frames, then an optional error.
struct Frames {
    frames: VecDeque<Frame<Bytes>>,
    fail: bool,
}

impl http_body::Body for Frames {
    type Data = Bytes;
    type Error = &'static str;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.frames.pop_front() {
            Some(f) => Poll::Ready(Some(Ok(f))),
            None if self.fail => Poll::Ready(Some(Err("stream broke"))),
            None => Poll::Ready(None),
        }
    }
}

fn grpc_trailers(code: &str) -> Frame<Bytes> {
    let mut t = HeaderMap::new();
    t.insert("grpc-status", code.parse().unwrap());
    Frame::trailers(t)
}

fn fixed_route() -> impl Fn(&RequestHead<'_>) -> Option<Route> + Send + Sync + 'static {
    |_: &RequestHead<'_>| Some(Route::from_static("/svc.Method"))
}

fn code_count(registry: &Registry, code: &str) -> Option<f64> {
    let s = parse_samples(&registry.render(Format::Text));
    sample_value(
        &s,
        "http_requests_total",
        &[("method", "POST"), ("route", "/svc.Method"), ("code", code)],
    )
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn grpc_status_in_trailers_decides_the_code() {
    let registry = Registry::new();
    let layer = MetricsLayer::builder()
        .registry(&registry)
        .routes(fixed_route())
        .classifier(GrpcClassifier)
        .build()
        .unwrap();
    let svc = ServiceBuilder::new()
        .layer(layer)
        .service_fn(|req: Request<()>| async move {
            let code = req.headers()["x-want"].to_str().unwrap().to_owned();
            let frames = VecDeque::from([
                Frame::data(Bytes::from_static(b"msg")),
                grpc_trailers(&code),
            ]);
            Ok::<_, Infallible>(Response::new(Frames {
                frames,
                fail: false,
            }))
        });
    rt().block_on(async {
        for code in ["0", "0", "14", "5"] {
            let req = Request::post("/svc.Method")
                .header("x-want", code)
                .body(())
                .unwrap();
            let res = svc.clone().oneshot(req).await.unwrap();
            res.into_body().collect().await.unwrap();
        }
    });
    assert_eq!(code_count(&registry, "200"), Some(2.0));
    assert_eq!(code_count(&registry, "503"), Some(1.0));
    assert_eq!(code_count(&registry, "404"), Some(1.0));
}

#[test]
fn a_request_dropped_before_its_response_is_a_499_and_leaves_flight() {
    let registry = Registry::new();
    let layer = MetricsLayer::builder()
        .registry(&registry)
        .routes(fixed_route())
        .build()
        .unwrap();
    let in_flight = layer.in_flight().clone();
    let mut svc = ServiceBuilder::new()
        .layer(layer)
        .service_fn(|_: Request<()>| async {
            std::future::pending::<()>().await;
            Ok::<_, Infallible>(Response::new(http_body_util::Empty::<Bytes>::new()))
        });
    let mut fut = Box::pin(svc.call(Request::post("/svc.Method").body(()).unwrap()));
    let waker = std::task::Waker::noop();
    assert!(fut
        .as_mut()
        .poll(&mut Context::from_waker(waker))
        .is_pending());
    assert_eq!(in_flight.get(), 1.0);
    drop(fut); // the client went away
    assert_eq!(in_flight.get(), 0.0);
    assert_eq!(code_count(&registry, "499"), Some(1.0));
}

#[test]
fn a_body_failing_mid_stream_is_a_500() {
    let registry = Registry::new();
    let layer = MetricsLayer::builder()
        .registry(&registry)
        .routes(fixed_route())
        .build()
        .unwrap();
    let svc = ServiceBuilder::new()
        .layer(layer)
        .service_fn(|_: Request<()>| async {
            let frames = VecDeque::from([Frame::data(Bytes::from_static(b"part"))]);
            Ok::<_, Infallible>(Response::new(Frames { frames, fail: true }))
        });
    rt().block_on(async {
        let res = svc
            .oneshot(Request::post("/svc.Method").body(()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.into_body().collect().await.is_err());
    });
    assert_eq!(code_count(&registry, "500"), Some(1.0));
    assert_eq!(
        code_count(&registry, "200"),
        None,
        "recorded once, as the failure"
    );
}
