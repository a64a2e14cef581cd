//! `CollectorRegistry`, `REGISTRY` and the exposition functions. Rendering runs with the GIL
//! released: Python threads keep running while a scrape formats any number of series.

use crate::errors::IntoPy;
use footmetrics::{Collector, Family, Format, Gauge, Metric, MetricFamily, PointValue, Registry};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Whether new metrics emit `_created` series (`disable_created_metrics()` turns it off, as
/// does `PROMETHEUS_DISABLE_CREATED_SERIES=True` at import).
static CREATED: AtomicBool = AtomicBool::new(true);

pub(crate) fn created_enabled() -> bool {
    CREATED.load(Ordering::Relaxed)
}

#[pyfunction]
pub(crate) fn disable_created_metrics() {
    CREATED.store(false, Ordering::Relaxed);
}

#[pyfunction]
pub(crate) fn enable_created_metrics() {
    CREATED.store(true, Ordering::Relaxed);
}

/// A collector of the core, handed from a metric object to a registry.
#[pyclass(module = "footmetrics._core", frozen)]
pub(crate) struct CollectorHandle {
    pub(crate) collector: Arc<dyn Collector>,
}

/// Anything our metric classes hand over to be registered.
pub(crate) fn handle_of<M: Metric>(family: &Family<M>) -> CollectorHandle {
    CollectorHandle {
        collector: Arc::new(family.clone()),
    }
}

/// Gauges whose value comes from a Python callable (`Gauge.set_function`). Registered in the
/// core registry ahead of every metric, so any render (from Python, or from the exporter's own
/// thread) calls them first; it takes the GIL only for the calls, never for the rendering.
struct FunctionGauges {
    fns: Mutex<Vec<(Gauge, Py<PyAny>)>>,
}

impl FunctionGauges {
    fn refresh(&self) {
        Python::attach(|py| {
            let fns: Vec<(Gauge, Py<PyAny>)> = {
                let fns = self.fns.lock().unwrap_or_else(|e| e.into_inner());
                fns.iter()
                    .map(|(g, f)| (g.clone(), f.clone_ref(py)))
                    .collect()
            };
            for (gauge, f) in fns {
                // A callable that raises leaves the gauge as it was: the scrape must not fail.
                match f.call0(py).and_then(|v| v.extract::<f64>(py)) {
                    Ok(v) => gauge.set(v),
                    Err(e) => e.write_unraisable(py, Some(f.bind(py))),
                }
            }
        })
    }
}

/// The registered face of [`FunctionGauges`]: produces no families, refreshes the gauges.
struct FunctionGaugesCollector(Arc<FunctionGauges>);

impl Collector for FunctionGaugesCollector {
    fn descs(&self) -> Vec<footmetrics::Desc> {
        Vec::new()
    }
    fn collect(&self) -> Vec<MetricFamily> {
        if !self
            .0
            .fns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
        {
            self.0.refresh();
        }
        Vec::new()
    }
}

/// A set of metrics rendered together, as `prometheus_client.CollectorRegistry`.
#[pyclass(module = "footmetrics._core", frozen, subclass)]
pub(crate) struct CollectorRegistry {
    pub(crate) inner: Registry,
    functions: Arc<FunctionGauges>,
}

impl CollectorRegistry {
    pub(crate) fn wrap(inner: Registry) -> PyResult<Self> {
        let functions = Arc::new(FunctionGauges {
            fns: Mutex::new(Vec::new()),
        });
        inner
            .register(FunctionGaugesCollector(functions.clone()))
            .py()?;
        Ok(CollectorRegistry { inner, functions })
    }

    pub(crate) fn register_family<M: Metric>(&self, family: Family<M>) -> PyResult<()> {
        self.inner.register(family).py()
    }

    pub(crate) fn add_function(&self, gauge: Gauge, f: Py<PyAny>) {
        let mut fns = self.functions.fns.lock().unwrap_or_else(|e| e.into_inner());
        // One function per gauge: a new `set_function` replaces the old one.
        fns.retain(|(g, _)| g.cell_ptr() != gauge.cell_ptr());
        fns.push((gauge, f));
    }

    /// Renders with the GIL released (function gauges take it back briefly for their calls).
    pub(crate) fn render(&self, py: Python<'_>, format: Format) -> Vec<u8> {
        let inner = &self.inner;
        py.detach(|| {
            let mut out = Vec::with_capacity(64 * 1024);
            inner.encode(format, &mut out);
            out
        })
    }
}

fn handle_from(collector: &Bound<'_, PyAny>) -> PyResult<Arc<dyn Collector>> {
    let handle = collector
        .call_method0("_footmetrics_collector")
        .map_err(|_| {
            PyTypeError::new_err(
                "only footmetrics metrics can be registered in this version \
                 (custom collectors are not supported yet)",
            )
        })?;
    let handle = handle
        .cast::<CollectorHandle>()
        .map_err(|_| PyTypeError::new_err("not a footmetrics collector"))?;
    Ok(handle.get().collector.clone())
}

#[pymethods]
impl CollectorRegistry {
    #[new]
    #[pyo3(signature = (auto_describe = false, target_info = None))]
    fn new(auto_describe: bool, target_info: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let _ = auto_describe;
        let inner = match target_info {
            None => Registry::new(),
            Some(info) => {
                let labels = crate::exemplar::string_pairs(info)?;
                let r = Registry::new();
                let opts = footmetrics::Opts::new("target_info", "Target metadata");
                let fam = r.info(&opts).py()?;
                fam.set(&labels).py()?;
                r
            }
        };
        CollectorRegistry::wrap(inner)
    }

    /// Registers a metric created with `registry=None` (or in another registry).
    fn register(&self, collector: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.register_arc(handle_from(collector)?).py()
    }

    fn unregister(&self, collector: &Bound<'_, PyAny>) -> PyResult<()> {
        let handle = handle_from(collector)?;
        self.inner
            .unregister(&*handle)
            .map_err(|_| PyValueError::new_err("collector is not registered in this registry"))
    }

    /// The families as `Metric` objects with their samples, as `prometheus_client` yields them.
    fn collect<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let families = py.detach(|| self.inner.gather());
        let samples = samples_module(py)?;
        let out = PyList::empty(py);
        for f in families {
            out.append(to_python_metric(py, samples, &f)?)?;
        }
        Ok(out)
    }

    /// The value of one sample, or None (`labels` default to none).
    #[pyo3(signature = (name, labels = None))]
    fn get_sample_value(
        &self,
        py: Python<'_>,
        name: &str,
        labels: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Option<f64>> {
        let want: Vec<(String, String)> = match labels {
            Some(l) => {
                let mut v = crate::exemplar::string_pairs(l)?;
                v.sort();
                v
            }
            None => Vec::new(),
        };
        let families = py.detach(|| self.inner.gather());
        for f in &families {
            for (sample, mut sample_labels, value) in flat_samples(f) {
                if sample != name {
                    continue;
                }
                sample_labels.sort();
                if sample_labels == want {
                    return Ok(Some(value));
                }
            }
        }
        Ok(None)
    }
}

/// The classic-text exposition of `registry` (default: `REGISTRY`), as bytes.
#[pyfunction]
#[pyo3(signature = (registry = None))]
pub(crate) fn generate_latest<'py>(
    py: Python<'py>,
    registry: Option<&Bound<'py, CollectorRegistry>>,
) -> PyResult<Bound<'py, PyBytes>> {
    render_with(py, registry, Format::Text)
}

