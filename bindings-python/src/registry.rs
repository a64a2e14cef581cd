//! `CollectorRegistry`, `REGISTRY` and the exposition functions. Rendering runs with the GIL
//! released: Python threads keep running while a scrape formats any number of series.

use crate::collector::PyCollector;
use crate::errors::IntoPy;
use footmetrics::{
    Collector, Family, Format, Gauge, Metric, MetricFamily, PointValue, Registry, TextStyle,
};
use pyo3::exceptions::PyKeyError;
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
    /// Name custom collectors without `describe()` by calling `collect()` at registration.
    auto_describe: bool,
}

impl CollectorRegistry {
    pub(crate) fn wrap(inner: Registry, auto_describe: bool) -> PyResult<Self> {
        let functions = Arc::new(FunctionGauges {
            fns: Mutex::new(Vec::new()),
        });
        inner
            .register(FunctionGaugesCollector(functions.clone()))
            .py()?;
        // Classic text as prometheus_client writes it: `le="5.0"`, `_created` gauge families.
        inner.set_text_style(TextStyle::PrometheusClient);
        Ok(CollectorRegistry {
            inner,
            functions,
            auto_describe,
        })
    }

    /// Registers with the GIL released: a scrape on another thread holds the registry's read
    /// lock while it waits for the GIL to call Python collectors, so waiting for the write
    /// lock with the GIL held could deadlock.
    pub(crate) fn register_arc(&self, py: Python<'_>, c: Arc<dyn Collector>) -> PyResult<()> {
        py.detach(|| self.inner.register_arc(c)).py()
    }

    pub(crate) fn register_family<M: Metric>(
        &self,
        py: Python<'_>,
        family: Family<M>,
    ) -> PyResult<()> {
        self.register_arc(py, Arc::new(family))
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

/// The core collector behind a footmetrics metric or `ProcessCollector` (its handle), if
/// `object` is one.
fn core_collector(object: &Bound<'_, PyAny>) -> Option<Arc<dyn Collector>> {
    let handle = object.call_method0("_footmetrics_collector").ok()?;
    let handle = handle.cast::<CollectorHandle>().ok()?;
    Some(handle.get().collector.clone())
}

/// What `register` adds: the core collector of a footmetrics object, or a Python custom
/// collector.
fn collector_of(object: &Bound<'_, PyAny>, auto_describe: bool) -> PyResult<Arc<dyn Collector>> {
    match core_collector(object) {
        Some(c) => Ok(c),
        None => Ok(Arc::new(PyCollector::new(object, auto_describe)?)),
    }
}

#[pymethods]
impl CollectorRegistry {
    #[new]
    #[pyo3(signature = (auto_describe = false, target_info = None))]
    fn new(auto_describe: bool, target_info: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
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
        CollectorRegistry::wrap(inner, auto_describe)
    }

    /// Registers a metric created with `registry=None` (or in another registry), or a custom
    /// collector (`collect()` returning `Metric` families).
    fn register(&self, py: Python<'_>, collector: &Bound<'_, PyAny>) -> PyResult<()> {
        let c = collector_of(collector, self.auto_describe)?;
        self.register_arc(py, c)
    }

    fn unregister(&self, py: Python<'_>, collector: &Bound<'_, PyAny>) -> PyResult<()> {
        // A custom collector is found by identity: no need to describe it again.
        let c =
            core_collector(collector).unwrap_or_else(|| Arc::new(PyCollector::identity(collector)));
        py.detach(|| self.inner.unregister(&*c))
            .map_err(|_| PyKeyError::new_err("collector is not registered in this registry"))
    }

    /// The families as `Metric` objects with their samples, as `prometheus_client` yields them.
    fn collect<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let families = py.detach(|| self.inner.gather());
        let out = PyList::empty(py);
        for f in families {
            out.append(to_python_metric(py, &f)?)?;
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
                CollectorRegistry::wrap(footmetrics::default_registry().clone(), false)?,
            )
        })?
        .bind(py))
}

/// `footmetrics.metrics_core.Metric` and `footmetrics.samples.Sample`, imported once.
fn metric_classes(py: Python<'_>) -> PyResult<&(Py<PyAny>, Py<PyAny>)> {
    static CLASSES: PyOnceLock<(Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();
    CLASSES.get_or_try_init(py, || {
        let metric = py.import("footmetrics.metrics_core")?.getattr("Metric")?;
        let sample = py.import("footmetrics.samples")?.getattr("Sample")?;
        Ok::<_, PyErr>((metric.unbind(), sample.unbind()))
    })
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
            PointValue::Sample { name, value, .. } => out.push((name.clone(), labels, *value)),
            PointValue::StateSet(states) => {
                for (s, on) in states {
                    out.push((n.clone(), with(n, s.clone()), if *on { 1.0 } else { 0.0 }));
                }
            }
        }
    }
    out
}

pub(crate) fn to_python_metric<'py>(
    py: Python<'py>,
    f: &MetricFamily,
) -> PyResult<Bound<'py, PyAny>> {
    let (metric_class, sample_class) = metric_classes(py)?;
    let list = PyList::empty(py);
    for (name, labels, value) in flat_samples(f) {
        let d = PyDict::new(py);
        for (k, v) in labels {
            d.set_item(k, v)?;
        }
        list.append(sample_class.bind(py).call1((name, d, value))?)?;
    }
    let metric = metric_class.bind(py).call1((
        f.name.as_str(),
        f.help.as_str(),
        f.kind.openmetrics_name(),
        f.unit.as_deref().unwrap_or(""),
    ))?;
    metric.setattr("samples", list)?;
    Ok(metric)
}

/// The body and content type a scrape handler answers with: the format the `Accept` header
/// prefers, restricted to the families that have a sample named in `names` (`name[]` query
/// parameters) when given. Rendered with the GIL released.
#[pyfunction]
#[pyo3(signature = (registry, accept = None, names = None))]
pub(crate) fn render_for_scrape<'py>(
    py: Python<'py>,
    registry: &Bound<'py, CollectorRegistry>,
    accept: Option<&str>,
    names: Option<Vec<String>>,
) -> PyResult<(Bound<'py, PyBytes>, &'static str)> {
    let inner = &registry.get().inner;
    let (body, format) = py.detach(|| {
        let format = Format::negotiate(accept);
        let mut out = Vec::with_capacity(64 * 1024);
        match names {
            None => inner.encode(format, &mut out),
            Some(names) => {
                let families = inner.gather();
                let mut enc = footmetrics::Encoder::new(&mut out, format, "")
                    .with_text_style(inner.text_style());
                for f in &families {
                    if names.iter().any(|n| f.has_sample_named(n)) {
                        enc.family(f);
                    }
                }
                enc.finish();
            }
        }
        (out, format)
    });
    Ok((PyBytes::new(py, &body), format.content_type()))
}
