//! OpenTelemetry (OTLP) metrics export for a footmetrics [`Registry`]: for services that
//! ship through an OpenTelemetry Collector instead of (or besides) being scraped.
//!
//! ```no_run
//! use footmetrics::Registry;
//! use footmetrics_otlp::{Config, OtlpExporter, Protocol};
//! use std::time::Duration;
//!
//! let registry = Registry::new();
//! let exporter = OtlpExporter::start(
//!     &registry,
//!     Config::new("http://127.0.0.1:4318")
//!         .protocol(Protocol::HttpProtobuf)
//!         .interval(Duration::from_secs(15))
//!         .service_name("api-gateway"),
//! )?;
//! // ... record ...
//! exporter.shutdown(Duration::from_secs(5)); // flushes a final snapshot
//! # Ok::<(), footmetrics_otlp::Error>(())
//! ```
//!
//! Everything is cumulative (what the registry holds). Sending happens on the exporter's
//! own threads: a slow, failing or absent collector costs queued memory (bounded), never a
//! blocked caller; undelivered points are counted in `footmetrics_otlp_dropped_points_total`.

pub mod config;
pub mod convert;
pub mod exporter;
pub mod transport;

pub use config::{Config, Pem, Protocol, Retry};
pub use exporter::{DropReason, OtlpExporter, Stats};
pub use footmetrics::Registry;

/// Re-exported so receivers and tests decode with the same message types.
pub use opentelemetry_proto as proto;

use std::fmt;

/// Why the exporter could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A bad endpoint, protocol, duration or header: fix the call.
    InvalidConfig(String),
    /// The self-metrics could not be registered.
    Registry(String),
    /// The operating system refused a thread.
    Spawn(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidConfig(m) => write!(f, "invalid OTLP exporter configuration: {m}"),
            Error::Registry(m) => write!(f, "{m}"),
            Error::Spawn(m) => write!(f, "cannot start the OTLP exporter thread: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// The push guide's Rust example runs as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../docs/push.md")]
pub struct PushGuideDoctests;
