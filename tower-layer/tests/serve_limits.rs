//! The exporter under floods of slow and idle connections, on 127.0.0.1: connections that
//! never finish a request head, or idle after one, are closed within their timeouts; past
//! `max_connections` they are closed on accept and counted; the process serving keeps its
//! file descriptors for its own files (run in a child process whose `RLIMIT_NOFILE` is 256);
//! a scraper's connection keeps being answered throughout.

use footmetrics::{Opts, Registry};
use footmetrics_testkit::{
    closed_by_peer, http_request, parse_samples, read_http_response, sample_value,
};
use footmetrics_tower::{Exporter, ServeLimits};
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One keep-alive HTTP/1.1 connection that scrapes `/metrics` again and again.
struct Scraper {
    stream: TcpStream,
}

impl Scraper {
    fn connect(addr: SocketAddr) -> Scraper {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        Scraper { stream }
    }

    /// `(status, body)` of one `GET /metrics` on this connection.
    fn scrape(&mut self) -> std::io::Result<(u16, String)> {
        self.stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n")?;
        read_http_response(&mut self.stream)
    }
}

fn value(body: &str, name: &str) -> f64 {
    sample_value(&parse_samples(body), name, &[]).unwrap_or_else(|| panic!("no {name} in:\n{body}"))
}

/// A child process serving metrics (this test binary, running `flood_child_process`), killed
/// by PID when dropped.
struct Child_ {
    child: Child,
    addr: SocketAddr,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Child_ {
    fn start(max_connections: usize, header_timeout_ms: u64, idle_timeout_ms: u64) -> Child_ {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "flood_child_process",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("FOOTMETRICS_FLOOD_CHILD", "1")
            .env("FLOOD_MAX_CONNECTIONS", max_connections.to_string())
            .env("FLOOD_HEADER_TIMEOUT_MS", header_timeout_ms.to_string())
            .env("FLOOD_IDLE_TIMEOUT_MS", idle_timeout_ms.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next().expect("the child prints its address").unwrap();
            if let Some((_, a)) = line.split_once("ADDR ") {
                break a.trim().parse().unwrap();
            }
        };
        Child_ { child, addr, lines }
    }

    /// Closes the child's stdin (it stops opening files and reports); `(opens, failures,
    /// first error)`.
    fn finish(mut self) -> (u64, u64, String) {
        drop(self.child.stdin.take());
        for line in self.lines.by_ref() {
            let line = line.unwrap();
            if let Some((_, rest)) = line.split_once("OPENS ") {
                let mut parts = rest.splitn(3, ' ');
                let opens = parts.next().unwrap().parse().unwrap();
                let failures = parts.next().unwrap().parse().unwrap();
                let error = parts.next().unwrap_or("").to_owned();
                return (opens, failures, error);
            }
        }
        panic!("the child ended without reporting");
    }
}

impl Drop for Child_ {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The child's side (does nothing when run as an ordinary test): lowers its own descriptor
/// limit to 256, serves, and opens files every few milliseconds as a host program would,
/// counting the opens that fail, until its stdin closes.
#[test]
fn flood_child_process() {
    if std::env::var_os("FOOTMETRICS_FLOOD_CHILD").is_none() {
        return;
    }
    let env = |k: &str| std::env::var(k).unwrap().parse::<u64>().unwrap();
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        lim.rlim_cur = 256;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
    }
    let registry = Registry::new();
    registry
        .counter(&Opts::new("flood_served_total", "Served."))
        .unwrap()
        .inc();
    let handle = Exporter::new(&registry)
        .max_connections(env("FLOOD_MAX_CONNECTIONS") as usize)
        .header_read_timeout(Duration::from_millis(env("FLOOD_HEADER_TIMEOUT_MS")))
        .idle_timeout(Duration::from_millis(env("FLOOD_IDLE_TIMEOUT_MS")))
        .spawn("127.0.0.1:0")
        .unwrap();
    println!("ADDR {}", handle.local_addr());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopper = stop.clone();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        stopper.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let exe = std::env::current_exe().unwrap();
    let (mut opens, mut failures, mut first_error) = (0u64, 0u64, String::new());
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let mut held = Vec::new();
        for _ in 0..16 {
            opens += 1;
            match std::fs::File::open(&exe) {
                Ok(f) => held.push(f),
                Err(e) => {
                    failures += 1;
                    if first_error.is_empty() {
                        first_error = e.to_string();
                    }
                }
            }
        }
        drop(held);
        std::thread::sleep(Duration::from_millis(5));
    }
    println!("OPENS {opens} {failures} {first_error}");
    handle.shutdown();
}

