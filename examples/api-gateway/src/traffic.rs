//! Simulated clients: a mix of routes, statuses and traced requests, sent over real HTTP.

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::Semaphore;

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// splitmix64: deterministic traffic without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// One simulated request: method, path, body, and a sampled `traceparent` for a quarter.
pub fn next_request(rng: &mut Rng, addr: SocketAddr) -> Request<Full<Bytes>> {
    let id = rng.next() % 10_000;
    let pick = rng.next() % 100;
    let (method, path, body) = match pick {
        0..=49 => (Method::GET, format!("/api/v1/matches/{id}"), ""),
        50..=64 => (Method::GET, format!("/api/v1/analytics/{id}/heatmap"), ""),
        65..=79 => (
            Method::POST,
            "/api/v1/videos".into(),
            "{\"file\":\"match.mp4\"}",
        ),
        80..=86 => (Method::GET, format!("/api/v1/videos/{id}/stream"), ""),
        87..=89 => (
            Method::POST,
            "/api/v1/sessions".into(),
            [
                "{\"plan\":\"free\",\"country\":\"GB\"}",
                "{\"plan\":\"pro\",\"country\":\"ES\"}",
            ][(id % 2) as usize],
        ),
        // Scanners and typos: the layer folds these into route="unmatched".
        90..=94 => (Method::GET, format!("/wp-admin/{id}.php"), ""),
        _ => (Method::GET, "/api/v1/matches/not-a-number".into(), ""),
    };
    let mut req = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    if rng.next() & 3 == 0 {
        let trace = ((rng.next() as u128) << 64 | rng.next() as u128).max(1);
        let span = rng.next().max(1);
        req = req.header("traceparent", format!("00-{trace:032x}-{span:016x}-01"));
    }
    req.body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("a well-formed request")
}

/// Sends `n` requests, at most `concurrency` at once; returns how many got a response.
pub async fn burst(
    client: &HttpClient,
    addr: SocketAddr,
    n: usize,
    seed: u64,
    concurrency: usize,
) -> usize {
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut rng = Rng::new(seed);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore open");
        let req = next_request(&mut rng, addr);
        let client = client.clone();
        tasks.spawn(async move {
            let _permit = permit;
            send(&client, req).await.is_some()
        });
    }
    let mut ok = 0;
    while let Some(r) = tasks.join_next().await {
        ok += usize::from(r.unwrap_or(false));
    }
    ok
}

/// Sends one request and reads its whole body (so streamed responses finish).
pub async fn send(client: &HttpClient, req: Request<Full<Bytes>>) -> Option<(u16, Bytes)> {
    let res = client.request(req).await.ok()?;
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.ok()?.to_bytes();
    Some((status, body))
}

/// Keeps sending about `rps` requests per second until the process ends.
pub async fn steady(client: HttpClient, addr: SocketAddr, rps: u32, seed: u64) {
    let mut rng = Rng::new(seed);
    let mut tick = tokio::time::interval(std::time::Duration::from_secs_f64(1.0 / rps as f64));
    loop {
        tick.tick().await;
        let req = next_request(&mut rng, addr);
        let client = client.clone();
        tokio::spawn(async move { send(&client, req).await });
    }
}
