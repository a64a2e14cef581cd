//! Pushgateway client: `push` (PUT, replaces the group), `pushadd` (POST, replaces only the
//! pushed families) and `delete` (DELETE, drops the group), for batch jobs that end before a
//! scrape. Plain HTTP/1.1 over a blocking socket with one deadline for the whole exchange; no
//! runtime, so bindings can call it from any thread (with their interpreter's lock released).

use crate::encode::Format;
use crate::registry::Registry;
use crate::validate;
use std::fmt;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Why a push failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushError {
    /// A bad gateway address, job name or grouping key: fix the call.
    InvalidArgument(String),
    /// The gateway could not be reached or did not answer in time.
    Io(String),
    /// The gateway answered with an error status.
    Status { code: u16, message: String },
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::InvalidArgument(m) => write!(f, "{m}"),
            PushError::Io(m) => write!(f, "error talking to pushgateway: {m}"),
            PushError::Status { code, message } => {
                write!(f, "error talking to pushgateway: {code} {message}")
            }
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
    pub fn http_method(self) -> &'static str {
        match self {
            PushMethod::Push => "PUT",
            PushMethod::PushAdd => "POST",
            PushMethod::Delete => "DELETE",
        }
    }
}

/// Pushes (or deletes) `registry`'s metrics to the group `job` + `grouping` at `gateway`
/// (`host:port` or `http://host:port[/prefix]`).
pub fn push<K: AsRef<str>, V: AsRef<str>>(
    registry: &Registry,
    gateway: &str,
    job: &str,
    grouping: &[(K, V)],
    method: PushMethod,
    timeout: Duration,
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
    send(&url, method.http_method(), &headers, &body, timeout)
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
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for chunk in bytes.chunks(3) {
        let n = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
}

/// An HTTP response as [`exchange`] read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    /// The status line's reason phrase (`Not Found`).
    pub reason: String,
    /// The header lines, as sent.
    pub head: String,
    /// The body as it came over the wire (still chunked if it was sent so).
    pub raw_body: Vec<u8>,
    /// Reading stopped at the size limit: the body is cut short.
    pub truncated: bool,
}

impl HttpResponse {
    /// Header `name`'s value (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The body with chunked transfer encoding undone; `None` when the chunks are malformed
    /// or cut short.
    pub fn body(&self) -> Option<Vec<u8>> {
        let chunked = self
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        if !chunked {
            return Some(self.raw_body.clone());
        }
        let mut data = self.raw_body.as_slice();
        let mut out = Vec::new();
        loop {
            let eol = data.windows(2).position(|w| w == b"\r\n")?;
            let size = std::str::from_utf8(&data[..eol]).ok()?;
            let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
            data = &data[eol + 2..];
            if size == 0 {
                return Some(out);
            }
            out.extend_from_slice(data.get(..size)?);
            data = data.get(size + 2..)?;
        }
    }
}

/// One HTTP/1.1 exchange (`Connection: close`) with a deadline of `timeout` for all of it,
/// reading at most `max_response` bytes of the answer. Any status is a response; only
/// failing to get one is an error.
pub fn exchange(
    url: &str,
    method: &str,
    headers: &[(String, String)],
    body: &[u8],
    timeout: Duration,
    max_response: usize,
) -> Result<HttpResponse, PushError> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        PushError::InvalidArgument(format!(
            "unsupported gateway URL {url:?}: only http:// is supported"
        ))
    })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(PushError::InvalidArgument(format!("no host in {url:?}")));
    }
    for (k, v) in headers {
        if [k, v].iter().any(|s| s.contains(['\r', '\n'])) {
            return Err(PushError::InvalidArgument(
                "header names and values must not contain line breaks".into(),
            ));
        }
    }
    let host_port = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.contains(']'))
    {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let deadline = Instant::now() + timeout;
    let io = |e: std::io::Error| PushError::Io(e.to_string());
    let addrs = host_port
        .to_socket_addrs()
        .map_err(|e| PushError::Io(format!("resolving {authority}: {e}")))?;
    let mut last = PushError::Io(format!("no address for {authority}"));
    let mut stream = None;
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = PushError::Io(format!("connecting to {addr}: {e}")),
        }
    }
    let mut stream = stream.ok_or(last)?;
    let remaining = || {
        let left = deadline.saturating_duration_since(Instant::now());
        Some(left.max(Duration::from_millis(1)))
    };
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: footmetrics\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.set_write_timeout(remaining()).map_err(io)?;
    // A gateway may answer an error (404, 400) and close before reading the whole request;
    // then writing fails or the connection resets, but its answer is what the caller needs.
    // So a failed write still reads, and a read error after a response began ends the read.
    // Head and body in one write, so they arrive together: a gateway that answers before the
    // body has arrived may close with it unread, which the kernel turns into a reset.
    let mut message = request.into_bytes();
    message.extend_from_slice(body);
    let written = stream.write_all(&message);
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        stream.set_read_timeout(remaining()).map_err(io)?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) if response.starts_with(b"HTTP/") => break,
            Err(e) => return Err(io(written.err().unwrap_or(e))),
        }
        if Instant::now() >= deadline {
            return Err(PushError::Io("timed out reading the response".into()));
        }
        if response.len() > max_response {
            break;
        }
    }
    if response.is_empty() {
        if let Err(e) = written {
            return Err(io(e));
        }
    }
    let truncated = response.len() > max_response;
    let (head, raw_body) = match response.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => (&response[..i], response[i + 4..].to_vec()),
        None => (&response[..], Vec::new()),
    };
    let head = String::from_utf8_lossy(head).into_owned();
    let status_line = head.lines().next().unwrap_or("");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| PushError::Io(format!("not an HTTP response: {status_line:?}")))?;
    let reason = status_line
        .splitn(3, ' ')
        .nth(2)
        .unwrap_or("")
        .trim()
        .to_owned();
    Ok(HttpResponse {
        status,
        reason,
        head,
        raw_body,
        truncated,
    })
}

/// One HTTP/1.1 exchange, as [`exchange`]. A 2xx status is success; anything else is
/// [`PushError::Status`] with the body's first line.
pub fn send(
    url: &str,
    method: &str,
    headers: &[(String, String)],
    body: &[u8],
    timeout: Duration,
) -> Result<(), PushError> {
    // The status line and a bit of body are all a push needs.
    let r = exchange(url, method, headers, body, timeout, 64 * 1024)?;
    if (200..300).contains(&r.status) {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&r.raw_body);
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn chunked_bodies_are_decoded() {
        let response = |head: &str, body: &[u8]| HttpResponse {
            status: 200,
            reason: "OK".into(),
            head: format!("HTTP/1.1 200 OK\r\n{head}"),
            raw_body: body.to_vec(),
            truncated: false,
        };
        let chunked = response(
            "Transfer-Encoding: chunked",
            b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
        );
        assert_eq!(chunked.header("transfer-encoding"), Some("chunked"));
        assert_eq!(chunked.body().unwrap(), b"abcde");
        assert!(response("Transfer-Encoding: chunked", b"5\r\nab")
            .body()
            .is_none());
        assert_eq!(response("Content-Length: 2", b"ab").body().unwrap(), b"ab");
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
            send("https://x", "PUT", &[], b"", Duration::from_secs(1)),
            Err(PushError::InvalidArgument(_))
        ));
    }
}
