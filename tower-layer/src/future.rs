//! The response future and body: a request is recorded exactly once, when its body ends,
//! fails, or is dropped, or when the inner service errors or panics.

use crate::classify::{Classify, CLIENT_CLOSED_REQUEST};
use crate::series::SeriesLease;
use crate::trace::TraceContext;
use http::{HeaderMap, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// How far a request has got; decides what a drop records.
#[derive(Debug, Clone, Copy)]
enum Stage {
    /// No response head yet: a drop means the caller gave up.
    Waiting,
    /// The head decided the status.
    Classified(StatusCode),
    /// The status comes with the trailers (gRPC).
    AwaitingTrailers,
}

/// One request's pending record. The in-flight gauge counts live recorders.
///
/// Invariant: `finish` runs exactly once per recorder (explicitly, or from `Drop`), so each
/// request increments the counter once, observes the histogram once and balances the gauge.
pub(crate) struct Recorder {
    series: SeriesLease,
    trace: Option<TraceContext>,
    /// Raw reading of `series.clock`.
    start: u64,
    stage: Stage,
    done: bool,
}

impl Recorder {
    pub(crate) fn start(series: SeriesLease, trace: Option<TraceContext>) -> Self {
        series.in_flight.start();
        let start = series.clock.raw();
        Recorder {
            series,
            trace,
            start,
            stage: Stage::Waiting,
            done: false,
        }
    }

    fn finish(&mut self, code: StatusCode) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let series = &*self.series;
        let nanos = series.clock.delta_as_nanos(self.start, series.clock.raw());
        let seconds = nanos as f64 * 1e-9;
        series.count(code);
        match &self.trace {
            Some(t) => {
                let labels = [("trace_id", t.trace_id()), ("span_id", t.span_id())];
                if series
                    .duration
                    .observe_with_exemplar(seconds, &labels)
                    .is_err()
                {
                    series.observe(seconds);
                }
            }
            None => series.observe(seconds),
        }
        series.in_flight.finish();
    }

    fn finish_at_end(&mut self, classifier: &impl Classify, trailers: Option<&HeaderMap>) {
        let code = match self.stage {
            Stage::Classified(code) => code,
            Stage::AwaitingTrailers | Stage::Waiting => classifier.classify_end_of_stream(trailers),
        };
        self.finish(code);
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let code = match self.stage {
            Stage::Classified(code) => code,
            Stage::Waiting | Stage::AwaitingTrailers => {
                StatusCode::from_u16(CLIENT_CLOSED_REQUEST).unwrap_or(StatusCode::BAD_REQUEST)
            }
        };
        self.finish(code);
    }
}

pin_project! {
    /// The future of [`MetricsService`](crate::MetricsService).
    pub struct ResponseFuture<F, C> {
        #[pin]
        inner: F,
        recorder: Option<Recorder>,
        classifier: C,
    }
}

impl<F, C> ResponseFuture<F, C> {
    pub(crate) fn new(inner: F, recorder: Option<Recorder>, classifier: C) -> Self {
        ResponseFuture {
            inner,
            recorder,
            classifier,
        }
    }
}

impl<F, C, B, E> Future for ResponseFuture<F, C>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: fmt::Display,
    C: Classify,
{
    type Output = Result<Response<MetricsBody<B, C>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let inner = this.inner;
        // A panicking handler is recorded as a 500 before the panic goes on its way (to a
        // catch-panic layer, or to the runtime, which drops the connection).
        let polled = match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(p) => p,
            Err(panic) => {
                if let Some(mut r) = this.recorder.take() {
                    r.finish(StatusCode::INTERNAL_SERVER_ERROR);
                }
                resume_unwind(panic)
            }
        };
        match ready!(polled) {
            Ok(response) => {
                let mut recorder = this.recorder.take();
                if let Some(r) = &mut recorder {
                    r.stage = match this
                        .classifier
                        .classify_response(response.status(), response.headers())
                    {
                        Some(code) => Stage::Classified(code),
                        None => Stage::AwaitingTrailers,
                    };
                }
                let classifier = this.classifier.clone();
                Poll::Ready(Ok(response.map(|inner| MetricsBody {
                    inner,
                    recorder,
                    classifier,
                })))
            }
            Err(error) => {
                if let Some(mut r) = this.recorder.take() {
                    r.finish(this.classifier.classify_error(&error));
                }
                Poll::Ready(Err(error))
            }
        }
    }
}

pin_project! {
    /// The response body; the request's duration ends when this body does.
    pub struct MetricsBody<B, C> {
        #[pin]
        inner: B,
        recorder: Option<Recorder>,
        classifier: C,
    }
}

impl<B, C> MetricsBody<B, C> {
    pub fn get_ref(&self) -> &B {
        &self.inner
    }
}

impl<B, C> Body for MetricsBody<B, C>
where
    B: Body,
    B::Error: fmt::Display,
    C: Classify,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let mut inner = this.inner;
        let polled = match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll_frame(cx))) {
            Ok(p) => p,
            Err(panic) => {
                if let Some(mut r) = this.recorder.take() {
                    r.finish(StatusCode::INTERNAL_SERVER_ERROR);
                }
                resume_unwind(panic)
            }
        };
        let frame = ready!(polled);
        if let Some(r) = this.recorder.as_mut() {
            match &frame {
                None => r.finish_at_end(this.classifier, None),
                Some(Ok(f)) if f.is_trailers() => {
                    r.finish_at_end(this.classifier, f.trailers_ref());
                }
                Some(Ok(_)) => {
                    // hyper stops polling once the body reports its end, so finish on the
                    // last data frame rather than waiting for a poll that never comes.
                    if inner.is_end_stream() {
                        r.finish_at_end(this.classifier, None);
                    }
                }
                Some(Err(e)) => r.finish(this.classifier.classify_error(e)),
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