/// The OpenMetrics exposition (exemplars and `_created` included), as bytes.
#[pyfunction]
#[pyo3(signature = (registry = None))]
pub(crate) fn generate_latest_openmetrics<'py>(
    py: Python<'py>,
    registry: Option<&Bound<'py, CollectorRegistry>>,
) -> PyResult<Bound<'py, PyBytes>> {
    render_with(py, registry, Format::OpenMetrics)
}

fn render_with<'py>(
    py: Python<'py>,
    registry: Option<&Bound<'py, CollectorRegistry>>,
    format: Format,
) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = match registry {
        Some(r) => r.get().render(py, format),
        None => default_registry(py)?.get().render(py, format),
    };
    Ok(PyBytes::new(py, &bytes))
}

static DEFAULT: PyOnceLock<Py<CollectorRegistry>> = PyOnceLock::new();

/// `REGISTRY`: the core's process-wide registry (process metrics included).
pub(crate) fn default_registry(py: Python<'_>) -> PyResult<&Bound<'_, CollectorRegistry>> {
    Ok(DEFAULT
        .get_or_try_init(py, || {
            Py::new(
                py,
                CollectorRegistry::wrap(footmetrics::default_registry().clone())?,
            )
        })?
        .bind(py))
}

fn samples_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    Ok(MODULE
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import("footmetrics.samples")?.unbind())
        })?
        .bind(py))
}

