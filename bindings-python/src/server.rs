//! `start_http_server`: serves a registry from a Rust thread (the tower crate's exporter), so
//! a busy Python thread never delays a scrape and a scrape never holds the GIL.

use crate::registry::CollectorRegistry;
use footmetrics_tower::{
    ClientAuth, Exporter, ExporterHandle, ServeLimits, TlsSettings, TlsVersion, WebConfig,
    WebConfigError,
};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use std::sync::Mutex;
use std::time::Duration;

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

    /// What the server refused or cut short so far, as a dict of counts (the values of its
    /// `footmetrics_exporter_*` self-metrics).
    fn stats(&self) -> std::collections::BTreeMap<&'static str, u64> {
        let guard = self.handle.lock().unwrap_or_else(|e| e.into_inner());
        let s = guard.as_ref().map(|h| h.stats()).unwrap_or_default();
        std::collections::BTreeMap::from([
            ("connections_open", s.connections_open),
            ("connections_refused", s.connections_refused),
            ("connections_timed_out", s.connections_timed_out),
            ("scrapes_refused", s.scrapes_refused),
            ("auth_failures", s.auth_failures),
            ("tls_handshake_failures", s.tls_handshake_failures),
        ])
    }

    fn is_serving(&self) -> bool {
        self.handle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }
}

/// The exception prometheus_client's `start_http_server` raises for a TLS file it cannot use:
/// the `OSError` subclass for the I/O error, `ssl.SSLError` for content OpenSSL would refuse.
fn tls_error(
    py: Python<'_>,
    e: WebConfigError,
    certfile: &str,
    keyfile: &str,
    cas: &[String],
) -> PyErr {
    let ca_path = match &e {
        WebConfigError::Io { path, .. } => {
            cas.iter().find(|c| path.starts_with(c.as_str())).cloned()
        }
        _ => None,
    };
    let message = match &ca_path {
        Some(ca) => format!("Cannot load CA certificate chain from {ca:?}: {e}"),
        None => format!(
            "Cannot load server certificate file {certfile:?} or its private key file \
             {keyfile:?}: {e}"
        ),
    };
    match e {
        WebConfigError::Io { source, .. } => {
            let err: PyErr = source.into();
            let class = err.get_type(py);
            PyErr::from_type(class, message)
        }
        WebConfigError::Tls(_) => match py.import("ssl").and_then(|m| m.getattr("SSLError")) {
            Ok(class) => match class.cast_into::<pyo3::types::PyType>() {
                Ok(class) => PyErr::from_type(class, message),
                Err(_) => PyOSError::new_err(message),
            },
            Err(_) => PyOSError::new_err(message),
        },
        _ => PyValueError::new_err(message),
    }
}

fn web_config_error(py: Python<'_>, file: &str, e: WebConfigError) -> PyErr {
    let message = format!("cannot use the web config file {file:?}: {e}");
    match e {
        WebConfigError::Io { source, .. } => {
            let err: PyErr = source.into();
            PyErr::from_type(err.get_type(py), message)
        }
        _ => PyValueError::new_err(message),
    }
}

fn seconds(name: &str, value: Option<f64>, default: Duration) -> PyResult<Duration> {
    match value {
        None => Ok(default),
        Some(v) if v.is_finite() && v > 0.0 && v < 1e9 => Ok(Duration::from_secs_f64(v)),
        Some(v) => Err(PyValueError::new_err(format!(
            "{name} must be a positive number of seconds, not {v}"
        ))),
    }
}

/// Serves `registry` from a Rust thread within the exporter's connection limits; over TLS with
/// `certfile` and `keyfile` (client certificates verified against `client_ca` when
/// `client_auth_required`), or as an exporter-toolkit `web_config_file` says.
#[pyfunction]
#[pyo3(signature = (port, addr = "0.0.0.0", registry = None, certfile = None, keyfile = None,
    client_ca = Vec::new(), client_auth_required = false, min_version = None, max_version = None,
    web_config_file = None, max_connections = None, max_concurrent_scrapes = None,
    header_read_timeout = None, idle_timeout = None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn start_http_server(
    py: Python<'_>,
    port: u16,
    addr: &str,
    registry: Option<&Bound<'_, CollectorRegistry>>,
    certfile: Option<String>,
    keyfile: Option<String>,
    client_ca: Vec<String>,
    client_auth_required: bool,
    min_version: Option<String>,
    max_version: Option<String>,
    web_config_file: Option<String>,
    max_connections: Option<usize>,
    max_concurrent_scrapes: Option<usize>,
    header_read_timeout: Option<f64>,
    idle_timeout: Option<f64>,
) -> PyResult<MetricsServer> {
    let registry = match registry {
        Some(r) => r.get().inner.clone(),
        None => crate::registry::default_registry(py)?.get().inner.clone(),
    };
    let defaults = ServeLimits::default();
    let limits = ServeLimits {
        header_read_timeout: seconds(
            "header_read_timeout",
            header_read_timeout,
            defaults.header_read_timeout,
        )?,
        idle_timeout: seconds("idle_timeout", idle_timeout, defaults.idle_timeout)?,
        max_connections: max_connections.unwrap_or(defaults.max_connections),
        max_concurrent_scrapes: max_concurrent_scrapes.unwrap_or(defaults.max_concurrent_scrapes),
        max_header_bytes: defaults.max_header_bytes,
    };
    limits.validate().map_err(PyValueError::new_err)?;
    let mut web = match &web_config_file {
        Some(path) => py
            .detach(|| WebConfig::from_file(path))
            .map_err(|e| web_config_error(py, path, e))?,
        None => WebConfig::default(),
    };
    if let (Some(cert), Some(key)) = (&certfile, &keyfile) {
        if web_config_file.is_some() {
            return Err(PyValueError::new_err(
                "give TLS files either as certfile/keyfile or in web_config_file, not both",
            ));
        }
        let mut tls = TlsSettings::new(cert, key);
        tls.client_ca_files = client_ca.iter().map(Into::into).collect();
        tls.client_auth = if client_auth_required {
            ClientAuth::RequireAndVerifyClientCert
        } else {
            ClientAuth::NoClientCert
        };
        let version = |v: &Option<String>, default| match v.as_deref() {
            None => Ok(default),
            Some(v) => TlsVersion::parse(v).map_err(|e| PyValueError::new_err(e.to_string())),
        };
        tls.min_version = version(&min_version, TlsVersion::Tls12)?;
        tls.max_version = version(&max_version, TlsVersion::Tls13)?;
        web = py
            .detach(|| web.with_tls(&tls))
            .map_err(|e| tls_error(py, e, cert, key, &client_ca))?;
    }
    let handle = Exporter::new(&registry)
        .limits(limits)
        .web_config(web)
        .spawn((addr, port))
        .map_err(|e| PyOSError::new_err(format!("cannot serve metrics on {addr}:{port}: {e}")))?;
    let bound = handle.local_addr();
    Ok(MetricsServer {
        handle: Mutex::new(Some(handle)),
        address: (bound.ip().to_string(), bound.port()),
    })
}
