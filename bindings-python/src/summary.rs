//! `Summary`, as `prometheus_client.Summary` (count and sum, no quantiles).

use crate::family::{metric_methods, Base, MetricArgs, MetricClass, RegistryArg, Slot};
use crate::timer::{Timer, TimerTarget};
use pyo3::prelude::*;

#[pyclass(module = "footmetrics._core", frozen, subclass)]
pub(crate) struct Summary {
    base: Slot<Base<footmetrics::Summary>>,
}

impl MetricClass for Summary {
    type M = footmetrics::Summary;
    type X = ();
    fn slot(&self) -> &Slot<Base<Self::M>> {
        &self.base
    }
    fn with_slot(base: Slot<Base<Self::M>>) -> Self {
        Summary { base }
    }
}

metric_methods!(#[pymethods] Summary, "(name, documentation, labelnames=None, namespace=\"\", subsystem=\"\", unit=\"\", registry=..., _labelvalues=None)", {
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
        let opts = args.opts(None, true)?;
        let base = Base::new(py, &args, opts, "summary", ())?;
        crate::family::init(slf, name, &args, base, &[])
    }

    fn observe(&self, amount: f64) -> PyResult<()> {
        self.base()?.leaf()?.observe(amount);
        Ok(())
    }

    /// Observes the duration of a block or call, in seconds.
    /// On a labelled parent, the block picks the child with the timer's `labels()`.
    fn time(slf: &Bound<'_, Self>) -> PyResult<Timer> {
        Ok(match &slf.get().base()?.leaf {
            Some(s) => Timer::new(TimerTarget::Summary(s.clone())),
            None => Timer::new(TimerTarget::parent(slf, "observe")),
        })
    }
});