/// `(sample name, labels, value)` of every sample of `f`, as `prometheus_client` names them.
/// A sample as `prometheus_client` lists it: name, label pairs, value.
type FlatSample = (String, Vec<(String, String)>, f64);

fn flat_samples(f: &MetricFamily) -> Vec<FlatSample> {
    let mut out = Vec::new();
    let n = &f.name;
    for p in &f.points {
        let labels = p.labels.clone();
        let with = |k: &str, v: String| {
            let mut l = labels.clone();
            l.push((k.to_owned(), v));
            l
        };
        match &p.value {
            PointValue::Counter { value, created, .. } => {
                out.push((format!("{n}_total"), labels.clone(), *value));
                if let Some(c) = created {
                    out.push((format!("{n}_created"), labels.clone(), *c));
                }
            }
            PointValue::Gauge(v) | PointValue::Unknown(v) => {
                out.push((n.clone(), labels.clone(), *v))
            }
            PointValue::Histogram {
                buckets,
                count,
                sum,
                created,
            } => {
                for (le, cum, _) in buckets {
                    out.push((
                        format!("{n}_bucket"),
                        with("le", footmetrics::fmt::float_string_openmetrics(*le)),
                        *cum as f64,
                    ));
                }
                out.push((format!("{n}_count"), labels.clone(), *count as f64));
                out.push((format!("{n}_sum"), labels.clone(), *sum));
                if let Some(c) = created {
                    out.push((format!("{n}_created"), labels.clone(), *c));
                }
            }
            PointValue::Summary {
                count,
                sum,
                quantiles,
                created,
            } => {
                for (q, v) in quantiles {
                    out.push((n.clone(), with("quantile", q.to_string()), *v));
                }
                out.push((format!("{n}_count"), labels.clone(), *count as f64));
                out.push((format!("{n}_sum"), labels.clone(), *sum));
                if let Some(c) = created {
                    out.push((format!("{n}_created"), labels.clone(), *c));
                }
            }
            PointValue::Info(info) => {
                let mut l = labels.clone();
                l.extend(info.iter().cloned());
                out.push((format!("{n}_info"), l, 1.0));
            }
            PointValue::StateSet(states) => {
                for (s, on) in states {
                    out.push((n.clone(), with(n, s.clone()), if *on { 1.0 } else { 0.0 }));
                }
            }
        }
    }
    out
}

fn to_python_metric<'py>(
    py: Python<'py>,
    samples: &Bound<'py, PyModule>,
    f: &MetricFamily,
) -> PyResult<Bound<'py, PyAny>> {
    let kind = match f.kind {
        footmetrics::MetricType::StateSet => "stateset",
        k => k.openmetrics_name(),
    };
    let list = PyList::empty(py);
    for (name, labels, value) in flat_samples(f) {
        let d = PyDict::new(py);
        for (k, v) in labels {
            d.set_item(k, v)?;
        }
        list.append(samples.getattr("Sample")?.call1((name, d, value))?)?;
    }
    samples.getattr("Metric")?.call1((
        f.name.as_str(),
        f.help.as_str(),
        kind,
        f.unit.as_deref().unwrap_or(""),
        list,
    ))
}
