//! `Info`, as `prometheus_client.Info`.

use crate::errors::IntoPy;
use crate::family::{metric_methods, Base, MetricArgs, MetricClass, RegistryArg, Slot};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

#[pyclass(module = "footmetrics._core", frozen, subclass)]
pub(crate) struct Info {
    base: Slot<Base<footmetrics::Info>>,
}

impl MetricClass for Info {
    type M = footmetrics::Info;
    type X = ();
    fn slot(&self) -> &Slot<Base<Self::M>> {
        &self.base
    }
    fn with_slot(base: Slot<Base<Self::M>>) -> Self {
        Info { base }
    }
}

metric_methods!(#[pymethods] Info, "(name, documentation, labelnames=None, namespace=\"\", subsystem=\"\", unit=\"\", registry=..., _labelvalues=None)", {
    #[pyo3(signature = (name, documentation, labelnames = None, namespace = "", subsystem = "", unit = "", registry = RegistryArg::Default, _labelvalues = None))]
    #[allow(clippy::too_many_arguments)]
    fn __init__(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        documentation: &Bound<'_, PyAny>,
        labelnames: Option<&Bound<'_, PyAny>>,
        namespace: &str,
        subsystem: &str,
        unit: &str,
        registry: RegistryArg,
        _labelvalues: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        if crate::family::attach_child(slf, _labelvalues)? {
            return Ok(());
        }
        let py = slf.py();
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
        let base = Base::new(py, &args, opts, "info", ())?;
        crate::family::init(slf, name, &args, base, &[])
    }

    /// Sets the info labels (a dict of str to str).
    fn info(&self, val: &Bound<'_, PyDict>) -> PyResult<()> {
        let base = self.base()?;
        let info = base.leaf()?;
        if val.values().iter().any(|v| v.is_none()) {
            return Err(PyValueError::new_err("Label value cannot be None"));
        }
        let pairs = crate::exemplar::string_pairs(val)?;
        if pairs.iter().any(|(k, _)| base.labelnames.contains(k)) {
            return Err(PyValueError::new_err("Overlapping labels for Info metric"));
        }
        info.set(&pairs).py()
    }
});
