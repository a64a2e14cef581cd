//! A standalone `/metrics` server on hyper, for services without an HTTP server of their own,
//! and the connection limits it serves under (which [`serve_with_limits`] applies to any
//! hyper service, such as an axum router).

use crate::endpoint::MetricsEndpoint;
use crate::web_config::{WebConfig, WebConfigError};
use bytes::Bytes;
use footmetrics::{Counter, Opts, Registry};
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener as StdListener, ToSocketAddrs};
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

/// Limits on the connections a server keeps and the work it takes on, so that a flood of slow
/// or idle connections neither exhausts the process' file descriptors nor starves scrapes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServeLimits {
    /// How long a connection may take from its start (or from the first byte of a later
    /// request) to a complete request head. Default 10 s.
    pub header_read_timeout: Duration,
    /// How long a connection may stay open with no request after answering one (keep-alive).
    /// Default 65 s: longer than Prometheus' default 1 minute scrape interval, so a scraper
    /// keeps its connection (and TLS session).
    pub idle_timeout: Duration,
    /// Connections served at once; the ones beyond are closed as soon as accepted. Default 64.
    pub max_connections: usize,
    /// Requests handled at once (rendering, and bcrypt checks under basic auth); the ones
    /// beyond are answered 503 at once. Default 4.
    pub max_concurrent_scrapes: usize,
    /// The largest request head (request line and headers) read; larger ones are answered
    /// 431. Default 16 KiB, at least 8 KiB.
    pub max_header_bytes: usize,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(65),
            max_connections: 64,
            max_concurrent_scrapes: 4,
            max_header_bytes: 16 * 1024,
        }
    }
}

/// The smallest request-head limit hyper takes.
const MIN_HEADER_BYTES: usize = 8192;

impl ServeLimits {
    /// Checks the limits; the message names the offending one.
    pub fn validate(&self) -> Result<(), String> {
        if self.header_read_timeout.is_zero() {
            return Err("header_read_timeout must be above zero".into());
        }
        if self.idle_timeout.is_zero() {
            return Err("idle_timeout must be above zero".into());
        }
        if self.max_connections == 0 {
            return Err("max_connections must be at least 1".into());
        }
        if self.max_concurrent_scrapes == 0 {
            return Err("max_concurrent_scrapes must be at least 1".into());
        }
        if self.max_header_bytes < MIN_HEADER_BYTES {
            return Err(format!(
                "max_header_bytes must be at least {MIN_HEADER_BYTES}"
            ));
        }
        Ok(())
    }
}

/// Counts of what a server refused or cut short, since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServeStats {
    /// Connections open now.
    pub connections_open: u64,
    /// Connections accepted and closed at once because `max_connections` were open.
    pub connections_refused: u64,
    /// Connections closed by the header-read or idle timeout.
    pub connections_timed_out: u64,
    /// Requests answered 503 because `max_concurrent_scrapes` were being handled.
    pub scrapes_refused: u64,
    /// Requests answered 401: missing or wrong basic-auth credentials.
    pub auth_failures: u64,
    /// TLS handshakes that failed (no or a bad client certificate, not TLS, too slow).
    pub tls_handshake_failures: u64,
}

/// Names of the exporter's self-metrics, registered in the served registry while it runs.
/// (Counters only, so that a scrape and the registry's own rendering agree while nothing is
/// refused; the connections open now are in [`ExporterHandle::stats`].)
pub const SELF_METRICS: [&str; 5] = [
    "footmetrics_exporter_connections_refused_total",
    "footmetrics_exporter_connections_timed_out_total",
    "footmetrics_exporter_scrapes_refused_total",
    "footmetrics_exporter_auth_failures_total",
    "footmetrics_exporter_tls_handshake_failures_total",
];

const SELF_HELP: [&str; 5] = [
    "Connections the metrics exporter closed on accept because max_connections were open.",
    "Connections the metrics exporter closed for taking too long to send a request head, or idling.",
    "Requests the metrics exporter answered 503 because max_concurrent_scrapes were in progress.",
    "Requests the metrics exporter answered 401 for missing or wrong basic-auth credentials.",
    "TLS handshakes with the metrics exporter that failed.",
];

