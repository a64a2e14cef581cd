//! Exporter settings, with the OpenTelemetry SDK's defaults and environment variables.

use crate::Error;
pub use footmetrics::push::Pem;
use std::str::FromStr;
use std::time::Duration;

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/HTTP, binary protobuf body, `POST <endpoint>/v1/metrics` (default port 4318).
    HttpProtobuf,
    /// OTLP/gRPC, `MetricsService/Export` (default port 4317).
    Grpc,
}

impl FromStr for Protocol {
    type Err = Error;

    /// The spellings of `OTEL_EXPORTER_OTLP_PROTOCOL`.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "http/protobuf" | "http" => Ok(Protocol::HttpProtobuf),
            "grpc" => Ok(Protocol::Grpc),
            other => Err(Error::InvalidConfig(format!(
                "unsupported OTLP protocol {other:?}: use \"http/protobuf\" or \"grpc\""
            ))),
        }
    }
}

/// Retry policy for retryable failures (connection errors, timeouts, HTTP 429/502/503/504,
/// gRPC UNAVAILABLE and the like).
#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Attempts per snapshot, the first included; then its points are dropped.
    pub max_attempts: u32,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(5),
            max_attempts: 5,
        }
    }
}

/// What to export where. `Config::new(endpoint)` has the SDK defaults: OTLP/HTTP, every
/// 60 s, 10 s request timeout, 8 queued snapshots.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `http://host:port` or `https://host:port` (a path ending in `/v1/metrics` is used as
    /// is; otherwise `/v1/metrics` is appended for OTLP/HTTP). Without a scheme: `http://`.
    pub endpoint: String,
    pub protocol: Protocol,
    pub interval: Duration,
    /// Collect every `interval` on the exporter's thread. Off when the caller schedules
    /// collections itself with `collect_now` (the Node binding does, to run JS `collect`
    /// callbacks first).
    pub periodic: bool,
    /// Labels added to every data point that lacks them (a binding's registry-wide default
    /// labels).
    pub default_labels: Vec<(String, String)>,
    /// Per request (connect included).
    pub timeout: Duration,
    /// Extra request headers (e.g. an API key, `Authorization`); gRPC metadata for gRPC.
    pub headers: Vec<(String, String)>,
    /// For `https://`: PEM certificate(s) to trust instead of the operating system's roots.
    pub ca: Option<Pem>,
    /// For `https://`: PEM client certificate (mutual TLS); needs `client_key`.
    pub client_cert: Option<Pem>,
    /// For `https://`: PEM private key of `client_cert`.
    pub client_key: Option<Pem>,
    /// Resource attributes; `service.name` defaults to `OTEL_SERVICE_NAME` or
    /// `unknown_service:<executable>`, and `OTEL_RESOURCE_ATTRIBUTES` is read too.
    pub resource: Vec<(String, String)>,
    /// The binding's language, reported as `telemetry.sdk.language`.
    pub sdk_language: String,
    pub max_queue_batches: usize,
    pub retry: Retry,
    /// How long dropping the exporter may spend flushing.
    pub shutdown_timeout: Duration,
    /// Register `footmetrics_otlp_*` counters in the exported registry.
    pub self_metrics: bool,
}

impl Config {
    pub fn new(endpoint: impl Into<String>) -> Self {
        Config {
            endpoint: endpoint.into(),
            protocol: Protocol::HttpProtobuf,
            interval: Duration::from_secs(60),
            periodic: true,
            default_labels: Vec::new(),
            timeout: Duration::from_secs(10),
            headers: Vec::new(),
            ca: None,
            client_cert: None,
            client_key: None,
            resource: Vec::new(),
            sdk_language: "rust".into(),
            max_queue_batches: 8,
            retry: Retry::default(),
            shutdown_timeout: Duration::from_secs(5),
            self_metrics: true,
        }
    }

    pub fn protocol(mut self, p: Protocol) -> Self {
        self.protocol = p;
        self
    }

