//! Per-request overhead of HTTP middleware: the same inner service bare, under the
//! footmetrics `MetricsLayer`, and under a hand-written layer on the `prometheus` crate, in
//! one run. Each iteration builds a request, calls the service, completes the future and
//! drains the body, so the three differ only in their instrumentation.

use bytes::Bytes;
use criterion::{criterion_group, Criterion};
use footmetrics_tower::{MetricsLayer, RequestHead, Route};
use http::{Request, Response};
use http_body::Body;
use http_body_util::Full;
use pin_project_lite::pin_project;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts};
use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};
use std::time::Instant;
use tower_layer::Layer;
use tower_service::Service;

const ROUTE: &str = "/api/v1/matches/{id}";
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

fn inner() -> impl Service<
    Request<()>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<Full<Bytes>>, Infallible>>,
> + Clone {
    tower::service_fn(|_req: Request<()>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"{\"id\":42}"))))
    })
}

/// One request through `svc`, to the end of its body, without a runtime.
fn request_once<S, B>(svc: &mut S)
where
    S: Service<Request<()>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
    B: Body,
    B::Error: std::fmt::Debug,
{
    let mut cx = Context::from_waker(Waker::noop());
    let req = Request::get("/api/v1/matches/42").body(()).unwrap();
    let fut = pin!(svc.call(req));
    let Poll::Ready(res) = fut.poll(&mut cx) else {
        unreachable!("the inner service is ready at once")
    };
    let mut body = pin!(res.unwrap().into_body());
    while let Poll::Ready(Some(frame)) = body.as_mut().poll_frame(&mut cx) {
        black_box(frame.unwrap());
    }
}

// --- The peer: a typical hand-written tower layer on the `prometheus` crate -------------

#[derive(Clone)]
struct PromLayer {
    requests: IntCounterVec,
    duration: HistogramVec,
    in_flight: IntGauge,
}

impl PromLayer {
    fn new(registry: &prometheus::Registry) -> Self {
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "Total number of HTTP requests"),
            &["method", "route", "code"],
        )
        .unwrap();
        let duration = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request duration")
                .buckets(BUCKETS.to_vec()),
            &["method", "route"],
        )
        .unwrap();
        let in_flight = IntGauge::new("http_requests_in_flight", "In flight").unwrap();
        registry.register(Box::new(requests.clone())).unwrap();
        registry.register(Box::new(duration.clone())).unwrap();
        registry.register(Box::new(in_flight.clone())).unwrap();
        PromLayer {
            requests,
            duration,
            in_flight,
        }
    }
}

impl<S> Layer<S> for PromLayer {
    type Service = PromService<S>;
    fn layer(&self, inner: S) -> PromService<S> {
        PromService {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
struct PromService<S> {
    inner: S,
    layer: PromLayer,
}

impl<S, B> Service<Request<()>> for PromService<S>
where
    S: Service<Request<()>, Response = Response<B>>,
{
    type Response = Response<B>;
    type Error = S::Error;
    type Future = PromFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<()>) -> Self::Future {
        self.layer.in_flight.inc();
        PromFuture {
            method: req.method().as_str().to_owned(),
            inner: self.inner.call(req),
            layer: self.layer.clone(),
            start: Instant::now(),
        }
    }
}

pin_project! {
    // Records when the response head is ready (the usual hand-written layer does not wrap
    // the body, so it is, if anything, cheaper than timing to the body's end).
    struct PromFuture<F> {
        #[pin]
        inner: F,
        method: String,
        layer: PromLayer,
        start: Instant,
    }
}

impl<F, B, E> Future for PromFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let out = std::task::ready!(this.inner.poll(cx));
        let code = match &out {
            Ok(res) => res.status().as_str().to_owned(),
            Err(_) => "500".to_owned(),
        };
        this.layer
            .requests
            .with_label_values(&[this.method.as_str(), ROUTE, code.as_str()])
            .inc();
        this.layer
            .duration
            .with_label_values(&[this.method.as_str(), ROUTE])
            .observe(this.start.elapsed().as_secs_f64());
        this.layer.in_flight.dec();
        Poll::Ready(out)
    }
}

