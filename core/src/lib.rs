//! # footmetrics
//!
//! The lock-free metrics core of FootAnalytics. Counters, gauges, histograms, summaries, info
//! and state sets, each alone or as a label [`Family`]; a [`Registry`]; Prometheus text 0.0.4
//! and OpenMetrics 1.0 exposition; and the platform's standard metric [`catalog`].
//!
//! ```
//! use footmetrics::{Opts, Registry, Format};
//!
//! let registry = Registry::new();
//! let requests = registry
//!     .counter_vec(&Opts::new("http_requests_total", "HTTP requests.").labels(&["method", "code"]))
//!     .unwrap();
//! requests.get(&["GET", "200"]).unwrap().inc();       // lock-free lookup, no allocation
//! let ok = requests.with_label_values(&["GET", "200"]).unwrap(); // a handle to keep
//! ok.inc();
//! let text = registry.render(Format::Text);
//! assert!(text.contains("http_requests_total{method=\"GET\",code=\"200\"} 2"));
//! ```
//!
//! Hot paths are atomic operations on cells in the [`arena`], with a documented, stable layout
//! (the [`arena`] module: [`arena::HasCells`] gives a handle's cells), so bindings can
//! write them from other languages.

// `!(v >= 0.0)` is how NaN is rejected alongside negatives; keep it.
#![allow(clippy::neg_cmp_op_on_partial_ord)]
#![deny(missing_docs)]

// Generated from catalog/catalog.toml; `make check-generated` compares it byte for byte.
#[rustfmt::skip]
pub mod catalog;
pub mod arena;
pub mod cells;
mod collector;
pub mod counter;
mod encode;
mod epoch;
mod error;
pub mod exemplar;
mod family;
pub mod fmt;
mod gauge;
mod histogram;
mod info;
mod kind;
mod label_value;
mod lanes;
mod metric;
pub mod multiprocess;
pub mod native;
pub mod opts;
pub mod parse;
pub mod process;
pub mod protobuf;
pub mod push;
pub mod pyclient;
mod quantile;
mod registry;
mod series_map;
mod shard;
mod stateset;
mod summary;
mod targeted;
pub mod validate;

pub use collector::Desc;
pub use collector::{Collector, FnCollector};
pub use counter::Counter;
pub use encode::{Encoder, Format, TextStyle, CONTENT_TYPE_OPENMETRICS, CONTENT_TYPE_TEXT};
pub use error::{Error, Result};
pub use exemplar::Exemplar;
pub use family::{ChildRef, Family, OVERFLOW_LABEL_VALUE};
pub use fmt::render_pairs;
pub use gauge::Gauge;
pub use histogram::{Histogram, HistogramSnapshot, HistogramTimer};
pub use info::Info;
pub use label_value::{AsLabelValue, LabelValue};
pub use metric::{FlatSample, Metric, MetricFamily, MetricPoint, MetricType, PointValue};
pub use native::{NativeBuckets, NativeOpts};
pub use opts::{
    exponential_buckets, linear_buckets, Opts, DEFAULT_BUCKETS, DEFAULT_CARDINALITY_LIMIT,
    PYTHON_DEFAULT_BUCKETS,
};
pub use process::ProcessCollector;
pub use registry::{default_registry, Registry};
pub use stateset::StateSet;
pub use summary::Summary;

// Label families by their usual names in other clients (client_golang, the prometheus crate).
/// A family of [`Counter`]s.
pub type CounterVec = Family<Counter>;
/// A family of [`Gauge`]s.
pub type GaugeVec = Family<Gauge>;
/// A family of [`Histogram`]s.
pub type HistogramVec = Family<Histogram>;
/// A family of [`Summary`]s.
pub type SummaryVec = Family<Summary>;

/// The README's Rust example runs as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The Rust guide's examples run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/rust.md")]
pub struct RustGuideDoctests;
