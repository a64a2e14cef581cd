//! The core's Pushgateway client against a real Pushgateway: pushed values read back exactly,
//! `pushadd` merging, `push` replacing, `delete` removing, grouping keys (base64 for `/`,
//! spaces and empty values), DELETE's headers, and clear errors for bad keys, error statuses and silent gateways.

use footmetrics::push::{push, PushError, PushMethod};
use footmetrics::{Opts, Registry};
use footmetrics_testkit::{Pushgateway, Sample};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(5);

/// `(name, sorted labels without job, value)`.
type Pushed = (String, Vec<(String, String)>, f64);

/// The group's samples (grouping labels included), push_* bookkeeping left out.
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
    assert!(group(&gw, "nightly-etl").is_empty());
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
    assert!(group(&gw, "job with spaces").is_empty());
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
    assert!(
        head.lines()
            .any(|l| l == "Content-Type: text/plain; version=0.0.4; charset=utf-8"),
        "{head}"
    );
    assert!(body.is_empty());
}
