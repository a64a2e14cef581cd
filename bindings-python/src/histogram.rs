//! `Histogram`, as `prometheus_client.Histogram`.

use crate::errors::IntoPy;
use crate::exemplar::exemplar_labels;
use crate::family::{metric_methods, Base, MetricArgs, MetricClass, RegistryArg, Slot};
use crate::timer::{Timer, TimerTarget};
use pyo3::prelude::*;
use pyo3::types::PyDict;

#[pyclass(module = "footmetrics._core", frozen, subclass)]
pub(crate) struct Histogram {
    base: Slot<Base<footmetrics::Histogram>>,
}

impl MetricClass for Histogram {
    type M = footmetrics::Histogram;
    type X = ();
    fn slot(&self) -> &Slot<Base<Self::M>> {
        &self.base
    }
    fn with_slot(base: Slot<Base<Self::M>>) -> Self {
        Histogram { base }
    }
}

/// prometheus_client's bucket rules: ascending, `+Inf` appended if missing, at least two
/// buckets counting `+Inf`. The core takes the finite bounds.
fn finite_bounds(buckets: Vec<f64>) -> PyResult<Vec<f64>> {
    if buckets.iter().any(|b| b.is_nan()) || buckets.windows(2).any(|w| w[0] >= w[1]) {
        return Err(crate::errors::value_error(
            "INVALID_BUCKETS",
            "Buckets not in sorted order",
        ));
    }
    let mut bounds = buckets;
    if bounds.last() == Some(&f64::INFINITY) {
        bounds.pop();
    }
    if bounds.is_empty() {
        return Err(crate::errors::value_error(
            "INVALID_BUCKETS",
            "Must have at least two buckets",
        ));
    }
    Ok(bounds)
}

metric_methods!(#[pymethods] Histogram, "(name, documentation, labelnames=None, namespace=\"\", subsystem=\"\", unit=\"\", registry=..., _labelvalues=None, buckets=None)", {
    #[pyo3(signature = (name, documentation, labelnames = None, namespace = "", subsystem = "", unit = "", registry = RegistryArg::Default, _labelvalues = None, buckets = None))]
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
        buckets: Option<Vec<f64>>,
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
        let bounds = match buckets {
            Some(b) => finite_bounds(b)?,
            None => footmetrics::PYTHON_DEFAULT_BUCKETS.to_vec(),
        };
        // A subclass's children get the buckets in effect, +Inf last (prometheus_client
        // passes its `buckets` argument on).
        let upper: Vec<f64> = bounds.iter().copied().chain([f64::INFINITY]).collect();
        let upper = pyo3::types::PyTuple::new(py, upper)?;
        let opts = args.opts(None, true)?.buckets(bounds);
        let base = Base::new(py, &args, opts, "histogram", ())?;
        crate::family::init(slf, name, &args, base, &[("buckets", upper.into_any())])
    }

    /// prometheus_client's default buckets, `+Inf` included, used when `buckets` is not given.
    #[classattr]
    #[allow(non_snake_case)]
    fn DEFAULT_BUCKETS(py: Python<'_>) -> PyResult<Py<pyo3::types::PyTuple>> {
        let bounds: Vec<f64> = footmetrics::PYTHON_DEFAULT_BUCKETS
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .collect();
        Ok(pyo3::types::PyTuple::new(py, bounds)?.unbind())
    }

    #[pyo3(signature = (amount, exemplar = None))]
    fn observe(&self, amount: f64, exemplar: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        let h = self.base()?.leaf()?;
        match exemplar {
            None => h.observe(amount),
            Some(e) => h.observe_with_exemplar(amount, &exemplar_labels(e)?).py()?,
        }
        Ok(())
    }

    /// Observes the duration of a block or call, in seconds. On a labelled parent, the
    /// block picks the child with the timer's `labels()`.
    fn time(slf: &Bound<'_, Self>) -> PyResult<Timer> {
        Ok(match &slf.get().base()?.leaf {
            Some(h) => Timer::new(TimerTarget::Histogram(h.clone())),
            None => Timer::new(TimerTarget::parent(slf, "observe")),
        })
    }

    /// The bucket upper bounds, `+Inf` last (prometheus_client's attribute).
    #[getter]
    fn _upper_bounds(&self) -> PyResult<Vec<f64>> {
        Ok(self
            .base()?
            .family
            .config()
            .bounds()
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .collect())
    }
});
