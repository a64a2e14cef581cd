//! TLS and basic authentication for the exporter, configured as Prometheus' exporter-toolkit
//! web configuration file is (`tls_server_config`, `basic_auth_users` with bcrypt hashes,
//! `http_server_config.headers`), so the file a Go exporter takes works here unchanged.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a web configuration (or TLS settings) cannot be used.
#[derive(Debug)]
pub enum WebConfigError {
    /// A file named by the configuration cannot be read.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The YAML does not parse, or has a field exporter-toolkit does not know.
    Yaml(String),
    /// A certificate, key or CA file holds no usable PEM, or rustls refuses it.
    Tls(String),
    /// A value is invalid (unknown client auth type or TLS version, missing key file, ...).
    Invalid(String),
    /// A setting exporter-toolkit has that footmetrics does not implement.
    Unsupported(String),
}

impl fmt::Display for WebConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebConfigError::Io { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            WebConfigError::Yaml(e) => write!(f, "invalid web config: {e}"),
            WebConfigError::Tls(e) => write!(f, "TLS: {e}"),
            WebConfigError::Invalid(e) => write!(f, "invalid web config: {e}"),
            WebConfigError::Unsupported(e) => write!(f, "unsupported web config setting: {e}"),
        }
    }
}

impl std::error::Error for WebConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WebConfigError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// exporter-toolkit's `client_auth_type`, with Go's `tls.ClientAuthType` meanings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// No client certificate is asked for.
    #[default]
    NoClientCert,
    /// One is asked for; the handshake goes on without one, and one given is not verified.
    RequestClientCert,
    /// One is required, but not verified against the CAs.
    RequireAnyClientCert,
    /// One given is verified against the client CAs; none is allowed.
    VerifyClientCertIfGiven,
    /// One is required and verified against the client CAs.
    RequireAndVerifyClientCert,
}

impl std::str::FromStr for ClientAuth {
    type Err = WebConfigError;
    fn from_str(s: &str) -> Result<Self, WebConfigError> {
        Ok(match s {
            "" | "NoClientCert" => ClientAuth::NoClientCert,
            "RequestClientCert" => ClientAuth::RequestClientCert,
            "RequireAnyClientCert" => ClientAuth::RequireAnyClientCert,
            "VerifyClientCertIfGiven" => ClientAuth::VerifyClientCertIfGiven,
            "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerifyClientCert,
            other => {
                return Err(WebConfigError::Invalid(format!(
                    "invalid client_auth_type {other:?} (NoClientCert, RequestClientCert, \
                     RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert)"
                )))
            }
        })
    }
}

/// A TLS protocol version rustls serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

impl TlsVersion {
    /// exporter-toolkit's names (`TLS12`, `TLS13`); `TLS10` and `TLS11` are refused (rustls
    /// does not implement them).
    pub fn parse(s: &str) -> Result<TlsVersion, WebConfigError> {
        match s {
            "TLS12" => Ok(TlsVersion::Tls12),
            "TLS13" => Ok(TlsVersion::Tls13),
            "TLS10" | "TLS11" => Err(WebConfigError::Unsupported(format!(
                "{s}: only TLS 1.2 and 1.3 are served"
            ))),
            other => Err(WebConfigError::Invalid(format!(
                "unknown TLS version {other:?} (TLS12 or TLS13)"
            ))),
        }
    }
}

/// Serving over TLS: the certificate chain and key, and how clients are authenticated.
#[derive(Clone, Debug)]
pub struct TlsSettings {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// PEM files (or directories of them) holding the CAs client certificates are verified
    /// against.
    pub client_ca_files: Vec<PathBuf>,
    pub client_auth: ClientAuth,
    pub min_version: TlsVersion,
    pub max_version: TlsVersion,
}

impl TlsSettings {
    pub fn new(cert_file: impl Into<PathBuf>, key_file: impl Into<PathBuf>) -> Self {
        TlsSettings {
            cert_file: cert_file.into(),
            key_file: key_file.into(),
            client_ca_files: Vec::new(),
            client_auth: ClientAuth::NoClientCert,
            min_version: TlsVersion::Tls12,
            max_version: TlsVersion::Tls13,
        }
    }

