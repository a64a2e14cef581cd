//! footmetrics against `prometheus`, `prometheus-client`, `measured` and a raw atomic, each
//! operation in one criterion group so the peers run side by side in the same process.
//! `cargo run --release -p footmetrics-benches --bin ratios` prints the ratios afterwards.

use criterion::{criterion_group, criterion_main, Criterion};
use footmetrics_benches::{
    combo, native_pair, per_op, threads_time, value, CODES, METHODS, ROUTES,
};
use measured::lasso::{Rodeo, RodeoReader, Spur};
use measured::metric::histogram::Thresholds;
use measured::{FixedCardinalityLabel, LabelGroup, MetricGroup};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const BUCKETS: usize = 11;
fn bounds() -> Vec<f64> {
    footmetrics::exponential_buckets(0.005, 2.0, BUCKETS).unwrap()
}

// measured needs its labels as types: the "labels known up front" design.
#[derive(FixedCardinalityLabel, Clone, Copy)]
enum Method {
    #[label(rename = "GET")]
    Get,
    #[label(rename = "POST")]
    Post,
    #[label(rename = "PUT")]
    Put,
    #[label(rename = "DELETE")]
    Delete,
}
#[derive(FixedCardinalityLabel, Clone, Copy)]
enum Code {
    #[label(rename = "200")]
    Ok,
    #[label(rename = "201")]
    Created,
    #[label(rename = "404")]
    NotFound,
    #[label(rename = "500")]
    Internal,
    #[label(rename = "503")]
    Unavailable,
}
const M_METHODS: [Method; 4] = [Method::Get, Method::Post, Method::Put, Method::Delete];
const M_CODES: [Code; 5] = [
    Code::Ok,
    Code::Created,
    Code::NotFound,
    Code::Internal,
    Code::Unavailable,
];

#[derive(LabelGroup, Clone, Copy)]
#[label(set = Request3Set)]
struct Request3<'a> {
    method: Method,
    #[label(fixed_with = RodeoReader<Spur>)]
    route: &'a str,
    code: Code,
}
#[derive(LabelGroup, Clone, Copy)]
#[label(set = Request2Set)]
struct Request2<'a> {
    method: Method,
    #[label(fixed_with = RodeoReader<Spur>)]
    route: &'a str,
}
#[derive(LabelGroup, Clone, Copy)]
#[label(set = IdSet)]
struct Id<'a> {
    #[label(fixed_with = RodeoReader<Spur>)]
    id: &'a str,
}
#[derive(MetricGroup)]
struct MeasuredCounters {
    /// help text
    counters: measured::CounterVec<IdSet>,
}
#[derive(MetricGroup)]
struct MeasuredHistograms {
    /// help text
    histograms: measured::HistogramVec<IdSet, BUCKETS>,
}
fn rodeo<'a>(values: impl IntoIterator<Item = &'a str>) -> RodeoReader<Spur> {
    Rodeo::from_iter(values).into_reader()
}

fn interned(values: &[&str]) -> Vec<footmetrics::LabelValue> {
    values
        .iter()
        .map(|v| footmetrics::LabelValue::new(*v))
        .collect()
}

fn pc_labels() -> Vec<Vec<(String, String)>> {
    (0..160)
        .map(|i| {
            let (m, r, c) = combo(i);
            vec![
                ("method".into(), METHODS[m].into()),
                ("route".into(), ROUTES[r].into()),
                ("code".into(), CODES[c].into()),
            ]
        })
        .collect()
}

