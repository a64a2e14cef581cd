//! Which status code a request is recorded with. The `code` label feeds the platform's
//! availability SLO (`code!~"5.."`), so every classifier answers in HTTP status codes.

use http::{HeaderMap, StatusCode};
use std::fmt;

/// Recorded for a request whose response never started because the caller dropped it
/// (client gone, an outer timeout): nginx's "client closed request".
pub const CLIENT_CLOSED_REQUEST: u16 = 499;

/// Decides the status a request is recorded with, as tower-http's `ClassifyResponse` does.
pub trait Classify: Clone + Send + Sync + 'static {
    /// The status for a response head; `None` waits for the end of the body and its
    /// trailers (gRPC puts its status there).
    fn classify_response(&self, status: StatusCode, headers: &HeaderMap) -> Option<StatusCode>;

    /// The status once the body has ended, for responses whose head deferred.
    fn classify_end_of_stream(&self, trailers: Option<&HeaderMap>) -> StatusCode {
        let _ = trailers;
        StatusCode::OK
    }

    /// The status when the inner service (or the response body) fails instead of answering.
    fn classify_error(&self, error: &dyn fmt::Display) -> StatusCode {
        let _ = error;
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

/// HTTP: the response's status as it is; a service error is a 500.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatusClassifier;

impl Classify for StatusClassifier {
    fn classify_response(&self, status: StatusCode, _: &HeaderMap) -> Option<StatusCode> {
        Some(status)
    }
}

/// gRPC: the `grpc-status` of the head (trailers-only responses) or of the trailers, mapped
/// to the HTTP status the gRPC code corresponds to (`UNAVAILABLE` is 503, `NOT_FOUND` 404, ...),
/// so the HTTP SLO expressions hold for gRPC services too.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcClassifier;

impl GrpcClassifier {
    fn from_headers(headers: &HeaderMap) -> Option<StatusCode> {
        let code = headers
            .get("grpc-status")?
            .to_str()
            .ok()?
            .trim()
            .parse::<u32>()
            .ok()?;
        Some(grpc_to_http(code))
    }
}

impl Classify for GrpcClassifier {
    fn classify_response(&self, status: StatusCode, headers: &HeaderMap) -> Option<StatusCode> {
        if !status.is_success() {
            return Some(status);
        }
        // A trailers-only response carries grpc-status in the head.
        Self::from_headers(headers).map(Some).unwrap_or(None)
    }

    fn classify_end_of_stream(&self, trailers: Option<&HeaderMap>) -> StatusCode {
        // A gRPC response that ends without a status is broken: the client sees an error.
        trailers
            .and_then(Self::from_headers)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// The HTTP status equivalent to a gRPC status code (google.rpc.Code).
pub fn grpc_to_http(code: u32) -> StatusCode {
    let http = match code {
        0 => 200,  // OK
        1 => 499,  // CANCELLED
        2 => 500,  // UNKNOWN
        3 => 400,  // INVALID_ARGUMENT
        4 => 504,  // DEADLINE_EXCEEDED
        5 => 404,  // NOT_FOUND
        6 => 409,  // ALREADY_EXISTS
        7 => 403,  // PERMISSION_DENIED
        8 => 429,  // RESOURCE_EXHAUSTED
        9 => 400,  // FAILED_PRECONDITION
        10 => 409, // ABORTED
        11 => 400, // OUT_OF_RANGE
        12 => 501, // UNIMPLEMENTED
        13 => 500, // INTERNAL
        14 => 503, // UNAVAILABLE
        15 => 500, // DATA_LOSS
        16 => 401, // UNAUTHENTICATED
        _ => 500,
    };
    StatusCode::from_u16(http).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(status: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("grpc-status", status.parse().unwrap());
        h
    }

    #[test]
    fn grpc_status_in_head_or_trailers() {
        let c = GrpcClassifier;
        assert_eq!(c.classify_response(StatusCode::OK, &HeaderMap::new()), None);
        assert_eq!(
            c.classify_response(StatusCode::OK, &headers("14")),
            Some(StatusCode::SERVICE_UNAVAILABLE)
        );
        assert_eq!(
            c.classify_end_of_stream(Some(&headers("0"))),
            StatusCode::OK
        );
        assert_eq!(
            c.classify_end_of_stream(Some(&headers("5"))),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            c.classify_end_of_stream(None),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            c.classify_end_of_stream(Some(&headers("garbage"))),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