    /// Loads the files and builds the rustls configuration.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, WebConfigError> {
        if self.min_version > self.max_version {
            return Err(WebConfigError::Invalid(
                "min_version is above max_version".into(),
            ));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certs = read_certs(&self.cert_file)?;
        if certs.is_empty() {
            return Err(WebConfigError::Tls(format!(
                "no certificate in {}",
                self.cert_file.display()
            )));
        }
        let key = PrivateKeyDer::from_pem_file(&self.key_file)
            .map_err(|e| pem_error(&self.key_file, e, "private key"))?;
        let mut roots = RootCertStore::empty();
        for path in &self.client_ca_files {
            for file in pem_files(path)? {
                for cert in read_certs(&file)? {
                    roots
                        .add(cert)
                        .map_err(|e| WebConfigError::Tls(format!("{}: {e}", file.display())))?;
                }
            }
        }
        let verifies = matches!(
            self.client_auth,
            ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert
        );
        if verifies && roots.is_empty() {
            return Err(WebConfigError::Invalid(format!(
                "client_auth_type {:?} needs a client_ca_file with at least one certificate",
                self.client_auth
            )));
        }
        let versions: Vec<&'static rustls::SupportedProtocolVersion> = [
            (TlsVersion::Tls12, &rustls::version::TLS12),
            (TlsVersion::Tls13, &rustls::version::TLS13),
        ]
        .into_iter()
        .filter(|(v, _)| *v >= self.min_version && *v <= self.max_version)
        .map(|(_, p)| p)
        .collect();
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| WebConfigError::Tls(e.to_string()))?;
        let roots = Arc::new(roots);
        let builder = match self.client_auth {
            ClientAuth::NoClientCert => builder.with_no_client_auth(),
            ClientAuth::RequestClientCert | ClientAuth::RequireAnyClientCert => builder
                .with_client_cert_verifier(Arc::new(AnyClientCert {
                    mandatory: self.client_auth == ClientAuth::RequireAnyClientCert,
                    algorithms: provider.signature_verification_algorithms,
                })),
            ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert => {
                let mut v = WebPkiClientVerifier::builder_with_provider(roots, provider.clone());
                if self.client_auth == ClientAuth::VerifyClientCertIfGiven {
                    v = v.allow_unauthenticated();
                }
                builder.with_client_cert_verifier(
                    v.build().map_err(|e| WebConfigError::Tls(e.to_string()))?,
                )
            }
        };
        let mut config = builder
            .with_single_cert(certs, key)
            .map_err(|e| WebConfigError::Tls(format!("{}: {e}", self.key_file.display())))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