#[derive(Default)]
struct StatsCells {
    open: AtomicU64,
    refused: AtomicU64,
    timed_out: AtomicU64,
    scrapes_refused: AtomicU64,
    auth_failures: AtomicU64,
    tls_failures: AtomicU64,
}

/// The self-metrics registered for one server, if registration succeeded (another exporter
/// serving the same registry has them already: its counts are then the only ones shown).
struct SelfMetrics {
    registry: Registry,
    counters: [Counter; 5],
}

impl SelfMetrics {
    fn register(registry: &Registry) -> Option<SelfMetrics> {
        let mut counters = Vec::new();
        for i in 0..SELF_METRICS.len() {
            match registry.counter(&Opts::new(SELF_METRICS[i], SELF_HELP[i])) {
                Ok(c) => counters.push(c),
                Err(_) => {
                    for name in &SELF_METRICS[..i] {
                        let _ = registry.unregister_name(name);
                    }
                    return None;
                }
            }
        }
        Some(SelfMetrics {
            registry: registry.clone(),
            counters: counters.try_into().ok()?,
        })
    }
}

impl Drop for SelfMetrics {
    fn drop(&mut self) {
        for name in SELF_METRICS {
            let _ = self.registry.unregister_name(name);
        }
    }
}

/// What a server counts, shared by its connections.
#[derive(Clone, Default)]
pub(crate) struct Stats {
    cells: Arc<StatsCells>,
    metrics: Arc<Mutex<Option<SelfMetrics>>>,
}

#[derive(Clone, Copy)]
enum Event {
    Refused = 1,
    TimedOut = 2,
    ScrapeRefused = 3,
    AuthFailure = 4,
    TlsFailure = 5,
}

impl Stats {
    fn count(&self, e: Event) {
        let cell = match e {
            Event::Refused => &self.cells.refused,
            Event::TimedOut => &self.cells.timed_out,
            Event::ScrapeRefused => &self.cells.scrapes_refused,
            Event::AuthFailure => &self.cells.auth_failures,
            Event::TlsFailure => &self.cells.tls_failures,
        };
        cell.fetch_add(1, Ordering::Relaxed);
        if let Some(m) = self.metrics().as_ref() {
            m.counters[e as usize - 1].inc();
        }
    }

    fn opened(&self, delta: i64) {
        if delta > 0 {
            self.cells.open.fetch_add(1, Ordering::Relaxed);
        } else {
            self.cells.open.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn metrics(&self) -> MutexGuard<'_, Option<SelfMetrics>> {
        self.metrics.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn snapshot(&self) -> ServeStats {
        let c = &self.cells;
        ServeStats {
            connections_open: c.open.load(Ordering::Relaxed),
            connections_refused: c.refused.load(Ordering::Relaxed),
            connections_timed_out: c.timed_out.load(Ordering::Relaxed),
            scrapes_refused: c.scrapes_refused.load(Ordering::Relaxed),
            auth_failures: c.auth_failures.load(Ordering::Relaxed),
            tls_handshake_failures: c.tls_failures.load(Ordering::Relaxed),
        }
    }
}

/// Serves a [`MetricsEndpoint`] at one path (default `/metrics`); other paths are 404. Within
/// [`ServeLimits`] (defaults unless set), over TLS and behind basic auth when a
/// [`WebConfig`] says so.
#[derive(Clone)]
pub struct Exporter {
    endpoint: MetricsEndpoint,
    registry: Registry,
    path: Arc<str>,
    limits: ServeLimits,
    web: WebConfig,
    stats: Stats,
}

impl Exporter {
    pub fn new(registry: &Registry) -> Self {
        Exporter {
            endpoint: MetricsEndpoint::new(registry),
            registry: registry.clone(),
            path: "/metrics".into(),
            limits: ServeLimits::default(),
            web: WebConfig::default(),
            stats: Stats::default(),
        }
    }

    /// The path to serve the exposition at.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into().into();
        self
    }

    /// Whether to gzip for clients that accept it (default: yes).
    pub fn gzip(mut self, enabled: bool) -> Self {
        self.endpoint = self.endpoint.gzip(enabled);
        self
    }

    /// All the connection limits at once (checked by [`spawn`](Self::spawn) and
    /// [`serve`](Self::serve)).
    pub fn limits(mut self, limits: ServeLimits) -> Self {
        self.limits = limits;
        self
    }

    /// See [`ServeLimits::header_read_timeout`].
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout;
        self
    }

