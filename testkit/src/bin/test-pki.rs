//! `test-pki DIR [--mtls] [--basic-auth USER:PASSWORD]`: writes a fresh test PKI into DIR
//! (`ca.pem`, `server.pem`, `server-key.pem`, `client.pem`, `client-key.pem`,
//! `other-ca.pem`) and `web.yml`, a Pushgateway `--web.config.file` serving TLS with it
//! (`--mtls`: demanding a client certificate; `--basic-auth`: one user, bcrypt-hashed), for
//! the Python, Node and Go tests. Prints the paths as one JSON line.

use footmetrics_testkit::tls::TestPki;

const USAGE: &str = "usage: test-pki DIR [--mtls] [--basic-auth USER:PASSWORD]";

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().expect(USAGE));
    let (mut mtls, mut auth) = (false, None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--mtls" => mtls = true,
            "--basic-auth" => auth = Some(args.next().expect(USAGE)),
            _ => panic!("{USAGE}"),
        }
    }
    let pki = TestPki::generate(&dir);
    let auth = auth.as_deref().map(|a| a.split_once(':').expect(USAGE));
    let web = dir.join("web.yml");
    std::fs::write(&web, pki.web_config(mtls, auth)).expect("write web.yml");
    let path = |p: &std::path::Path| serde_json::Value::from(p.display().to_string());
    println!(
        "{}",
        serde_json::json!({
            "ca": path(&pki.ca),
            "server_cert": path(&pki.server_cert),
            "server_key": path(&pki.server_key),
            "client_cert": path(&pki.client_cert),
            "client_key": path(&pki.client_key),
            "other_ca": path(&pki.other_ca),
            "web_config": path(&web),
        })
    );
}
