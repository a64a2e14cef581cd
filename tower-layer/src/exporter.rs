//! A standalone `/metrics` server on hyper, for services without an HTTP server of their own.

use crate::endpoint::MetricsEndpoint;
use bytes::Bytes;
use footmetrics::Registry;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::io;
use std::net::{SocketAddr, TcpListener as StdListener, ToSocketAddrs};
use std::sync::Arc;
use std::thread::JoinHandle;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Serves a [`MetricsEndpoint`] at one path (default `/metrics`); other paths are 404.
#[derive(Clone)]
pub struct Exporter {
    endpoint: MetricsEndpoint,
    path: Arc<str>,
}

impl Exporter {
    pub fn new(registry: &Registry) -> Self {
        Exporter {
            endpoint: MetricsEndpoint::new(registry),
            path: "/metrics".into(),
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

    fn respond(&self, req: &Request<Incoming>) -> Response<Full<Bytes>> {
        if req.uri().path() == &*self.path {
            return self
                .endpoint
                .respond_to(req.method(), req.uri().query(), req.headers());
        }
        let mut res = Response::new(Full::new(Bytes::from(format!(
            "footmetrics exporter: metrics are at {}\n",
            self.path
        ))));
        if req.uri().path() != "/" {
            *res.status_mut() = StatusCode::NOT_FOUND;
        }
        res
    }

    /// Serves connections from `listener` on the current tokio runtime until `shutdown`
    /// completes.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> io::Result<()> {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let (stream, _) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    // Out of file descriptors and the like: keep serving the others.
                    Err(_) => {
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = &mut shutdown => return Ok(()),
            };
            let exporter = self.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let res = exporter.respond(&req);
                    async move { Ok::<_, Infallible>(res) }
                });
                // A client that hangs up mid-response is its own business.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    }

    /// Binds `addr` now (so a taken port is an error here) and serves from a dedicated
    /// thread with its own single-threaded runtime, apart from the application's threads.
    pub fn spawn(self, addr: impl ToSocketAddrs) -> io::Result<ExporterHandle> {
        let listener = StdListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let (stop, mut stopped) = watch::channel(false);
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
                })
            })?;
        Ok(ExporterHandle {
            local_addr,
            stop,
            thread: Some(thread),
        })
    }
}

/// A running exporter; stops (and joins its thread) on [`shutdown`](Self::shutdown) or drop.
pub struct ExporterHandle {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl ExporterHandle {
    /// The bound address (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
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
