//! The two OTLP transports. Both run on the exporter's own sender thread, so they may block
//! it (for at most the request timeout), never the instrumented program.

use footmetrics::push::{ClientOptions, HttpClient, Pem, PushError};
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

/// OTLP/HTTP with a binary protobuf body, over the core's blocking HTTP(S) client (`ureq`
/// with rustls; `options` carry the CA, client certificate and headers).
pub struct HttpTransport {
    url: String,
    client: HttpClient,
    headers: Vec<(String, String)>,
}

impl HttpTransport {
    pub fn new(url: String, options: ClientOptions, timeout: Duration) -> Result<Self, String> {
        Ok(HttpTransport {
            url,
            client: HttpClient::new(options, timeout).map_err(|e| e.to_string())?,
            headers: vec![("Content-Type".into(), "application/x-protobuf".into())],
        })
    }
}

/// Statuses the OTLP/HTTP specification says to retry.
fn http_retryable(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

impl Transport for HttpTransport {
    fn send(&mut self, request: &ExportMetricsServiceRequest) -> Result<Accepted, SendError> {
        let body = request.encode_to_vec();
        let r = self
            .client
            .exchange(&self.url, "POST", &self.headers, &body, 1 << 20)
            .map_err(|e| match e {
                PushError::InvalidArgument(m) => SendError {
                    message: m,
                    retryable: false,
                    retry_after: None,
                },
                // An untrusted certificate stays untrusted: not worth retrying.
                PushError::Tls(m) => SendError {
                    message: format!("TLS: {m}"),
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
            let resp = ExportMetricsServiceResponse::decode(r.body.as_slice()).unwrap_or_default();
            return Ok(accepted(&resp));
        }
        let body = &r.body;
        // Error bodies are a protobuf `Status`; its message is field 2. Plain text also occurs.
        let detail = String::from_utf8_lossy(body);
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
    /// `tls` (CA, client certificate and key) applies to an `https://` endpoint, which
    /// trusts the operating system's roots when no CA is given.
    pub fn new(
        endpoint: &str,
        headers: &[(String, String)],
        timeout: Duration,
        tls: &ClientOptions,
    ) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("starting the gRPC runtime: {e}"))?;
        let https = endpoint.starts_with("https://");
        let mut endpoint = Endpoint::from_shared(endpoint.to_owned())
            .map_err(|e| format!("invalid gRPC endpoint {endpoint:?}: {e}"))?
            .connect_timeout(timeout)
            .timeout(timeout);
        if https {
            endpoint = endpoint
                .tls_config(grpc_tls(tls)?)
                .map_err(|e| format!("TLS for the gRPC endpoint: {e}"))?;
        }
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

fn read_pem(pem: &Pem, what: &str) -> Result<Vec<u8>, String> {
    match pem {
        Pem::Inline(b) => Ok(b.clone()),
        Pem::File(p) => {
            std::fs::read(p).map_err(|e| format!("reading the {what} {}: {e}", p.display()))
        }
    }
}

fn grpc_tls(tls: &ClientOptions) -> Result<tonic::transport::ClientTlsConfig, String> {
    use tonic::transport::{Certificate, ClientTlsConfig, Identity};
    let mut config = ClientTlsConfig::new();
    config = match &tls.ca {
        Some(ca) => config.ca_certificate(Certificate::from_pem(read_pem(ca, "CA file")?)),
        None => config.with_native_roots(),
    };
    match (&tls.client_cert, &tls.client_key) {
        (Some(cert), Some(key)) => {
            config = config.identity(Identity::from_pem(
                read_pem(cert, "client certificate")?,
                read_pem(key, "client key")?,
            ))
        }
        (None, None) => {}
        _ => return Err("a client certificate and its key go together".into()),
    }
    Ok(config)
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
