//! The core's Pushgateway client against a real Pushgateway: pushed values read back exactly,
//! `pushadd` merging, `push` replacing, `delete` removing, grouping keys (base64 for `/`,
//! spaces and empty values), DELETE's headers, and clear errors for bad keys, error statuses and silent gateways.
//! Then the gateway behind TLS (its `--web.config.file`, with certificates made at test
//! time): a private CA, a wrong CA, mutual TLS, bcrypt basic auth, bearer and custom headers.

use footmetrics::push::{push, push_with, ClientOptions, PushError, PushMethod};
use footmetrics::{Opts, Registry};
use footmetrics_testkit::tls::TestPki;
use footmetrics_testkit::{Pushgateway, Sample};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(5);

/// `(name, sorted labels without job, value)`.
type Pushed = (String, Vec<(String, String)>, f64);

/// The group's samples (grouping labels included), push_* bookkeeping left out.
/// `group`, once the gateway has applied a DELETE: it answers 202 and deletes asynchronously.
fn group_after_delete(gw: &Pushgateway, job: &str) -> Vec<Pushed> {
    let mut got = group(gw, job);
    for _ in 0..50 {
        if got.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(40));
        got = group(gw, job);
    }
    got
}

fn group(gw: &Pushgateway, job: &str) -> Vec<Pushed> {
    let mut out: Vec<_> = gw
        .samples()
        .into_iter()
        .filter(|s: &Sample| s.label("job") == Some(job) && !s.name.starts_with("push_"))
        .map(|s| {
            let mut labels: Vec<_> = s
                .labels
                .into_iter()
                // The gateway adds `instance=""` to groups without one.
                .filter(|(k, v)| k != "job" && !v.is_empty())
                .collect();
            labels.sort();
            (s.name, labels, s.value)
        })
        .collect();
    out.sort_by(|a, b| (&a.0, &a.1).partial_cmp(&(&b.0, &b.1)).unwrap());
    out
}