fn pem_error(path: &Path, e: rustls_pki_types::pem::Error, what: &str) -> WebConfigError {
    match e {
        rustls_pki_types::pem::Error::Io(source) => WebConfigError::Io {
            path: path.to_owned(),
            source,
        },
        other => WebConfigError::Tls(format!("no usable {what} in {}: {other}", path.display())),
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, WebConfigError> {
    // An unreadable file is an I/O error, not "no certificate".
    std::fs::metadata(path).map_err(|source| WebConfigError::Io {
        path: path.to_owned(),
        source,
    })?;
    CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(path, e, "certificate"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, e, "certificate"))
}

/// A file, or the regular files of a directory (as OpenSSL's CA path, whatever their names).
fn pem_files(path: &Path) -> Result<Vec<PathBuf>, WebConfigError> {
    let io = |source| WebConfigError::Io {
        path: path.to_owned(),
        source,
    };
    if !std::fs::metadata(path).map_err(io)?.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(io)? {
        let p = entry.map_err(io)?.path();
        if p.is_file() {
            files.push(p);
        }
    }
    files.sort();
    Ok(files)
}

/// `RequestClientCert` and `RequireAnyClientCert`: takes any certificate, checking only that
/// the client holds its key (the handshake signature).
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The response headers exporter-toolkit allows in `http_server_config.headers`.
const ALLOWED_HEADERS: [&str; 5] = [
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-XSS-Protection",
    "Content-Security-Policy",
];

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    tls_server_config: Option<FileTls>,
    #[serde(default)]
    http_server_config: Option<FileHttp>,
    #[serde(default)]
    basic_auth_users: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileTls {
    #[serde(default)]
    cert_file: String,
    #[serde(default)]
    key_file: String,
    #[serde(default)]
    client_ca_file: String,
    #[serde(default)]
    client_auth_type: String,
    #[serde(default)]
    min_version: Option<String>,
    #[serde(default)]
    max_version: Option<String>,
    #[serde(default)]
    cipher_suites: Vec<String>,
    #[serde(default)]
    curve_preferences: Vec<String>,
    #[serde(default)]
    prefer_server_cipher_suites: Option<bool>,
    #[serde(default)]
    client_allowed_sans: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileHttp {
    #[serde(default)]
    http2: Option<bool>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

/// A loaded web configuration: what [`Exporter::web_config`](crate::Exporter::web_config)
/// serves with.
#[derive(Clone, Default)]
pub struct WebConfig {
    pub(crate) tls: Option<Arc<ServerConfig>>,
    pub(crate) users: Arc<BasicAuthUsers>,
    pub(crate) headers: HeaderMap,
}

impl fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("basic_auth_users", &self.users.names())
            .field("headers", &self.headers)
            .finish()
    }
}

impl WebConfig {
    /// Reads an exporter-toolkit web configuration file; relative paths in it are relative
    /// to its directory.
    pub fn from_file(path: impl AsRef<Path>) -> Result<WebConfig, WebConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| WebConfigError::Io {
            path: path.to_owned(),
            source,
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        WebConfig::from_yaml(&text, dir)
    }

    /// Parses a web configuration's YAML, resolving relative paths against `base_dir`.
    pub fn from_yaml(text: &str, base_dir: &Path) -> Result<WebConfig, WebConfigError> {
        let file: FileConfig = if text.trim().is_empty() {
            FileConfig::default()
        } else {
            serde_yaml::from_str(text).map_err(|e| WebConfigError::Yaml(e.to_string()))?
        };
        let mut config = WebConfig::default();
        if let Some(t) = file.tls_server_config {
            config.tls = tls_from_file(t, base_dir)?;
        }
        if let Some(h) = file.http_server_config {
            // `http2` (exporter-toolkit's default is on) is accepted either way: HTTP/1.1 is
            // what is served, and what Prometheus scrapes over.
            let _ = h.http2;
            for (name, value) in h.headers {
                let Some(allowed) = ALLOWED_HEADERS
                    .iter()
                    .find(|a| a.eq_ignore_ascii_case(&name))
                else {
                    return Err(WebConfigError::Invalid(format!(
                        "header {name:?} cannot be set (only {})",
                        ALLOWED_HEADERS.join(", ")
                    )));
                };
                let lower = value.to_ascii_lowercase();
                if allowed.eq_ignore_ascii_case("X-Content-Type-Options") && lower != "nosniff" {
                    return Err(WebConfigError::Invalid(format!(
                        "X-Content-Type-Options must be nosniff, not {value:?}"
                    )));
                }
                if allowed.eq_ignore_ascii_case("X-Frame-Options")
                    && lower != "deny"
                    && lower != "sameorigin"
                {
                    return Err(WebConfigError::Invalid(format!(
                        "X-Frame-Options must be deny or sameorigin, not {value:?}"
                    )));
                }
                let v = HeaderValue::from_str(&value).map_err(|_| {
                    WebConfigError::Invalid(format!("header {name}: invalid value {value:?}"))
                })?;
                config
                    .headers
                    .insert(HeaderName::from_static_lowercase(allowed), v);
            }
        }
        if let Some(users) = file.basic_auth_users {
            config.users = Arc::new(BasicAuthUsers::new(users)?);
        }
        Ok(config)
    }

    /// TLS with these settings (replacing any the configuration had).
    pub fn with_tls(mut self, tls: &TlsSettings) -> Result<WebConfig, WebConfigError> {
        self.tls = Some(tls.server_config()?);
        Ok(self)
    }

    /// Whether connections are served over TLS.
    pub fn tls_enabled(&self) -> bool {
        self.tls.is_some()
    }

    /// Whether requests need basic authentication.
    pub fn basic_auth_enabled(&self) -> bool {
        !self.users.is_empty()
    }
}

/// `HeaderName::from_static` wants lowercase; the allowed names are constants.
trait FromStaticLowercase {
    fn from_static_lowercase(name: &str) -> HeaderName;
}

impl FromStaticLowercase for HeaderName {
    fn from_static_lowercase(name: &str) -> HeaderName {
        HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
            .expect("the allowed header names are valid")
    }
}

fn tls_from_file(t: FileTls, base: &Path) -> Result<Option<Arc<ServerConfig>>, WebConfigError> {
    if !t.cipher_suites.is_empty() {
        return Err(WebConfigError::Unsupported(
            "cipher_suites (rustls' default suites are used)".into(),
        ));
    }
    if !t.curve_preferences.is_empty() {
        return Err(WebConfigError::Unsupported(
            "curve_preferences (rustls' default groups are used)".into(),
        ));
    }
    if !t.client_allowed_sans.is_empty() {
        return Err(WebConfigError::Unsupported("client_allowed_sans".into()));
    }
    let _ = t.prefer_server_cipher_suites;
    if t.cert_file.is_empty() && t.key_file.is_empty() {
        return Err(WebConfigError::Invalid(
            "tls_server_config needs cert_file and key_file".into(),
        ));
    }
    if t.cert_file.is_empty() {
        return Err(WebConfigError::Invalid("missing cert_file".into()));
    }
    if t.key_file.is_empty() {
        return Err(WebConfigError::Invalid("missing key_file".into()));
    }
    let client_auth: ClientAuth = t.client_auth_type.parse()?;
    if !t.client_ca_file.is_empty() && client_auth == ClientAuth::NoClientCert {
        return Err(WebConfigError::Invalid(
            "client_ca_file is set but client_auth_type is NoClientCert".into(),
        ));
    }
    let resolve = |p: &str| -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_owned()
        } else {
            base.join(p)
        }
    };
    let mut settings = TlsSettings::new(resolve(&t.cert_file), resolve(&t.key_file));
    settings.client_auth = client_auth;
    if !t.client_ca_file.is_empty() {
        settings.client_ca_files.push(resolve(&t.client_ca_file));
    }
    if let Some(v) = t.min_version {
        settings.min_version = TlsVersion::parse(&v)?;
    }
    if let Some(v) = t.max_version {
        settings.max_version = TlsVersion::parse(&v)?;
    }
    settings.server_config().map(Some)
}