    pub fn interval(mut self, d: Duration) -> Self {
        self.interval = d;
        self
    }

    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    pub fn header(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }

    /// Trusts the PEM certificate(s) in `path` instead of the system's roots (`https://`).
    pub fn ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.ca = Some(Pem::File(path.into()));
        self
    }

    /// Presents this PEM client certificate and key (mutual TLS).
    pub fn client_cert_files(
        mut self,
        cert: impl Into<std::path::PathBuf>,
        key: impl Into<std::path::PathBuf>,
    ) -> Self {
        self.client_cert = Some(Pem::File(cert.into()));
        self.client_key = Some(Pem::File(key.into()));
        self
    }

    /// Sends `Authorization: Bearer <token>`.
    pub fn bearer_token(self, token: impl AsRef<str>) -> Self {
        let v = format!("Bearer {}", token.as_ref());
        self.header("Authorization", v)
    }

    /// Sends HTTP basic authentication.
    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        let opts = footmetrics::push::ClientOptions::default().basic_auth(user, password);
        match opts.authorization() {
            Some(v) => self.header("Authorization", v),
            None => self,
        }
    }

    /// Sets a resource attribute (a later call for the same key replaces the value).
    pub fn resource_attribute(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        let (k, v) = (k.into(), v.into());
        match self.resource.iter_mut().find(|(seen, _)| *seen == k) {
            Some(slot) => slot.1 = v,
            None => self.resource.push((k, v)),
        }
        self
    }

    pub fn service_name(self, name: impl Into<String>) -> Self {
        self.resource_attribute("service.name", name)
    }

    pub fn max_queue_batches(mut self, n: usize) -> Self {
        self.max_queue_batches = n;
        self
    }

    pub fn retry(mut self, r: Retry) -> Self {
        self.retry = r;
        self
    }

    pub fn shutdown_timeout(mut self, d: Duration) -> Self {
        self.shutdown_timeout = d;
        self
    }

    pub fn self_metrics(mut self, on: bool) -> Self {
        self.self_metrics = on;
        self
    }

    /// The OpenTelemetry SDK environment: `None` unless `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`
    /// or `OTEL_EXPORTER_OTLP_ENDPOINT` is set; then `OTEL_EXPORTER_OTLP_[METRICS_]PROTOCOL`,
    /// `OTEL_METRIC_EXPORT_INTERVAL` (ms), `OTEL_EXPORTER_OTLP_[METRICS_]TIMEOUT` (ms),
    /// `OTEL_EXPORTER_OTLP_[METRICS_]HEADERS` (`k=v,k=v`, values percent-decoded) and the
    /// PEM files `OTEL_EXPORTER_OTLP_[METRICS_]CERTIFICATE`, `…_CLIENT_CERTIFICATE` and
    /// `…_CLIENT_KEY` apply. Resource attributes come
    /// from the environment in any case.
    pub fn from_env() -> Option<Result<Config, Error>> {
        Self::from_vars(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
    }

    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Option<Result<Config, Error>> {
        let signal = |k: &str| {
            var(&format!("OTEL_EXPORTER_OTLP_METRICS_{k}"))
                .or_else(|| var(&format!("OTEL_EXPORTER_OTLP_{k}")))
        };
        let endpoint = signal("ENDPOINT")?;
        let millis = |name: &str, v: Option<String>| -> Result<Option<Duration>, Error> {
            v.map(|v| {
                v.trim()
                    .parse::<u64>()
                    .map(Duration::from_millis)
                    .map_err(|_| Error::InvalidConfig(format!("{name}={v:?} is not milliseconds")))
            })
            .transpose()
        };
        Some((|| {
            let mut c = Config::new(endpoint);
            if let Some(p) = signal("PROTOCOL") {
                c.protocol = p.trim().parse()?;
            }
            if let Some(d) = millis(
                "OTEL_METRIC_EXPORT_INTERVAL",
                var("OTEL_METRIC_EXPORT_INTERVAL"),
            )? {
                c.interval = d;
            }
            if let Some(d) = millis("OTEL_EXPORTER_OTLP_TIMEOUT", signal("TIMEOUT"))? {
                c.timeout = d;
            }
            for pair in signal("HEADERS").unwrap_or_default().split(',') {
                if let Some((k, v)) = pair.split_once('=') {
                    c.headers
                        .push((k.trim().to_owned(), percent_decode(v.trim())));
                }
            }
            let file = |k: &str| signal(k).map(|p| Pem::File(p.trim().into()));
            c.ca = file("CERTIFICATE");
            c.client_cert = file("CLIENT_CERTIFICATE");
            c.client_key = file("CLIENT_KEY");
            Ok(c)
        })())
    }

    /// Checks the settings and returns the URL requests go to.
    pub(crate) fn validated_endpoint(&self) -> Result<String, Error> {
        let bad = |m: String| Err(Error::InvalidConfig(m));
        let zero = |d: Duration| d.is_zero();
        if zero(self.interval) {
            return bad("interval must be positive".into());
        }
        if zero(self.timeout) {
            return bad("timeout must be positive".into());
        }
        if self.max_queue_batches == 0 {
            return bad("max_queue_batches must be at least 1".into());
        }
        if self.retry.max_attempts == 0 {
            return bad("retry.max_attempts must be at least 1".into());
        }
        for (k, v) in self.headers.iter().chain(&self.resource) {
            if k.is_empty() || [k, v].iter().any(|s| s.contains(['\r', '\n', '\0'])) {
                return bad(format!(
                    "header and attribute names must be non-empty and neither names nor \
                     values may contain line breaks: {k:?}"
                ));
            }
        }
        if self.client_cert.is_some() != self.client_key.is_some() {
            return bad(
                "a client certificate and its key go together: give both or neither".into(),
            );
        }
        let endpoint = self.endpoint.trim();
        let url = if endpoint.starts_with("https://") || endpoint.starts_with("http://") {
            endpoint.to_owned()
        } else if endpoint.contains("://") {
            return bad(format!(
                "{endpoint:?}: the endpoint must be an http:// or https:// URL"
            ));
        } else {
            format!("http://{endpoint}")
        };
        let authority = url
            .split("://")
            .nth(1)
            .unwrap_or("")
            .split('/')
            .next()
            .unwrap_or("");
        if authority.is_empty() {
            return bad(format!("{endpoint:?}: no host in the endpoint"));
        }
        Ok(match self.protocol {
            Protocol::Grpc => url,
            Protocol::HttpProtobuf if url.trim_end_matches('/').ends_with("/v1/metrics") => url,
            Protocol::HttpProtobuf => format!("{}/v1/metrics", url.trim_end_matches('/')),
        })
    }

    /// TLS and extra headers for the HTTP client.
    pub(crate) fn client_options(&self) -> footmetrics::push::ClientOptions {
        footmetrics::push::ClientOptions {
            ca: self.ca.clone(),
            client_cert: self.client_cert.clone(),
            client_key: self.client_key.clone(),
            headers: self.headers.clone(),
            ..Default::default()
        }
    }

    /// The resource: configured attributes first, then `OTEL_RESOURCE_ATTRIBUTES`, then
    /// defaults, each key once (the first wins).
    pub(crate) fn resource_attributes(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut add = |k: &str, v: &str| {
            if !out.iter().any(|(seen, _)| seen == k) {
                out.push((k.to_owned(), v.to_owned()));
            }
        };
        for (k, v) in &self.resource {
            add(k, v);
        }
        if let Ok(name) = std::env::var("OTEL_SERVICE_NAME") {
            if !name.is_empty() {
                add("service.name", &name);
            }
        }
        if let Ok(attrs) = std::env::var("OTEL_RESOURCE_ATTRIBUTES") {
            for pair in attrs.split(',') {
                if let Some((k, v)) = pair.split_once('=') {
                    if !k.trim().is_empty() {
                        add(k.trim(), v.trim());
                    }
                }
            }
        }
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        add("service.name", &format!("unknown_service:{exe}"));
        add("telemetry.sdk.name", "footmetrics");
        add("telemetry.sdk.language", &self.sdk_language);
        add("telemetry.sdk.version", env!("CARGO_PKG_VERSION"));
        out
    }
}