fn l(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn push_pushadd_and_delete_round_trip_exactly() {
    let gw = Pushgateway::start();
    let addr = gw.addr.to_string();
    let r = Registry::new();
    let rows = r
        .counter_vec(&Opts::new("etl_rows_total", "Rows.").labels(&["stage"]))
        .unwrap();
    rows.with_label_values(&["load"]).unwrap().inc_by_u64(1234);
    r.gauge(&Opts::new("etl_last_success_unixtime", "Last success."))
        .unwrap()
        .set(1_795_000_000.5);
    let grouping = [("instance", "worker/3"), ("run", "")];
    push(&r, &addr, "nightly-etl", &grouping, PushMethod::Push, T).unwrap();
    let g = [("instance", "worker/3")];
    assert_eq!(
        group(&gw, "nightly-etl"),
        vec![
            ("etl_last_success_unixtime".into(), l(&g), 1_795_000_000.5),
            (
                "etl_rows_total".into(),
                l(&[g[0], ("stage", "load")]),
                1234.0
            ),
        ]
    );

    // pushadd replaces only the families it carries.
    let r2 = Registry::new();
    r2.gauge(&Opts::new("etl_rows_per_second", "Rate."))
        .unwrap()
        .set(42.25);
    push(&r2, &addr, "nightly-etl", &grouping, PushMethod::PushAdd, T).unwrap();
    let got = group(&gw, "nightly-etl");
    assert_eq!(got.len(), 3);
    assert!(got.contains(&("etl_rows_per_second".into(), l(&g), 42.25)));

    // push replaces the whole group.
    push(&r2, &addr, "nightly-etl", &grouping, PushMethod::Push, T).unwrap();
    assert_eq!(
        group(&gw, "nightly-etl"),
        vec![("etl_rows_per_second".into(), l(&g), 42.25)]
    );

    push(&r2, &addr, "nightly-etl", &grouping, PushMethod::Delete, T).unwrap();
    assert!(group_after_delete(&gw, "nightly-etl").is_empty());
}

#[test]
fn bad_grouping_keys_and_gateway_errors_are_clear() {
    let gw = Pushgateway::start();
    let addr = gw.addr.to_string();
    let r = Registry::new();
    r.gauge(&Opts::new("g", "G.")).unwrap().set(1.0);
    let err = push(&r, &addr, "j", &[("bad-key", "x")], PushMethod::Push, T).unwrap_err();
    assert!(
        matches!(&err, PushError::InvalidArgument(m) if m.contains("invalid grouping key")),
        "{err}"
    );
    let err = push(&r, &addr, "j", &[("job", "x")], PushMethod::Push, T).unwrap_err();
    assert!(
        matches!(&err, PushError::InvalidArgument(m) if m.contains("job")),
        "{err}"
    );
    let none: &[(&str, &str)] = &[];
    assert!(matches!(
        push(&r, &addr, "", none, PushMethod::Push, T),
        Err(PushError::InvalidArgument(_))
    ));
    // A push the gateway refuses: a family whose type clashes with another group's.
    let counter = Registry::new();
    counter
        .counter(&Opts::new("clash_total", "C."))
        .unwrap()
        .inc();
    push(&counter, &addr, "a", none, PushMethod::Push, T).unwrap();
    let gauge = Registry::new();
    gauge
        .gauge(&Opts::new("clash_total", "G."))
        .unwrap()
        .set(2.0);
    let err = push(&gauge, &addr, "b", none, PushMethod::Push, T).unwrap_err();
    assert!(matches!(err, PushError::Status { code: 400, .. }), "{err}");
    assert!(err.to_string().contains("inconsistent"), "{err}");
    let err = push(&r, &format!("{addr}/nope"), "j", none, PushMethod::Push, T).unwrap_err();
    assert!(matches!(err, PushError::Status { code: 404, .. }), "{err}");
}

#[test]
fn a_silent_gateway_times_out() {
    // Accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let r = Registry::new();
    let none: &[(&str, &str)] = &[];
    let t = Instant::now();
    let err = push(
        &r,
        &addr,
        "j",
        none,
        PushMethod::Push,
        Duration::from_millis(300),
    )
    .unwrap_err();
    assert!(matches!(err, PushError::Io(_)), "{err}");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

#[test]
fn grouping_values_with_spaces_round_trip_base64_encoded() {
    let gw = Pushgateway::start();
    let addr = gw.addr.to_string();
    let r = Registry::new();
    r.gauge(&Opts::new("spaced", "S.")).unwrap().set(7.0);
    let grouping = [("label", "value with spaces")];
    push(&r, &addr, "job with spaces", &grouping, PushMethod::Push, T).unwrap();
    assert_eq!(
        group(&gw, "job with spaces"),
        vec![("spaced".into(), l(&grouping), 7.0)]
    );
    push(
        &r,
        &addr,
        "job with spaces",
        &grouping,
        PushMethod::Delete,
        T,
    )
    .unwrap();
    assert!(group_after_delete(&gw, "job with spaces").is_empty());
}

/// Answers one request with 202 and hands back its head and body.
fn capture_one() -> (String, std::thread::JoinHandle<(String, Vec<u8>)>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line);
        }
        let length = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().unwrap())
            })
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut stream = stream;
        stream
            .write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .unwrap();
        (head, body)
    });
    (addr, handle)
}

#[test]
fn delete_sends_the_content_type_with_an_empty_body() {
    let (addr, request) = capture_one();
    push(
        &Registry::new(),
        &addr,
        "my_job",
        &[("a", "9")],
        PushMethod::Delete,
        T,
    )
    .unwrap();
    let (head, body) = request.join().unwrap();
    assert!(
        head.starts_with("DELETE /metrics/job/my_job/a/9 HTTP/1.1\r\n"),
        "{head}"
    );
    // Header names are case-insensitive (the client sends them lower-case).
    assert!(
        head.lines().any(|l| l
            .split_once(": ")
            .is_some_and(|(k, v)| k.eq_ignore_ascii_case("content-type")
                && v == "text/plain; version=0.0.4; charset=utf-8")),
        "{head}"
    );
    assert!(body.is_empty());
}

