//! The boundary: core errors become the exceptions `prometheus_client` raises for the same
//! mistakes (`ValueError` for names, labels, values and registration).

use footmetrics::Error;
use pyo3::exceptions::PyValueError;
use pyo3::PyErr;

/// Converts a core error into the Python exception a `prometheus_client` user expects.
pub(crate) fn to_py(e: Error) -> PyErr {
    let message = match &e {
        Error::AlreadyRegistered(name) => {
            format!("Duplicated timeseries in CollectorRegistry: {{'{name}'}}")
        }
        Error::LabelCount { .. } => format!("Incorrect label count ({e})"),
        Error::UnknownLabel(_) => format!("Incorrect label names ({e})"),
        _ => e.to_string(),
    };
    PyValueError::new_err(message)
}

pub(crate) trait IntoPy<T> {
    /// `?`-friendly conversion of a core result.
    fn py(self) -> pyo3::PyResult<T>;
}

impl<T> IntoPy<T> for footmetrics::Result<T> {
    fn py(self) -> pyo3::PyResult<T> {
        self.map_err(to_py)
    }
}
