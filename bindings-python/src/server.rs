//! `start_http_server`: serves a registry from a Rust thread (the tower crate's exporter), so
//! a busy Python thread never delays a scrape and a scrape never holds the GIL.

use crate::registry::CollectorRegistry;
use footmetrics_tower::{Exporter, ExporterHandle};
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use std::sync::Mutex;

#[pyclass(module = "footmetrics._core", frozen)]
pub(crate) struct MetricsServer {
    handle: Mutex<Option<ExporterHandle>>,
    address: (String, u16),
}

#[pymethods]
impl MetricsServer {
    /// `(host, port)` actually bound (the port is chosen by the OS when 0 was asked).
    #[getter]
    fn server_address(&self) -> (String, u16) {
        self.address.clone()
    }

    /// Stops serving and waits for the server thread, without holding the GIL (a scrape in
    /// progress may need it for a `set_function` gauge).
    fn shutdown(&self, py: Python<'_>) {
        let handle = self.handle.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = handle {
            py.detach(move || h.shutdown());
        }
    }

    /// Closes the listening socket, as `socketserver`'s `server_close` (prometheus_client's
    /// callers call it after `shutdown`): stops serving if `shutdown` has not. Either may be
    /// called any number of times.
    fn server_close(&self, py: Python<'_>) {
        self.shutdown(py);
    }

    fn is_serving(&self) -> bool {
        self.handle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }
}

#[pyfunction]
#[pyo3(signature = (port, addr = "0.0.0.0", registry = None))]
pub(crate) fn start_http_server(
    py: Python<'_>,
    port: u16,
    addr: &str,
    registry: Option<&Bound<'_, CollectorRegistry>>,
) -> PyResult<MetricsServer> {
    let registry = match registry {
        Some(r) => r.get().inner.clone(),
        None => crate::registry::default_registry(py)?.get().inner.clone(),
    };
    let handle = Exporter::new(&registry)
        .spawn((addr, port))
        .map_err(|e| PyOSError::new_err(format!("cannot serve metrics on {addr}:{port}: {e}")))?;
    let bound = handle.local_addr();
    Ok(MetricsServer {
        handle: Mutex::new(Some(handle)),
        address: (bound.ip().to_string(), bound.port()),
    })
}
