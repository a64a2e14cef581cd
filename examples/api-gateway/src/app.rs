//! The gateway's routes: some succeed, some fail, one streams, one panics.

use axum::body::Body;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, get_service, post};
use axum::Router;
use bytes::Bytes;
use footmetrics_tower::{MetricsEndpoint, MetricsLayer};
use http_body::Frame;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// The instrumented router. Routes are added before the layer, so the layer sees axum's
/// matched route template; `/metrics` and `/healthz` are served but not recorded.
pub fn router(layer: MetricsLayer) -> Router {
    Router::new()
        .route("/api/v1/matches/{id}", get(get_match))
        .route("/api/v1/analytics/{match_id}/heatmap", get(heatmap))
        .route("/api/v1/videos", post(upload_video))
        .route("/api/v1/videos/{id}/stream", get(stream_video))
        .route("/api/v1/debug/panic", get(panics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get_service(MetricsEndpoint::default()))
        .layer(layer)
}

/// A deterministic pseudo-latency from an id, so traffic has a realistic spread.
fn work_ms(id: u64, base: u64, spread: u64) -> u64 {
    let mut x = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    base + x % spread.max(1)
}

async fn get_match(Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return (StatusCode::NOT_FOUND, "no such match\n").into_response();
    };
    tokio::time::sleep(Duration::from_millis(work_ms(id, 1, 30))).await;
    axum::Json(serde_like_match(id)).into_response()
}

fn serde_like_match(id: u64) -> std::collections::BTreeMap<&'static str, String> {
    [
        ("id", id.to_string()),
        ("home", "FootAnalytics United".into()),
        ("away", format!("Opponent {}", id % 20)),
    ]
    .into_iter()
    .collect()
}

async fn heatmap(Path(match_id): Path<u64>) -> Response {
    tokio::time::sleep(Duration::from_millis(work_ms(match_id, 20, 100))).await;
    // The analytics engine is flaky for one match in ten.
    if match_id % 10 == 7 {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "analytics engine unavailable\n",
        )
            .into_response();
    }
    format!("heatmap for match {match_id}\n").into_response()
}

async fn upload_video(body: Bytes) -> Response {
    tokio::time::sleep(Duration::from_millis(work_ms(body.len() as u64, 3, 10))).await;
    (StatusCode::ACCEPTED, "queued for processing\n").into_response()
}

async fn stream_video(Path(id): Path<u64>) -> Response {
    Body::new(Chunks::new(id, 4, Duration::from_millis(25))).into_response()
}

async fn panics() -> &'static str {
    panic!("deliberate panic: the layer records it as a 500")
}

/// A body that sends `left` chunks, one every `every`: a video segment stream, so the
/// request's duration runs until the last chunk.
pub struct Chunks {
    id: u64,
    left: u32,
    every: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Chunks {
    pub fn new(id: u64, chunks: u32, every: Duration) -> Self {
        Chunks {
            id,
            left: chunks,
            every,
            sleep: Box::pin(tokio::time::sleep(every)),
        }
    }
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        std::task::ready!(self.sleep.as_mut().poll(cx));
        self.left -= 1;
        let next = tokio::time::Instant::now() + self.every;
        self.sleep.as_mut().reset(next);
        let chunk = format!("video {} segment {}\n", self.id, self.left);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }
}

use std::future::Future as _;
