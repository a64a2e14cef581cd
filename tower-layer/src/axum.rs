//! axum glue: the default registry's `/metrics` as a handler.

use crate::endpoint::MetricsEndpoint;
use bytes::Bytes;
use http::{HeaderMap, Method, Response, Uri};
use http_body_util::Full;

/// `GET /metrics` for the default registry: `.route("/metrics", get(metrics_handler))`.
/// For another registry, mount `get_service(MetricsEndpoint::new(&registry))`.
pub async fn metrics_handler(
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response<Full<Bytes>> {
    MetricsEndpoint::default().respond_to(&method, uri.query(), &headers)
}
