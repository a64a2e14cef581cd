//! `otlp-sink`: the test OTLP receiver as a process, for the Python, Node and Go tests.
//! Prints `{"http_port": …, "grpc_port": …}` on one line, then serves until killed or until
//! its standard input closes (so it never outlives a test runner that dies).
//! `otlp-sink [HTTP_PORT GRPC_PORT]` listens on given ports (to bring a collector "back").
//! `otlp-sink --tls DIR [--mtls]` generates a test PKI into DIR (`ca.pem`, `server.pem`,
//! `client.pem`, `client-key.pem`, `other-ca.pem`, …) and serves both ports over TLS,
//! with `--mtls` demanding a client certificate; the line printed then has `"tls_dir"`.

use footmetrics_testkit::otlp::{OtlpSink, SinkTls};
use footmetrics_testkit::tls::TestPki;
use std::io::{Read, Write};

const USAGE: &str = "usage: otlp-sink [--tls DIR [--mtls]] [HTTP_PORT GRPC_PORT]";

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut tls_dir, mut mtls, mut ports) = (None, false, Vec::new());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--tls" => tls_dir = Some(std::path::PathBuf::from(args.next().expect(USAGE))),
            "--mtls" => mtls = true,
            p => ports.push(p.parse::<u16>().expect(USAGE)),
        }
    }
    let tls = tls_dir.as_deref().map(|d| SinkTls {
        pki: TestPki::generate(d),
        require_client_cert: mtls,
    });
    let sink = match ports[..] {
        [] => OtlpSink::start_with(0, 0, tls),
        [http, grpc] => OtlpSink::start_with(http, grpc, tls),
        _ => panic!("{USAGE}"),
    };
    let tls_field = tls_dir.map_or(String::new(), |d| {
        format!(
            ", \"tls_dir\": {}",
            serde_json::Value::from(d.display().to_string())
        )
    });
    println!(
        "{{\"http_port\": {}, \"grpc_port\": {}{tls_field}}}",
        sink.http_port, sink.grpc_port
    );
    let _ = std::io::stdout().flush();
    let mut buf = [0u8; 64];
    let mut stdin = std::io::stdin();
    while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
    drop(sink);
}
