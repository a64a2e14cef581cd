//! A small OTLP metrics receiver for tests: OTLP/HTTP (protobuf) and OTLP/gRPC on two
//! 127.0.0.1 ports, decoding every `ExportMetricsServiceRequest` with `opentelemetry-proto`
//! so tests can assert names, values, buckets and attributes exactly. It can be told to
//! answer slowly or with an error status, to play a collector in trouble.
//!
//! In-process for Rust tests ([`OtlpSink::start`]); as the `otlp-sink` binary for the
//! Python, Node and Go tests, which read `GET /received` (JSON) and steer it with
//! `POST /behaviour?status=503&delay_ms=0&retry_after=1`.
//!
//! With [`SinkTls`] ([`OtlpSink::start_tls`], `otlp-sink --tls DIR [--mtls]`) both ports
//! speak TLS (rustls) with a server certificate from a [`TestPki`], optionally demanding a
//! client certificate signed by its CA; the control endpoints are then on HTTPS too.

use crate::tls::TestPki;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    metrics_service_server::{MetricsService, MetricsServiceServer},
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    exemplar, metric::Data, number_data_point, AggregationTemporality, Exemplar,
};
use prost::Message;
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the sink answers.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// HTTP status to answer with (0 or 200: accept). gRPC maps 503 to UNAVAILABLE, 429 to
    /// RESOURCE_EXHAUSTED, other 4xx to INVALID_ARGUMENT, other 5xx to INTERNAL.
    pub status: u16,
    /// Wait this long before answering.
    pub delay: Duration,
    /// `Retry-After` seconds on HTTP error answers.
    pub retry_after: Option<u64>,
}

#[derive(Default)]
struct Inner {
    requests: Vec<ExportMetricsServiceRequest>,
    /// The `authorization` header (HTTP) or metadata (gRPC) of each accepted request.
    authorizations: Vec<Option<String>>,
    /// Attempts answered with an error.
    refused: u64,
    behaviour: Behaviour,
}

#[derive(Clone, Default)]
struct Store(Arc<Mutex<Inner>>);

impl Store {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies the behaviour; `Ok` records the request.
    async fn handle(
        &self,
        req: ExportMetricsServiceRequest,
        authorization: Option<String>,
    ) -> Result<(), (u16, Option<u64>)> {
        let b = self.lock().behaviour.clone();
        if !b.delay.is_zero() {
            tokio::time::sleep(b.delay).await;
        }
        let mut inner = self.lock();
        if b.status != 0 && b.status != 200 {
            inner.refused += 1;
            return Err((b.status, b.retry_after));
        }
        inner.requests.push(req);
        inner.authorizations.push(authorization);
        Ok(())
    }
}

struct Grpc(Store);

#[tonic::async_trait]
impl MetricsService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let authorization = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match self.0.handle(request.into_inner(), authorization).await {
            Ok(()) => Ok(tonic::Response::new(ExportMetricsServiceResponse::default())),
            Err((status, _)) => {
                let code = match status {
                    503 => tonic::Code::Unavailable,
                    429 => tonic::Code::ResourceExhausted,
                    400..=499 => tonic::Code::InvalidArgument,
                    _ => tonic::Code::Internal,
                };
                Err(tonic::Status::new(
                    code,
                    format!("sink told to answer {status}"),
                ))
            }
        }
    }
}

/// A running sink. Dropping it stops the servers.
pub struct OtlpSink {
    pub http_port: u16,
    pub grpc_port: u16,
    store: Store,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find_map(|(k, v)| (k == key).then_some(v))
}

async fn http_export(
    axum::extract::State(store): axum::extract::State<Store>,
    headers: http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let req = match ExportMetricsServiceRequest::decode(body.as_ref()) {
        Ok(r) => r,
        Err(e) => {
            return (http::StatusCode::BAD_REQUEST, format!("bad protobuf: {e}")).into_response()
        }
    };
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match store.handle(req, authorization).await {
        Ok(()) => (
            [("content-type", "application/x-protobuf")],
            ExportMetricsServiceResponse::default().encode_to_vec(),
        )
            .into_response(),
        Err((status, retry_after)) => {
            let mut r = (
                http::StatusCode::from_u16(status)
                    .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
                format!("sink told to answer {status}"),
            )
                .into_response();
            if let Some(s) = retry_after {
                r.headers_mut()
                    .insert("retry-after", http::HeaderValue::from(s));
            }
            r
        }
    }
}

/// TLS for the sink's two ports.
#[derive(Debug, Clone)]
pub struct SinkTls {
    pub pki: TestPki,
    /// Refuse clients without a certificate signed by the PKI's CA.
    pub require_client_cert: bool,
}