fn pki(name: &str) -> TestPki {
    let dir = std::env::temp_dir().join(format!("footmetrics-push-{name}-{}", std::process::id()));
    TestPki::generate(&dir)
}

fn gauge_registry(name: &str, v: f64) -> Registry {
    let r = Registry::new();
    r.gauge(&Opts::new(name, "G.")).unwrap().set(v);
    r
}

#[test]
fn tls_with_a_private_ca_round_trips_and_a_wrong_ca_is_a_tls_error() {
    let pki = pki("ca");
    let trust = ClientOptions::default().ca_file(&pki.ca);
    let gw = Pushgateway::start_with_web_config(Some(pki.web_config(false, None)), trust.clone());
    assert!(gw.url.starts_with("https://127.0.0.1:"), "{}", gw.url);
    let r = gauge_registry("tls_pushed", 6.25);
    let grouping = [("instance", "a/b")];
    push_with(
        &r,
        &gw.url,
        "tls_job",
        &grouping,
        PushMethod::Push,
        T,
        &trust,
    )
    .unwrap();
    assert_eq!(
        group(&gw, "tls_job"),
        vec![("tls_pushed".into(), l(&grouping), 6.25)]
    );

    // Another CA, the system's roots, or plain http:// to a TLS port: refused, in time.
    let none: &[(&str, &str)] = &[];
    for (what, options) in [
        ("wrong CA", ClientOptions::default().ca_file(&pki.other_ca)),
        ("system roots", ClientOptions::default()),
    ] {
        let t = Instant::now();
        let err =
            push_with(&r, &gw.url, "tls_job", none, PushMethod::Push, T, &options).unwrap_err();
        assert!(matches!(&err, PushError::Tls(_)), "{what}: {err:?}");
        let text = err.to_string();
        assert!(
            text.starts_with("TLS error talking to pushgateway"),
            "{text}"
        );
        // (A machine without any system roots says so instead.)
        assert!(
            text.contains("UnknownIssuer") || text.contains("no system root certificates"),
            "{text}"
        );
        assert!(t.elapsed() < T, "{what}: {:?}", t.elapsed());
    }
    let plain = format!("http://{}", gw.addr);
    let err = push(&r, &plain, "tls_job", none, PushMethod::Push, T).unwrap_err();
    assert!(
        matches!(err, PushError::Status { code: 400, .. }),
        "{err:?}"
    );
    let missing = ClientOptions::default().ca_file(pki.dir.join("missing.pem"));
    let err = push_with(&r, &gw.url, "j", none, PushMethod::Push, T, &missing).unwrap_err();
    assert!(
        matches!(&err, PushError::Tls(m) if m.contains("missing.pem")),
        "{err:?}"
    );

    push_with(
        &r,
        &gw.url,
        "tls_job",
        &grouping,
        PushMethod::Delete,
        T,
        &trust,
    )
    .unwrap();
    assert!(group_after_delete(&gw, "tls_job").is_empty());
    let _ = std::fs::remove_dir_all(&pki.dir);
}