fn counter_inc(c: &mut Criterion) {
    let mut g = c.benchmark_group("counter_inc");
    let raw = AtomicU64::new(0);
    g.bench_function("raw_atomic", |b| {
        b.iter_custom(|n| {
            per_op(n, |_| {
                black_box(&raw).fetch_add(1, Ordering::Relaxed);
            })
        })
    });
    let fm = footmetrics::Registry::new()
        .counter(&footmetrics::Opts::new("c_total", "h"))
        .unwrap();
    g.bench_function("footmetrics", |b| {
        b.iter_custom(|n| per_op(n, |_| black_box(&fm).inc()))
    });
    let p = prometheus::IntCounter::new("c_total", "h").unwrap();
    g.bench_function("prometheus", |b| {
        b.iter_custom(|n| per_op(n, |_| black_box(&p).inc()))
    });
    let pc = prometheus_client::metrics::counter::Counter::<u64>::default();
    g.bench_function("prometheus_client", |b| {
        b.iter_custom(|n| {
            per_op(n, |_| {
                black_box(&pc).inc();
            })
        })
    });
    let m = measured::Counter::new();
    g.bench_function("measured", |b| {
        b.iter_custom(|n| per_op(n, |_| black_box(&m).inc()))
    });
    g.finish();
}

fn labelled_handle_inc(c: &mut Criterion) {
    let mut g = c.benchmark_group("labelled_handle_inc");
    let raw = AtomicU64::new(0);
    g.bench_function("raw_atomic", |b| {
        b.iter_custom(|n| {
            per_op(n, |_| {
                black_box(&raw).fetch_add(1, Ordering::Relaxed);
            })
        })
    });
    let fam = footmetrics::Registry::new()
        .counter_vec(&footmetrics::Opts::new("c_total", "h").labels(&["method", "route", "code"]))
        .unwrap();
    let fm = fam
        .with_label_values(&["GET", "/api/matches", "200"])
        .unwrap();
    g.bench_function("footmetrics", |b| {
        b.iter_custom(|n| per_op(n, |_| black_box(&fm).inc()))
    });
    let pv = prometheus::IntCounterVec::new(
        prometheus::Opts::new("c_total", "h"),
        &["method", "route", "code"],
    )
    .unwrap();
    let p = pv.with_label_values(&["GET", "/api/matches", "200"]);
    g.bench_function("prometheus", |b| {
        b.iter_custom(|n| per_op(n, |_| black_box(&p).inc()))
    });
    let pcf = prometheus_client::metrics::family::Family::<
        Vec<(String, String)>,
        prometheus_client::metrics::counter::Counter,
    >::default();
    let pc = pcf.get_or_create(&pc_labels()[0]).clone();
    g.bench_function("prometheus_client", |b| {
        b.iter_custom(|n| {
            per_op(n, |_| {
                black_box(&pc).inc();
            })
        })
    });
    g.finish();
}

fn lookup3_inc(c: &mut Criterion) {
    let mut g = c.benchmark_group("lookup3_inc");
    let fam = footmetrics::Registry::new()
        .counter_vec(&footmetrics::Opts::new("c_total", "h").labels(&["method", "route", "code"]))
        .unwrap();
    // Label values known up front, hashed once: as measured's enums and route interner.
    let (methods, routes, codes) = (interned(&METHODS), interned(&ROUTES), interned(&CODES));
    g.bench_function("footmetrics", |b| {
        b.iter_custom(|n| {
            per_op(n, |i| {
                let (m, r, c) = combo(i);
                fam.get(&[&methods[m], &routes[r], &codes[c]])
                    .unwrap()
                    .inc();
            })
        })
    });
    // The same lookups from plain strings, hashed at every call.
    g.bench_function("footmetrics_str", |b| {
        b.iter_custom(|n| {
            per_op(n, |i| {
                let (m, r, c) = combo(i);
                fam.get(&[METHODS[m], ROUTES[r], CODES[c]]).unwrap().inc();
            })
        })
    });
    let pv = prometheus::IntCounterVec::new(
        prometheus::Opts::new("c_total", "h"),
        &["method", "route", "code"],
    )
    .unwrap();
    g.bench_function("prometheus", |b| {
        b.iter_custom(|n| {
            per_op(n, |i| {
                let (m, r, c) = combo(i);
                pv.with_label_values(&[METHODS[m], ROUTES[r], CODES[c]])
                    .inc();
            })
        })
    });
    let pcf = prometheus_client::metrics::family::Family::<
        Vec<(String, String)>,
        prometheus_client::metrics::counter::Counter,
    >::default();
    let labels = pc_labels();
    g.bench_function("prometheus_client", |b| {
        b.iter_custom(|n| {
            per_op(n, |i| {
                pcf.get_or_create(&labels[i % 160]).inc();
            })
        })
    });
    let mv = measured::CounterVec::with_label_set(Request3Set {
        method: Default::default(),
        route: rodeo(ROUTES),
        code: Default::default(),
    });
    g.bench_function("measured", |b| {
        b.iter_custom(|n| {
            per_op(n, |i| {
                let (m, r, c) = combo(i);
                mv.inc(Request3 {
                    method: M_METHODS[m],
                    route: ROUTES[r],
                    code: M_CODES[c],
                });
            })
        })
    });
    g.finish();
}

