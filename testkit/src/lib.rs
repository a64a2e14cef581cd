//! Helpers shared by the Rust test suites: the real validators (`prometheus_client`'s strict
//! OpenMetrics parser, `promtool`), a classic-text sample parser for asserting values, a tiny
//! HTTP client, and a real Prometheus server started on 127.0.0.1 and stopped by PID.

pub mod otlp;
pub mod tls;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use serde_json::Value;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The Python with `prometheus_client` (the Makefile exports the venv's).
pub fn python() -> String {
    if let Ok(p) = std::env::var("FOOTMETRICS_PYTHON") {
        return p;
    }
    let venv = repo_root().join(".venv/bin/python");
    if venv.exists() {
        venv.display().to_string()
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

/// The exemplars of family `name` in an OpenMetrics exposition, as the strict parser reads
/// them (`{"labels": {…}, "value": …, "timestamp": …}` each); panics if the parser rejects
/// the text or the family is absent.
pub fn openmetrics_exemplars(text: &str, name: &str) -> Vec<Value> {
    let parsed = strict_openmetrics(text);
    let families = parsed["ok"]
        .as_array()
        .unwrap_or_else(|| panic!("{parsed}"));
    let family = families
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no family {name} in {parsed}"));
    family["samples"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["exemplar"].is_object())
        .map(|s| s["exemplar"].clone())
        .collect()
}

/// Parses OpenMetrics with `prometheus_client`'s strict parser; returns its JSON result
/// (`{"ok": families}` or `{"error": message}`, a list when `text` holds `---` separators).
pub fn strict_openmetrics(text: &str) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/openmetrics_parse.py");
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

pub use footmetrics::parse::{histogram_quantile, merged_buckets, Sample};

/// The samples of an exposition; panics on a line it cannot read (the tests want to know).
pub fn parse_samples(text: &str) -> Vec<Sample> {
    footmetrics::parse::parse_text(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// The value of the sample with this name and exactly these labels (in any order).
pub fn sample_value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && s.labels.len() == labels.len()
                && labels.iter().all(|(k, v)| s.label(k) == Some(v))
        })
        .map(|s| s.value)
}

/// A free TCP port on 127.0.0.1 (bound and released; fine for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A response from [`http_get`].
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A blocking HTTP/1.0 request (the server closes the connection, so no chunking to undo).
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<HttpResponse> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status line"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok(HttpResponse {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    })
}

pub fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<HttpResponse> {
    http_request(addr, "GET", path, &[])
}

fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A real Prometheus server (Debian package `prometheus`) on 127.0.0.1, scraping the given
/// targets every second with exemplar storage on; killed by PID on drop.
pub struct Prometheus {
    child: Child,
    pub addr: SocketAddr,
    dir: PathBuf,
}

/// Polls a Prometheus-family server's `/-/ready` until it answers 200, for up to `timeout`.
fn ready(addr: SocketAddr, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while !http_get(addr, "/-/ready").is_ok_and(|r| r.status == 200) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    true
}

/// A real Pushgateway (Debian `prometheus-pushgateway`) on 127.0.0.1, in memory only
/// (`--persistence.file=""`), stopped by PID on drop.
pub struct Pushgateway {
    child: Child,
    pub addr: SocketAddr,
    /// `http://127.0.0.1:<port>`, or `https://…` when started with TLS.
    pub url: String,
    /// What reading the gateway back needs (CA, client certificate, basic auth).
    client: footmetrics::push::ClientOptions,
    dir: Option<PathBuf>,
}

impl Pushgateway {
    pub fn start() -> Pushgateway {
        Self::start_with_web_config(None, footmetrics::push::ClientOptions::default())
    }

    /// With `--web.config.file` holding `web_config` (TLS, client certificates, basic auth;
    /// see [`tls::TestPki::web_config`]); `client` is what this helper itself uses to check
    /// readiness and read samples back. TLS when `web_config` has a `tls_server_config`.
    pub fn start_with_web_config(
        web_config: Option<String>,
        client: footmetrics::push::ClientOptions,
    ) -> Pushgateway {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let mut cmd = Command::new("prometheus-pushgateway");
        cmd.arg(format!("--web.listen-address={addr}"))
            .arg("--persistence.file=")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut dir = None;
        let tls = web_config
            .as_deref()
            .is_some_and(|c| c.contains("tls_server_config"));
        if let Some(config) = &web_config {
            let d = std::env::temp_dir().join(format!(
                "footmetrics-pushgateway-{}-{}",
                std::process::id(),
                addr.port()
            ));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("web.yml"), config).unwrap();
            cmd.arg(format!("--web.config.file={}", d.join("web.yml").display()));
            dir = Some(d);
        }
        let child = cmd
            .spawn()
            .expect("prometheus-pushgateway (Debian package) is required; run `make deps`");
        let scheme = if tls { "https" } else { "http" };
        let g = Pushgateway {
            child,
            addr,
            url: format!("{scheme}://127.0.0.1:{}", addr.port()),
            client,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !g.get("/-/ready").is_ok_and(|r| r.status == 200) {
            assert!(Instant::now() < deadline, "pushgateway not ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        g
    }

    fn get(&self, path: &str) -> Result<footmetrics::push::HttpResponse, String> {
        footmetrics::push::HttpClient::new(self.client.clone(), Duration::from_secs(5))
            .and_then(|c| c.exchange(&format!("{}{path}", self.url), "GET", &[], b"", 64 << 20))
            .map_err(|e| e.to_string())
    }

    /// The gateway's own exposition, parsed (what Prometheus would scrape from it).
    pub fn samples(&self) -> Vec<Sample> {
        let r = self.get("/metrics").expect("pushgateway reachable");
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        parse_samples(&String::from_utf8_lossy(&r.body))
    }
}

impl Drop for Pushgateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

impl Prometheus {
    /// Starts Prometheus scraping `targets` as `(job, host:port)`, waiting until it is ready.
    pub fn start(targets: &[(&str, SocketAddr)]) -> Prometheus {
        Prometheus::start_with_rules(targets, &[])
    }

    /// As `start`, with `rule_files` loaded (recording rules and alerts evaluated).
    pub fn start_with_rules(targets: &[(&str, SocketAddr)], rule_files: &[PathBuf]) -> Prometheus {
        Prometheus::launch(&static_config(targets, rule_files, ""), &[])
    }

    /// As `start`, with native histograms on (`--enable-feature=native-histograms`): Prometheus
    /// then asks for the protobuf exposition first.
    pub fn start_native(targets: &[(&str, SocketAddr)]) -> Prometheus {
        Prometheus::start_native_with_rules(targets, &[])
    }

    /// As `start_native`, with `rule_files` loaded and evaluated every second.
    pub fn start_native_with_rules(
        targets: &[(&str, SocketAddr)],
        rule_files: &[PathBuf],
    ) -> Prometheus {
        let config = static_config(targets, rule_files, "  evaluation_interval: 1s\n");
        Prometheus::launch(&config, &["native-histograms"])
    }

    /// Starts Prometheus with `scrape_configs` (YAML list items, indented by two spaces,
    /// written under `scrape_configs:`), scraping every second: for TLS, authentication and
    /// the other per-job settings.
    pub fn start_with_scrape_configs(scrape_configs: &str) -> Prometheus {
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n{scrape_configs}"
        );
        Prometheus::launch(&config, &[])
    }

    /// Runs Prometheus with `config` and these `--enable-feature`s on a free port, in a
    /// directory of its own, and waits until it is ready.
    fn launch(config: &str, features: &[&str]) -> Prometheus {
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let dir = std::env::temp_dir().join(format!(
            "footmetrics-prometheus-{}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        Prometheus::launch_in(addr, dir, config, features)
    }

    fn launch_in(addr: SocketAddr, dir: PathBuf, config: &str, features: &[&str]) -> Prometheus {
        std::fs::write(dir.join("prometheus.yml"), config).unwrap();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--enable-feature=exemplar-storage")
            .args(features.iter().map(|f| format!("--enable-feature={f}")))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("prometheus (Debian package `prometheus`) is required; run `make deps`");
        let p = Prometheus { child, addr, dir };
        assert!(
            ready(addr, Duration::from_secs(30)),
            "prometheus not ready:\n{}",
            p.log()
        );
        p
    }

    /// Prometheus' own log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    /// `GET /api/v1/<path>?<params>`, returning the JSON `data` (panics on an API error).
    pub fn api(&self, path: &str, params: &[(&str, &str)]) -> Value {
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", url_encode(v)))
            .collect();
        let r = http_get(self.addr, &format!("/api/v1/{path}?{}", query.join("&")))
            .expect("prometheus API reachable");
        let v: Value = serde_json::from_slice(&r.body)
            .unwrap_or_else(|e| panic!("prometheus answered non-JSON ({e}): {}", r.text()));
        assert_eq!(v["status"], "success", "{path} {params:?}: {v}");
        v["data"].clone()
    }

    /// An instant query's first sample value, if the result is not empty.
    pub fn query_value(&self, expr: &str) -> Option<f64> {
        let data = self.api("query", &[("query", expr)]);
        let first = data["result"].get(0)?;
        first["value"][1].as_str()?.parse().ok()
    }

    /// Polls `expr` until it returns a finite value, or panics after `timeout`.
    pub fn wait_for_value(&self, expr: &str, timeout: Duration) -> f64 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = self.query_value(expr) {
                if v.is_finite() {
                    return v;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no value for {expr} after {timeout:?}; targets: {}",
                self.api("targets", &[])
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

/// A configuration scraping `targets` (`(job, host:port)`) every second, with `rule_files`
/// and `extra_global` lines (indented by two spaces) under `global:`.
fn static_config(
    targets: &[(&str, SocketAddr)],
    rule_files: &[PathBuf],
    extra_global: &str,
) -> String {
    let mut config =
        format!("global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n{extra_global}");
    if !rule_files.is_empty() {
        config.push_str("rule_files:\n");
        for f in rule_files {
            config.push_str(&format!("  - '{}'\n", f.display()));
        }
    }
    config.push_str("scrape_configs:\n");
    for (job, target) in targets {
        config.push_str(&format!(
            "  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n"
        ));
    }
    config
}

/// Serves `registry.scrape` on 127.0.0.1 (a thread, one request per connection), honouring
/// each request's `Accept` header as a scrape handler does: the smallest exporter a test
/// can point a real Prometheus at.
pub fn serve_registry(registry: footmetrics::Registry) -> SocketAddr {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut accept = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    if k.eq_ignore_ascii_case("accept") {
                        accept = Some(v.trim().to_owned());
                    }
                }
            }
            let mut body = Vec::new();
            let content_type = registry.scrape(accept.as_deref(), &[], &mut body);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    addr
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Reads one HTTP/1.1 response with a `Content-Length` body from a kept-alive connection:
/// its status and body. For tests that hold raw connections (floods, keep-alive scrapes).
pub fn read_http_response(stream: &mut impl Read) -> std::io::Result<(u16, String)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line in {head:?}")))?;
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body)?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// Whether the peer has closed the connection (end of file or reset), without waiting.
pub fn closed_by_peer(s: &mut TcpStream) -> bool {
    s.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 512];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_value_matches_label_sets_exactly() {
        let s = parse_samples("x_total{a=\"1\",b=\"2\"} 3\nup 1\n");
        assert_eq!(
            sample_value(&s, "x_total", &[("b", "2"), ("a", "1")]),
            Some(3.0)
        );
        assert_eq!(sample_value(&s, "x_total", &[("a", "1")]), None);
        assert_eq!(sample_value(&s, "up", &[]), Some(1.0));
    }
}