/// `%XX` escapes undone (the W3C baggage encoding OTEL_EXPORTER_OTLP_HEADERS uses); a
/// malformed escape is kept as written.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let http = |e: &str| Config::new(e).validated_endpoint();
        assert_eq!(
            http("127.0.0.1:4318").unwrap(),
            "http://127.0.0.1:4318/v1/metrics"
        );
        assert_eq!(http("http://c:4318/").unwrap(), "http://c:4318/v1/metrics");
        assert_eq!(
            http("http://c/otlp/v1/metrics").unwrap(),
            "http://c/otlp/v1/metrics"
        );
        let grpc = Config::new("c:4317").protocol(Protocol::Grpc);
        assert_eq!(grpc.validated_endpoint().unwrap(), "http://c:4317");
        assert_eq!(http("https://c:4318").unwrap(), "https://c:4318/v1/metrics");
        let half = Config::new("https://c").client_cert_files("c.pem", "");
        let half = Config {
            client_key: None,
            ..half
        };
        assert!(
            matches!(half.validated_endpoint(), Err(Error::InvalidConfig(m)) if m.contains("both"))
        );
        for bad in ["ftp://c", "http://", "https://", ""] {
            assert!(matches!(http(bad), Err(Error::InvalidConfig(_))), "{bad}");
        }
        let zero = Config::new("c:1").interval(Duration::ZERO);
        assert!(zero.validated_endpoint().is_err());
        assert!("udp".parse::<Protocol>().is_err());
    }

    #[test]
    fn environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(Config::from_vars(env(&[])).is_none());
        let c = Config::from_vars(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://metrics:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "15000"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "api-key=s3cret, tenant=ml,authorization=Basic%20dTpw",
            ),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/ca.pem"),
            (
                "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE",
                "/etc/c.pem",
            ),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/etc/k.pem"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(c.endpoint, "http://metrics:4317");
        assert_eq!(c.protocol, Protocol::Grpc);
        assert_eq!(c.interval, Duration::from_secs(15));
        assert_eq!(c.timeout, Duration::from_millis(2500));
        assert_eq!(
            c.headers,
            vec![
                ("api-key".into(), "s3cret".into()),
                ("tenant".into(), "ml".into()),
                ("authorization".into(), "Basic dTpw".into())
            ]
        );
        assert_eq!(c.ca, Some(Pem::File("/etc/ca.pem".into())));
        assert_eq!(c.client_cert, Some(Pem::File("/etc/c.pem".into())));
        assert_eq!(c.client_key, Some(Pem::File("/etc/k.pem".into())));
        assert_eq!(percent_decode("a%2Cb%zz%4"), "a,b%zz%4");
        let bad = Config::from_vars(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "soon"),
        ]));
        assert!(
            matches!(bad, Some(Err(Error::InvalidConfig(m))) if m.contains("OTEL_METRIC_EXPORT_INTERVAL"))
        );
    }

    #[test]
    fn resource_defaults_and_overrides() {
        let r = Config::new("c:1")
            .service_name("first")
            .service_name("gateway")
            .resource_attribute("deployment.environment", "prod")
            .resource_attributes();
        let get = |k: &str| r.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("service.name"), Some("gateway"));
        assert_eq!(get("deployment.environment"), Some("prod"));
        assert_eq!(get("telemetry.sdk.name"), Some("footmetrics"));
        assert_eq!(r.iter().filter(|(k, _)| k == "service.name").count(), 1);
    }
}
