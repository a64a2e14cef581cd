//! HTTP instrumentation for tower services (axum, hyper, tonic) with the FootAnalytics
//! standard metrics, and the `/metrics` endpoint.
//!
//! - [`MetricsLayer`] records `http_requests_total{method,route,code}`,
//!   `http_request_duration_seconds{method,route}` and `http_requests_in_flight`, with
//!   exemplars from the request's trace.
//! - [`MetricsEndpoint`] serves a registry (a tower service; mount it in any router);
//!   [`Exporter`] serves it standalone.
//!
//! Layout follows tower-http: [`layer`](MetricsLayer), [`service`](MetricsService) and
//! [`future`](ResponseFuture) apart, and a [`Classify`] trait deciding the status recorded.

mod classify;
mod endpoint;
mod future;
mod in_flight;
mod layer;
mod route;
mod series;
mod service;
mod trace;

#[cfg(feature = "axum")]
mod axum;
#[cfg(feature = "exporter")]
mod exporter;
#[cfg(feature = "exporter")]
mod web_config;

pub use classify::{
    grpc_to_http, Classify, GrpcClassifier, StatusClassifier, CLIENT_CLOSED_REQUEST,
};
pub use endpoint::{accepts_gzip, requested_names, MetricsEndpoint};
pub use footmetrics::NativeOpts;
pub use future::{MetricsBody, ResponseFuture};
pub use in_flight::InFlight;
pub use layer::{MetricsLayer, MetricsLayerBuilder};
pub use route::{
    method_label, InvalidTemplate, NoRoutes, RequestHead, Route, RouteClassifier, RouteTemplates,
    OTHER_METHOD, UNMATCHED_ROUTE,
};
pub use service::MetricsService;
#[cfg(feature = "opentelemetry")]
pub use trace::OpenTelemetrySpan;
pub use trace::{TraceContext, TraceContextSource, Traceparent};

#[cfg(feature = "axum")]
pub use crate::axum::metrics_handler;
#[cfg(feature = "exporter")]
pub use exporter::{
    serve_with_limits, Exporter, ExporterHandle, ServeLimits, ServeStats, SELF_METRICS,
};
#[cfg(feature = "axum")]
pub use route::MatchedPathRoutes;
#[cfg(feature = "exporter")]
pub use web_config::{ClientAuth, TlsSettings, TlsVersion, WebConfig, WebConfigError};

/// The tower guide's example runs as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../docs/tower.md")]
pub struct TowerGuideDoctests;