fn rustls_server_config(tls: &SinkTls) -> Arc<tokio_rustls::rustls::ServerConfig> {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&tls.pki.server_cert)
        .and_then(|i| i.collect())
        .expect("server certificate");
    let key = PrivateKeyDer::from_pem_file(&tls.pki.server_key).expect("server key");
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("TLS versions");
    let builder = if tls.require_client_cert {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(&tls.pki.ca).expect("CA") {
            roots.add(c.expect("CA certificate")).expect("CA root");
        }
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("client verifier");
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .expect("server certificate and key");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// Serves `app` over TLS on `listener` until the task is dropped.
async fn serve_tls(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    config: Arc<tokio_rustls::rustls::ServerConfig>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            // A refused handshake (wrong CA on the client, no client certificate) just
            // closes this connection.
            let Ok(stream) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper_util::service::TowerToHyperService::new(app);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

impl OtlpSink {
    pub fn start() -> OtlpSink {
        Self::start_on(0, 0)
    }

    /// Both ports over TLS (see [`SinkTls`]).
    pub fn start_tls(tls: SinkTls) -> OtlpSink {
        Self::start_with(0, 0, Some(tls))
    }

    /// On given ports (0: any), e.g. to bring a collector "back" where an exporter points.
    pub fn start_on(http_port: u16, grpc_port: u16) -> OtlpSink {
        Self::start_with(http_port, grpc_port, None)
    }

    /// On given ports (0: any), with TLS when `tls` is given.
    pub fn start_with(http_port: u16, grpc_port: u16, tls: Option<SinkTls>) -> OtlpSink {
        let store = Store::default();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (ports_tx, ports_rx) = std::sync::mpsc::channel();
        let s = store.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("sink runtime");
            rt.block_on(async move {
                let http_l = tokio::net::TcpListener::bind(("127.0.0.1", http_port))
                    .await
                    .expect("bind the sink's HTTP port");
                let grpc_l = tokio::net::TcpListener::bind(("127.0.0.1", grpc_port))
                    .await
                    .expect("bind the sink's gRPC port");
                let ports = (
                    http_l.local_addr().unwrap().port(),
                    grpc_l.local_addr().unwrap().port(),
                );
                let control = s.clone();
                let app = axum::Router::new()
                    .route("/v1/metrics", axum::routing::post(http_export))
                    .route(
                        "/received",
                        axum::routing::get(
                            |axum::extract::State(st): axum::extract::State<Store>| async move {
                                axum::Json(received_json(&st))
                            },
                        )
                        .delete(
                            |axum::extract::State(st): axum::extract::State<Store>| async move {
                                let mut inner = st.lock();
                                inner.requests.clear();
                                inner.authorizations.clear();
                                "cleared"
                            },
                        ),
                    )
                    .route(
                        "/behaviour",
                        axum::routing::post(move |uri: http::Uri| async move {
                            let q = uri.query().unwrap_or("");
                            let b = Behaviour {
                                status: query_param(q, "status")
                                    .and_then(|v| v.parse().ok())
                                    .unwrap_or(0),
                                delay: Duration::from_millis(
                                    query_param(q, "delay_ms")
                                        .and_then(|v| v.parse().ok())
                                        .unwrap_or(0),
                                ),
                                retry_after: query_param(q, "retry_after")
                                    .and_then(|v| v.parse().ok()),
                            };
                            control.lock().behaviour = b;
                            "ok"
                        }),
                    )
                    .with_state(s.clone());
                let mut server = tonic::transport::Server::builder();
                if let Some(t) = &tls {
                    use tonic::transport::{Certificate, Identity, ServerTlsConfig};
                    let read = |p: &std::path::Path| std::fs::read(p).expect("read PEM");
                    let mut config = ServerTlsConfig::new().identity(Identity::from_pem(
                        read(&t.pki.server_cert),
                        read(&t.pki.server_key),
                    ));
                    if t.require_client_cert {
                        config = config.client_ca_root(Certificate::from_pem(read(&t.pki.ca)));
                    }
                    server = server.tls_config(config).expect("gRPC TLS");
                }
                let grpc = server
                    .add_service(
                        // Collectors compress by default (rotel always does).
                        MetricsServiceServer::new(Grpc(s))
                            .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
                    )
                    .serve_with_incoming(tonic::transport::server::TcpIncoming::from(grpc_l));
                ports_tx.send(ports).expect("report ports");
                let http: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> =
                    match &tls {
                        None => Box::pin(async move {
                            let _ = axum::serve(http_l, app).await;
                        }),
                        Some(t) => Box::pin(serve_tls(http_l, app, rustls_server_config(t))),
                    };
                tokio::select! {
                    _ = http => {}
                    _ = grpc => {}
                    _ = rx => {}
                }
            });
        });
        let (http_port, grpc_port) = ports_rx.recv().expect("sink started");
        OtlpSink {
            http_port,
            grpc_port,
            store,
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn set_behaviour(&self, b: Behaviour) {
        self.store.lock().behaviour = b;
    }

    /// Every request accepted so far.
    pub fn requests(&self) -> Vec<ExportMetricsServiceRequest> {
        self.store.lock().requests.clone()
    }

    /// The `authorization` header or metadata of each accepted request, in order.
    pub fn authorizations(&self) -> Vec<Option<String>> {
        self.store.lock().authorizations.clone()
    }

    /// Attempts answered with an error status.
    pub fn refused(&self) -> u64 {
        self.store.lock().refused
    }

    /// What `GET /received` answers.
    pub fn received_json(&self) -> Value {
        received_json(&self.store)
    }

    /// Waits up to `timeout` for `done` to hold on the accepted requests.
    pub fn wait_for(
        &self,
        timeout: Duration,
        done: impl Fn(&[ExportMetricsServiceRequest]) -> bool,
    ) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if done(&self.store.lock().requests) {
                return true;
            }
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for OtlpSink {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn attrs_json(attrs: &[KeyValue]) -> Value {
    let mut m = Map::new();
    for kv in attrs {
        let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => json!(s),
            Some(any_value::Value::IntValue(i)) => json!(i),
            Some(any_value::Value::DoubleValue(d)) => json!(d),
            Some(any_value::Value::BoolValue(b)) => json!(b),
            other => json!(format!("{other:?}")),
        };
        m.insert(kv.key.clone(), v);
    }
    Value::Object(m)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn exemplars_json(ex: &[Exemplar]) -> Value {
    ex.iter()
        .map(|e| {
            json!({
                "trace_id": hex(&e.trace_id),
                "span_id": hex(&e.span_id),
                "value": match e.value {
                    Some(exemplar::Value::AsDouble(d)) => json!(d),
                    Some(exemplar::Value::AsInt(i)) => json!(i),
                    None => Value::Null,
                },
                "attributes": attrs_json(&e.filtered_attributes),
            })
        })
        .collect()
}

fn temporality(t: i32) -> &'static str {
    if t == AggregationTemporality::Cumulative as i32 {
        "cumulative"
    } else if t == AggregationTemporality::Delta as i32 {
        "delta"
    } else {
        "unspecified"
    }
}

/// Every data point of `req`, one JSON object each, with its metric and resource.
pub fn flatten(req: &ExportMetricsServiceRequest) -> Vec<Value> {
    let mut out = Vec::new();
    for rm in &req.resource_metrics {
        let resource = attrs_json(
            rm.resource
                .as_ref()
                .map(|r| &r.attributes[..])
                .unwrap_or(&[]),
        );
        for sm in &rm.scope_metrics {
            let scope = sm
                .scope
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            for m in &sm.metrics {
                let base = |kind: &str| {
                    json!({
                        "name": m.name, "description": m.description, "unit": m.unit,
                        "type": kind, "resource": resource, "scope": scope,
                    })
                };
                let mut push = |mut v: Value, extra: Value| {
                    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
                        o.extend(e);
                    }
                    out.push(v);
                };
                let number = |p: &opentelemetry_proto::tonic::metrics::v1::NumberDataPoint| {
                    json!({
                        "attributes": attrs_json(&p.attributes),
                        "value": match p.value {
                            Some(number_data_point::Value::AsDouble(d)) => json!(d),
                            Some(number_data_point::Value::AsInt(i)) => json!(i),
                            None => Value::Null,
                        },
                        "start_time_unix_nano": p.start_time_unix_nano,
                        "time_unix_nano": p.time_unix_nano,
                        "exemplars": exemplars_json(&p.exemplars),
                    })
                };
                match &m.data {
                    Some(Data::Sum(s)) => {
                        for p in &s.data_points {
                            let mut v = base("sum");
                            v["monotonic"] = json!(s.is_monotonic);
                            v["temporality"] = json!(temporality(s.aggregation_temporality));
                            push(v, number(p));
                        }
                    }
                    Some(Data::Gauge(g)) => {
                        for p in &g.data_points {
                            push(base("gauge"), number(p));
                        }
                    }
                    Some(Data::Histogram(h)) => {
                        for p in &h.data_points {
                            let mut v = base("histogram");
                            v["temporality"] = json!(temporality(h.aggregation_temporality));
                            push(
                                v,
                                json!({
                                    "attributes": attrs_json(&p.attributes),
                                    "count": p.count, "sum": p.sum,
                                    "bounds": p.explicit_bounds, "bucket_counts": p.bucket_counts,
                                    "start_time_unix_nano": p.start_time_unix_nano,
                                    "time_unix_nano": p.time_unix_nano,
                                    "exemplars": exemplars_json(&p.exemplars),
                                }),
                            );
                        }
                    }
                    Some(Data::ExponentialHistogram(h)) => {
                        let buckets = |b: &Option<
                            opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets,
                        >| {
                            b.as_ref().map_or(
                                json!({"offset": 0, "bucket_counts": []}),
                                |b| json!({"offset": b.offset, "bucket_counts": b.bucket_counts}),
                            )
                        };
                        for p in &h.data_points {
                            let mut v = base("exponential_histogram");
                            v["temporality"] = json!(temporality(h.aggregation_temporality));
                            push(
                                v,
                                json!({
                                    "attributes": attrs_json(&p.attributes),
                                    "count": p.count, "sum": p.sum, "scale": p.scale,
                                    "zero_count": p.zero_count, "zero_threshold": p.zero_threshold,
                                    "positive": buckets(&p.positive),
                                    "negative": buckets(&p.negative),
                                    "start_time_unix_nano": p.start_time_unix_nano,
                                    "time_unix_nano": p.time_unix_nano,
                                    "exemplars": exemplars_json(&p.exemplars),
                                }),
                            );
                        }
                    }
                    Some(Data::Summary(s)) => {
                        for p in &s.data_points {
                            let q: Vec<Value> = p
                                .quantile_values
                                .iter()
                                .map(|q| json!([q.quantile, q.value]))
                                .collect();
                            push(
                                base("summary"),
                                json!({
                                    "attributes": attrs_json(&p.attributes),
                                    "count": p.count, "sum": p.sum, "quantiles": q,
                                }),
                            );
                        }
                    }
                    other => push(base("other"), json!({ "data": format!("{other:?}") })),
                }
            }
        }
    }
    out
}

fn received_json(store: &Store) -> Value {
    let inner = store.lock();
    let points: Vec<Value> = inner.requests.iter().flat_map(flatten).collect();
    json!({
        "requests": inner.requests.len(),
        "refused": inner.refused,
        "points": points,
        "authorizations": inner.authorizations,
    })
}

/// A real OpenTelemetry collector: `rotel-agent` from the PyPI package `rotel` (installed in
/// the venv by `make deps`), receiving OTLP/gRPC and OTLP/HTTP on two free ports and
/// forwarding metrics over OTLP/gRPC to `forward_grpc_port`. Stopped by PID on drop.
pub struct Rotel {
    pub grpc_port: u16,
    pub http_port: u16,
    child: std::process::Child,
    dir: std::path::PathBuf,
}

/// Where `rotel-agent` is: `$FOOTMETRICS_ROTEL`, or next to the venv's `rotel` package.
pub fn rotel_agent() -> String {
    if let Ok(p) = std::env::var("FOOTMETRICS_ROTEL") {
        return p;
    }
    let out = std::process::Command::new(crate::python())
        .args([
            "-c",
            "import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), 'rotel-agent'))",
        ])
        .output()
        .expect("python is required to find rotel-agent");
    assert!(
        out.status.success(),
        "rotel is required for this test (run `make deps`): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

impl Rotel {
    pub fn start(forward_grpc_port: u16) -> Rotel {
        let (grpc_port, http_port) = (crate::free_port(), crate::free_port());
        let dir = std::env::temp_dir().join(format!("footmetrics-rotel-{grpc_port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let log = std::fs::File::create(dir.join("rotel.log")).unwrap();
        let child = std::process::Command::new(rotel_agent())
            .arg("start")
            .args(["--otlp-grpc-endpoint", &format!("127.0.0.1:{grpc_port}")])
            .args(["--otlp-http-endpoint", &format!("127.0.0.1:{http_port}")])
            .args(["--exporter", "otlp"])
            .args([
                "--otlp-exporter-endpoint",
                &format!("http://127.0.0.1:{forward_grpc_port}"),
            ])
            .args(["--otlp-exporter-protocol", "grpc"])
            .args(["--batch-timeout", "100ms"])
            .arg("--pid-file")
            .arg(dir.join("rotel.pid"))
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start rotel-agent");
        let r = Rotel {
            grpc_port,
            http_port,
            child,
            dir,
        };
        for port in [grpc_port, http_port] {
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "rotel-agent did not listen on {port}: {}",
                    r.log()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        r
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("rotel.log")).unwrap_or_default()
    }
}

impl Drop for Rotel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