    /// See [`ServeLimits::idle_timeout`].
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.limits.idle_timeout = timeout;
        self
    }

    /// See [`ServeLimits::max_connections`].
    pub fn max_connections(mut self, n: usize) -> Self {
        self.limits.max_connections = n;
        self
    }

    /// See [`ServeLimits::max_concurrent_scrapes`].
    pub fn max_concurrent_scrapes(mut self, n: usize) -> Self {
        self.limits.max_concurrent_scrapes = n;
        self
    }

    /// See [`ServeLimits::max_header_bytes`].
    pub fn max_header_bytes(mut self, n: usize) -> Self {
        self.limits.max_header_bytes = n;
        self
    }

    /// TLS, basic auth and response headers from a loaded web configuration.
    pub fn web_config(mut self, config: WebConfig) -> Self {
        self.web = config;
        self
    }

    /// TLS, basic auth and response headers from an exporter-toolkit web configuration
    /// file (`--web.config.file` of the Go exporters).
    pub fn web_config_file(self, path: impl AsRef<Path>) -> Result<Self, WebConfigError> {
        Ok(self.web_config(WebConfig::from_file(path)?))
    }

    /// The connection limits in force.
    pub fn current_limits(&self) -> &ServeLimits {
        &self.limits
    }

    /// Answers one request: basic auth first when configured, then the exposition.
    async fn handle(
        self,
        req: Request<Incoming>,
        scrapes: Arc<Semaphore>,
    ) -> Response<Full<Bytes>> {
        let mut res = self.handle_inner(req, scrapes).await;
        for (name, value) in &self.web.headers {
            res.headers_mut().insert(name.clone(), value.clone());
        }
        res
    }

    async fn handle_inner(
        &self,
        req: Request<Incoming>,
        scrapes: Arc<Semaphore>,
    ) -> Response<Full<Bytes>> {
        let Ok(permit) = scrapes.try_acquire_owned() else {
            self.stats.count(Event::ScrapeRefused);
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many concurrent scrapes\n",
            );
        };
        let method = req.method().clone();
        let query = req.uri().query().map(str::to_owned);
        let path = req.uri().path().to_owned();
        let headers = req.into_parts().0.headers;
        let this = self.clone();
        // bcrypt and rendering take milliseconds: off the server's thread, which keeps
        // accepting and timing out connections meanwhile.
        let work = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            if !this.web.users.is_empty()
                && !this.web.users.check(
                    headers
                        .get(AUTHORIZATION)
                        .map(|v| Bytes::copy_from_slice(v.as_bytes()))
                        .as_ref(),
                )
            {
                this.stats.count(Event::AuthFailure);
                let mut res = text(StatusCode::UNAUTHORIZED, "Unauthorized\n");
                res.headers_mut()
                    .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
                return res;
            }
            this.respond(&method, &path, query.as_deref(), &headers)
        });
        work.await
            .unwrap_or_else(|_| text(StatusCode::INTERNAL_SERVER_ERROR, "scrape failed\n"))
    }

    fn respond(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
    ) -> Response<Full<Bytes>> {
        if path == &*self.path {
            return self.endpoint.respond_to(method, query, headers);
        }
        let mut res = Response::new(Full::new(Bytes::from(format!(
            "footmetrics exporter: metrics are at {}\n",
            self.path
        ))));
        if path != "/" {
            *res.status_mut() = StatusCode::NOT_FOUND;
        }
        res
    }

    /// Serves connections from `listener` on the current tokio runtime until `shutdown`
    /// completes, within the limits; the self-metrics are registered in the served registry
    /// meanwhile.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        self.limits
            .validate()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        *self.stats.metrics() = SelfMetrics::register(&self.registry);
        let scrapes = Arc::new(Semaphore::new(self.limits.max_concurrent_scrapes));
        let exporter = self.clone();
        let make_service = move || {
            let exporter = exporter.clone();
            let scrapes = scrapes.clone();
            hyper::service::service_fn(move |req: Request<Incoming>| {
                let fut = exporter.clone().handle(req, scrapes.clone());
                async move { Ok::<_, Infallible>(fut.await) }
            })
        };
        let result = accept_loop(
            listener,
            make_service,
            self.limits.clone(),
            self.web.tls.clone().map(tokio_rustls::TlsAcceptor::from),
            self.stats.clone(),
            shutdown,
        )
        .await;
        // The self-metrics leave the registry with the server.
        self.stats.metrics().take();
        result
    }

    /// Binds `addr` now (so a taken port is an error here) and serves from a dedicated
    /// thread with its own single-threaded runtime, apart from the application's threads.
    /// Invalid limits are an `InvalidInput` error.
    pub fn spawn(self, addr: impl ToSocketAddrs) -> io::Result<ExporterHandle> {
        self.limits
            .validate()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let listener = StdListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            // Rendering and bcrypt checks, at most max_concurrent_scrapes at once.
            .max_blocking_threads(self.limits.max_concurrent_scrapes)
            .thread_name("footmetrics-exporter-work")
            .build()?;
        let (stop, mut stopped) = watch::channel(false);
        let stats = self.stats.clone();
        let thread = std::thread::Builder::new()
            .name("footmetrics-exporter".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(_) => return,
                    };
                    let shutdown = async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    };
                    let _ = self.serve(listener, shutdown).await;
                });
                // Connections still open close with the runtime.
                runtime.shutdown_timeout(Duration::from_secs(1));
            })?;
        Ok(ExporterHandle {
            local_addr,
            stop,
            stats,
            thread: Some(thread),
        })
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *res.status_mut() = status;
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