/// `basic_auth_users`: names and bcrypt hashes, checked in constant time per name and with a
/// bcrypt verification even for an unknown name, so the answer's timing tells nothing.
#[derive(Default)]
pub(crate) struct BasicAuthUsers {
    users: Vec<(Vec<u8>, String)>,
    /// A hash of the first user's cost, verified against when the name is unknown.
    decoy: String,
}

impl BasicAuthUsers {
    fn new(users: BTreeMap<String, String>) -> Result<BasicAuthUsers, WebConfigError> {
        let mut cost = bcrypt::DEFAULT_COST;
        for (name, hash) in &users {
            let parts: bcrypt::HashParts = hash.parse().map_err(|e| {
                WebConfigError::Invalid(format!("basic_auth_users: {name}: not a bcrypt hash: {e}"))
            })?;
            cost = parts.get_cost();
        }
        let decoy = if users.is_empty() {
            String::new()
        } else {
            bcrypt::hash("footmetrics: no such user", cost)
                .map_err(|e| WebConfigError::Invalid(format!("bcrypt: {e}")))?
        };
        Ok(BasicAuthUsers {
            users: users
                .into_iter()
                .map(|(n, h)| (n.into_bytes(), h))
                .collect(),
            decoy,
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    fn names(&self) -> Vec<String> {
        self.users
            .iter()
            .map(|(n, _)| String::from_utf8_lossy(n).into_owned())
            .collect()
    }

    /// Whether an `Authorization` header value grants access. Slow (bcrypt): call it off the
    /// runtime's threads.
    pub(crate) fn check(&self, authorization: Option<&Bytes>) -> bool {
        let Some((user, password)) = authorization.and_then(|v| parse_basic(v)) else {
            return false;
        };
        let mut hash = &self.decoy;
        let mut found = false;
        for (name, h) in &self.users {
            // Every name is compared, in time independent of where they differ.
            if constant_time_eq(name, &user) {
                hash = h;
                found = true;
            }
        }
        let verified = bcrypt::verify(&password, hash).unwrap_or(false);
        verified && found
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u64;
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= u64::from(x ^ y);
    }
    std::hint::black_box(diff) == 0
}

/// `Basic <base64(user:password)>` → `(user, password)`.
fn parse_basic(value: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_header_parsing() {
        assert_eq!(
            parse_basic(b"Basic dXNlcjpwYTpzcw=="),
            Some((b"user".to_vec(), b"pa:ss".to_vec()))
        );
        assert_eq!(
            parse_basic(b"basic dTo="),
            Some((b"u".to_vec(), b"".to_vec()))
        );
        assert_eq!(parse_basic(b"Bearer abc"), None);
        assert_eq!(parse_basic(b"Basic !!!"), None);
        assert_eq!(parse_basic(b"Basic dXNlcg=="), None);
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"alice", b"alice"));
        assert!(!constant_time_eq(b"alice", b"alicf"));
        assert!(!constant_time_eq(b"alice", b"alic"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn users_are_checked_with_bcrypt() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let users = BasicAuthUsers::new(BTreeMap::from([("prom".to_owned(), hash)])).unwrap();
        let header = |u: &str, p: &str| {
            use base64::Engine;
            Bytes::from(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            ))
        };
        assert!(users.check(Some(&header("prom", "s3cret"))));
        assert!(!users.check(Some(&header("prom", "wrong"))));
        assert!(!users.check(Some(&header("other", "s3cret"))));
        assert!(!users.check(None));
    }

    #[test]
    fn bad_configurations_are_typed_errors() {
        let dir = Path::new("/nonexistent");
        let err = |yaml: &str| WebConfig::from_yaml(yaml, dir).unwrap_err();
        assert!(matches!(err("nonsense_key: 1"), WebConfigError::Yaml(_)));
        assert!(matches!(
            err("tls_server_config:\n  cert_file: a.pem\n"),
            WebConfigError::Invalid(m) if m.contains("key_file")
        ));
        assert!(matches!(
            err("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Maybe\n"),
            WebConfigError::Invalid(m) if m.contains("client_auth_type")
        ));
        assert!(matches!(
            err("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS10\n"),
            WebConfigError::Unsupported(_)
        ));
        assert!(matches!(
            err("tls_server_config:\n  cert_file: a\n  key_file: b\n"),
            WebConfigError::Io { .. }
        ));
        assert!(matches!(
            err("basic_auth_users:\n  alice: plain-text\n"),
            WebConfigError::Invalid(m) if m.contains("bcrypt")
        ));
        assert!(matches!(
            err("http_server_config:\n  headers:\n    Server: footmetrics\n"),
            WebConfigError::Invalid(_)
        ));
        assert!(matches!(
            err("http_server_config:\n  headers:\n    X-Frame-Options: allow\n"),
            WebConfigError::Invalid(_)
        ));
        let ok = WebConfig::from_yaml(
            "http_server_config:\n  headers:\n    X-Frame-Options: deny\n",
            dir,
        )
        .unwrap();
        assert_eq!(ok.headers["x-frame-options"], "deny");
        assert!(!ok.tls_enabled() && !ok.basic_auth_enabled());
        assert!(!WebConfig::from_yaml("", dir).unwrap().tls_enabled());
    }
}
