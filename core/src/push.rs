//! Pushgateway client: `push` (PUT, replaces the group), `pushadd` (POST, replaces only the
//! pushed families) and `delete` (DELETE, drops the group), for batch jobs that end before a
//! scrape. Blocking HTTP/1.1 through `ureq` (rustls for `https://`, with the operating
//! system's root certificates or a given CA, optional client certificate) with one deadline
//! for the whole exchange; no async runtime, so bindings can call it from any thread (with
//! their interpreter's lock released). The same client carries OTLP/HTTP exports.

use crate::encode::Format;
use crate::registry::Registry;
use crate::validate;
use std::fmt;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Why a push failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushError {
    /// A bad gateway address, job name or grouping key: fix the call.
    InvalidArgument(String),
    /// The gateway could not be reached or did not answer in time.
    Io(String),
    /// The gateway answered with an error status.
    Status {
        /// The HTTP status code.
        code: u16,
        /// The reason phrase, then the first line of the body if there is one.
        message: String,
    },
    /// The TLS handshake failed: an untrusted or mismatched server certificate, a client
    /// certificate the server refused, or unreadable certificate/key files.
    Tls(String),
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::InvalidArgument(m) => write!(f, "{m}"),
            PushError::Io(m) => write!(f, "error talking to pushgateway: {m}"),
            PushError::Status { code, message } => {
                write!(f, "error talking to pushgateway: {code} {message}")
            }
            PushError::Tls(m) => write!(f, "TLS error talking to pushgateway: {m}"),
        }
    }
}

impl std::error::Error for PushError {}

/// The three Pushgateway operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushMethod {
    /// `PUT`: the group's metrics become exactly the pushed ones.
    Push,
    /// `POST`: pushed families replace their namesakes; the group's others stay.
    PushAdd,
    /// `DELETE`: the group is removed.
    Delete,
}

impl PushMethod {
    /// The HTTP method of the operation.
    pub fn http_method(self) -> &'static str {
        match self {
            PushMethod::Push => "PUT",
            PushMethod::PushAdd => "POST",
            PushMethod::Delete => "DELETE",
        }
    }
}

/// Pushes (or deletes) `registry`'s metrics to the group `job` + `grouping` at `gateway`
/// (`host:port`, `http://host:port[/prefix]` or `https://…`), with default
/// [`ClientOptions`] (no authentication; the system's roots for `https://`).
pub fn push<K: AsRef<str>, V: AsRef<str>>(
    registry: &Registry,
    gateway: &str,
    job: &str,
    grouping: &[(K, V)],
    method: PushMethod,
    timeout: Duration,
) -> Result<(), PushError> {
    push_with(
        registry,
        gateway,
        job,
        grouping,
        method,
        timeout,
        &ClientOptions::default(),
    )
}

/// [`push`] with TLS and authentication options.
pub fn push_with<K: AsRef<str>, V: AsRef<str>>(
    registry: &Registry,
    gateway: &str,
    job: &str,
    grouping: &[(K, V)],
    method: PushMethod,
    timeout: Duration,
    options: &ClientOptions,
) -> Result<(), PushError> {
    let url = group_url(gateway, job, grouping)?;
    let body = match method {
        PushMethod::Delete => Vec::new(),
        _ => {
            let mut out = Vec::with_capacity(4096);
            registry.encode(Format::Text, &mut out);
            out
        }
    };
    // DELETE too carries the exposition's Content-Type (with an empty body), as
    // prometheus_client sends it; the Pushgateway ignores it there.
    let headers = [(
        "Content-Type".to_owned(),
        Format::Text.content_type().to_owned(),
    )];
    HttpClient::new(options.clone(), timeout)?.send(&url, method.http_method(), &headers, &body)
}

/// The URL of a group: `<gateway>/metrics/job/<job>{/<label>/<value>}`. Values that are
/// empty or contain `/` go base64url-encoded (`<label>@base64/<value>`), as the Pushgateway
/// API requires, and so do values with a space, as prometheus_client sends them (the gateway
/// reads either spelling as the same group); others are percent-encoded.
pub fn group_url<K: AsRef<str>, V: AsRef<str>>(
    gateway: &str,
    job: &str,
    grouping: &[(K, V)],
) -> Result<String, PushError> {
    if job.is_empty() {
        return Err(PushError::InvalidArgument(
            "job name must not be empty".into(),
        ));
    }
    let mut url = if gateway.contains("://") {
        gateway.to_owned()
    } else {
        format!("http://{gateway}")
    };
    while url.ends_with('/') {
        url.pop();
    }
    url.push_str("/metrics");
    path_segment(&mut url, "job", job);
    for (k, v) in grouping {
        let k = k.as_ref();
        if k == "job" {
            return Err(PushError::InvalidArgument(
                "grouping key must not contain \"job\": it is the job argument".into(),
            ));
        }
        validate::legacy_label_name(k)
            .map_err(|e| PushError::InvalidArgument(format!("invalid grouping key: {e}")))?;
        path_segment(&mut url, k, v.as_ref());
    }
    Ok(url)
}

