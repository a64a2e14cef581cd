//! Pushgateway functions over the core's `push` module, with the GIL released for the whole
//! exchange (a slow gateway never stalls other Python threads).

use crate::registry::CollectorRegistry;
use footmetrics::push::{self, ClientOptions, PushError, PushMethod};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::time::Duration;

pyo3::import_exception!(ssl, SSLError);

fn to_py(e: PushError) -> PyErr {
    match e {
        PushError::InvalidArgument(m) => PyValueError::new_err(m),
        // As urllib raises it: an OSError subclass.
        e @ PushError::Tls(_) => SSLError::new_err(e.to_string()),
        e => PyOSError::new_err(e.to_string()),
    }
}

/// TLS files for the core's client (`https://`): a CA to trust instead of the system's
/// roots, and a client certificate and key for mutual TLS.
pub(crate) fn tls_options(
    cafile: Option<String>,
    certfile: Option<String>,
    keyfile: Option<String>,
) -> ClientOptions {
    ClientOptions {
        ca: cafile.map(|p| push::Pem::File(p.into())),
        client_cert: certfile.map(|p| push::Pem::File(p.into())),
        client_key: keyfile.map(|p| push::Pem::File(p.into())),
        ..Default::default()
    }
}

fn grouping(key: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<(String, String)>> {
    key.map_or(Ok(Vec::new()), crate::exemplar::string_pairs)
}

fn timeout_of(seconds: Option<f64>) -> PyResult<Duration> {
    match seconds {
        // No timeout in prometheus_client means the socket default; bound it anyway.
        None => Ok(Duration::from_secs(3600)),
        Some(s) if s.is_finite() && s > 0.0 => Ok(Duration::from_secs_f64(s)),
        Some(s) => Err(PyValueError::new_err(format!(
            "timeout must be a positive number of seconds, got {s}"
        ))),
    }
}

/// The URL of a Pushgateway group (used by custom handlers).
#[pyfunction]
#[pyo3(signature = (gateway, job, grouping_key = None))]
pub(crate) fn group_url(
    gateway: &str,
    job: &str,
    grouping_key: Option<&Bound<'_, PyDict>>,
) -> PyResult<String> {
    push::group_url(gateway, job, &grouping(grouping_key)?).map_err(to_py)
}

/// Renders `registry` and sends it with `method` (`PUT`, `POST` or `DELETE`).
#[pyfunction]
#[pyo3(signature = (gateway, job, registry, grouping_key, timeout, method))]
pub(crate) fn push_registry(
    py: Python<'_>,
    gateway: &str,
    job: &str,
    registry: Option<&Bound<'_, CollectorRegistry>>,
    grouping_key: Option<&Bound<'_, PyDict>>,
    timeout: Option<f64>,
    method: &str,
) -> PyResult<()> {
    let method = match method {
        "PUT" => PushMethod::Push,
        "POST" => PushMethod::PushAdd,
        "DELETE" => PushMethod::Delete,
        m => return Err(PyValueError::new_err(format!("unknown method {m:?}"))),
    };
    let group = grouping(grouping_key)?;
    let timeout = timeout_of(timeout)?;
    let registry = match registry {
        Some(r) => r.get().inner.clone(),
        None if method == PushMethod::Delete => footmetrics::Registry::new(),
        None => return Err(PyValueError::new_err("registry is required to push")),
    };
    // Python collectors and function gauges take the GIL back only for their calls.
    py.detach(|| push::push(&registry, gateway, job, &group, method, timeout))
        .map_err(to_py)
}

/// One HTTP(S) request, as the default handler makes it (`basic_auth_handler` adds a
/// header), with optional TLS files.
#[pyfunction]
#[pyo3(signature = (url, method, timeout, headers, data, cafile = None, certfile = None, keyfile = None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn http_request(
    py: Python<'_>,
    url: &str,
    method: &str,
    timeout: Option<f64>,
    headers: Vec<(String, String)>,
    data: Vec<u8>,
    cafile: Option<String>,
    certfile: Option<String>,
    keyfile: Option<String>,
) -> PyResult<()> {
    let timeout = timeout_of(timeout)?;
    let options = tls_options(cafile, certfile, keyfile);
    py.detach(|| push::send_with(url, method, &headers, &data, timeout, &options))
        .map_err(to_py)
}
