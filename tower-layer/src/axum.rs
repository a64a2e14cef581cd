//! axum glue: the default registry's `/metrics` as a handler.

use crate::endpoint::MetricsEndpoint;
use bytes::Bytes;
use http::{HeaderMap, Method, Response};
use http_body_util::Full;

/// `GET /metrics` for the default registry: `.route("/metrics", get(metrics_handler))`.
/// For another registry, mount `get_service(MetricsEndpoint::new(&registry))`.
pub async fn metrics_handler(method: Method, headers: HeaderMap) -> Response<Full<Bytes>> {
    MetricsEndpoint::default().respond(&method, &headers)
}