fn path_segment(url: &mut String, key: &str, value: &str) {
    url.push('/');
    url.push_str(key);
    if value.is_empty() || value.contains(['/', ' ']) {
        url.push_str("@base64/");
        // An empty value is spelled `=`, the base64 padding alone, as the API specifies.
        if value.is_empty() {
            url.push('=');
        } else {
            base64url(url, value.as_bytes());
        }
    } else {
        url.push('/');
        for b in value.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                url.push(b as char);
            } else {
                url.push_str(&format!("%{b:02X}"));
            }
        }
    }
}

fn base64url(out: &mut String, bytes: &[u8]) {
    base64_with(
        out,
        bytes,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    )
}

/// Standard base64 (RFC 4648 section 4), as HTTP basic authentication uses it.
fn base64_std(out: &mut String, bytes: &[u8]) {
    base64_with(
        out,
        bytes,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    )
}

fn base64_with(out: &mut String, bytes: &[u8], alphabet: &[u8; 64]) {
    for chunk in bytes.chunks(3) {
        let n = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
}

/// PEM data: a file to read when a connection needs it, or the text itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pem {
    /// A PEM file, read when a connection needs it.
    File(PathBuf),
    /// The PEM text itself.
    Inline(Vec<u8>),
}

impl Pem {
    fn load(&self, what: &str) -> Result<Vec<u8>, PushError> {
        match self {
            Pem::Inline(b) => Ok(b.clone()),
            Pem::File(p) => std::fs::read(p)
                .map_err(|e| PushError::Tls(format!("reading the {what} {}: {e}", p.display()))),
        }
    }
}

/// TLS and authentication for pushes (and for OTLP/HTTP exports). The default is what a
/// plain `http://` push needs; `https://` URLs then trust the operating system's root
/// certificates (read with `rustls-native-certs`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientOptions {
    /// PEM certificate(s) to trust instead of the system's roots (a private CA).
    pub ca: Option<Pem>,
    /// PEM client certificate chain for mutual TLS; needs `client_key`.
    pub client_cert: Option<Pem>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of `client_cert`.
    pub client_key: Option<Pem>,
    /// HTTP basic authentication: `(username, password)`.
    pub basic_auth: Option<(String, String)>,
    /// `Authorization: Bearer <token>`.
    pub bearer_token: Option<String>,
    /// More request headers, sent as given.
    pub headers: Vec<(String, String)>,
}

