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

/// The native histogram options of client_golang's `HistogramOpts` (`NativeHistogram*`), in
/// Python's terms: `None` as the bucket factor keeps the histogram classic, and every other
/// option must then keep its default. A value is what it says: a zero threshold of 0 is a zero
/// bucket for exact zeros only (client_golang reads 0 as its default, 2^-128, which is this
/// argument's default here), and a negative one is refused rather than read as 0. Durations are
/// seconds. Bad values raise `ValueError` naming the argument.
fn native_opts(
    factor: Option<f64>,
    zero_threshold: f64,
    max_buckets: i64,
    min_reset: f64,
    max_zero_threshold: f64,
) -> PyResult<Option<footmetrics::NativeOpts>> {
    let bad = |message: String| Err(crate::errors::value_error("INVALID_OPTION", message));
    let Some(factor) = factor else {
        let defaults = zero_threshold == footmetrics::native::DEFAULT_ZERO_THRESHOLD
            && max_buckets == 0
            && min_reset == 0.0
            && max_zero_threshold == 0.0;
        if !defaults {
            return bad(
                "native_histogram_zero_threshold, native_histogram_max_bucket_number, \
                 native_histogram_min_reset_duration and native_histogram_max_zero_threshold \
                 apply to native histograms: set native_histogram_bucket_factor (e.g. 1.1) too"
                    .into(),
            );
        }
        return Ok(None);
    };
    if !factor.is_finite() || factor <= 1.0 {
        return bad(format!(
            "native_histogram_bucket_factor must be a finite number greater than 1, not {}",
            py_float(factor)
        ));
    }
    for (what, t) in [
        ("native_histogram_zero_threshold", zero_threshold),
        ("native_histogram_max_zero_threshold", max_zero_threshold),
    ] {
        if !t.is_finite() || t < 0.0 {
            return bad(format!(
                "{what} must be a finite number >= 0, not {}",
                py_float(t)
            ));
        }
    }
    let Ok(max_buckets) = u32::try_from(max_buckets) else {
        return bad(format!(
            "native_histogram_max_bucket_number must be between 0 (no limit) and {}, not \
             {max_buckets}",
            u32::MAX
        ));
    };
    if !(0.0..=1e12).contains(&min_reset) {
        return bad(format!(
            "native_histogram_min_reset_duration must be a number of seconds >= 0 and <= 1e12 \
             (0: never reset), not {}",
            py_float(min_reset)
        ));
    }
    Ok(Some(
        footmetrics::NativeOpts::new(factor)
            .zero_threshold(zero_threshold)
            .max_buckets(max_buckets)
            .min_reset_duration(std::time::Duration::from_secs_f64(min_reset))
            .max_zero_threshold(max_zero_threshold),
    ))
}

/// A float as Python's `repr` spells it (`1.0`, `nan`, `-inf`, `1e-300`), for messages.
fn py_float(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else {
        format!("{v:?}")
    }
}

metric_methods!(#[pymethods] Histogram, "(name, documentation, labelnames=None, namespace=\"\", subsystem=\"\", unit=\"\", registry=..., _labelvalues=None, buckets=None, *, native_histogram_bucket_factor=None, native_histogram_zero_threshold=2.938735877055719e-39, native_histogram_max_bucket_number=0, native_histogram_min_reset_duration=0.0, native_histogram_max_zero_threshold=0.0)", {
    #[pyo3(signature = (name, documentation, labelnames = None, namespace = "", subsystem = "", unit = "", registry = RegistryArg::Default, _labelvalues = None, buckets = None, *, native_histogram_bucket_factor = None, native_histogram_zero_threshold = footmetrics::native::DEFAULT_ZERO_THRESHOLD, native_histogram_max_bucket_number = 0, native_histogram_min_reset_duration = 0.0, native_histogram_max_zero_threshold = 0.0))]
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
        native_histogram_bucket_factor: Option<f64>,
        native_histogram_zero_threshold: f64,
        native_histogram_max_bucket_number: i64,
        native_histogram_min_reset_duration: f64,
        native_histogram_max_zero_threshold: f64,
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
        let native = native_opts(
            native_histogram_bucket_factor,
            native_histogram_zero_threshold,
            native_histogram_max_bucket_number,
            native_histogram_min_reset_duration,
            native_histogram_max_zero_threshold,
        )?;
        // A native histogram without `buckets` has no classic buckets (only +Inf), as
        // client_golang's: its native buckets already give the distribution.
        let bounds = match (buckets, &native) {
            (Some(b), _) => finite_bounds(b)?,
            (None, Some(_)) => Vec::new(),
            (None, None) => footmetrics::PYTHON_DEFAULT_BUCKETS.to_vec(),
        };
        // A subclass's children get the buckets in effect, +Inf last (prometheus_client
        // passes its `buckets` argument on), and the native options it was given.
        let upper: Vec<f64> = bounds.iter().copied().chain([f64::INFINITY]).collect();
        let upper = pyo3::types::PyTuple::new(py, upper)?;
        let mut own = vec![("buckets", upper.into_any())];
        let mut opts = args.opts(None, true)?;
        if !bounds.is_empty() {
            opts = opts.buckets(bounds);
        }
        if let Some(native) = native {
            own.extend([
                (
                    "native_histogram_bucket_factor",
                    native.bucket_factor.into_pyobject(py)?.into_any(),
                ),
                (
                    "native_histogram_zero_threshold",
                    native.zero_threshold.into_pyobject(py)?.into_any(),
                ),
                (
                    "native_histogram_max_bucket_number",
                    native.max_buckets.into_pyobject(py)?.into_any(),
                ),
                (
                    "native_histogram_min_reset_duration",
                    native
                        .min_reset_duration
                        .as_secs_f64()
                        .into_pyobject(py)?
                        .into_any(),
                ),
                (
                    "native_histogram_max_zero_threshold",
                    native.max_zero_threshold.into_pyobject(py)?.into_any(),
                ),
            ]);
            opts = opts.native_histogram(native);
        }
        let base = Base::new(py, &args, opts, "histogram", ())?;
        crate::family::init(slf, name, &args, base, &own)
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