/// A running exporter; stops (and joins its thread) on [`shutdown`](Self::shutdown) or drop.
pub struct ExporterHandle {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    stats: Stats,
    thread: Option<JoinHandle<()>>,
}

impl ExporterHandle {
    /// The bound address (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// What the server refused or cut short so far (the self-metrics' values).
    pub fn stats(&self) -> ServeStats {
        self.stats.snapshot()
    }

    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ExporterHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Serves `service` (any hyper service: an axum `Router` through
/// `hyper_util::service::TowerToHyperService`) on `listener` within `limits` until `shutdown`
/// completes: what the [`Exporter`] does, for an application's own server. With
/// `self_metrics`, the exporter's self-metrics ([`SELF_METRICS`]) are registered there
/// meanwhile (unless another server has them). Returns the counts when it stops; the
/// connections still open are left to finish.
pub async fn serve_with_limits<S, B>(
    listener: TcpListener,
    service: S,
    limits: ServeLimits,
    self_metrics: Option<&Registry>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<ServeStats>
where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    limits
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let stats = Stats::default();
    if let Some(r) = self_metrics {
        *stats.metrics() = SelfMetrics::register(r);
    }
    let result = accept_loop(
        listener,
        move || service.clone(),
        limits,
        None,
        stats.clone(),
        shutdown,
    )
    .await;
    stats.metrics().take();
    result.map(|()| stats.snapshot())
}

async fn accept_loop<F, S, B>(
    listener: TcpListener,
    make_service: F,
    limits: ServeLimits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    stats: Stats,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()>
where
    F: Fn() -> S,
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of file descriptors and the like: keep serving the others.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => return Ok(()),
        };
        let Ok(slot) = connections.clone().try_acquire_owned() else {
            // Closed at once: a flood holds at most max_connections descriptors.
            drop(stream);
            stats.count(Event::Refused);
            continue;
        };
        let _ = stream.set_nodelay(true);
        stats.opened(1);
        let service = make_service();
        let limits = limits.clone();
        let tls = tls.clone();
        let stats = stats.clone();
        tokio::spawn(async move {
            let _slot = slot;
            serve_connection(stream, service, &limits, tls, &stats).await;
            stats.opened(-1);
        });
    }
}

