//! `Gauge`, as `prometheus_client.Gauge`.

use crate::family::{metric_methods, Base, MetricArgs, MetricClass, RegistryArg, Slot};
use crate::registry::CollectorRegistry;
use crate::timer::{InprogressTracker, Timer, TimerTarget};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::sync::Arc;

/// A gauge's own state: where `set_function` registers its callable, the registry the gauge
/// was created in (None: the default registry).
type GaugeRegistry = Option<Arc<Py<CollectorRegistry>>>;

#[pyclass(module = "footmetrics._core", frozen, subclass)]
pub(crate) struct Gauge {
    base: Slot<Base<footmetrics::Gauge, GaugeRegistry>>,
}

impl MetricClass for Gauge {
    type M = footmetrics::Gauge;
    type X = GaugeRegistry;
    fn slot(&self) -> &Slot<Base<Self::M, Self::X>> {
        &self.base
    }
    fn with_slot(base: Slot<Base<Self::M, Self::X>>) -> Self {
        Gauge { base }
    }
}

metric_methods!(#[pymethods] Gauge, "(name, documentation, labelnames=None, namespace=\"\", subsystem=\"\", unit=\"\", registry=..., _labelvalues=None, multiprocess_mode=\"all\")", {
    #[pyo3(signature = (name, documentation, labelnames = None, namespace = "", subsystem = "", unit = "", registry = RegistryArg::Default, _labelvalues = None, multiprocess_mode = "all"))]
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
        multiprocess_mode: &str,
    ) -> PyResult<()> {
        if crate::family::attach_child(slf, _labelvalues)? {
            return Ok(());
        }
        let py = slf.py();
        if footmetrics::multiprocess::GaugeMode::parse(multiprocess_mode).is_err() {
            return Err(PyValueError::new_err(format!(
                "Invalid multiprocess mode: {multiprocess_mode}"
            )));
        }
        let mut args = MetricArgs::extract(
            py,
            name,
            documentation,
            labelnames,
            namespace,
            subsystem,
            unit,
            registry,
        )?;
        args.multiprocess_mode = multiprocess_mode.to_owned();
        let opts = args.opts(None, true)?;
        let registry = match &args.registry {
            Some(r) => Some(Arc::new(r.cast::<CollectorRegistry>()?.clone().unbind())),
            None => None,
        };
        let base = Base::new(py, &args, opts, "gauge", registry)?;
        let mode = pyo3::types::PyString::new(py, multiprocess_mode).into_any();
        crate::family::init(slf, name, &args, base, &[("multiprocess_mode", mode)])
    }

    #[pyo3(signature = (amount = 1.0))]
    fn inc(&self, amount: f64) -> PyResult<()> {
        self.base()?.leaf()?.add(amount);
        Ok(())
    }

    #[pyo3(signature = (amount = 1.0))]
    fn dec(&self, amount: f64) -> PyResult<()> {
        self.base()?.leaf()?.sub(amount);
        Ok(())
    }

    fn set(&self, value: f64) -> PyResult<()> {
        self.base()?.leaf()?.set(value);
        Ok(())
    }

    fn set_to_current_time(&self) -> PyResult<()> {
        self.base()?.leaf()?.set_to_current_time();
        Ok(())
    }

    /// The gauge's value becomes `f()`, called at each collection.
    fn set_function(&self, py: Python<'_>, f: Py<PyAny>) -> PyResult<()> {
        let base = self.base()?;
        let gauge = base.leaf()?.clone();
        if !f.bind(py).is_callable() {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "set_function needs a callable",
            ));
        }
        match &base.extra {
            Some(r) => r.get().add_function(gauge, f),
            None => crate::registry::default_registry(py)?
                .get()
                .add_function(gauge, f),
        }
        Ok(())
    }

    fn track_inprogress(&self) -> PyResult<InprogressTracker> {
        Ok(InprogressTracker::new(self.base()?.leaf()?.clone()))
    }

    /// Sets the gauge to the duration of a block or call.
    /// On a labelled parent, the block picks the child with the timer's `labels()`.
    fn time(slf: &Bound<'_, Self>) -> PyResult<Timer> {
        Ok(match &slf.get().base()?.leaf {
            Some(g) => Timer::new(TimerTarget::Gauge(g.clone())),
            None => Timer::new(TimerTarget::parent(slf, "set")),
        })
    }

    fn _get(&self) -> PyResult<f64> {
        Ok(self.base()?.leaf()?.get())
    }

    /// prometheus_client's value holder: `_value.get()` reads the gauge.
    #[getter]
    fn _value(&self) -> PyResult<crate::counter::ValueView> {
        Ok(crate::counter::ValueView(crate::counter::ValueOf::Gauge(
            self.base()?.leaf()?.clone(),
        )))
    }
});
