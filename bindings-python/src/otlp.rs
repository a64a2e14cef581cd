//! `start_otlp_exporter`: the `footmetrics-otlp` exporter for a Python registry. Sending runs
//! on the exporter's own threads; gathering takes the GIL only for Python collectors' calls,
//! and `force_flush`/`shutdown` wait with the GIL released.

use crate::registry::CollectorRegistry;
use footmetrics_otlp::{Config, OtlpExporter as Exporter, Protocol};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::time::Duration;

fn seconds(what: &str, s: f64) -> PyResult<Duration> {
    if s.is_finite() && s > 0.0 {
        Ok(Duration::from_secs_f64(s))
    } else {
        Err(PyValueError::new_err(format!(
            "{what} must be a positive number of seconds, got {s}"
        )))
    }
}

fn wait_seconds(s: f64) -> PyResult<Duration> {
    if s.is_finite() && s >= 0.0 {
        Ok(Duration::from_secs_f64(s))
    } else {
        Err(PyValueError::new_err(format!(
            "timeout must be a non-negative number of seconds, got {s}"
        )))
    }
}

/// A running exporter (`start_otlp_exporter`'s result).
/// Weak-referenceable: the package's `atexit` hook keeps a `WeakSet` of live exporters.
#[pyclass(module = "footmetrics._core", frozen, weakref)]
pub(crate) struct OtlpExporter {
    inner: Exporter,
}

#[pymethods]
impl OtlpExporter {
    /// Collects now and waits up to `timeout` seconds for it to reach the collector.
    #[pyo3(signature = (timeout = 10.0))]
    fn force_flush(&self, py: Python<'_>, timeout: f64) -> PyResult<bool> {
        let t = wait_seconds(timeout)?;
        Ok(py.detach(|| self.inner.force_flush(t)))
    }

    /// Sends a final snapshot and stops; returns whether everything was delivered.
    #[pyo3(signature = (timeout = 5.0))]
    fn shutdown(&self, py: Python<'_>, timeout: f64) -> PyResult<bool> {
        let t = wait_seconds(timeout)?;
        Ok(py.detach(|| self.inner.shutdown(t)))
    }

    /// Counters since start: exported/dropped points, failed requests, queued snapshots.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.stats();
        let d = PyDict::new(py);
        d.set_item("exported_requests", s.exported_requests)?;
        d.set_item("exported_points", s.exported_points)?;
        d.set_item("dropped_points", s.dropped_points)?;
        d.set_item("failed_requests", s.failed_requests)?;
        d.set_item("queued_batches", s.queued_batches)?;
        d.set_item("last_error", s.last_error)?;
        Ok(d)
    }
}

fn pairs(d: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<(String, String)>> {
    d.map_or(Ok(Vec::new()), crate::exemplar::string_pairs)
}

/// Starts exporting `registry` to an OpenTelemetry collector every `interval` seconds.
#[pyfunction]
#[pyo3(signature = (endpoint, interval, registry, protocol, service_name, resource_attributes, headers, timeout, max_queue_batches, cafile = None, certfile = None, keyfile = None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn start_otlp_exporter(
    py: Python<'_>,
    endpoint: &str,
    interval: f64,
    registry: &Bound<'_, CollectorRegistry>,
    protocol: &str,
    service_name: Option<String>,
    resource_attributes: Option<&Bound<'_, PyDict>>,
    headers: Option<&Bound<'_, PyDict>>,
    timeout: f64,
    max_queue_batches: usize,
    cafile: Option<String>,
    certfile: Option<String>,
    keyfile: Option<String>,
) -> PyResult<OtlpExporter> {
    let protocol: Protocol = protocol
        .parse()
        .map_err(|e: footmetrics_otlp::Error| PyValueError::new_err(e.to_string()))?;
    let mut config = Config::new(endpoint)
        .protocol(protocol)
        .interval(seconds("interval", interval)?)
        .timeout(seconds("timeout", timeout)?)
        .max_queue_batches(max_queue_batches);
    config.sdk_language = "python".into();
    for (k, v) in pairs(resource_attributes)? {
        config = config.resource_attribute(k, v);
    }
    if let Some(name) = service_name {
        config = config.service_name(name);
    }
    config.headers = pairs(headers)?;
    let tls = crate::push::tls_options(cafile, certfile, keyfile);
    (config.ca, config.client_cert, config.client_key) = (tls.ca, tls.client_cert, tls.client_key);
    let registry = registry.get().inner.clone();
    let inner = py
        .detach(|| Exporter::start(&registry, config))
        .map_err(|e| match e {
            footmetrics_otlp::Error::InvalidConfig(_) => PyValueError::new_err(e.to_string()),
            e => PyRuntimeError::new_err(e.to_string()),
        })?;
    Ok(OtlpExporter { inner })
}