impl ClientOptions {
    /// Trusts the certificate(s) in the PEM file at `path` instead of the system's roots.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca = Some(Pem::File(path.into()));
        self
    }

    /// Mutual TLS: the client certificate chain and its private key, as PEM files.
    pub fn client_cert_files(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.client_cert = Some(Pem::File(cert.into()));
        self.client_key = Some(Pem::File(key.into()));
        self
    }

    /// HTTP basic authentication.
    pub fn basic_auth(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.basic_auth = Some((user.into(), password.into()));
        self
    }

    /// Sends `Authorization: Bearer <token>`.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }

    /// Adds a request header, sent as given.
    pub fn header(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }

    /// The `Authorization` value that `basic_auth` or `bearer_token` make, if any (basic
    /// wins when both are set; a request refuses that).
    pub fn authorization(&self) -> Option<String> {
        if let Some((user, password)) = &self.basic_auth {
            let mut v = String::from("Basic ");
            base64_std(&mut v, format!("{user}:{password}").as_bytes());
            return Some(v);
        }
        self.bearer_token.as_ref().map(|t| format!("Bearer {t}"))
    }

    /// The headers every request carries: authentication first, then `headers`.
    fn request_headers(&self) -> Result<Vec<(String, String)>, PushError> {
        let mut out = Vec::new();
        match (&self.basic_auth, &self.bearer_token) {
            (Some(_), Some(_)) => {
                return Err(PushError::InvalidArgument(
                    "give basic auth or a bearer token, not both".into(),
                ))
            }
            (Some((user, _)), None) if user.contains(':') => {
                return Err(PushError::InvalidArgument(
                    "a basic-auth username must not contain ':'".into(),
                ))
            }
            _ => {}
        }
        if let Some(v) = self.authorization() {
            out.push(("Authorization".to_owned(), v));
        }
        out.extend(self.headers.iter().cloned());
        Ok(out)
    }

    fn tls_config(&self, https: bool) -> Result<ureq::tls::TlsConfig, PushError> {
        use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};
        let builder = TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()));
        if !https {
            return Ok(builder.root_certs(RootCerts::new_with_certs(&[])).build());
        }
        let certs = |pem: &[u8], what: &str| -> Result<Vec<Certificate<'static>>, PushError> {
            let mut out = Vec::new();
            for item in ureq::tls::parse_pem(pem) {
                match item {
                    Ok(PemItem::Certificate(c)) => out.push(c),
                    Ok(_) => {}
                    Err(e) => return Err(PushError::Tls(format!("the {what} is not PEM: {e}"))),
                }
            }
            if out.is_empty() {
                return Err(PushError::Tls(format!("no certificate in the {what}")));
            }
            Ok(out)
        };
        let roots = match &self.ca {
            Some(ca) => certs(&ca.load("CA file")?, "CA file")?,
            None => {
                let found = rustls_native_certs::load_native_certs();
                if found.certs.is_empty() {
                    return Err(PushError::Tls(format!(
                        "no system root certificates could be read ({:?}); give a CA file",
                        found.errors
                    )));
                }
                found
                    .certs
                    .iter()
                    .map(|c| Certificate::from_der(c.as_ref()).to_owned())
                    .collect()
            }
        };
        let client = match (&self.client_cert, &self.client_key) {
            (None, None) => None,
            (Some(cert), Some(key)) => {
                let chain = certs(&cert.load("client certificate")?, "client certificate")?;
                let key = PrivateKey::from_pem(&key.load("client key")?)
                    .map_err(|e| PushError::Tls(format!("reading the client key: {e}")))?;
                Some(ClientCert::new_with_certs(&chain, key))
            }
            _ => {
                return Err(PushError::InvalidArgument(
                    "a client certificate and its key go together: give both or neither".into(),
                ))
            }
        };
        Ok(builder
            .root_certs(RootCerts::new_with_certs(&roots))
            .client_cert(client)
            .build())
    }
}

/// An HTTP response as [`HttpClient::exchange`] read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The status's reason phrase (`Not Found`).
    pub reason: String,
    pub(crate) headers: Vec<(String, String)>,
    /// The body, transfer encoding undone (empty when `truncated`).
    pub body: Vec<u8>,
    /// The body was over the size limit and was not read.
    pub truncated: bool,
}

impl HttpResponse {
    /// Header `name`'s value (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A blocking HTTP(S) client with fixed [`ClientOptions`] and a deadline per exchange. The
/// TLS set-up (roots, client certificate) is read on the first `https://` request and
/// reused; keep one client to send many requests.
pub struct HttpClient {
    options: ClientOptions,
    headers: Vec<(String, String)>,
    timeout: Duration,
    plain: OnceLock<ureq::Agent>,
    /// Built on the first `https://` request; a failure (an unreadable CA file) is not kept,
    /// so a later request reads the files again.
    tls: OnceLock<ureq::Agent>,
}

impl HttpClient {
    /// Checks the options (header syntax, auth) without reading any file yet.
    pub fn new(options: ClientOptions, timeout: Duration) -> Result<HttpClient, PushError> {
        let headers = options.request_headers()?;
        check_headers(&headers)?;
        Ok(HttpClient {
            options,
            headers,
            timeout,
            plain: OnceLock::new(),
            tls: OnceLock::new(),
        })
    }

    fn agent(&self, https: bool) -> Result<&ureq::Agent, PushError> {
        let build = |tls: ureq::tls::TlsConfig| {
            ureq::Agent::config_builder()
                .timeout_global(Some(self.timeout))
                .http_status_as_error(false)
                .max_redirects(0)
                // Only what the caller configured: no proxy from the environment.
                .proxy(None)
                .user_agent("footmetrics")
                .tls_config(tls)
                .build()
                .new_agent()
        };
        if https {
            if let Some(agent) = self.tls.get() {
                return Ok(agent);
            }
            let agent = build(self.options.tls_config(true)?);
            Ok(self.tls.get_or_init(|| agent))
        } else {
            let tls = self.options.tls_config(false)?;
            Ok(self.plain.get_or_init(|| build(tls)))
        }
    }

