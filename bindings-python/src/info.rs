//! `Info`, as `prometheus_client.Info`.

use crate::errors::IntoPy;
use crate::family::{metric_methods, Base, MetricArgs, RegistryArg};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

#[pyclass(module = "footmetrics._core", frozen)]
pub(crate) struct Info {
    base: Base<footmetrics::Info>,
}

impl Info {
    fn with_base(&self, base: Base<footmetrics::Info>) -> Self {
        Info { base }
    }
}

metric_methods!(Info, {
    #[new]
    #[pyo3(signature = (name, documentation, labelnames = None, namespace = "", subsystem = "", unit = "", registry = RegistryArg::Default, _labelvalues = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        documentation: &Bound<'_, PyAny>,
        labelnames: Option<&Bound<'_, PyAny>>,
        namespace: &str,
        subsystem: &str,
        unit: &str,
        registry: RegistryArg,
        _labelvalues: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let args = MetricArgs::extract(
            py,
            name,
            documentation,
            labelnames,
            namespace,
            subsystem,
            unit,
            registry,
        )?;
        let opts = args.opts(None, false)?;
        Ok(Info {
            base: Base::new(py, &args, opts, "info")?,
        })
    }

    /// Sets the info labels (a dict of str to str).
    fn info(&self, val: &Bound<'_, PyDict>) -> PyResult<()> {
        let info = self.base.leaf()?;
        if val.values().iter().any(|v| v.is_none()) {
            return Err(PyValueError::new_err("Label value cannot be None"));
        }
        let pairs = crate::exemplar::string_pairs(val)?;
        if pairs.iter().any(|(k, _)| self.base.labelnames.contains(k)) {
            return Err(PyValueError::new_err("Overlapping labels for Info metric"));
        }
        info.set(&pairs).py()
    }
});
