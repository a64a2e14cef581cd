//! TLS material made at test time: a private CA, a server certificate for `localhost` and
//! `127.0.0.1`, a client certificate (mutual TLS) and a second, unrelated CA (to show that a
//! wrong CA is refused), written as PEM files; and the Pushgateway web configuration
//! (`--web.config.file`) for TLS, client certificates and bcrypt basic auth.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use std::path::{Path, PathBuf};

/// PEM files in one directory.
#[derive(Debug, Clone)]
pub struct TestPki {
    pub dir: PathBuf,
    /// The CA that signed the server and client certificates.
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A CA that signed nothing here: trusting only it must fail the handshake.
    pub other_ca: PathBuf,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("CA cert")
}

fn leaf(
    issuer: &CertifiedIssuer<'static, KeyPair>,
    name: &str,
    sans: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
    let mut params = CertificateParams::new(sans).expect("leaf params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![usage];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let key = KeyPair::generate().expect("leaf key");
    let cert = params.signed_by(&key, issuer).expect("leaf cert");
    (cert.pem(), key.serialize_pem())
}

impl TestPki {
    /// Generates fresh keys and certificates into `dir` (created if missing).
    pub fn generate(dir: &Path) -> TestPki {
        std::fs::create_dir_all(dir).expect("PKI directory");
        let authority = ca("footmetrics test CA");
        let other = ca("footmetrics unrelated CA");
        let (server_pem, server_key) = leaf(
            &authority,
            "localhost",
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (client_pem, client_key) = leaf(
            &authority,
            "footmetrics test client",
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        let write = |name: &str, text: &str| {
            let p = dir.join(name);
            std::fs::write(&p, text).expect("write PEM");
            p
        };
        TestPki {
            dir: dir.to_owned(),
            ca: write("ca.pem", &authority.pem()),
            server_cert: write("server.pem", &server_pem),
            server_key: write("server-key.pem", &server_key),
            client_cert: write("client.pem", &client_pem),
            client_key: write("client-key.pem", &client_key),
            other_ca: write("other-ca.pem", &other.pem()),
        }
    }

    /// A Pushgateway/exporter-toolkit web configuration serving TLS with this PKI's server
    /// certificate; `require_client_cert` demands a client certificate signed by the CA;
    /// `basic_auth` adds one user with a bcrypt hash of the password.
    pub fn web_config(
        &self,
        require_client_cert: bool,
        basic_auth: Option<(&str, &str)>,
    ) -> String {
        let mut out = format!(
            "tls_server_config:\n  cert_file: '{}'\n  key_file: '{}'\n",
            self.server_cert.display(),
            self.server_key.display()
        );
        if require_client_cert {
            out.push_str(&format!(
                "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: '{}'\n",
                self.ca.display()
            ));
        }
        if let Some(users) = basic_auth.map(|(u, p)| basic_auth_users(&[(u, p)])) {
            out.push_str(&users);
        }
        out
    }
}

/// `basic_auth_users:` with a bcrypt hash per user (the lowest cost: tests only).
pub fn basic_auth_users(users: &[(&str, &str)]) -> String {
    let mut out = String::from("basic_auth_users:\n");
    for (user, password) in users {
        let hash = bcrypt::hash(password, 4).expect("bcrypt");
        out.push_str(&format!("  '{user}': '{hash}'\n"));
    }
    out
}