const FLOOD: usize = 1100;

/// Opens `FLOOD` connections: half send part of a request head and go silent, half send
/// nothing. Returns the connected ones (it gives up after 20 connections in a row time out).
fn flood(addr: SocketAddr, connect_timeout: Duration) -> Vec<TcpStream> {
    let mut conns = Vec::new();
    let mut failed_in_a_row = 0;
    for i in 0..FLOOD {
        let Ok(mut s) = TcpStream::connect_timeout(&addr, connect_timeout) else {
            failed_in_a_row += 1;
            if failed_in_a_row == 20 {
                break;
            }
            continue;
        };
        failed_in_a_row = 0;
        if i % 2 == 0 {
            let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: slow\r\nX-Slow: ");
        }
        conns.push(s);
    }
    conns
}

#[test]
fn a_flood_of_slow_and_idle_connections_leaves_the_host_its_descriptors() {
    let header_timeout = Duration::from_millis(1500);
    let child = Child_::start(64, header_timeout.as_millis() as u64, 3000);
    let addr = child.addr;

    // A scraper on its kept connection, every 100 ms from before the flood to after it.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    let scraper = std::thread::spawn(move || {
        let mut scraper = Scraper::connect(addr);
        let (mut ok, mut failed) = (0, 0);
        while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
            match scraper.scrape() {
                Ok((200, body)) if body.contains("flood_served_total 1") => ok += 1,
                _ => failed += 1,
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        (ok, failed)
    });
    std::thread::sleep(Duration::from_millis(300));

    let started = Instant::now();
    let mut conns = flood(addr, Duration::from_secs(2));
    let flooded = started.elapsed();
    let connected = conns.len();
    assert!(
        connected >= FLOOD - 10,
        "only {connected} flood connections"
    );

    // Until every flood connection is closed, the time each is closed at is noted.
    let mut closed_at: Vec<Option<Duration>> = vec![None; conns.len()];
    let deadline = started + flooded + header_timeout + Duration::from_secs(3);
    while closed_at.iter().any(Option::is_none) && Instant::now() < deadline {
        for (i, c) in conns.iter_mut().enumerate() {
            if closed_at[i].is_none() && closed_by_peer(c) {
                closed_at[i] = Some(started.elapsed());
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (scrapes, scrape_failures) = scraper.join().unwrap();
    let open = closed_at.iter().filter(|c| c.is_none()).count();
    let last_close = closed_at
        .iter()
        .flatten()
        .max()
        .copied()
        .unwrap_or_default();
    eprintln!(
        "flood of {connected} connections (opened in {flooded:?}): all closed {last_close:?} \
         after the first (header timeout {header_timeout:?}); {scrapes} scrapes answered \
         meanwhile, {scrape_failures} failed"
    );
    assert_eq!(
        open,
        0,
        "flood connections still open {:?} after the flood",
        deadline - started
    );
    assert!(
        last_close <= flooded + header_timeout + Duration::from_secs(1),
        "closed only after {last_close:?}"
    );
    assert_eq!(scrape_failures, 0);
    assert!(scrapes >= 10, "{scrapes} scrapes");

    // New connections are served again, and the refusals and timeouts were counted.
    let r = http_request(child.addr, "GET", "/metrics", &[]).unwrap();
    assert_eq!(r.status, 200);
    let body = r.text();
    let refused = value(&body, "footmetrics_exporter_connections_refused_total");
    let timed_out = value(&body, "footmetrics_exporter_connections_timed_out_total");
    eprintln!("refused at accept: {refused}, closed by timeout: {timed_out}");
    assert_eq!(refused + timed_out, connected as f64, "{body}");
    // (Slots freed by the timeouts while the flood was still opening take more of it.)
    assert!(refused >= 500.0, "{body}");

    let (opens, failures, error) = child.finish();
    eprintln!("the host opened {opens} files during the flood, {failures} failed {error}");
    assert!(opens > 1000, "{opens} opens");
    assert_eq!(failures, 0, "the host's own opens failed: {error}");
}

/// The same flood with the limits out of the way (as before them) does exhaust the child's
/// descriptors: what the test above guards against is real.
#[test]
fn without_the_limits_the_same_flood_makes_the_host_run_out_of_descriptors() {
    let child = Child_::start(1_000_000, 60_000, 60_000);
    // The child stops accepting once out of descriptors: connects then time out.
    let conns = flood(child.addr, Duration::from_millis(200));
    std::thread::sleep(Duration::from_millis(1500));
    let (opens, failures, error) = child.finish();
    eprintln!("unlimited: {opens} opens, {failures} failed ({error})");
    assert!(failures > 0, "expected EMFILE in the child");
    drop(conns);
}

fn serve(limits: ServeLimits) -> (footmetrics_tower::ExporterHandle, Registry) {
    let registry = Registry::new();
    registry
        .counter(&Opts::new("limited_total", "L."))
        .unwrap()
        .inc();
    let handle = Exporter::new(&registry)
        .limits(limits)
        .spawn("127.0.0.1:0")
        .unwrap();
    (handle, registry)
}

/// Polls until the server closes `s`; the time it took.
fn time_to_close(s: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < within {
        if closed_by_peer(s) {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn slow_heads_and_idle_keep_alive_connections_are_closed_at_their_timeouts() {
    let limits = ServeLimits {
        header_read_timeout: Duration::from_millis(600),
        idle_timeout: Duration::from_millis(1200),
        ..ServeLimits::default()
    };
    let (handle, _registry) = serve(limits);
    let addr = handle.local_addr();

    // A partial head: closed at the header-read timeout, not before.
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.write_all(b"GET /metrics HTTP/1.1\r\nHost:").unwrap();
    let t = time_to_close(&mut slow, Duration::from_secs(3)).expect("slow head closed");
    assert!(
        t >= Duration::from_millis(500) && t <= Duration::from_millis(1100),
        "{t:?}"
    );

    // A head trickled a byte at a time does not keep the connection either.
    let mut trickle = TcpStream::connect(addr).unwrap();
    let started = Instant::now();
    let mut closed = false;
    for b in
        b"GET /metrics HTTP/1.1\r\nHost: trickle\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    {
        if trickle.write_all(&[*b]).is_err() || closed_by_peer(&mut trickle) {
            closed = true;
            break;
        }
        trickle.set_nonblocking(false).unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(closed, "a trickled head outlived the timeout");
    assert!(started.elapsed() <= Duration::from_millis(1200));

    // Idle after one answer: kept past the header timeout, closed at the idle timeout.
    let mut idle = Scraper::connect(addr);
    assert_eq!(idle.scrape().unwrap().0, 200);
    let t = time_to_close(&mut idle.stream, Duration::from_secs(4)).expect("idle closed");
    assert!(
        t >= Duration::from_millis(1000) && t <= Duration::from_millis(1800),
        "{t:?}"
    );
    // Scraping within the idle timeout keeps a connection.
    let mut kept = Scraper::connect(addr);
    for _ in 0..5 {
        assert_eq!(kept.scrape().unwrap().0, 200);
        std::thread::sleep(Duration::from_millis(400));
    }
    let stats = handle.stats();
    assert_eq!(stats.connections_timed_out, 3, "{stats:?}");
    assert_eq!(stats.connections_refused, 0);
}

#[test]
fn past_max_connections_new_ones_are_closed_at_once_and_counted() {
    let limits = ServeLimits {
        max_connections: 3,
        ..ServeLimits::default()
    };
    let (handle, _registry) = serve(limits);
    let addr = handle.local_addr();
    let mut scraper = Scraper::connect(addr);
    assert_eq!(scraper.scrape().unwrap().0, 200);
    let _idle = [
        TcpStream::connect(addr).unwrap(),
        TcpStream::connect(addr).unwrap(),
    ];
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..5 {
        let mut extra = TcpStream::connect(addr).unwrap();
        let t = time_to_close(&mut extra, Duration::from_secs(2)).expect("refused");
        assert!(t < Duration::from_millis(500), "{t:?}");
    }
    let (status, body) = scraper.scrape().unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        value(&body, "footmetrics_exporter_connections_refused_total"),
        5.0
    );
    let stats = handle.stats();
    assert_eq!(stats.connections_refused, 5);
    assert_eq!(stats.connections_open, 3);
}

#[test]
fn past_max_concurrent_scrapes_requests_are_answered_503() {
    let registry = Registry::new();
    // A collector taking 400 ms, so scrapes overlap.
    registry
        .register(footmetrics::FnCollector::new(Vec::new(), || {
            std::thread::sleep(Duration::from_millis(400));
            Vec::new()
        }))
        .unwrap();
    let handle = Exporter::new(&registry)
        .max_concurrent_scrapes(2)
        .spawn("127.0.0.1:0")
        .unwrap();
    let addr = handle.local_addr();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..5)
            .map(|_| s.spawn(|| http_request(addr, "GET", "/metrics", &[]).unwrap().status))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok = statuses.iter().filter(|&&s| s == 200).count();
    let busy = statuses.iter().filter(|&&s| s == 503).count();
    assert_eq!(ok + busy, 5, "{statuses:?}");
    assert!(ok >= 2 && busy >= 1, "{statuses:?}");
    assert_eq!(handle.stats().scrapes_refused, busy as u64);
}

#[test]
fn huge_heads_are_431_and_bad_limits_are_invalid_input() {
    let (handle, _registry) = serve(ServeLimits::default());
    let big = "x".repeat(20 * 1024);
    let r = http_request(handle.local_addr(), "GET", "/metrics", &[("X-Big", &big)]).unwrap();
    assert_eq!(r.status, 431);

    let registry = Registry::new();
    for (exporter, what) in [
        (
            Exporter::new(&registry).max_connections(0),
            "max_connections",
        ),
        (
            Exporter::new(&registry).max_concurrent_scrapes(0),
            "max_concurrent_scrapes",
        ),
        (
            Exporter::new(&registry).header_read_timeout(Duration::ZERO),
            "header_read_timeout",
        ),
        (
            Exporter::new(&registry).idle_timeout(Duration::ZERO),
            "idle_timeout",
        ),
        (
            Exporter::new(&registry).max_header_bytes(100),
            "max_header_bytes",
        ),
    ] {
        let err = exporter.spawn("127.0.0.1:0").err().expect(what);
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains(what), "{err}");
    }
}

#[test]
fn self_metrics_leave_the_registry_with_the_exporter() {
    let (handle, registry) = serve(ServeLimits::default());
    // A second exporter of the same registry serves without them (the first one has them).
    let second = Exporter::new(&registry).spawn("127.0.0.1:0").unwrap();
    let r = http_request(second.local_addr(), "GET", "/metrics", &[]).unwrap();
    assert_eq!(r.status, 200);
    assert!(r
        .text()
        .contains("footmetrics_exporter_connections_refused_total 0"));
    handle.shutdown();
    second.shutdown();
    let mut out = Vec::new();
    registry.encode(footmetrics::Format::Text, &mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("footmetrics_exporter"), "{text}");
    assert!(text.contains("limited_total 1"));
}
