//! What the HTTP tests share: serving an axum app on 127.0.0.1.

use std::net::SocketAddr;

/// Serves `app` on a free 127.0.0.1 port from a two-thread runtime of its own; the server
/// stops when the runtime (returned with the address) is dropped.
pub fn serve_app(app: axum::Router) -> (SocketAddr, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move { axum::serve(listener, app).await });
    (addr, runtime)
}
