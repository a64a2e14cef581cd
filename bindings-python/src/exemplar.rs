//! Label dicts (exemplars, info values, sample lookups) arriving from Python.

use pyo3::prelude::*;
use pyo3::types::PyDict;

pub(crate) fn exemplar_labels(e: &Bound<'_, PyDict>) -> PyResult<Vec<(String, String)>> {
    string_pairs(e)
}

/// A dict's items as (key, str(value)) pairs; keys must be str.
pub(crate) fn string_pairs(d: &Bound<'_, PyDict>) -> PyResult<Vec<(String, String)>> {
    d.iter()
        .map(|(k, v)| {
            let k = k
                .extract::<String>()
                .map_err(|_| pyo3::exceptions::PyTypeError::new_err("label names must be str"))?;
            Ok((k, v.str()?.extract::<String>()?))
        })
        .collect()
}
