//! The `/metrics` endpoint as a tower service: content negotiation, gzip, GET and HEAD.

use bytes::Bytes;
use footmetrics::{default_registry, Registry};
use http::header::{
    ACCEPT, ACCEPT_ENCODING, ALLOW, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, VARY,
};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use std::convert::Infallible;
use std::future::{ready, Ready};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_service::Service;

/// Serves a registry's exposition: OpenMetrics when the `Accept` header prefers it (as
/// Prometheus' does), the classic text format otherwise; gzip when `Accept-Encoding` allows;
/// `GET` and `HEAD` only (405 otherwise). Mount it at any path.
#[derive(Clone)]
pub struct MetricsEndpoint {
    registry: Registry,
    gzip: bool,
    /// The last exposition's size, so the next render allocates once.
    last_len: Arc<AtomicUsize>,
}

impl Default for MetricsEndpoint {
    /// The endpoint for the process-wide default registry.
    fn default() -> Self {
        MetricsEndpoint::new(default_registry())
    }
}

impl MetricsEndpoint {
    pub fn new(registry: &Registry) -> Self {
        MetricsEndpoint {
            registry: registry.clone(),
            gzip: true,
            last_len: Arc::new(AtomicUsize::new(4096)),
        }
    }

    /// Whether to compress when the client accepts gzip (default: yes).
    pub fn gzip(mut self, enabled: bool) -> Self {
        self.gzip = enabled;
        self
    }

    /// The response to a request with this method and headers.
    pub fn respond(&self, method: &Method, headers: &HeaderMap) -> Response<Full<Bytes>> {
        if method != Method::GET && method != Method::HEAD {
            let mut res = Response::new(Full::new(Bytes::from_static(b"method not allowed\n")));
            *res.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            res.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return res;
        }
        let accept = headers.get(ACCEPT).and_then(|v| v.to_str().ok());
        let mut body = Vec::with_capacity(self.last_len.load(Ordering::Relaxed));
        let format = self.registry.encode_for_accept(accept, &mut body);
        self.last_len
            .store(body.len() + body.len() / 8, Ordering::Relaxed);

        let gzip = self.gzip && accepts_gzip(headers);
        if gzip {
            let mut enc = flate2::write::GzEncoder::new(
                Vec::with_capacity(body.len() / 4),
                flate2::Compression::fast(),
            );
            // Writing into a Vec cannot fail.
            let _ = enc.write_all(&body);
            body = enc.finish().unwrap_or_default();
        }
        let len = body.len();
        let body = if method == Method::HEAD {
            Bytes::new()
        } else {
            Bytes::from(body)
        };
        let mut res = Response::new(Full::new(body));
        let h = res.headers_mut();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
        h.insert(VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
        if gzip {
            h.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        // HEAD announces the length GET would send.
        h.insert(CONTENT_LENGTH, HeaderValue::from(len));
        res
    }
}

impl<B> Service<Request<B>> for MetricsEndpoint {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        ready(Ok(self.respond(req.method(), req.headers())))
    }
}

/// Whether `Accept-Encoding` allows gzip: `gzip`/`x-gzip` with a non-zero `q`, or `*` when
/// gzip is not named.
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut wildcard = false;
    for value in headers.get_all(ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for coding in value.split(',') {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .filter_map(|q| q.trim().parse::<f32>().ok())
                .next()
                .unwrap_or(1.0);
            if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
                return q > 0.0;
            }
            if name == "*" {
                wildcard = q > 0.0;
            }
        }
    }
    wildcard
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT_ENCODING, v.parse().unwrap());
        h
    }

    #[test]
    fn gzip_negotiation() {
        assert!(accepts_gzip(&enc("gzip")));
        assert!(accepts_gzip(&enc("br, GZIP;q=0.5")));
        assert!(accepts_gzip(&enc("*")));
        assert!(!accepts_gzip(&enc("gzip;q=0")));
        assert!(!accepts_gzip(&enc("gzip;q=0, *")));
        assert!(!accepts_gzip(&enc("identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
