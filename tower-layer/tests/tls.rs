//! The exporter over TLS and behind basic auth, configured by an exporter-toolkit web config
//! file: a real Prometheus scrapes it with a `tls_config` (a CA, server and client
//! certificates made with rcgen at test time) and `basic_auth`; a wrong password is answered
//! 401 and counted; without a client certificate the handshake is refused. Every
//! `client_auth_type` is checked with a rustls client.

use footmetrics::{Opts, Registry};
use footmetrics_testkit::Prometheus;
use footmetrics_tower::{
    ClientAuth, Exporter, ExporterHandle, TlsSettings, WebConfig, WebConfigError,
};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A temporary directory with a CA and, signed by it, a server certificate (for localhost
/// and 127.0.0.1) and a client certificate; plus a client certificate from another CA.
struct Pki {
    dir: PathBuf,
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ca(name: &str) -> (Issuer<'static, KeyPair>, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::CrlSign,
    ];
    let cert = params.self_signed(&key).unwrap();
    (Issuer::new(params, key), cert.pem())
}

fn leaf(
    issuer: &Issuer<'static, KeyPair>,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

impl Pki {
    fn new(tag: &str) -> Pki {
        let dir =
            std::env::temp_dir().join(format!("footmetrics-tls-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (issuer, ca_pem) = ca("footmetrics test CA");
        let (server, server_key) = leaf(
            &issuer,
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (client, client_key) = leaf(
            &issuer,
            &["prometheus"],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        let (other_issuer, _) = ca("another CA");
        let (stranger, stranger_key) = leaf(
            &other_issuer,
            &["stranger"],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        for (name, pem) in [
            ("ca.pem", ca_pem),
            ("server.pem", server),
            ("server-key.pem", server_key),
            ("client.pem", client),
            ("client-key.pem", client_key),
            ("stranger.pem", stranger),
            ("stranger-key.pem", stranger_key),
        ] {
            std::fs::write(dir.join(name), pem).unwrap();
        }
        Pki { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

fn registry() -> Registry {
    let r = Registry::new();
    r.counter(&Opts::new("tls_served_total", "Served over TLS."))
        .unwrap()
        .inc_by_u64(7);
    r
}

/// `(status, body)` of `GET /metrics` over TLS, with an optional client certificate (by file
/// name prefix in the PKI directory) and `Authorization` header.
fn tls_get(
    addr: SocketAddr,
    pki: &Pki,
    client: Option<&str>,
    authorization: Option<&str>,
) -> Result<(u16, String), String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(pki.path("ca.pem")).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        Some(name) => {
            let certs = CertificateDer::pem_file_iter(pki.path(&format!("{name}.pem")))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_file(pki.path(&format!("{name}-key.pem"))).unwrap();
            builder.with_client_auth_cert(certs, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    let conn =
        rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap())
            .unwrap();
    let sock = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let mut req = String::from("GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if let Some(a) = authorization {
        req.push_str(&format!("Authorization: {a}\r\n"));
    }
    req.push_str("\r\n");
    tls.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    match tls.read_to_end(&mut raw) {
        Ok(_) => {}
        // Some servers close without close_notify; what was read counts.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(e.to_string()),
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no response: {text:?}"))?;
    Ok((status, text))
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64_encode(format!("{user}:{password}").as_bytes())
    )
}

/// Standard base64, for the test's `Authorization` headers.
fn base64_encode(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |acc, &b| acc << 8 | b as u32) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn serve_with(pki: &Pki, yaml: &str) -> ExporterHandle {
    let path = pki.path("web.yml");
    std::fs::write(&path, yaml).unwrap();
    Exporter::new(&registry())
        .web_config_file(&path)
        .unwrap()
        .spawn("127.0.0.1:0")
        .unwrap()
}

#[test]
fn prometheus_scrapes_over_tls_with_a_client_certificate_and_basic_auth() {
    let pki = Pki::new("prom");
    let hash = bcrypt::hash("s3cret", 6).unwrap();
    // Relative paths are relative to the config file, as in exporter-toolkit.
    let handle = serve_with(
        &pki,
        &format!(
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n  \
             client_ca_file: ca.pem\n  client_auth_type: RequireAndVerifyClientCert\n  \
             min_version: TLS12\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n\
             basic_auth_users:\n  prom: {hash}\n"
        ),
    );
    let target = handle.local_addr();
    let d = pki.dir.display();
    let job = |name: &str, cert: bool, password: &str| {
        let client = if cert {
            format!("\n      cert_file: {d}/client.pem\n      key_file: {d}/client-key.pem")
        } else {
            String::new()
        };
        format!(
            "  - job_name: {name}\n    scheme: https\n    tls_config:\n      ca_file: {d}/ca.pem\
             \n      server_name: localhost{client}\n    basic_auth:\n      username: prom\n      \
             password: {password}\n    static_configs:\n      - targets: ['{target}']\n"
        )
    };
    let prometheus = Prometheus::start_with_scrape_configs(&format!(
        "{}{}{}",
        job("tls_ok", true, "s3cret"),
        job("wrong_password", true, "nope"),
        job("no_client_cert", false, "s3cret"),
    ));
    let served =
        prometheus.wait_for_value("tls_served_total{job=\"tls_ok\"}", Duration::from_secs(30));
    assert_eq!(served, 7.0);
    // The other two jobs are down, for the reasons expected.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let (mut wrong, mut nocert) = (String::new(), String::new());
    while std::time::Instant::now() < deadline && (wrong.is_empty() || nocert.is_empty()) {
        let targets = prometheus.api("targets", &[]);
        for t in targets["activeTargets"].as_array().unwrap() {
            let err = t["lastError"].as_str().unwrap_or("").to_owned();
            match t["labels"]["job"].as_str() {
                Some("wrong_password") if t["health"] == "down" => wrong = err,
                Some("no_client_cert") if t["health"] == "down" => nocert = err,
                _ => {}
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!("wrong password: {wrong}\nno client certificate: {nocert}");
    // The status text, not "401" alone: the target's port may contain those digits.
    assert!(wrong.contains("401 Unauthorized"), "{wrong:?}");
    assert!(
        !nocert.is_empty() && !nocert.contains("401 Unauthorized"),
        "{nocert:?}"
    );
    // Counted, and served to the scraper that may see them.
    let failures = prometheus.wait_for_value(
        "footmetrics_exporter_auth_failures_total{job=\"tls_ok\"} > 0",
        Duration::from_secs(30),
    );
    assert!(failures >= 1.0);
    let stats = handle.stats();
    assert!(stats.auth_failures >= 1, "{stats:?}");
    assert!(stats.tls_handshake_failures >= 1, "{stats:?}");
    drop(prometheus);

    // Directly: the configured header is sent; a wrong password is 401 with a challenge.
    let addr = handle.local_addr();
    let (status, text) =
        tls_get(addr, &pki, Some("client"), Some(&basic("prom", "s3cret"))).unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(
        text.to_ascii_lowercase().contains("x-frame-options: deny"),
        "{text}"
    );
    let (status, text) = tls_get(addr, &pki, Some("client"), Some(&basic("prom", "x"))).unwrap();
    assert_eq!(status, 401);
    assert!(
        text.to_ascii_lowercase()
            .contains("www-authenticate: basic"),
        "{text}"
    );
    assert_eq!(
        tls_get(addr, &pki, Some("client"), Some(&basic("nobody", "s3cret")))
            .unwrap()
            .0,
        401
    );
    assert_eq!(tls_get(addr, &pki, Some("client"), None).unwrap().0, 401);
    // No client certificate, or one from another CA: no answer at all.
    assert!(tls_get(addr, &pki, None, Some(&basic("prom", "s3cret"))).is_err());
    assert!(tls_get(addr, &pki, Some("stranger"), Some(&basic("prom", "s3cret"))).is_err());
    // Plain HTTP to the TLS port is not served.
    let plain = footmetrics_testkit::http_request(addr, "GET", "/metrics", &[]);
    assert!(plain.is_err() || plain.unwrap().status != 200);
}

#[test]
fn every_client_auth_type_behaves_as_in_go() {
    let pki = Pki::new("auth-types");
    // (type, no certificate, a certificate from the CA, one from another CA)
    let cases = [
        (ClientAuth::NoClientCert, true, true, true),
        (ClientAuth::RequestClientCert, true, true, true),
        (ClientAuth::RequireAnyClientCert, false, true, true),
        (ClientAuth::VerifyClientCertIfGiven, true, true, false),
        (ClientAuth::RequireAndVerifyClientCert, false, true, false),
    ];
    for (auth, none_ok, ours_ok, stranger_ok) in cases {
        let mut tls = TlsSettings::new(pki.path("server.pem"), pki.path("server-key.pem"));
        tls.client_auth = auth;
        if auth != ClientAuth::NoClientCert {
            tls.client_ca_files.push(pki.path("ca.pem"));
        }
        let web = WebConfig::default().with_tls(&tls).unwrap();
        let handle = Exporter::new(&registry())
            .web_config(web)
            .spawn("127.0.0.1:0")
            .unwrap();
        let addr = handle.local_addr();
        let ok = |client: Option<&str>| {
            tls_get(addr, &pki, client, None)
                .map(|(s, _)| s == 200)
                .unwrap_or(false)
        };
        assert_eq!(ok(None), none_ok, "{auth:?} without a certificate");
        assert_eq!(ok(Some("client")), ours_ok, "{auth:?} with ours");
        assert_eq!(
            ok(Some("stranger")),
            stranger_ok,
            "{auth:?} with a stranger's"
        );
        let refused = [none_ok, ours_ok, stranger_ok]
            .iter()
            .filter(|o| !**o)
            .count() as u64;
        // Under TLS 1.3 the client finishes its side of the handshake before the server has
        // checked the client's certificate, so the server's count can lag the client's error:
        // wait for it (bounded), then check it is exact.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut stats = handle.stats();
        while stats.tls_handshake_failures < refused && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            stats = handle.stats();
        }
        assert_eq!(stats.tls_handshake_failures, refused, "{auth:?} {stats:?}");
    }
}

#[test]
fn unusable_tls_files_are_typed_errors() {
    let pki = Pki::new("bad");
    let missing = TlsSettings::new(pki.path("nope.pem"), pki.path("server-key.pem"));
    assert!(matches!(
        WebConfig::default().with_tls(&missing),
        Err(WebConfigError::Io { .. })
    ));
    std::fs::write(pki.path("garbage.pem"), "not a pem\n").unwrap();
    let garbage = TlsSettings::new(pki.path("garbage.pem"), pki.path("server-key.pem"));
    assert!(matches!(
        WebConfig::default().with_tls(&garbage),
        Err(WebConfigError::Tls(_))
    ));
    // A key that is not the certificate's.
    let mismatched = TlsSettings::new(pki.path("server.pem"), pki.path("client-key.pem"));
    assert!(matches!(
        WebConfig::default().with_tls(&mismatched),
        Err(WebConfigError::Tls(_))
    ));
    let mut no_ca = TlsSettings::new(pki.path("server.pem"), pki.path("server-key.pem"));
    no_ca.client_auth = ClientAuth::RequireAndVerifyClientCert;
    assert!(matches!(
        WebConfig::default().with_tls(&no_ca),
        Err(WebConfigError::Invalid(_))
    ));
    let err = Exporter::new(&registry())
        .web_config_file(Path::new("/nonexistent/web.yml"))
        .err()
        .unwrap();
    assert!(matches!(err, WebConfigError::Io { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/web.yml"));
}
