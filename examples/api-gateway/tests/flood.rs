//! The api-gateway under a flood of slow and idle connections (1,100 at once, as in the
//! issue), its descriptor limit lowered to 256: its descriptors stay well under the limit, the
//! flood is closed within the header-read timeout, and `/metrics` answers a scraper's kept
//! connection throughout. The example is stopped by PID.

use footmetrics_testkit::{closed_by_peer, read_http_response};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Gateway {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(header_timeout: &str) -> Gateway {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_api-gateway"));
    cmd.args([
        "--addr",
        "127.0.0.1:0",
        "--requests",
        "20",
        "--rps",
        "0",
        "--max-connections",
        "64",
        "--header-read-timeout",
        header_timeout,
        "--idle-timeout",
        "3",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    // SAFETY: only setrlimit, async-signal-safe, between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            lim.rlim_cur = 256;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("the api-gateway example starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("a first line").unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no address in {first:?}"));
    // Wait for the startup burst to end, then keep draining stdout.
    for line in lines.by_ref() {
        if line.unwrap().starts_with("serving") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Gateway { child, addr }
}

fn scrape(stream: &mut TcpStream) -> std::io::Result<(u16, String)> {
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n")?;
    read_http_response(stream)
}

fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn sample(body: &str, name: &str) -> f64 {
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}

#[test]
fn a_flood_of_slow_and_idle_connections_neither_exhausts_descriptors_nor_stops_scrapes() {
    let gateway = start("1.5");
    let addr = gateway.addr;
    let pid = gateway.child.id();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    let scraper = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let (mut ok, mut failed) = (0, 0);
        while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
            match scrape(&mut s) {
                Ok((200, body)) if body.contains("http_requests_total") => ok += 1,
                _ => failed += 1,
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        (ok, failed)
    });
    std::thread::sleep(Duration::from_millis(300));

    let started = Instant::now();
    let mut conns = Vec::new();
    let mut most_descriptors = 0;
    for i in 0..1100 {
        let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
            continue;
        };
        if i % 2 == 0 {
            let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: slow\r\nX-Slow: ");
        }
        conns.push(s);
        if i % 100 == 0 {
            most_descriptors = most_descriptors.max(open_descriptors(pid));
        }
    }
    let flooded = started.elapsed();
    let mut open = conns.len();
    let deadline = Instant::now() + Duration::from_millis(1500) + Duration::from_secs(3);
    let mut closed = vec![false; conns.len()];
    while open > 0 && Instant::now() < deadline {
        most_descriptors = most_descriptors.max(open_descriptors(pid));
        for (i, c) in conns.iter_mut().enumerate() {
            if !closed[i] && closed_by_peer(c) {
                closed[i] = true;
                open -= 1;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let all_closed_after = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (scrapes, failures) = scraper.join().unwrap();
    eprintln!(
        "api-gateway flood of {} (opened in {flooded:?}): all closed after {all_closed_after:?}; \
         at most {most_descriptors} descriptors open in the gateway; {scrapes} scrapes \
         answered meanwhile, {failures} failed",
        conns.len()
    );
    assert!(conns.len() >= 1090);
    assert_eq!(open, 0, "flood connections still open");
    assert!(most_descriptors < 128, "{most_descriptors} descriptors");
    assert_eq!(failures, 0);
    assert!(scrapes >= 10);

    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let (status, body) = scrape(&mut s).unwrap();
    assert_eq!(status, 200);
    let refused = sample(&body, "footmetrics_exporter_connections_refused_total");
    let timed_out = sample(&body, "footmetrics_exporter_connections_timed_out_total");
    // Slots freed by the timeouts while the flood was still opening take more of it.
    assert!(refused >= 500.0, "{refused}");
    assert!(
        refused + timed_out >= conns.len() as f64,
        "{refused} + {timed_out}"
    );
}

#[test]
fn bad_limit_flags_are_refused() {
    for args in [
        ["--max-connections", "0"],
        ["--header-read-timeout", "-1"],
        ["--idle-timeout", "soon"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_api-gateway"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
}