fn histograms(c: &mut Criterion) {
    let bounds = bounds();
    let mut g = c.benchmark_group("histogram_observe_handle");
    let fm = footmetrics::Registry::new()
        .histogram(&footmetrics::Opts::new("h_seconds", "h").buckets(bounds.clone()))
        .unwrap();
    g.bench_function("footmetrics", |b| {
        b.iter_custom(|n| per_op(n, |i| black_box(&fm).observe(value(i))))
    });
    let p = prometheus::Histogram::with_opts(
        prometheus::HistogramOpts::new("h_seconds", "h").buckets(bounds.clone()),
    )
    .unwrap();
    g.bench_function("prometheus", |b| {
        b.iter_custom(|n| per_op(n, |i| black_box(&p).observe(value(i))))
    });
    let pc = prometheus_client::metrics::histogram::Histogram::new(bounds.iter().copied());
    g.bench_function("prometheus_client", |b| {
        b.iter_custom(|n| per_op(n, |i| black_box(&pc).observe(value(i))))
    });
    let m =
        measured::Histogram::<BUCKETS>::with_metadata(Thresholds::exponential_buckets(0.005, 2.0));
    g.bench_function("measured", |b| {
        b.iter_custom(|n| per_op(n, |i| black_box(&m).observe(value(i))))
    });
    g.finish();

    let mut g = c.benchmark_group("lookup2_observe");
    let fam = footmetrics::Registry::new()
        .histogram_vec(
            &footmetrics::Opts::new("h_seconds", "h")
                .labels(&["method", "route"])
                .buckets(bounds.clone()),
        )
        .unwrap();
    let (methods, routes) = (interned(&METHODS), interned(&ROUTES));
    g.bench_function("footmetrics", |b| {
        b.iter_custom(|n| {
            per_op(n, |i| {
                let (m, r, _) = combo(i);
                fam.get(&[&methods[m], &routes[r]])
                    .unwrap()
                    .observe(value(i));
            })
        })
    });
    g.bench_function("footmetrics_str", |b| {
        b.iter_custom(|n| {
            per_op(n, |i| {
                let (m, r, _) = combo(i);
                fam.get(&[METHODS[m], ROUTES[r]]).unwrap().observe(value(i));
            })
        })
    });
    let pv = prometheus::HistogramVec::new(
        prometheus::HistogramOpts::new("h_seconds", "h").buckets(bounds.clone()),
        &["method", "route"],
    )
    .unwrap();
    g.bench_function("prometheus", |b| {
        b.iter_custom(|n| {
            per_op(n, |i| {
                let (m, r, _) = combo(i);
                pv.with_label_values(&[METHODS[m], ROUTES[r]])
                    .observe(value(i));
            })
        })
    });
    let b2 = bounds.clone();
    let pcf = prometheus_client::metrics::family::Family::<
        Vec<(String, String)>,
        prometheus_client::metrics::histogram::Histogram,
        _,
    >::new_with_constructor(move || {
        prometheus_client::metrics::histogram::Histogram::new(b2.iter().copied())
    });
    let labels: Vec<Vec<(String, String)>> = (0..32)
        .map(|i| {
            let (m, r, _) = combo(i);
            vec![
                ("method".into(), METHODS[m].into()),
                ("route".into(), ROUTES[r].into()),
            ]
        })
        .collect();
    g.bench_function("prometheus_client", |b| {
        b.iter_custom(|n| per_op(n, |i| pcf.get_or_create(&labels[i % 32]).observe(value(i))))
    });
    let mv = measured::HistogramVec::with_label_set_and_metadata(
        Request2Set {
            method: Default::default(),
            route: rodeo(ROUTES),
        },
        Thresholds::<BUCKETS>::exponential_buckets(0.005, 2.0),
    );
    g.bench_function("measured", |b| {
        b.iter_custom(|n| {
            per_op(n, |i| {
                let (m, r, _) = combo(i);
                mv.observe(
                    Request2 {
                        method: M_METHODS[m],
                        route: ROUTES[r],
                    },
                    value(i),
                );
            })
        })
    });
    g.finish();
}