/// The three services of the comparison, built once and shared by both measurements.
struct Contenders<A, B, C> {
    bare: A,
    ours: B,
    peer: C,
}

fn contenders() -> Contenders<
    impl Service<
        Request<()>,
        Response = Response<impl Body<Error = impl std::fmt::Debug>>,
        Error = impl std::fmt::Debug,
    >,
    impl Service<
        Request<()>,
        Response = Response<impl Body<Error = impl std::fmt::Debug>>,
        Error = impl std::fmt::Debug,
    >,
    impl Service<
        Request<()>,
        Response = Response<impl Body<Error = impl std::fmt::Debug>>,
        Error = impl std::fmt::Debug,
    >,
> {
    // The layer as services get it by default (exemplars from `traceparent` included), with
    // a fixed route standing in for axum's `MatchedPath`.
    let layer = MetricsLayer::builder()
        .registry(&footmetrics::Registry::new())
        .routes(|_: &RequestHead<'_>| Some(Route::from_static(ROUTE)))
        .build()
        .unwrap();
    Contenders {
        bare: inner(),
        ours: layer.layer(inner()),
        peer: PromLayer::new(&prometheus::Registry::new()).layer(inner()),
    }
}

fn tower_request(c: &mut Criterion) {
    let Contenders {
        mut bare,
        mut ours,
        mut peer,
    } = contenders();
    let mut g = c.benchmark_group("tower_request");
    g.bench_function("uninstrumented", |b| b.iter(|| request_once(&mut bare)));
    g.bench_function("footmetrics", |b| b.iter(|| request_once(&mut ours)));
    g.bench_function("prometheus", |b| b.iter(|| request_once(&mut peer)));
    g.finish();
}

/// Overheads measured in interleaved rounds: each round times the three services back to
/// back, so a noisy neighbour slows all three alike and the per-round ratio survives it.
/// Writes the medians to `target/criterion/tower_request/paired.json` for the `ratios` report.
fn paired_overheads() {
    const ROUNDS: usize = 21;
    const ITERS: u32 = 100_000;
    let Contenders {
        mut bare,
        mut ours,
        mut peer,
    } = contenders();
    fn time<S, B>(svc: &mut S) -> f64
    where
        S: Service<Request<()>, Response = Response<B>>,
        S::Error: std::fmt::Debug,
        B: Body,
        B::Error: std::fmt::Debug,
    {
        let t = Instant::now();
        for _ in 0..ITERS {
            request_once(svc);
        }
        t.elapsed().as_nanos() as f64 / f64::from(ITERS)
    }
    for _ in 0..ITERS {
        request_once(&mut bare);
        request_once(&mut ours);
        request_once(&mut peer);
    }
    let (mut o, mut p, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        // Rotate the order so no service always runs first after a pause.
        let (mut b, mut a, mut q) = (0.0, 0.0, 0.0);
        for k in 0..3 {
            match (round + k) % 3 {
                0 => b = time(&mut bare),
                1 => a = time(&mut ours),
                _ => q = time(&mut peer),
            }
        }
        o.push(a - b);
        p.push(q - b);
        r.push((a - b) / (q - b));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (o, p, r) = (median(&mut o), median(&mut p), median(&mut r));
    println!(
        "tower_request paired over {ROUNDS} rounds: footmetrics adds {o:.1} ns, prometheus adds {p:.1} ns, median ratio {r:.2}"
    );
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion/tower_request");
    std::fs::create_dir_all(&dir).unwrap();
    let json = format!(
        "{{\"rounds\":{ROUNDS},\"footmetrics_overhead_ns\":{o},\"prometheus_overhead_ns\":{p},\"median_ratio\":{r}}}\n"
    );
    std::fs::write(dir.join("paired.json"), json).unwrap();
}

criterion_group!(benches, tower_request);

fn main() {
    // `PAIRED_ONLY=1 cargo bench --bench tower` skips criterion, for quick A/B runs.
    if std::env::var_os("PAIRED_ONLY").is_none() {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
    // About two seconds; runs whatever filter criterion was given.
    if !std::env::args().any(|a| a == "--list") {
        paired_overheads();
    }
}
