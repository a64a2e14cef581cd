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
/// `GET` and `HEAD` only (405 otherwise); with `name[]` query parameters, only the families
/// with a sample of a named name (`?name[]=http_requests_total`), as prometheus_client
/// filters. Mount it at any path.
#[derive(Clone)]
pub struct MetricsEndpoint {
    registry: Registry,
    gzip: bool,
    /// The last exposition's size, so the next render allocates once.
    last_len: Arc<AtomicUsize>,
    /// Renders in progress, and how many may be (`usize::MAX`: no limit).
    in_flight: Arc<AtomicUsize>,
    max_in_flight: usize,
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
            in_flight: Arc::new(AtomicUsize::new(0)),
            max_in_flight: usize::MAX,
        }
    }

    /// At most `n` scrapes rendered at once (they render on the caller's thread); the ones
    /// beyond are answered 503 at once, as promhttp's `MaxRequestsInFlight`. Default: no
    /// limit (the [`Exporter`](crate::Exporter) has its own).
    pub fn max_concurrent_scrapes(mut self, n: usize) -> Self {
        self.max_in_flight = n;
        self
    }

    /// Whether to compress when the client accepts gzip (default: yes).
    pub fn gzip(mut self, enabled: bool) -> Self {
        self.gzip = enabled;
        self
    }

    /// The response to a request with this method and headers (no query).
    pub fn respond(&self, method: &Method, headers: &HeaderMap) -> Response<Full<Bytes>> {
        self.respond_to(method, None, headers)
    }

    /// The response to a request with this method, query string (its `name[]` parameters
    /// filter the families) and headers.
    pub fn respond_to(
        &self,
        method: &Method,
        query: Option<&str>,
        headers: &HeaderMap,
    ) -> Response<Full<Bytes>> {
        if method != Method::GET && method != Method::HEAD {
            let mut res = Response::new(Full::new(Bytes::from_static(b"method not allowed\n")));
            *res.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            res.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return res;
        }
        let _slot = match InFlightSlot::take(&self.in_flight, self.max_in_flight) {
            Some(slot) => slot,
            None => {
                let mut res = Response::new(Full::new(Bytes::from_static(
                    b"too many concurrent scrapes\n",
                )));
                *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                return res;
            }
        };
        let accept = headers.get(ACCEPT).and_then(|v| v.to_str().ok());
        let mut body = Vec::with_capacity(self.last_len.load(Ordering::Relaxed));
        let names = query.map(requested_names).unwrap_or_default();
        let content_type = self.registry.scrape(accept, &names, &mut body);
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
        if let Ok(v) = HeaderValue::from_str(&content_type) {
            h.insert(CONTENT_TYPE, v);
        }
        h.insert(VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
        if gzip {
            h.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        // HEAD announces the length GET would send.
        h.insert(CONTENT_LENGTH, HeaderValue::from(len));
        res
    }
}

/// One of the endpoint's concurrent-render slots, given back on drop.
struct InFlightSlot<'a>(&'a AtomicUsize);

impl<'a> InFlightSlot<'a> {
    fn take(count: &'a AtomicUsize, max: usize) -> Option<InFlightSlot<'a>> {
        if count.fetch_add(1, Ordering::AcqRel) >= max {
            count.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(InFlightSlot(count))
    }
}

impl Drop for InFlightSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
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
        ready(Ok(self.respond_to(
            req.method(),
            req.uri().query(),
            req.headers(),
        )))
    }
}

/// The values of a query string's `name[]` parameters, percent-decoded (`+` is a space).
pub fn requested_names(query: &str) -> Vec<String> {
    query
        .split('&')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(key) == "name[]").then(|| form_decode(value))
        })
        .collect()
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte; malformed
/// escapes stay as they are, invalid UTF-8 becomes U+FFFD.
fn form_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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
    fn name_parameters() {
        assert_eq!(requested_names("name[]=a_total"), ["a_total"]);
        assert_eq!(
            requested_names("x=1&name%5B%5D=b+c&name[]=d%2Fe&name=f&name[]"),
            ["b c", "d/e", ""]
        );
        assert_eq!(requested_names("name[]=%zz%4"), ["%zz%4"]);
        assert!(requested_names("").is_empty());
    }

    #[test]
    fn name_filter_serves_whole_families_named() {
        let registry = Registry::new();
        let a = registry
            .counter(&footmetrics::Opts::new("a_total", "A."))
            .unwrap();
        a.inc();
        registry
            .gauge(&footmetrics::Opts::new("b", "B."))
            .unwrap()
            .set(2.0);
        let endpoint = MetricsEndpoint::new(&registry).gzip(false);
        let body = |query| {
            let res = endpoint.respond_to(&Method::GET, query, &HeaderMap::new());
            let bytes = futures_body(res);
            String::from_utf8(bytes).unwrap()
        };
        let all = body(None);
        assert!(all.contains("a_total 1") && all.contains("\nb 2"), "{all}");
        let only_a = body(Some("name[]=a_total"));
        assert!(only_a.contains("a_total 1"), "{only_a}");
        assert!(!only_a.contains("\nb "), "{only_a}");
        let both = body(Some("name[]=a_total&name[]=b"));
        assert_eq!(both, all);
        assert_eq!(body(Some("name[]=nothing")), "");
        // Another parameter alone filters nothing.
        assert_eq!(body(Some("debug=1")), all);
    }

    fn futures_body(res: Response<Full<Bytes>>) -> Vec<u8> {
        use http_body_util::BodyExt;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let collected = runtime.block_on(res.into_body().collect());
        collected.unwrap().to_bytes().to_vec()
    }

    #[test]
    fn past_the_concurrent_scrape_limit_a_scrape_is_503() {
        let registry = Registry::new();
        let endpoint = MetricsEndpoint::new(&registry).max_concurrent_scrapes(1);
        let held = InFlightSlot::take(&endpoint.in_flight, 1).unwrap();
        let res = endpoint.respond(&Method::GET, &HeaderMap::new());
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        drop(held);
        let res = endpoint.respond(&Method::GET, &HeaderMap::new());
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(endpoint.in_flight.load(Ordering::Relaxed), 0);
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
