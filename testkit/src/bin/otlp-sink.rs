//! `otlp-sink`: the test OTLP receiver as a process, for the Python, Node and Go tests.
//! Prints `{"http_port": …, "grpc_port": …}` on one line, then serves until killed or until
//! its standard input closes (so it never outlives a test runner that dies).
//! `otlp-sink [HTTP_PORT GRPC_PORT]` listens on given ports (to bring a collector "back").

use std::io::{Read, Write};

fn main() {
    let ports: Vec<u16> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("ports are numbers"))
        .collect();
    let sink = match ports[..] {
        [] => footmetrics_testkit::otlp::OtlpSink::start(),
        [http, grpc] => footmetrics_testkit::otlp::OtlpSink::start_on(http, grpc),
        _ => panic!("usage: otlp-sink [HTTP_PORT GRPC_PORT]"),
    };
    println!(
        "{{\"http_port\": {}, \"grpc_port\": {}}}",
        sink.http_port, sink.grpc_port
    );
    let _ = std::io::stdout().flush();
    let mut buf = [0u8; 64];
    let mut stdin = std::io::stdin();
    while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
    drop(sink);
}
