//! `Counter`, as `prometheus_client.Counter`.

use crate::errors::IntoPy;
use crate::exemplar::exemplar_labels;
use crate::family::{metric_methods, Base, MetricArgs, MetricClass, RegistryArg, Slot};
use crate::timer::ExceptionCounter;
use pyo3::prelude::*;
use pyo3::types::PyDict;

#[pyclass(module = "footmetrics._core", frozen, subclass)]
pub(crate) struct Counter {
    base: Slot<Base<footmetrics::Counter>>,
}

impl MetricClass for Counter {
    type M = footmetrics::Counter;
    type X = ();
    fn slot(&self) -> &Slot<Base<Self::M>> {
        &self.base
    }
    fn with_slot(base: Slot<Base<Self::M>>) -> Self {
        Counter { base }
    }
}

metric_methods!(#[pymethods] Counter, "(name, documentation, labelnames=None, namespace=\"\", subsystem=\"\", unit=\"\", registry=..., _labelvalues=None)", {
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
        let opts = args.opts(Some("_total"), true)?;
        let base = Base::new(py, &args, opts, "counter", ())?;
        crate::family::init(slf, name, &args, base, &[])
    }

    /// Adds `amount` (default 1); `exemplar` is a dict of labels (trace_id, …).
    #[pyo3(signature = (amount = 1.0, exemplar = None))]
    fn inc(&self, amount: f64, exemplar: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        let c = self.base()?.leaf()?;
        if amount.is_nan() || amount < 0.0 {
            return Err(crate::errors::value_error(
                "COUNTER_DECREMENT",
                "Counters can only be incremented by non-negative amounts.",
            ));
        }
        match exemplar {
            None => c.inc_by(amount).py(),
            Some(e) => c.inc_by_with_exemplar(amount, &exemplar_labels(e)?).py(),
        }
    }

    /// Counts exceptions of type `exception` raised in a block or function.
    #[pyo3(signature = (exception = None))]
    fn count_exceptions(
        &self,
        py: Python<'_>,
        exception: Option<Py<PyAny>>,
    ) -> PyResult<ExceptionCounter> {
        let exception = match exception {
            Some(e) => e,
            None => py
                .get_type::<pyo3::exceptions::PyException>()
                .into_any()
                .unbind(),
        };
        Ok(ExceptionCounter::new(self.base()?.leaf()?.clone(), exception))
    }

    /// Back to zero, as if the process had restarted: `_created` becomes now.
    fn reset(&self) -> PyResult<()> {
        self.base()?.leaf()?.reset();
        Ok(())
    }

    /// prometheus_client's value holder: `_value.get()` reads the counter.
    #[getter]
    fn _value(&self) -> PyResult<ValueView> {
        Ok(ValueView(ValueOf::Counter(self.base()?.leaf()?.clone())))
    }

    /// Current value (tests and debugging; prometheus_client keeps it in `_value`).
    fn _get(&self) -> PyResult<f64> {
        Ok(self.base()?.leaf()?.get())
    }
});

/// What `_value` of a counter or gauge gives: prometheus_client's value object, read-only.
#[pyclass(module = "footmetrics._core", frozen)]
pub(crate) struct ValueView(pub(crate) ValueOf);

pub(crate) enum ValueOf {
    Counter(footmetrics::Counter),
    Gauge(footmetrics::Gauge),
}

#[pymethods]
impl ValueView {
    /// The current value.
    fn get(&self) -> f64 {
        match &self.0 {
            ValueOf::Counter(c) => c.get(),
            ValueOf::Gauge(g) => g.get(),
        }
    }
}
