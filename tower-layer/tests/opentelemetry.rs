//! Exemplars from the active OpenTelemetry span: an outer layer that attached its server
//! span's context, or a context left in the request's extensions, links the duration
//! observation to that trace. Checked in the OpenMetrics exposition by the strict parser.

use footmetrics::{Format, Registry};
use footmetrics_testkit::openmetrics_exemplars;
use footmetrics_tower::MetricsLayer;
use http::{Request, Response};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;
use std::convert::Infallible;
use tower::{Layer, Service, ServiceExt};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN: &str = "00f067aa0ba902b7";

fn span_context(trace: &str, span: &str, sampled: bool) -> Context {
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from_hex(trace).unwrap(),
        SpanId::from_hex(span).unwrap(),
        flags,
        true,
        TraceState::default(),
    ))
}

/// The duration histogram's exemplars as (trace_id, span_id).
fn exemplars(r: &Registry) -> Vec<(String, String)> {
    let text = r.render(Format::OpenMetrics);
    openmetrics_exemplars(&text, "http_request_duration_seconds")
        .iter()
        .map(|e| {
            let l = &e["labels"];
            (
                l["trace_id"].as_str().unwrap().into(),
                l["span_id"].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn service(r: &Registry) -> impl Service<Request<String>, Error = Infallible> {
    let layer = MetricsLayer::builder().registry(r).build().unwrap();
    layer.layer(tower::service_fn(|_req: Request<String>| async {
        Ok::<_, Infallible>(Response::new(String::from("ok")))
    }))
}

#[tokio::test]
async fn the_attached_span_of_an_outer_layer_becomes_the_exemplar() {
    let r = Registry::new();
    let mut svc = service(&r);
    let fut = {
        // What an OpenTelemetry server middleware does around the inner call.
        let _guard = span_context(TRACE, SPAN, true).attach();
        svc.ready().await.unwrap().call(Request::new(String::new()))
    };
    fut.await.unwrap();
    assert_eq!(exemplars(&r), vec![(TRACE.to_owned(), SPAN.to_owned())]);
}

#[tokio::test]
async fn a_context_in_the_request_extensions_wins_and_unsampled_spans_are_skipped() {
    let r = Registry::new();
    let mut svc = service(&r);
    let other = "0af7651916cd43dd8448eb211c80319c";
    let mut req = Request::new(String::new());
    req.extensions_mut().insert(span_context(TRACE, SPAN, true));
    let fut = {
        let _guard = span_context(other, SPAN, true).attach();
        svc.ready().await.unwrap().call(req)
    };
    fut.await.unwrap();
    assert_eq!(exemplars(&r), vec![(TRACE.to_owned(), SPAN.to_owned())]);

    // An unsampled span leaves no exemplar (nor replaces the one there).
    let r = Registry::new();
    let mut svc = service(&r);
    let fut = {
        let _guard = span_context(other, SPAN, false).attach();
        svc.ready().await.unwrap().call(Request::new(String::new()))
    };
    fut.await.unwrap();
    assert!(exemplars(&r).is_empty());
}

#[tokio::test]
async fn without_a_span_the_traceparent_header_is_used() {
    let r = Registry::new();
    let svc = service(&r);
    let req = Request::builder()
        .header("traceparent", format!("00-{TRACE}-{SPAN}-01"))
        .body(String::new())
        .unwrap();
    svc.oneshot(req).await.unwrap();
    assert_eq!(exemplars(&r), vec![(TRACE.to_owned(), SPAN.to_owned())]);
}