async fn serve_connection<S, B>(
    stream: TcpStream,
    service: S,
    limits: &ServeLimits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    stats: &Stats,
) where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let phase = Arc::new(Phase::new(tls.is_none()));
    let tracked = Tracked {
        inner: stream,
        phase: phase.clone(),
    };
    let service = PhasedService {
        inner: service,
        phase: phase.clone(),
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .max_buf_size(limits.max_header_bytes)
        .header_read_timeout(None)
        .keep_alive(true);
    let served = async {
        match tls {
            Some(acceptor) => {
                // The handshake counts against the header-read timeout (the watchdog's).
                match acceptor.accept(tracked).await {
                    Ok(s) => {
                        phase.handshaken.store(true, Ordering::Relaxed);
                        let _ = builder.serve_connection(TokioIo::new(s), service).await;
                    }
                    Err(_) => stats.count(Event::TlsFailure),
                }
            }
            None => {
                let _ = builder
                    .serve_connection(TokioIo::new(tracked), service)
                    .await;
            }
        }
    };
    tokio::select! {
        _ = served => {}
        _ = watchdog(&phase, limits) => {
            if phase.is_handshaking() {
                stats.count(Event::TlsFailure);
            }
            stats.count(Event::TimedOut);
        }
    }
}

/// Where a connection is: awaiting a request head (since accept or the first byte of one),
/// handling a request, or idle after answering one; and since when.
struct Phase {
    state: AtomicU8,
    since_nanos: AtomicU64,
    handshaken: std::sync::atomic::AtomicBool,
}

const HEAD: u8 = 0;
const BUSY: u8 = 1;
const IDLE: u8 = 2;

fn clock() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

fn now_nanos() -> u64 {
    clock().elapsed().as_nanos() as u64
}

impl Phase {
    fn new(handshaken: bool) -> Phase {
        Phase {
            state: AtomicU8::new(HEAD),
            since_nanos: AtomicU64::new(now_nanos()),
            handshaken: std::sync::atomic::AtomicBool::new(handshaken),
        }
    }

    fn set(&self, state: u8) {
        self.since_nanos.store(now_nanos(), Ordering::Relaxed);
        self.state.store(state, Ordering::Release);
    }

    fn is_handshaking(&self) -> bool {
        !self.handshaken.load(Ordering::Relaxed)
    }

    fn read_some(&self) {
        if self.state.load(Ordering::Acquire) == IDLE {
            self.set(HEAD);
        }
    }
}

/// Resolves when the connection has overstayed its phase's limit.
async fn watchdog(phase: &Phase, limits: &ServeLimits) {
    loop {
        let state = phase.state.load(Ordering::Acquire);
        let since = Duration::from_nanos(phase.since_nanos.load(Ordering::Relaxed));
        let limit = match state {
            HEAD => limits.header_read_timeout,
            IDLE => limits.idle_timeout,
            // Handling a request: the handler's own business; looked at again later.
            _ => limits.idle_timeout,
        };
        let deadline = clock() + since + limit;
        if state != BUSY && Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep_until(
            deadline
                .max(Instant::now() + Duration::from_millis(10))
                .into(),
        )
        .await;
        // The phase may have moved on meanwhile: recompute.
        if phase.state.load(Ordering::Acquire) == state
            && Duration::from_nanos(phase.since_nanos.load(Ordering::Relaxed)) == since
            && state != BUSY
        {
            return;
        }
    }
}

/// The socket, noting the first byte of each request.
struct Tracked {
    inner: TcpStream,
    phase: Arc<Phase>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(res, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.phase.read_some();
        }
        res
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The service, marking the connection busy while it handles a request and idle after.
#[derive(Clone)]
struct PhasedService<S> {
    inner: S,
    phase: Arc<Phase>,
}

impl<S, B> hyper::service::Service<Request<Incoming>> for PhasedService<S>
where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>>,
    S::Future: Send + 'static,
{
    type Response = Response<B>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<B>, S::Error>> + Send>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        self.phase.set(BUSY);
        let fut = self.inner.call(req);
        let phase = self.phase.clone();
        Box::pin(async move {
            let res = fut.await;
            // The response is written next; the idle timeout bounds that too.
            phase.set(IDLE);
            res
        })
    }
}