    /// One exchange with the client's deadline for all of it, reading at most `max_response`
    /// bytes of body. Any status is a response; only failing to get one is an error.
    pub fn exchange(
        &self,
        url: &str,
        method: &str,
        headers: &[(String, String)],
        body: &[u8],
        max_response: usize,
    ) -> Result<HttpResponse, PushError> {
        let https = if url.starts_with("https://") {
            true
        } else if url.starts_with("http://") {
            false
        } else {
            return Err(PushError::InvalidArgument(format!(
                "unsupported URL {url:?}: use http:// or https://"
            )));
        };
        let authority = url.split("://").nth(1).unwrap_or("").split('/').next();
        if authority.is_none_or(str::is_empty) {
            return Err(PushError::InvalidArgument(format!("no host in {url:?}")));
        }
        check_headers(headers)?;
        let mut request = ureq::http::Request::builder().method(method).uri(url);
        for (k, v) in self.headers.iter().chain(headers) {
            request = request.header(k.as_str(), v.as_str());
        }
        let request = request
            .body(body)
            .map_err(|e| PushError::InvalidArgument(format!("invalid request to {url:?}: {e}")))?;
        let mut response = self
            .agent(https)?
            .run(request)
            .map_err(|e| match error(e) {
                // A TLS server that refuses the client's certificate (or its absence) may
                // only show it by closing the connection while the request is written.
                PushError::Io(m) if https && (m.contains("Broken pipe") || m.contains("reset")) => {
                    PushError::Io(format!(
                        "{m}: the TLS server closed the connection (did it require a client \
                         certificate?)"
                    ))
                }
                e => e,
            })?;
        let status = response.status();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut data = Vec::new();
        let mut reader = response
            .body_mut()
            .with_config()
            .limit(max_response as u64 + 1)
            .reader();
        let truncated = match reader.read_to_end(&mut data) {
            Ok(_) => data.len() > max_response,
            Err(e) => {
                let e = ureq::Error::from(e);
                if matches!(e, ureq::Error::BodyExceedsLimit(_)) {
                    true
                } else {
                    return Err(error(e));
                }
            }
        };
        if truncated {
            data.clear();
        }
        Ok(HttpResponse {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("").to_owned(),
            headers,
            body: data,
            truncated,
        })
    }

    /// One exchange, as [`exchange`](Self::exchange). A 2xx status is success; anything
    /// else is [`PushError::Status`] with the body's first line.
    pub(crate) fn send(
        &self,
        url: &str,
        method: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<(), PushError> {
        // The status line and a bit of body are all a push needs.
        let r = self.exchange(url, method, headers, body, 64 * 1024)?;
        if (200..300).contains(&r.status) {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&r.body);
        let body_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        Err(PushError::Status {
            code: r.status,
            message: if body_line.is_empty() {
                r.reason
            } else {
                format!("{}: {}", r.reason, body_line.trim())
            },
        })
    }
}

fn check_headers(headers: &[(String, String)]) -> Result<(), PushError> {
    for (k, v) in headers {
        if k.is_empty() || [k, v].iter().any(|s| s.contains(['\r', '\n', '\0'])) {
            return Err(PushError::InvalidArgument(format!(
                "header names must be non-empty and names and values must not contain line \
                 breaks: {k:?}"
            )));
        }
    }
    Ok(())
}

/// The TLS error inside an I/O error, if that is what it is.
fn tls_cause(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<rustls::Error>() {
            return Some(t.to_string());
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(t) = inner.downcast_ref::<rustls::Error>() {
                    return Some(t.to_string());
                }
            }
        }
        cur = err.source();
    }
    None
}

fn error(e: ureq::Error) -> PushError {
    use ureq::Error as E;
    match e {
        E::Timeout(t) => PushError::Io(format!("timed out ({t})")),
        E::Rustls(t) => PushError::Tls(t.to_string()),
        E::Tls(m) => PushError::Tls(m.to_owned()),
        E::Pem(p) => PushError::Tls(format!("reading PEM: {p}")),
        E::BadUri(m) => PushError::InvalidArgument(format!("bad URL: {m}")),
        E::Http(h) => PushError::InvalidArgument(h.to_string()),
        E::Io(io) => match tls_cause(&io) {
            Some(t) => PushError::Tls(t),
            None => PushError::Io(io.to_string()),
        },
        E::HostNotFound => PushError::Io("host not found".into()),
        E::ConnectionFailed => PushError::Io("connection failed".into()),
        other => PushError::Io(other.to_string()),
    }
}

/// One exchange with default [`ClientOptions`]; see [`HttpClient::exchange`].
pub fn exchange(
    url: &str,
    method: &str,
    headers: &[(String, String)],
    body: &[u8],
    timeout: Duration,
    max_response: usize,
) -> Result<HttpResponse, PushError> {
    HttpClient::new(ClientOptions::default(), timeout)?.exchange(
        url,
        method,
        headers,
        body,
        max_response,
    )
}