fn encoding(c: &mut Criterion) {
    for (group, series, histogram) in [
        ("encode_10k_counters", 10_000usize, false),
        ("encode_1k_histograms", 1_000, true),
    ] {
        let ids: Vec<String> = (0..series).map(|i| format!("series-{i}")).collect();
        let mut g = c.benchmark_group(group);
        g.sample_size(20);

        let reg = footmetrics::Registry::new();
        if histogram {
            let f = reg
                .histogram_vec(
                    &footmetrics::Opts::new("h_seconds", "help text")
                        .labels(&["id"])
                        .buckets(bounds())
                        .created(false),
                )
                .unwrap();
            ids.iter()
                .enumerate()
                .for_each(|(i, id)| f.get(&[id]).unwrap().observe(value(i)));
        } else {
            let f = reg
                .counter_vec(
                    &footmetrics::Opts::new("counters_total", "help text")
                        .labels(&["id"])
                        .created(false),
                )
                .unwrap();
            ids.iter()
                .enumerate()
                .for_each(|(i, id)| f.get(&[id]).unwrap().inc_by_u64(i as u64));
        }
        let mut buf = Vec::new();
        g.bench_function("footmetrics", |b| {
            b.iter(|| {
                buf.clear();
                reg.encode(footmetrics::Format::Text, &mut buf);
                black_box(buf.len())
            })
        });

        let preg = prometheus::Registry::new();
        if histogram {
            let v = prometheus::HistogramVec::new(
                prometheus::HistogramOpts::new("h_seconds", "help text").buckets(bounds()),
                &["id"],
            )
            .unwrap();
            ids.iter()
                .enumerate()
                .for_each(|(i, id)| v.with_label_values(&[id]).observe(value(i)));
            preg.register(Box::new(v)).unwrap();
        } else {
            let v = prometheus::IntCounterVec::new(
                prometheus::Opts::new("counters_total", "help text"),
                &["id"],
            )
            .unwrap();
            ids.iter()
                .enumerate()
                .for_each(|(i, id)| v.with_label_values(&[id]).inc_by(i as u64));
            preg.register(Box::new(v)).unwrap();
        }
        let mut s = String::new();
        g.bench_function("prometheus", |b| {
            b.iter(|| {
                s.clear();
                let mfs = preg.gather();
                prometheus::Encoder::encode(&prometheus::TextEncoder::new(), &mfs, unsafe {
                    s.as_mut_vec()
                })
                .unwrap();
                black_box(s.len())
            })
        });

        let mut pcreg = prometheus_client::registry::Registry::default();
        if histogram {
            let f = prometheus_client::metrics::family::Family::<
                Vec<(String, String)>,
                prometheus_client::metrics::histogram::Histogram,
                _,
            >::new_with_constructor(|| {
                prometheus_client::metrics::histogram::Histogram::new(bounds())
            });
            ids.iter().enumerate().for_each(|(i, id)| {
                f.get_or_create(&vec![("id".into(), id.clone())])
                    .observe(value(i))
            });
            pcreg.register("h_seconds", "help text", f);
        } else {
            let f = prometheus_client::metrics::family::Family::<
                Vec<(String, String)>,
                prometheus_client::metrics::counter::Counter,
            >::default();
            ids.iter().enumerate().for_each(|(i, id)| {
                f.get_or_create(&vec![("id".into(), id.clone())])
                    .inc_by(i as u64);
            });
            pcreg.register("counters", "help text", f);
        }
        let mut s2 = String::new();
        g.bench_function("prometheus_client", |b| {
            b.iter(|| {
                s2.clear();
                prometheus_client::encoding::text::encode(&mut s2, &pcreg).unwrap();
                black_box(s2.len())
            })
        });

        let set = || IdSet {
            id: rodeo(ids.iter().map(String::as_str)),
        };
        let mut enc = measured::text::BufferedTextEncoder::new();
        if histogram {
            let m = MeasuredHistograms {
                histograms: measured::HistogramVec::with_label_set_and_metadata(
                    set(),
                    Thresholds::exponential_buckets(0.005, 2.0),
                ),
            };
            ids.iter()
                .enumerate()
                .for_each(|(i, id)| m.histograms.observe(Id { id }, value(i)));
            g.bench_function("measured", |b| {
                b.iter(|| {
                    m.collect_group_into(&mut enc).unwrap();
                    black_box(enc.finish().len())
                })
            });
        } else {
            let m = MeasuredCounters {
                counters: measured::CounterVec::with_label_set(set()),
            };
            ids.iter()
                .enumerate()
                .for_each(|(i, id)| m.counters.inc_by(Id { id }, i as u64));
            g.bench_function("measured", |b| {
                b.iter(|| {
                    m.collect_group_into(&mut enc).unwrap();
                    black_box(enc.finish().len())
                })
            });
        }
        g.finish();
    }
}

