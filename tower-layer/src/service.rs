//! `MetricsService`: starts a request's record and hands it to the response future.

use crate::classify::Classify;
use crate::future::{Recorder, ResponseFuture};
use crate::layer::Instruments;
use crate::route::{method_label, RequestHead, Route, UNMATCHED_ROUTE};
use http::{Request, Response};
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_service::Service;

/// Wraps a service; built by [`MetricsLayer`](crate::MetricsLayer).
pub struct MetricsService<S, C> {
    inner: S,
    instruments: Arc<Instruments>,
    classifier: C,
}

impl<S: Clone, C: Clone> Clone for MetricsService<S, C> {
    fn clone(&self) -> Self {
        MetricsService {
            inner: self.inner.clone(),
            instruments: self.instruments.clone(),
            classifier: self.classifier.clone(),
        }
    }
}

impl<S, C> MetricsService<S, C> {
    pub(crate) fn new(inner: S, instruments: Arc<Instruments>, classifier: C) -> Self {
        MetricsService {
            inner,
            instruments,
            classifier,
        }
    }

    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, C, ReqBody, ResBody> Service<Request<ReqBody>> for MetricsService<S, C>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: fmt::Display,
    C: Classify,
{
    type Response = Response<crate::future::MetricsBody<ResBody, C>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, C>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let head = RequestHead::of(&req);
        let instruments = &self.instruments;
        let recorder = if instruments.skips(&head) {
            None
        } else {
            let route = instruments.routes.route(&head);
            let route = route.as_ref().map_or(UNMATCHED_ROUTE, Route::as_str);
            let series = instruments.series.get(method_label(head.method), route);
            let trace = instruments
                .traces
                .as_ref()
                .and_then(|t| t.trace_context(&head));
            Some(Recorder::start(series, trace))
        };
        ResponseFuture::new(self.inner.call(req), recorder, self.classifier.clone())
    }
}
