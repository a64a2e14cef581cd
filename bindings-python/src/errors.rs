//! The boundary: core errors become the exceptions `prometheus_client` raises for the same
//! mistakes (`ValueError` for names, labels, values and registration).

use footmetrics::Error;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

/// `footmetrics.registry.DuplicateTimeseries` (a `ValueError` subclass defined in Python, as
/// `prometheus_client.registry` defines it), with `message`; a plain `ValueError` if it cannot
/// be imported.
fn duplicate_timeseries(message: String) -> PyErr {
    static CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    Python::attach(|py| {
        let class = CLASS.get_or_try_init(py, || {
            let class = py
                .import("footmetrics.registry")?
                .getattr("DuplicateTimeseries")?;
            Ok::<_, PyErr>(class.cast_into::<PyType>()?.unbind())
        });
        match class {
            Ok(class) => PyErr::from_type(class.bind(py).clone(), message),
            Err(_) => PyValueError::new_err(message),
        }
    })
}

/// Converts a core error into the Python exception a `prometheus_client` user expects.
/// The exception carries the kind as `code` (the core's [`Error::code`], e.g.
/// `"LABEL_COUNT"`), so a caller can tell kinds apart without parsing messages; its class is
/// still the one prometheus_client raises, so `except ValueError` code keeps working.
pub(crate) fn to_py(e: Error) -> PyErr {
    let err = match &e {
        Error::AlreadyRegistered(name) => duplicate_timeseries(format!(
            "Duplicated timeseries in CollectorRegistry: {{'{name}'}}"
        )),
        Error::LabelCount { .. } => PyValueError::new_err(format!("Incorrect label count ({e})")),
        Error::UnknownLabel(_) => PyValueError::new_err(format!("Incorrect label names ({e})")),
        _ => PyValueError::new_err(e.to_string()),
    };
    Python::attach(|py| {
        // Setting an attribute on a fresh exception cannot fail but for memory; the error
        // itself still goes out then.
        let _ = err.value(py).setattr("code", e.code());
    });
    err
}

/// A `ValueError` with prometheus_client's `message` for a mistake the binding checks itself,
/// carrying the core kind's `code` as core errors do.
pub(crate) fn value_error(code: &'static str, message: impl Into<String>) -> PyErr {
    let err = PyValueError::new_err(message.into());
    Python::attach(|py| {
        let _ = err.value(py).setattr("code", code);
    });
    err
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