/// Native (exponential) histograms, bucket factor 1.1 (schema 3) on both sides, over the
/// same values as the classic benches (0 to 0.96: the zero bucket and about 55 buckets):
/// footmetrics' lock-free double buffer against prometheus-client's mutex, one thread and
/// two threads observing one series.
fn native_histograms(c: &mut Criterion) {
    let (fm, pc) = native_pair();
    let mut g = c.benchmark_group("native_histogram_observe");
    g.bench_function("footmetrics", |b| {
        b.iter_custom(|n| per_op(n, |i| black_box(&fm).observe(value(i))))
    });
    g.bench_function("prometheus_client", |b| {
        b.iter_custom(|n| per_op(n, |i| black_box(&pc).observe(value(i))))
    });
    g.finish();
    let fm_op = |i: usize| black_box(&fm).observe(value(i));
    let pc_op = |i: usize| black_box(&pc).observe(value(i));
    let mut g = c.benchmark_group("native_histogram_observe_2_threads");
    g.bench_function("footmetrics", |b| {
        b.iter_custom(|n| threads_time(2, n, &fm_op))
    });
    g.bench_function("prometheus_client", |b| {
        b.iter_custom(|n| threads_time(2, n, &pc_op))
    });
    g.finish();
}

fn two_threads(c: &mut Criterion) {
    let reg = footmetrics::Registry::new();
    let counter = reg
        .counter(&footmetrics::Opts::new("c_total", "h"))
        .unwrap();
    let fam = reg
        .counter_vec(&footmetrics::Opts::new("l_total", "h").labels(&["method", "route", "code"]))
        .unwrap();
    let shared_counter = |_: usize| counter.inc();
    let shared_lookup = |_: usize| fam.get(&["GET", "/api/matches", "200"]).unwrap().inc();
    let raw = AtomicU64::new(0);
    let raw_op = |_: usize| {
        raw.fetch_add(1, Ordering::Relaxed);
    };
    for (group, op) in [
        (
            "two_threads_counter",
            &shared_counter as &(dyn Fn(usize) + Sync),
        ),
        ("two_threads_lookup3_inc", &shared_lookup),
        ("two_threads_raw_atomic_reference", &raw_op),
    ] {
        let mut g = c.benchmark_group(group);
        g.bench_function("footmetrics_1_thread", |b| {
            b.iter_custom(|n| threads_time(1, n, op))
        });
        g.bench_function("footmetrics_2_threads", |b| {
            b.iter_custom(|n| threads_time(2, n, op))
        });
        g.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(700))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = counter_inc, labelled_handle_inc, lookup3_inc, histograms, native_histograms,
        encoding, two_threads
}
criterion_main!(benches);
