//! `time()`, `count_exceptions()` and `track_inprogress()`: context managers that are also
//! decorators, as in `prometheus_client`. The decorator wrapping lives in Python
//! (`footmetrics._decorate`), where `functools.wraps` and coroutine detection are.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
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
#[derive(Clone)]
pub(crate) enum TimerTarget {
    Histogram(footmetrics::Histogram),
    Summary(footmetrics::Summary),
    /// `Gauge.time()` sets the gauge to the last duration.
    Gauge(footmetrics::Gauge),
}

#[pyclass(module = "footmetrics._core", frozen)]
pub(crate) struct Timer {
    target: TimerTarget,
    start_ns: AtomicU64,
}

impl Timer {
    pub(crate) fn new(target: TimerTarget) -> Self {
        Timer {
            target,
            start_ns: AtomicU64::new(now_ns()),
        }
    }
}

#[pymethods]
impl Timer {
    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf.get().start_ns.store(now_ns(), Ordering::Relaxed);
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        let seconds = now_ns().saturating_sub(self.start_ns.load(Ordering::Relaxed)) as f64 * 1e-9;
        match &self.target {
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
        }
        false
    }

    /// A timer of the same metric, for each call of a decorated function.
    fn _fresh(&self) -> Timer {
        Timer::new(self.target.clone())
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
