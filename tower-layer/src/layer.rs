//! `MetricsLayer`: the one line that gives a tower service the platform's HTTP metrics.

use crate::classify::{Classify, StatusClassifier};
use crate::in_flight::{InFlight, InFlightCollector};
use crate::route::{RequestHead, RouteClassifier};
use crate::series::SeriesCache;
use crate::service::MetricsService;
use crate::trace::TraceContextSource;
use footmetrics::catalog::{
    HTTP_REQUESTS_IN_FLIGHT, HTTP_REQUESTS_TOTAL, HTTP_REQUEST_DURATION_SECONDS,
};
use footmetrics::{default_registry, Counter, Family, Histogram, NativeOpts, Opts, Registry};
use std::sync::{Arc, OnceLock};
use tower_layer::Layer;

type SkipFn = dyn Fn(&RequestHead<'_>) -> bool + Send + Sync;

/// What every request of every service built from one layer shares.
pub(crate) struct Instruments {
    pub(crate) series: SeriesCache,
    pub(crate) routes: Box<dyn RouteClassifier>,
    pub(crate) traces: Option<Box<dyn TraceContextSource>>,
    skip_paths: Vec<String>,
    skip_if: Option<Box<SkipFn>>,
}

impl Instruments {
    #[inline]
    pub(crate) fn skips(&self, head: &RequestHead<'_>) -> bool {
        // The path is only worked out when there are paths to compare it with.
        let skip_path = !self.skip_paths.is_empty() && {
            let path = head.uri.path();
            self.skip_paths.iter().any(|p| p == path)
        };
        skip_path || self.skip_if.as_ref().is_some_and(|f| f(head))
    }
}

/// Records `http_requests_total{method,route,code}`,
/// `http_request_duration_seconds{method,route}` (until the response body ends) and
/// `http_requests_in_flight` for every request through the services it wraps.
///
/// ```no_run
/// use axum::{routing::get, Router};
/// use footmetrics_tower::{MetricsEndpoint, MetricsLayer};
///
/// let app: Router = Router::new()
///     .route("/api/v1/matches/{id}", get(|| async { "match" }))
///     .layer(MetricsLayer::new())
///     .route("/metrics", axum::routing::get_service(MetricsEndpoint::default()));
/// ```
pub struct MetricsLayer<C = StatusClassifier> {
    pub(crate) instruments: Arc<Instruments>,
    pub(crate) classifier: C,
}

impl<C: Clone> Clone for MetricsLayer<C> {
    fn clone(&self) -> Self {
        MetricsLayer {
            instruments: self.instruments.clone(),
            classifier: self.classifier.clone(),
        }
    }
}

/// The active OpenTelemetry span (then `traceparent`) with the `opentelemetry` feature;
/// the `traceparent` header without it.
fn default_trace_source() -> Box<dyn TraceContextSource> {
    #[cfg(feature = "opentelemetry")]
    return Box::new(crate::trace::OpenTelemetrySpan::default());
    #[cfg(not(feature = "opentelemetry"))]
    return Box::new(crate::trace::Traceparent::default());
}

impl MetricsLayer {
    /// The layer on the default registry with the catalog's buckets, routes from axum's
    /// `MatchedPath` (with the `axum` feature) and exemplars from `traceparent`. Every call
    /// shares the same metrics, so it can wrap several routers.
    pub fn new() -> Self {
        static DEFAULT: OnceLock<MetricsLayer> = OnceLock::new();
        DEFAULT
            .get_or_init(|| {
                MetricsLayer::builder().build().expect(
                    "the catalog's HTTP metrics are registered once on the default registry",
                )
            })
            .clone()
    }

    pub fn builder() -> MetricsLayerBuilder<StatusClassifier> {
        MetricsLayerBuilder {
            registry: None,
            const_labels: Vec::new(),
            buckets: None,
            native: None,
            cardinality_limit: None,
            routes: None,
            traces: Some(default_trace_source()),
            skip_paths: Vec::new(),
            skip_if: None,
            classifier: StatusClassifier,
        }
    }
}

impl Default for MetricsLayer {
    fn default() -> Self {
        MetricsLayer::new()
    }
}

impl<C> MetricsLayer<C> {
    /// The `http_requests_total` family this layer records into.
    pub fn requests(&self) -> &Family<Counter> {
        self.instruments.series.requests()
    }
    /// The `http_request_duration_seconds` family this layer records into.
    pub fn durations(&self) -> &Family<Histogram> {
        self.instruments.series.duration()
    }
    /// The `http_requests_in_flight` gauge.
    pub fn in_flight(&self) -> &InFlight {
        self.instruments.series.in_flight()
    }
}

impl<S, C: Clone> Layer<S> for MetricsLayer<C> {
    type Service = MetricsService<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsService::new(inner, self.instruments.clone(), self.classifier.clone())
    }
}

/// Configures a [`MetricsLayer`].
pub struct MetricsLayerBuilder<C> {
    registry: Option<Registry>,
    const_labels: Vec<(String, String)>,
    buckets: Option<Vec<f64>>,
    native: Option<NativeOpts>,
    cardinality_limit: Option<usize>,
    routes: Option<Box<dyn RouteClassifier>>,
    traces: Option<Box<dyn TraceContextSource>>,
    skip_paths: Vec<String>,
    skip_if: Option<Box<SkipFn>>,
    classifier: C,
}

impl<C: Classify> MetricsLayerBuilder<C> {
    /// The registry to register the three metrics in (default: the process-wide one).
    pub fn registry(mut self, registry: &Registry) -> Self {
        self.registry = Some(registry.clone());
        self
    }

