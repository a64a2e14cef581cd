//! `time()`, `count_exceptions()` and `track_inprogress()`: context managers that are also
//! decorators, as in `prometheus_client`. The decorator wrapping lives in Python
//! (`footmetrics._decorate`), where `functools.wraps` and coroutine detection are.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// Nanoseconds since a process-wide epoch: an `Instant` that fits an atomic.
fn now_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

fn decorate<'py>(
    py: Python<'py>,
    ctx: Bound<'py, PyAny>,
    func: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    static WRAP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let wrap = WRAP.get_or_try_init(py, || {
        Ok::<_, PyErr>(
            py.import("footmetrics._decorate")?
                .getattr("wrap")?
                .unbind(),
        )
    })?;
    wrap.bind(py).call1((ctx, func))
}

/// What a timer records its duration into.
pub(crate) enum TimerTarget {
    Histogram(footmetrics::Histogram),
    Summary(footmetrics::Summary),
    /// `Gauge.time()` sets the gauge to the last duration.
    Gauge(footmetrics::Gauge),
    /// A metric object (a labelled parent until the timer's `labels()` picks a child) and the
    /// method recording the duration (`observe`, `set`).
    Object(Py<PyAny>, &'static str),
}

impl TimerTarget {
    /// The target of `time()` on a labelled parent.
    pub(crate) fn parent<T>(metric: &Bound<'_, T>, method: &'static str) -> Self {
        TimerTarget::Object(metric.clone().into_any().unbind(), method)
    }

    fn clone_ref(&self, py: Python<'_>) -> Self {
        match self {
            TimerTarget::Histogram(h) => TimerTarget::Histogram(h.clone()),
            TimerTarget::Summary(s) => TimerTarget::Summary(s.clone()),
            TimerTarget::Gauge(g) => TimerTarget::Gauge(g.clone()),
            TimerTarget::Object(o, m) => TimerTarget::Object(o.clone_ref(py), m),
        }
    }
}

/// No duration recorded yet (`Timer.duration` is None).
const NO_DURATION: u64 = u64::MAX;

#[pyclass(module = "footmetrics._core", frozen)]
pub(crate) struct Timer {
    target: Mutex<TimerTarget>,
    start_ns: AtomicU64,
    /// The last duration recorded, as f64 bits, or [`NO_DURATION`].
    duration: AtomicU64,
}

impl Timer {
    pub(crate) fn new(target: TimerTarget) -> Self {
        Timer {
            target: Mutex::new(target),
            start_ns: AtomicU64::new(now_ns()),
            duration: AtomicU64::new(NO_DURATION),
        }
    }

    fn target(&self) -> std::sync::MutexGuard<'_, TimerTarget> {
        self.target.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[pymethods]
impl Timer {
    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf.get().start_ns.store(now_ns(), Ordering::Relaxed);
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        let seconds = now_ns().saturating_sub(self.start_ns.load(Ordering::Relaxed)) as f64 * 1e-9;
        self.duration.store(seconds.to_bits(), Ordering::Relaxed);
        let target = self.target().clone_ref(py);
        match &target {
            // Inside an OpenTelemetry span, the observation links to its trace.
            TimerTarget::Histogram(h) => match crate::exemplar::active_span_labels(py) {
                Some(labels) => {
                    if h.observe_with_exemplar(seconds, &labels).is_err() {
                        h.observe(seconds);
                    }
                }
                None => h.observe(seconds),
            },
            TimerTarget::Summary(s) => s.observe(seconds),
            TimerTarget::Gauge(g) => g.set(seconds),
            // A parent whose child was never picked raises its "missing label values" here.
            TimerTarget::Object(o, method) => {
                o.call_method1(py, *method, (seconds,))?;
            }
        }
        Ok(false)
    }

    /// Picks the child the block records into, on a timer of a labelled parent (`with
    /// h.time() as t: t.labels("a")`), as prometheus_client's timer does.
    #[pyo3(signature = (*args, **kwargs))]
    fn labels(
        &self,
        py: Python<'_>,
        args: &Bound<'_, pyo3::types::PyTuple>,
        kwargs: Option<&Bound<'_, pyo3::types::PyDict>>,
    ) -> PyResult<()> {
        let mut target = self.target();
        let TimerTarget::Object(metric, method) = &*target else {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "labels() is for the timer of a metric with label names",
            ));
        };
        let child = metric
            .bind(py)
            .call_method("labels", args, kwargs)?
            .unbind();
        *target = TimerTarget::Object(child, method);
        Ok(())
    }

    /// Seconds the last timed block or call took; None before one has ended.
    #[getter]
    fn duration(&self) -> Option<f64> {
        match self.duration.load(Ordering::Relaxed) {
            NO_DURATION => None,
            bits => Some(f64::from_bits(bits)),
        }
    }

    /// A timer of the same metric, for each call of a decorated function.
    fn _fresh(&self, py: Python<'_>) -> Timer {
        Timer::new(self.target().clone_ref(py))
    }

    fn __call__<'py>(
        slf: Bound<'py, Self>,
        func: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        decorate(py, slf.into_any(), func)
    }
}

#[pyclass(module = "footmetrics._core", frozen)]
pub(crate) struct ExceptionCounter {
    counter: footmetrics::Counter,
    exception: Py<PyAny>,
}

impl ExceptionCounter {
    pub(crate) fn new(counter: footmetrics::Counter, exception: Py<PyAny>) -> Self {
        ExceptionCounter { counter, exception }
    }
}

#[pymethods]
impl ExceptionCounter {
    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (typ = None, _value = None, _traceback = None))]
    fn __exit__(
        &self,
        py: Python<'_>,
        typ: Option<&Bound<'_, PyAny>>,
        _value: Option<&Bound<'_, PyAny>>,
        _traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        if let Some(typ) = typ.filter(|t| !t.is_none()) {
            let typ = typ.cast::<PyType>()?;
            // `exception` may be a class or a tuple of classes, as `except` accepts.
            if typ.is_subclass(self.exception.bind(py))? {
                self.counter.inc();
            }
        }
        Ok(false)
    }

    fn _fresh(&self, py: Python<'_>) -> ExceptionCounter {
        ExceptionCounter::new(self.counter.clone(), self.exception.clone_ref(py))
    }

    fn __call__<'py>(
        slf: Bound<'py, Self>,
        func: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        decorate(py, slf.into_any(), func)
    }
}

#[pyclass(module = "footmetrics._core", frozen)]
pub(crate) struct InprogressTracker {
    gauge: footmetrics::Gauge,
}

impl InprogressTracker {
    pub(crate) fn new(gauge: footmetrics::Gauge) -> Self {
        InprogressTracker { gauge }
    }
}

#[pymethods]
impl InprogressTracker {
    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf.get().gauge.inc();
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.gauge.dec();
        false
    }

    fn _fresh(&self) -> InprogressTracker {
        InprogressTracker::new(self.gauge.clone())
    }

    fn __call__<'py>(
        slf: Bound<'py, Self>,
        func: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        decorate(py, slf.into_any(), func)
    }
}
