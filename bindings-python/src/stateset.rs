//! `Enum`, as `prometheus_client.Enum` (an OpenMetrics state set with one state on).

use crate::errors::IntoPy;
use crate::family::{metric_methods, Base, MetricArgs, MetricClass, RegistryArg, Slot};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::sync::Arc;

/// An enum's own state: its first state.
type FirstState = Arc<str>;

#[pyclass(module = "footmetrics._core", frozen, subclass, name = "Enum")]
pub(crate) struct Enum {
    base: Slot<Base<footmetrics::StateSet, FirstState>>,
}

impl MetricClass for Enum {
    type M = footmetrics::StateSet;
    type X = FirstState;
    fn slot(&self) -> &Slot<Base<Self::M, Self::X>> {
        &self.base
    }
    fn with_slot(base: Slot<Base<Self::M, Self::X>>) -> Self {
        Enum { base }
    }

    /// An enum is always in exactly one state; a fresh one is in the first (as in
    /// prometheus_client). A child already holding a state keeps it.
    fn started(base: &Base<Self::M, Self::X>) {
        if let Some(s) = &base.leaf {
            if s.get().iter().all(|(_, on)| !on) {
                let _ = s.state(&base.extra);
            }
        }
    }
}

metric_methods!(#[pymethods] Enum, "(name, documentation, labelnames=None, namespace=\"\", subsystem=\"\", unit=\"\", registry=..., _labelvalues=None, states=None)", {
    #[pyo3(signature = (name, documentation, labelnames = None, namespace = "", subsystem = "", unit = "", registry = RegistryArg::Default, _labelvalues = None, states = None))]
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
        states: Option<Vec<String>>,
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
        let base = Base::new(py, &args, opts, "enum", first.into())?;
        let states = pyo3::types::PyList::new(py, &states)?.into_any();
        crate::family::init(slf, name, &args, base, &[("states", states)])
    }

    /// Sets the current state.
    fn state(&self, state: &str) -> PyResult<()> {
        self.base()?.leaf()?.state(state).py()
    }
});
