//! Helpers shared by the integration tests: the real validators.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Stdio};

/// The Python with `prometheus_client` (the Makefile exports the venv's).
pub fn python() -> String {
    if let Ok(p) = std::env::var("FOOTMETRICS_PYTHON") {
        return p;
    }
    let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/python");
    if std::path::Path::new(venv).exists() {
        venv.into()
    } else {
        "python3".into()
    }
}

fn run(cmd: &mut Command, input: &str, what: &str) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what} is required for this test (run `make deps`): {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Parses OpenMetrics with `prometheus_client`'s strict parser; returns its JSON result
/// (`{"ok": families}` or `{"error": message}`, a list when `text` holds `---` separators).
pub fn strict_openmetrics(text: &str) -> serde_json::Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/openmetrics_parse.py");
    let out = run(
        Command::new(python()).arg(script),
        text,
        "python3 with prometheus_client",
    );
    assert!(
        out.status.success(),
        "the OpenMetrics parser script failed (is prometheus_client installed? `make deps`): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `promtool check metrics` on classic text: (exit success, combined output).
pub fn promtool_check(text: &str) -> (bool, String) {
    let out = run(
        Command::new("promtool").args(["check", "metrics"]),
        text,
        "promtool (Debian package prometheus)",
    );
    let msg = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), msg)
}
