//! The gateway's routes: some succeed, some fail, one streams, one panics. Uploads and sign-ins
//! also record the catalog's business metrics (`video_uploads_total`, `user_sessions_total`).

use axum::body::Body;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, get_service, post};
use axum::Router;
use bytes::Bytes;
use footmetrics::catalog::{self, UserSessionsTotal, VideoUploadsTotal};
use footmetrics_tower::{MetricsEndpoint, MetricsLayer};
use http_body::Frame;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;

/// The instrumented router. Routes are added before the layer, so the layer sees axum's
/// matched route template; `/metrics` and `/healthz` are served but not recorded.
pub fn router(layer: MetricsLayer) -> Router {
    business();
    Router::new()
        .route("/api/v1/matches/{id}", get(get_match))
        .route("/api/v1/analytics/{match_id}/heatmap", get(heatmap))
        .route("/api/v1/videos", post(upload_video))
        .route("/api/v1/videos/{id}/stream", get(stream_video))
        .route("/api/v1/sessions", post(start_session))
        .route("/api/v1/debug/panic", get(panics))
        .route("/healthz", get(|| async { "ok" }))
        // At most 4 renders at once, as the standalone exporter (503 beyond).
        .route(
            "/metrics",
            get_service(MetricsEndpoint::default().max_concurrent_scrapes(4)),
        )
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

/// The business metrics, registered in the default registry that `/metrics` serves.
struct Business {
    uploads: VideoUploadsTotal,
    sessions: UserSessionsTotal,
}

fn business() -> &'static Business {
    static BUSINESS: OnceLock<Business> = OnceLock::new();
    BUSINESS.get_or_init(|| {
        let registry = footmetrics::default_registry();
        Business {
            uploads: catalog::video_uploads_total(registry).expect("registered once"),
            sessions: catalog::user_sessions_total(registry).expect("registered once"),
        }
    })
}

/// The value of `"key":"value"` in a flat JSON body, if it is one of `allowed`; `other`
/// otherwise, so a client cannot mint label values.
fn bounded_field<'a>(body: &[u8], key: &str, allowed: &[&'a str]) -> &'a str {
    let text = std::str::from_utf8(body).unwrap_or("");
    let value = text
        .split(&format!("\"{key}\":\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("");
    allowed
        .iter()
        .find(|a| value.ends_with(*a))
        .copied()
        .unwrap_or("other")
}

async fn upload_video(body: Bytes) -> Response {
    tokio::time::sleep(Duration::from_millis(work_ms(body.len() as u64, 3, 10))).await;
    let format = bounded_field(&body, "file", &["mp4", "mov", "mkv"]);
    let size = match body.len() {
        0..=1023 => "small",
        1024..=1_048_575 => "medium",
        _ => "large",
    };
    if let Ok(c) = business().uploads.labels("accepted", format, size) {
        c.inc();
    }
    (StatusCode::ACCEPTED, "queued for processing\n").into_response()
}

async fn start_session(body: Bytes) -> Response {
    let plan = bounded_field(&body, "plan", &["free", "pro", "club"]);
    let country = bounded_field(&body, "country", &["GB", "ES", "DE", "FR", "IT", "BR"]);
    if let Ok(c) = business().sessions.labels("started", plan, country) {
        c.inc();
    }
    (StatusCode::CREATED, "session started\n").into_response()
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