    /// A label every series of the three metrics carries (e.g. `service`).
    pub fn const_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.const_labels.push((name.into(), value.into()));
        self
    }

    /// Duration buckets in seconds (default: the catalog's).
    pub fn buckets(mut self, buckets: impl Into<Vec<f64>>) -> Self {
        self.buckets = Some(buckets.into());
        self
    }

    /// Makes `http_request_duration_seconds` a native (exponential) histogram with these
    /// options, e.g. `NativeOpts::new(1.1)`. It then has no classic buckets unless
    /// [`buckets`](Self::buckets) is also called (then both); a scrape that negotiates the
    /// protobuf exposition (Prometheus with `--enable-feature=native-histograms`) gets the
    /// native buckets. Bad options fail [`build`](Self::build) with `Error::InvalidOption`.
    pub fn native_histogram(mut self, native: NativeOpts) -> Self {
        self.native = Some(native);
        self
    }

    /// Label sets per family before new ones fold into the overflow series.
    pub fn cardinality_limit(mut self, limit: usize) -> Self {
        self.cardinality_limit = Some(limit);
        self
    }

    /// How the `route` label is found (default: axum's `MatchedPath`, else every request is
    /// `unmatched`). See [`RouteTemplates`](crate::RouteTemplates) for non-axum services.
    pub fn routes(mut self, routes: impl RouteClassifier) -> Self {
        self.routes = Some(Box::new(routes));
        self
    }

    /// Where exemplars' trace ids come from (default: the active sampled OpenTelemetry span
    /// with the `opentelemetry` feature, else a sampled `traceparent` header).
    pub fn trace_context(mut self, source: impl TraceContextSource) -> Self {
        self.traces = Some(Box::new(source));
        self
    }

    /// Records no exemplars.
    pub fn without_exemplars(mut self) -> Self {
        self.traces = None;
        self
    }

    /// Paths not to record at all (exact match), e.g. `/metrics` and `/healthz`.
    pub fn skip_paths<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.skip_paths.extend(paths.into_iter().map(Into::into));
        self
    }

    /// Requests not to record, decided by a predicate.
    pub fn skip_if(
        mut self,
        predicate: impl Fn(&RequestHead<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.skip_if = Some(Box::new(predicate));
        self
    }

    /// How responses and errors map to the `code` label (default: [`StatusClassifier`]).
    pub fn classifier<C2: Classify>(self, classifier: C2) -> MetricsLayerBuilder<C2> {
        MetricsLayerBuilder {
            registry: self.registry,
            const_labels: self.const_labels,
            buckets: self.buckets,
            native: self.native,
            cardinality_limit: self.cardinality_limit,
            routes: self.routes,
            traces: self.traces,
            skip_paths: self.skip_paths,
            skip_if: self.skip_if,
            classifier,
        }
    }

    /// Registers the metrics. Fails with the core's typed error on bad buckets or labels, or
    /// when the registry already has them (build one layer per registry and clone it).
    pub fn build(self) -> footmetrics::Result<MetricsLayer<C>> {
        let registry = self
            .registry
            .clone()
            .unwrap_or_else(|| default_registry().clone());
        let opts = |spec: &footmetrics::catalog::MetricSpec| self.with_common(spec.opts());
        let mut duration_opts = match self.native {
            // Native: the catalog's classic buckets only when asked for with `buckets`.
            Some(native) => {
                let spec = &HTTP_REQUEST_DURATION_SECONDS;
                let mut o = Opts::new(spec.name, spec.help).labels(spec.labels);
                if let Some(u) = spec.unit {
                    o = o.unit(u);
                }
                self.with_common(o).native_histogram(native)
            }
            None => opts(&HTTP_REQUEST_DURATION_SECONDS),
        };
        if let Some(b) = &self.buckets {
            duration_opts = duration_opts.buckets(b.clone());
        }
        // Validate everything before registering anything, so a bad option leaves the
        // registry as it was.
        let requests = Family::<Counter>::new(&opts(&HTTP_REQUESTS_TOTAL))?;
        let duration = Family::<Histogram>::new(&duration_opts)?;
        let in_flight = InFlightCollector::new(&opts(&HTTP_REQUESTS_IN_FLIGHT))?;
        let in_flight_value = in_flight.value().clone();
        registry.register(requests.clone())?;
        if let Err(e) = registry.register(duration.clone()) {
            let _ = registry.unregister(&requests);
            return Err(e);
        }
        if let Err(e) = registry.register(in_flight) {
            let _ = registry.unregister(&requests);
            let _ = registry.unregister(&duration);
            return Err(e);
        }
        Ok(MetricsLayer {
            instruments: Arc::new(Instruments {
                series: SeriesCache::new(requests, duration, in_flight_value),
                routes: self.routes.unwrap_or_else(default_routes),
                traces: self.traces,
                skip_paths: self.skip_paths,
                skip_if: self.skip_if,
            }),
            classifier: self.classifier,
        })
    }
}

impl<C> MetricsLayerBuilder<C> {
    /// `o` with the constant labels and the cardinality limit every family gets.
    fn with_common(&self, mut o: Opts) -> Opts {
        for (k, v) in &self.const_labels {
            o = o.const_label(k.clone(), v.clone());
        }
        if let Some(limit) = self.cardinality_limit {
            o = o.cardinality_limit(limit);
        }
        o
    }
}

fn default_routes() -> Box<dyn RouteClassifier> {
    #[cfg(feature = "axum")]
    {
        Box::new(crate::route::MatchedPathRoutes)
    }
    #[cfg(not(feature = "axum"))]
    {
        Box::new(crate::route::NoRoutes)
    }
}