/// One exchange with default [`ClientOptions`]: a 2xx status is success; anything else is
/// [`PushError::Status`] with the body's first line.
pub fn send(
    url: &str,
    method: &str,
    headers: &[(String, String)],
    body: &[u8],
    timeout: Duration,
) -> Result<(), PushError> {
    send_with(
        url,
        method,
        headers,
        body,
        timeout,
        &ClientOptions::default(),
    )
}

/// [`send`] with TLS and authentication options.
pub fn send_with(
    url: &str,
    method: &str,
    headers: &[(String, String)],
    body: &[u8],
    timeout: Duration,
    options: &ClientOptions,
) -> Result<(), PushError> {
    HttpClient::new(options.clone(), timeout)?.send(url, method, headers, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn group_urls() {
        let none: &[(&str, &str)] = &[];
        assert_eq!(
            group_url("localhost:9091", "batch", none).unwrap(),
            "http://localhost:9091/metrics/job/batch"
        );
        assert_eq!(
            group_url(
                "http://gw:1/prefix/",
                "a b",
                &[("path", "/x/y"), ("empty", ""), ("i", "é")]
            )
            .unwrap(),
            "http://gw:1/prefix/metrics/job@base64/YSBi/path@base64/L3gveQ==/empty@base64/=/i/%C3%A9"
        );
        assert_eq!(
            group_url(
                "gw:1",
                "j",
                &[("label", "value with spaces"), ("tab", "a\tb")]
            )
            .unwrap(),
            "http://gw:1/metrics/job/j/label@base64/dmFsdWUgd2l0aCBzcGFjZXM=/tab/a%09b"
        );
        assert!(matches!(
            group_url("gw:1", "", none),
            Err(PushError::InvalidArgument(_))
        ));
        assert!(matches!(
            group_url("gw:1", "j", &[("bad-key", "v")]),
            Err(PushError::InvalidArgument(m)) if m.contains("grouping key")
        ));
    }

    #[test]
    fn authentication_headers() {
        let h = ClientOptions::default()
            .basic_auth("Aladdin", "open sesame")
            .header("X-Tenant", "ml")
            .request_headers()
            .unwrap();
        assert_eq!(
            h,
            vec![
                (
                    "Authorization".into(),
                    "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==".into()
                ),
                ("X-Tenant".into(), "ml".into())
            ]
        );
        let bearer = ClientOptions::default()
            .bearer_token("t0k")
            .request_headers();
        assert_eq!(
            bearer.unwrap(),
            vec![("Authorization".into(), "Bearer t0k".into())]
        );
        let both = ClientOptions::default()
            .basic_auth("u", "p")
            .bearer_token("t");
        assert!(matches!(
            both.request_headers(),
            Err(PushError::InvalidArgument(_))
        ));
        let half = ClientOptions {
            client_cert: Some(Pem::Inline(b"x".to_vec())),
            ..Default::default()
        };
        assert!(matches!(
            half.tls_config(true),
            Err(PushError::InvalidArgument(m)) if m.contains("both")
        ));
        let bad = HttpClient::new(
            ClientOptions::default().header("X-Bad", "a\r\nb"),
            Duration::from_secs(1),
        );
        assert!(matches!(bad, Err(PushError::InvalidArgument(_))));
        let missing = ClientOptions::default().ca_file("/nonexistent/ca.pem");
        assert!(
            matches!(missing.tls_config(true), Err(PushError::Tls(m)) if m.contains("CA file"))
        );
    }

    #[test]
    fn base64url_matches_the_rfc_vectors() {
        for (plain, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("\u{ff}\u{fe}", "w7_Dvg=="),
        ] {
            let mut s = String::new();
            base64url(&mut s, plain.as_bytes());
            assert_eq!(s, want, "{plain:?}");
        }
    }

    #[test]
    fn unreachable_gateway_is_an_io_error_within_the_timeout() {
        // Port 1 on localhost: connection refused at once.
        let t = Instant::now();
        let none: &[(&str, &str)] = &[];
        let r = push(
            &Registry::new(),
            "127.0.0.1:1",
            "j",
            none,
            PushMethod::Push,
            Duration::from_secs(2),
        );
        assert!(matches!(r, Err(PushError::Io(_))), "{r:?}");
        assert!(t.elapsed() < Duration::from_secs(3));
        assert!(matches!(
            send("ftp://x", "PUT", &[], b"", Duration::from_secs(1)),
            Err(PushError::InvalidArgument(_))
        ));
    }
}
