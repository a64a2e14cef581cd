//! The two OTLP transports. Both run on the exporter's own sender thread, so they may block
//! it (for at most the request timeout), never the instrumented program.

use footmetrics::push::{self, PushError};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    metrics_service_client::MetricsServiceClient, ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
};
use prost::Message;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};

/// Why one attempt failed, and whether trying again may help.
#[derive(Debug, Clone, PartialEq)]
pub struct SendError {
    pub message: String,
    pub retryable: bool,
    /// How long the collector asked us to wait (`Retry-After`), if it did.
    pub retry_after: Option<Duration>,
}

impl SendError {
    fn retryable(message: String) -> Self {
        SendError {
            message,
            retryable: true,
            retry_after: None,
        }
    }
}

/// What a successful export reported: data points the collector accepted the request but
/// refused (OTLP partial success).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Accepted {
    pub rejected_points: u64,
}

fn accepted(resp: &ExportMetricsServiceResponse) -> Accepted {
    Accepted {
        rejected_points: resp
            .partial_success
            .as_ref()
            .map(|p| p.rejected_data_points.max(0) as u64)
            .unwrap_or(0),
    }
}

pub trait Transport: Send {
    fn send(&mut self, request: &ExportMetricsServiceRequest) -> Result<Accepted, SendError>;
}

/// OTLP/HTTP with a binary protobuf body, over the core's blocking HTTP/1.1 client.
pub struct HttpTransport {
    url: String,
    headers: Vec<(String, String)>,
    timeout: Duration,
}

impl HttpTransport {
    pub fn new(url: String, mut headers: Vec<(String, String)>, timeout: Duration) -> Self {
        headers.push(("Content-Type".into(), "application/x-protobuf".into()));
        HttpTransport {
            url,
            headers,
            timeout,
        }
    }
}

/// Statuses the OTLP/HTTP specification says to retry.
fn http_retryable(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

impl Transport for HttpTransport {
    fn send(&mut self, request: &ExportMetricsServiceRequest) -> Result<Accepted, SendError> {
        let body = request.encode_to_vec();
        let r = push::exchange(
            &self.url,
            "POST",
            &self.headers,
            &body,
            self.timeout,
            1 << 20,
        )
        .map_err(|e| match e {
            PushError::InvalidArgument(m) => SendError {
                message: m,
                retryable: false,
                retry_after: None,
            },
            PushError::Io(m) => SendError::retryable(m),
            PushError::Status { code, message } => {
                SendError::retryable(format!("{code} {message}"))
            }
        })?;
        if (200..300).contains(&r.status) {
            // An empty or unreadable body is a full success.
            let resp = r
                .body()
                .and_then(|b| ExportMetricsServiceResponse::decode(b.as_slice()).ok())
                .unwrap_or_default();
            return Ok(accepted(&resp));
        }
        let body = r.body().unwrap_or_default();
        // Error bodies are a protobuf `Status`; its message is field 2. Plain text also occurs.
        let detail = String::from_utf8_lossy(&body);
        let detail: String = detail
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        Err(SendError {
            message: format!("HTTP {} {} {}", r.status, r.reason, detail.trim())
                .trim_end()
                .to_owned(),
            retryable: http_retryable(r.status),
            retry_after: r
                .header("retry-after")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
        })
    }
}

/// OTLP/gRPC through tonic, on a single-threaded runtime owned by the sender thread.
pub struct GrpcTransport {
    runtime: tokio::runtime::Runtime,
    client: MetricsServiceClient<Channel>,
    headers: Vec<(
        tonic::metadata::AsciiMetadataKey,
        tonic::metadata::AsciiMetadataValue,
    )>,
    timeout: Duration,
}

impl GrpcTransport {
    pub fn new(
        endpoint: &str,
        headers: &[(String, String)],
        timeout: Duration,
    ) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("starting the gRPC runtime: {e}"))?;
        let endpoint = Endpoint::from_shared(endpoint.to_owned())
            .map_err(|e| format!("invalid gRPC endpoint {endpoint:?}: {e}"))?
            .connect_timeout(timeout)
            .timeout(timeout);
        // Lazy: an absent collector is found out by the first export, not by start-up.
        let channel = {
            let _guard = runtime.enter();
            endpoint.connect_lazy()
        };
        let headers = headers
            .iter()
            .map(|(k, v)| {
                let key = k
                    .to_ascii_lowercase()
                    .parse()
                    .map_err(|_| format!("invalid gRPC header name {k:?}"))?;
                let value = v
                    .parse()
                    .map_err(|_| format!("invalid gRPC header value for {k:?}"))?;
                Ok((key, value))
            })
            .collect::<Result<_, String>>()?;
        Ok(GrpcTransport {
            runtime,
            client: MetricsServiceClient::new(channel),
            headers,
            timeout,
        })
    }
}

/// Codes the OTLP/gRPC specification says to retry.
fn grpc_retryable(code: tonic::Code) -> bool {
    use tonic::Code::*;
    matches!(
        code,
        Cancelled
            | DeadlineExceeded
            | Aborted
            | OutOfRange
            | Unavailable
            | DataLoss
            | ResourceExhausted
    )
}

impl Transport for GrpcTransport {
    fn send(&mut self, request: &ExportMetricsServiceRequest) -> Result<Accepted, SendError> {
        let mut req = tonic::Request::new(request.clone());
        for (k, v) in &self.headers {
            req.metadata_mut().insert(k.clone(), v.clone());
        }
        let client = &mut self.client;
        let timeout = self.timeout;
        let result = self
            .runtime
            .block_on(async { tokio::time::timeout(timeout, client.export(req)).await });
        match result {
            Err(_) => Err(SendError::retryable(format!(
                "no answer within {timeout:?}"
            ))),
            Ok(Ok(resp)) => Ok(accepted(resp.get_ref())),
            Ok(Err(status)) => Err(SendError {
                message: format!("gRPC {:?}: {}", status.code(), status.message()),
                retryable: grpc_retryable(status.code()),
                retry_after: None,
            }),
        }
    }
}
