//! `Enum`, as `prometheus_client.Enum` (an OpenMetrics state set with one state on).

use crate::errors::IntoPy;
use crate::family::{metric_methods, Base, MetricArgs, RegistryArg};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

#[pyclass(module = "footmetrics._core", frozen, name = "Enum")]
pub(crate) struct Enum {
    base: Base<footmetrics::StateSet>,
    first: String,
}

impl Enum {
    fn with_base(&self, base: Base<footmetrics::StateSet>) -> Self {
        let e = Enum {
            base,
            first: self.first.clone(),
        };
        e.start_in_first_state();
        e
    }

    /// An enum is always in exactly one state; a fresh one is in the first (as in
    /// prometheus_client). A child already holding a state keeps it.
    fn start_in_first_state(&self) {
        if let Some(s) = &self.base.leaf {
            if s.get().iter().all(|(_, on)| !on) {
                let _ = s.state(&self.first);
            }
        }
    }
}

metric_methods!(Enum, {
    #[new]
    #[pyo3(signature = (name, documentation, labelnames = None, namespace = "", subsystem = "", unit = "", registry = RegistryArg::Default, _labelvalues = None, states = None))]
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
        states: Option<Vec<String>>,
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
        let states = states.unwrap_or_default();
        let Some(first) = states.first().cloned() else {
            return Err(PyValueError::new_err(format!(
                "No states provided for Enum metric: {}",
                args.name
            )));
        };
        if args.labelnames.contains(&args.name) {
            return Err(PyValueError::new_err(format!(
                "Overlapping labels for Enum metric: {}",
                args.name
            )));
        }
        let opts = args.opts(None, false)?.states(&states);
        let e = Enum {
            base: Base::new(py, &args, opts, "enum")?,
            first,
        };
        e.start_in_first_state();
        Ok(e)
    }

    /// Sets the current state.
    fn state(&self, state: &str) -> PyResult<()> {
        self.base.leaf()?.state(state).py()
    }
});