#[test]
fn basic_auth_over_tls_and_a_wrong_password_is_a_401() {
    let pki = pki("auth");
    let good = ClientOptions::default()
        .ca_file(&pki.ca)
        .basic_auth("batch", "s3cret pass");
    let gw = Pushgateway::start_with_web_config(
        Some(pki.web_config(false, Some(("batch", "s3cret pass")))),
        good.clone(),
    );
    let r = gauge_registry("auth_pushed", 11.0);
    let none: &[(&str, &str)] = &[];
    push_with(&r, &gw.url, "auth_job", none, PushMethod::PushAdd, T, &good).unwrap();
    assert_eq!(
        group(&gw, "auth_job"),
        vec![("auth_pushed".into(), vec![], 11.0)]
    );
    let wrong = ClientOptions::default()
        .ca_file(&pki.ca)
        .basic_auth("batch", "guess");
    let err = push_with(&r, &gw.url, "auth_job", none, PushMethod::Push, T, &wrong).unwrap_err();
    assert!(
        matches!(err, PushError::Status { code: 401, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("401 Unauthorized"), "{err}");
    let anonymous = ClientOptions::default().ca_file(&pki.ca);
    let err = push_with(
        &r,
        &gw.url,
        "auth_job",
        none,
        PushMethod::Delete,
        T,
        &anonymous,
    )
    .unwrap_err();
    assert!(
        matches!(err, PushError::Status { code: 401, .. }),
        "{err:?}"
    );
    // Nothing changed by the refused requests.
    assert_eq!(group(&gw, "auth_job").len(), 1);
    let _ = std::fs::remove_dir_all(&pki.dir);
}

#[test]
fn mutual_tls_needs_the_client_certificate() {
    let pki = pki("mtls");
    let with_cert = ClientOptions::default()
        .ca_file(&pki.ca)
        .client_cert_files(&pki.client_cert, &pki.client_key);
    let gw =
        Pushgateway::start_with_web_config(Some(pki.web_config(true, None)), with_cert.clone());
    let r = gauge_registry("mtls_pushed", 3.5);
    let none: &[(&str, &str)] = &[];
    push_with(
        &r,
        &gw.url,
        "mtls_job",
        none,
        PushMethod::Push,
        T,
        &with_cert,
    )
    .unwrap();
    assert_eq!(
        group(&gw, "mtls_job"),
        vec![("mtls_pushed".into(), vec![], 3.5)]
    );
    let t = Instant::now();
    let without = ClientOptions::default().ca_file(&pki.ca);
    let err = push_with(&r, &gw.url, "mtls_job", none, PushMethod::Push, T, &without).unwrap_err();
    // TLS 1.3 sends the server's refusal after the client's handshake is done: it arrives as
    // the alert (Go's `BadCertificate`) or, when the request is still being written, as a
    // closed connection, which the error then explains.
    assert!(
        matches!(&err, PushError::Tls(m) if m.contains("alert"))
            || matches!(&err, PushError::Io(m) if m.contains("client certificate")),
        "{err:?}"
    );
    assert!(t.elapsed() < T);
    // A certificate without its key is a configuration error before any connection.
    let half = ClientOptions {
        client_cert: with_cert.client_cert.clone(),
        ..without
    };
    let err = push_with(&r, &gw.url, "mtls_job", none, PushMethod::Push, T, &half).unwrap_err();
    assert!(matches!(err, PushError::InvalidArgument(_)), "{err:?}");
    let _ = std::fs::remove_dir_all(&pki.dir);
}

#[test]
fn bearer_token_and_custom_headers_are_sent() {
    let (addr, request) = capture_one();
    let options = ClientOptions::default()
        .bearer_token("tok-123")
        .header("X-Scope-OrgID", "team-a");
    push_with(
        &gauge_registry("hdr", 1.0),
        &addr,
        "hdr_job",
        &[("a", "1")],
        PushMethod::PushAdd,
        T,
        &options,
    )
    .unwrap();
    let (head, body) = request.join().unwrap();
    assert!(
        head.starts_with("POST /metrics/job/hdr_job/a/1 HTTP/1.1\r\n"),
        "{head}"
    );
    let has = |name: &str, value: &str| {
        head.lines().any(|l| {
            l.split_once(": ")
                .is_some_and(|(k, v)| k.eq_ignore_ascii_case(name) && v == value)
        })
    };
    assert!(has("authorization", "Bearer tok-123"), "{head}");
    assert!(has("x-scope-orgid", "team-a"), "{head}");
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "# HELP hdr G.\n# TYPE hdr gauge\nhdr 1\n"
    );
}
