//! `footmetrics._core`: the Python bindings of the footmetrics core. One file per core module;
//! the Python package `footmetrics` re-exports these with `prometheus_client`'s names.
//!
//! Every class is `frozen`: metric state lives in the core's atomic cells, so methods take
//! `&self`, need no borrow flag, and are safe on free-threaded CPython.

mod collector;
mod counter;
mod errors;
mod exemplar;
mod family;
mod gauge;
mod histogram;
mod info;
mod multiprocess;
mod otlp;
mod process;
mod push;
mod registry;
mod server;
mod stateset;
mod summary;
mod timer;

use pyo3::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether this interpreter runs with a GIL (every build but free-threaded 3.13t+ with the GIL
/// off). Decided at import.
static GIL_ENABLED: AtomicBool = AtomicBool::new(true);

pub(crate) fn gil_enabled() -> bool {
    GIL_ENABLED.load(Ordering::Relaxed)
}

/// The core's wall clock: Python's `time.time()`, looked up at each call so a patched one is
/// seen, as `prometheus_client` sees it; the system clock when Python cannot answer. The core
/// reads it when a child, an exemplar or `set_to_current_time` needs the time: always on a
/// Python call holding the GIL (no core lock is held while the binding waits for the GIL).
fn python_time() -> f64 {
    Python::try_attach(|py| {
        py.import("time")
            .and_then(|t| t.getattr("time"))
            .and_then(|f| f.call0())
            .and_then(|v| v.extract::<f64>())
            .ok()
    })
    .flatten()
    .unwrap_or_else(footmetrics::exemplar::system_seconds)
}

#[pymodule(gil_used = false)]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let sys = py.import("sys")?;
    if sys.hasattr("_is_gil_enabled")? {
        let on: bool = sys.call_method0("_is_gil_enabled")?.extract()?;
        GIL_ENABLED.store(on, Ordering::Relaxed);
    }
    m.add_class::<registry::RegistryLock>()?;
    footmetrics::exemplar::set_clock(python_time);
    m.add_class::<counter::Counter>()?;
    m.add_class::<counter::ValueView>()?;
    m.add_class::<multiprocess::MultiProcessContext>()?;
    m.add_class::<multiprocess::MultiProcessDir>()?;
    m.add_function(wrap_pyfunction!(multiprocess::after_fork_in_child, m)?)?;
    m.add_function(wrap_pyfunction!(
        multiprocess::close_all_multiprocess_files,
        m
    )?)?;
    m.add_function(wrap_pyfunction!(multiprocess::mark_process_dead, m)?)?;
    m.add_function(wrap_pyfunction!(multiprocess::merge_files, m)?)?;
    m.add_class::<gauge::Gauge>()?;
    m.add_class::<histogram::Histogram>()?;
    m.add_class::<summary::Summary>()?;
    m.add_class::<info::Info>()?;
    m.add_class::<stateset::Enum>()?;
    m.add_class::<registry::CollectorRegistry>()?;
    m.add_class::<registry::CollectorHandle>()?;
    m.add_class::<timer::Timer>()?;
    m.add_class::<timer::ExceptionCounter>()?;
    m.add_class::<timer::InprogressTracker>()?;
    m.add_class::<server::MetricsServer>()?;
    m.add_function(wrap_pyfunction!(server::start_http_server, m)?)?;
    m.add_function(wrap_pyfunction!(registry::generate_latest, m)?)?;
    m.add_function(wrap_pyfunction!(registry::generate_latest_openmetrics, m)?)?;
    m.add_function(wrap_pyfunction!(registry::disable_created_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(registry::render_for_scrape, m)?)?;
    m.add_function(wrap_pyfunction!(registry::negotiate, m)?)?;
    m.add_function(wrap_pyfunction!(registry::set_utf8_names, m)?)?;
    m.add_function(wrap_pyfunction!(push::push_registry, m)?)?;
    m.add_function(wrap_pyfunction!(otlp::start_otlp_exporter, m)?)?;
    m.add_class::<otlp::OtlpExporter>()?;
    m.add_function(wrap_pyfunction!(push::group_url, m)?)?;
    m.add_function(wrap_pyfunction!(push::http_request, m)?)?;
    m.add_function(wrap_pyfunction!(registry::enable_created_metrics, m)?)?;
    let default = registry::default_registry(py)?;
    m.add("REGISTRY", default)?;
    m.add_class::<process::ProcessCollector>()?;
    m.add(
        "PROCESS_COLLECTOR",
        process::adopt_default(py, default.get())?,
    )?;
    m.add("CONTENT_TYPE_PLAIN_0_0_4", footmetrics::CONTENT_TYPE_TEXT)?;
    m.add(
        "CONTENT_TYPE_OPENMETRICS",
        footmetrics::CONTENT_TYPE_OPENMETRICS,
    )?;
    m.add(
        "CONTENT_TYPE_PROTOBUF",
        footmetrics::protobuf::CONTENT_TYPE_PROTOBUF,
    )?;
    Ok(())
}
