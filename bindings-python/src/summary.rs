//! `Summary`, as `prometheus_client.Summary` (count and sum, no quantiles).

use crate::family::{metric_methods, Base, MetricArgs, RegistryArg};
use crate::timer::{Timer, TimerTarget};
use pyo3::prelude::*;

#[pyclass(module = "footmetrics._core", frozen)]
pub(crate) struct Summary {
    base: Base<footmetrics::Summary>,
}

impl Summary {
    fn with_base(&self, base: Base<footmetrics::Summary>) -> Self {
        Summary { base }
    }
}

metric_methods!(Summary, {
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
        let opts = args.opts(None, true)?;
        Ok(Summary {
            base: Base::new(py, &args, opts, "summary")?,
        })
    }

    fn observe(&self, amount: f64) -> PyResult<()> {
        self.base.leaf()?.observe(amount);
        Ok(())
    }

    /// Observes the duration of a block or call, in seconds.
    /// On a labelled parent, the block picks the child with the timer's `labels()`.
    fn time(slf: &Bound<'_, Self>) -> Timer {
        match &slf.get().base.leaf {
            Some(s) => Timer::new(TimerTarget::Summary(s.clone())),
            None => Timer::new(TimerTarget::parent(slf, "observe")),
        }
    }
});
