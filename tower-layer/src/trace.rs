//! Trace context for exemplars: which trace a duration observation links to.

use crate::route::RequestHead;
use http::HeaderName;

/// A W3C trace id and span id, kept as lowercase hex without allocating.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: [u8; 32],
    span_id: [u8; 16],
}

impl std::fmt::Debug for TraceContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceContext")
            .field("trace_id", &self.trace_id())
            .field("span_id", &self.span_id())
            .finish()
    }
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

fn lower_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != N || !is_lower_hex(s) {
        return None;
    }
    if b.iter().all(|&c| c == b'0') {
        return None; // all-zero ids are invalid in W3C Trace Context
    }
    let mut out = [0u8; N];
    out.copy_from_slice(b);
    Some(out)
}

impl TraceContext {
    /// From hex ids: 32 lowercase hex digits for the trace, 16 for the span, neither all zero.
    pub fn new(trace_id: &str, span_id: &str) -> Option<Self> {
        Some(TraceContext {
            trace_id: lower_hex(trace_id)?,
            span_id: lower_hex(span_id)?,
        })
    }

    /// Parses a `traceparent` header value; returns the context and whether it is sampled.
    pub fn from_traceparent(value: &str) -> Option<(Self, bool)> {
        let mut parts = value.trim().split('-');
        let version = parts.next()?;
        let (trace, span, flags) = (parts.next()?, parts.next()?, parts.next()?);
        if version.len() != 2 || !is_lower_hex(version) || version == "ff" {
            return None;
        }
        // Version 00 has exactly four fields; later versions may append more.
        if version == "00" && parts.next().is_some() {
            return None;
        }
        if flags.len() != 2 {
            return None;
        }
        let flags = u8::from_str_radix(flags, 16).ok()?;
        Some((Self::new(trace, span)?, flags & 1 == 1))
    }

    pub fn trace_id(&self) -> &str {
        // Only ASCII hex digits are ever stored.
        std::str::from_utf8(&self.trace_id).unwrap_or_default()
    }

    pub fn span_id(&self) -> &str {
        std::str::from_utf8(&self.span_id).unwrap_or_default()
    }
}

#[cfg(feature = "opentelemetry")]
impl TraceContext {
    /// From an OpenTelemetry span context; `None` when it is invalid (no active span).
    pub fn from_span_context(sc: &opentelemetry::trace::SpanContext) -> Option<Self> {
        if !sc.is_valid() {
            return None;
        }
        Some(TraceContext {
            trace_id: hex_bytes(sc.trace_id().to_bytes()),
            span_id: hex_bytes(sc.span_id().to_bytes()),
        })
    }
}

#[cfg(feature = "opentelemetry")]
fn hex_bytes<const N: usize, const H: usize>(bytes: [u8; N]) -> [u8; H] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; H];
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[(b >> 4) as usize];
        out[2 * i + 1] = DIGITS[(b & 15) as usize];
    }
    out
}

/// Finds the trace a request belongs to. The tower layer calls it once per request.
pub trait TraceContextSource: Send + Sync + 'static {
    fn trace_context(&self, request: &RequestHead<'_>) -> Option<TraceContext>;
}

impl<F> TraceContextSource for F
where
    F: Fn(&RequestHead<'_>) -> Option<TraceContext> + Send + Sync + 'static,
{
    fn trace_context(&self, request: &RequestHead<'_>) -> Option<TraceContext> {
        self(request)
    }
}

/// The W3C `traceparent` request header; by default only sampled traces, since an exemplar
/// pointing at a trace the backend never stored is a dead link.
#[derive(Debug, Clone, Copy)]
pub struct Traceparent {
    pub sampled_only: bool,
}

impl Default for Traceparent {
    fn default() -> Self {
        Traceparent { sampled_only: true }
    }
}

impl TraceContextSource for Traceparent {
    fn trace_context(&self, request: &RequestHead<'_>) -> Option<TraceContext> {
        // A `HeaderName` constant skips parsing and lower-casing the name on every request.
        const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
        let value = request.headers.get(TRACEPARENT)?.to_str().ok()?;
        let (ctx, sampled) = TraceContext::from_traceparent(value)?;
        (sampled || !self.sampled_only).then_some(ctx)
    }
}

/// The active OpenTelemetry span: the `opentelemetry::Context` in the request's extensions
/// (where OpenTelemetry HTTP middleware leaves it), else the context current when the layer
/// is called (an outer layer that attached its server span), else the fallback (by default
/// the `traceparent` header). The layer's default with the `opentelemetry` feature.
#[cfg(feature = "opentelemetry")]
#[derive(Debug, Clone, Copy)]
pub struct OpenTelemetrySpan {
    /// Only spans whose trace is sampled (the backend has them).
    pub sampled_only: bool,
    pub fallback: Option<Traceparent>,
}

#[cfg(feature = "opentelemetry")]
impl Default for OpenTelemetrySpan {
    fn default() -> Self {
        OpenTelemetrySpan {
            sampled_only: true,
            fallback: Some(Traceparent::default()),
        }
    }
}

#[cfg(feature = "opentelemetry")]
impl OpenTelemetrySpan {
    fn of(&self, cx: &opentelemetry::Context) -> Option<TraceContext> {
        use opentelemetry::trace::TraceContextExt;
        let span = cx.span();
        let sc = span.span_context();
        if self.sampled_only && !sc.is_sampled() {
            return None;
        }
        TraceContext::from_span_context(sc)
    }
}

#[cfg(feature = "opentelemetry")]
impl TraceContextSource for OpenTelemetrySpan {
    fn trace_context(&self, request: &RequestHead<'_>) -> Option<TraceContext> {
        request
            .extensions
            .get::<opentelemetry::Context>()
            .and_then(|cx| self.of(cx))
            .or_else(|| opentelemetry::Context::map_current(|cx| self.of(cx)))
            .or_else(|| self.fallback.and_then(|f| f.trace_context(request)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const S: &str = "00f067aa0ba902b7";

    #[test]
    fn parses_valid_traceparent() {
        let (c, sampled) = TraceContext::from_traceparent(&format!("00-{T}-{S}-01")).unwrap();
        assert!(sampled);
        assert_eq!(c.trace_id(), T);
        assert_eq!(c.span_id(), S);
        let (_, sampled) = TraceContext::from_traceparent(&format!("00-{T}-{S}-00")).unwrap();
        assert!(!sampled);
        // A future version may carry more fields.
        assert!(TraceContext::from_traceparent(&format!("01-{T}-{S}-01-extra")).is_some());
    }

    #[test]
    fn rejects_malformed_traceparent() {
        for bad in [
            String::new(),
            format!("ff-{T}-{S}-01"),
            format!("00-{T}-{S}-01-extra"),
            format!("00-{}-{S}-01", "0".repeat(32)),
            format!("00-{T}-{}-01", "0".repeat(16)),
            format!("00-{}-{S}-01", T.to_uppercase()),
            format!("00-{T}-{S}-1"),
            format!("00-{T}-{S}-zz"),
            format!("00-{}-{S}-01", &T[..31]),
            format!("0-{T}-{S}-01"),
        ] {
            assert!(TraceContext::from_traceparent(&bad).is_none(), "{bad}");
        }
    }
}
