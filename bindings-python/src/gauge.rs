//! `Gauge`, as `prometheus_client.Gauge`.

use crate::family::{metric_methods, Base, MetricArgs, RegistryArg};
use crate::registry::CollectorRegistry;
use crate::timer::{InprogressTracker, Timer, TimerTarget};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

#[pyclass(module = "footmetrics._core", frozen)]
pub(crate) struct Gauge {
    base: Base<footmetrics::Gauge>,
    /// Where `set_function` registers its callable: the registry the gauge was created in.
    registry: Option<Py<CollectorRegistry>>,
}

impl Gauge {
    fn with_base(&self, base: Base<footmetrics::Gauge>) -> Self {
        Gauge {
            base,
            registry: self
                .registry
                .as_ref()
                .map(|r| Python::attach(|py| r.clone_ref(py))),
        }
    }
}

metric_methods!(Gauge, {
    #[new]
    #[pyo3(signature = (name, documentation, labelnames = None, namespace = "", subsystem = "", unit = "", registry = RegistryArg::Default, _labelvalues = None, multiprocess_mode = "all"))]
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
        multiprocess_mode: &str,
    ) -> PyResult<Self> {
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
            Some(r) => Some(r.cast::<CollectorRegistry>()?.clone().unbind()),
            None => None,
        };
        Ok(Gauge {
            base: Base::new(py, &args, opts, "gauge")?,
            registry,
        })
    }

    #[pyo3(signature = (amount = 1.0))]
    fn inc(&self, amount: f64) -> PyResult<()> {
        self.base.leaf()?.add(amount);
        Ok(())
    }

    #[pyo3(signature = (amount = 1.0))]
    fn dec(&self, amount: f64) -> PyResult<()> {
        self.base.leaf()?.sub(amount);
        Ok(())
    }

    fn set(&self, value: f64) -> PyResult<()> {
        self.base.leaf()?.set(value);
        Ok(())
    }

    fn set_to_current_time(&self) -> PyResult<()> {
        self.base.leaf()?.set_to_current_time();
        Ok(())
    }

    /// The gauge's value becomes `f()`, called at each collection.
    fn set_function(&self, py: Python<'_>, f: Py<PyAny>) -> PyResult<()> {
        let gauge = self.base.leaf()?.clone();
        if !f.bind(py).is_callable() {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "set_function needs a callable",
            ));
        }
        match &self.registry {
            Some(r) => r.get().add_function(gauge, f),
            None => crate::registry::default_registry(py)?
                .get()
                .add_function(gauge, f),
        }
        Ok(())
    }

    fn track_inprogress(&self) -> PyResult<InprogressTracker> {
        Ok(InprogressTracker::new(self.base.leaf()?.clone()))
    }

    /// Sets the gauge to the duration of a block or call.
    /// On a labelled parent, the block picks the child with the timer's `labels()`.
    fn time(slf: &Bound<'_, Self>) -> Timer {
        match &slf.get().base.leaf {
            Some(g) => Timer::new(TimerTarget::Gauge(g.clone())),
            None => Timer::new(TimerTarget::parent(slf, "set")),
        }
    }

    fn _get(&self) -> PyResult<f64> {
        Ok(self.base.leaf()?.get())
    }

    /// prometheus_client's value holder: `_value.get()` reads the gauge.
    #[getter]
    fn _value(&self) -> PyResult<crate::counter::ValueView> {
        Ok(crate::counter::ValueView(crate::counter::ValueOf::Gauge(
            self.base.leaf()?.clone(),
        )))
    }
});
