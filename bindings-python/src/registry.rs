//! `CollectorRegistry`, `REGISTRY` and the exposition functions. Rendering runs with the GIL
//! released: Python threads keep running while a scrape formats any number of series.

use crate::collector::PyCollector;
use crate::errors::IntoPy;
use footmetrics::arena::HasCells;
use footmetrics::pyclient::{self, NameEscaping};
use footmetrics::{Collector, Family, Format, Gauge, Metric, MetricFamily, Registry, TextStyle};
use pyo3::exceptions::{PyKeyError, PyTypeError, PyValueError};
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
    /// A restricted view (`restricted_registry()`): nothing registers in it.
    restricted: bool,
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
            restricted: false,
        })
    }

    /// Registers with the GIL released: a scrape on another thread holds the registry's read
    /// lock while it waits for the GIL to call Python collectors, so waiting for the write
    /// lock with the GIL held could deadlock.
    pub(crate) fn register_arc(&self, py: Python<'_>, c: Arc<dyn Collector>) -> PyResult<()> {
        if self.restricted {
            return Err(PyTypeError::new_err(
                "a restricted registry is a view: register in the registry it restricts",
            ));
        }
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
        fns.retain(|(g, _)| g.series_cells() != gauge.series_cells());
        fns.push((gauge, f));
    }

    /// Renders as prometheus_client does, with the GIL released (function gauges and Python
    /// collectors take it back briefly for their calls); only the families with a sample
    /// named in `names` when given. The first error a Python collector raises is raised here,
    /// tagged with its family, as prometheus_client raises it.
    pub(crate) fn render_python(
        &self,
        py: Python<'_>,
        format: Format,
        escaping: NameEscaping,
        names: Option<&[String]>,
    ) -> PyResult<Vec<u8>> {
        let inner = &self.inner;
        let (out, error) = py.detach(|| {
            crate::collector::raising(|| {
                inner
                    .encode_prometheus_client(format, escaping, names)
                    .into_bytes()
            })
        });
        match error {
            Some(e) => Err(e),
            None => Ok(out),
        }
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
    #[pyo3(signature = (auto_describe = false, target_info = None, support_collectors_without_names = false))]
    fn new(
        auto_describe: bool,
        target_info: Option<&Bound<'_, PyDict>>,
        support_collectors_without_names: bool,
    ) -> PyResult<Self> {
        let inner = Registry::new();
        inner.set_collect_nameless(support_collectors_without_names);
        if let Some(info) = target_info {
            inner
                .set_target_info(&crate::exemplar::string_pairs(info)?)
                .py()?;
        }
        CollectorRegistry::wrap(inner, auto_describe)
    }

    /// A view collecting only the samples named in `names` (the collectors producing them,
    /// and with `support_collectors_without_names` those that name nothing), as this registry
    /// is at each collect or scrape.
    fn restricted_registry(&self, names: &Bound<'_, PyAny>) -> PyResult<Self> {
        let names = names
            .try_iter()?
            .map(|n| n.and_then(|n| n.extract::<String>()))
            .collect::<PyResult<Vec<_>>>()?;
        let inner = Registry::new();
        inner.set_text_style(self.inner.text_style());
        // The view's scrapes refresh this registry's function gauges first.
        inner
            .register(FunctionGaugesCollector(self.functions.clone()))
            .py()?;
        inner
            .register(self.inner.restricted_collector(names))
            .py()?;
        Ok(CollectorRegistry {
            inner,
            functions: self.functions.clone(),
            auto_describe: false,
            restricted: true,
        })
    }

    /// Sets (or with an empty dict or None, removes) the `target_info` labels; ValueError while
    /// another metric produces `target_info`.
    fn set_target_info(&self, py: Python<'_>, labels: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        let labels = match labels {
            Some(l) => crate::exemplar::string_pairs(l)?,
            None => Vec::new(),
        };
        py.detach(|| self.inner.set_target_info(&labels)).py()
    }

    /// The `target_info` labels, or None when unset.
    fn get_target_info<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        match self.inner.target_info() {
            None => Ok(None),
            Some(labels) => {
                let d = PyDict::new(py);
                for (k, v) in labels {
                    d.set_item(k, v)?;
                }
                Ok(Some(d))
            }
        }
    }

    /// The registry's lock, as far as callers can observe it: `locked()` tells whether a
    /// registration or scrape holds it now.
    #[getter]
    fn _lock(&self) -> RegistryLock {
        RegistryLock {
            inner: self.inner.clone(),
        }
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
            for mut sample in f.flat_samples() {
                if sample.name != name {
                    continue;
                }
                sample.labels.sort();
                if sample.labels == want {
                    return Ok(Some(sample.value));
                }
            }
        }
        Ok(None)
    }
}

/// A registry's lock as prometheus_client exposes it (`registry._lock.locked()`).
#[pyclass(module = "footmetrics._core", frozen)]
pub(crate) struct RegistryLock {
    inner: Registry,
}

#[pymethods]
impl RegistryLock {
    fn locked(&self) -> bool {
        self.inner.is_locked()
    }
}

/// The name escaping scheme called `name`.
fn escaping_of(name: &str) -> PyResult<NameEscaping> {
    NameEscaping::parse(name)
        .ok_or_else(|| PyValueError::new_err(format!("unknown escaping scheme: {name:?}")))
}

/// The classic-text exposition of `registry` (default: `REGISTRY`), as bytes, exactly as
/// prometheus_client writes it; names under `escaping` (`underscores` by default).
#[pyfunction]
#[pyo3(signature = (registry = None, escaping = "underscores"))]
pub(crate) fn generate_latest<'py>(
    py: Python<'py>,
    registry: Option<&Bound<'py, CollectorRegistry>>,
    escaping: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let escaping = escaping_of(escaping)?;
    render_with(py, registry, Format::Text, escaping)
}

/// The OpenMetrics exposition (exemplars and `_created` included), as bytes. `version` is
/// accepted as prometheus_client accepts it (it only matters there for native histograms,
/// which reach Prometheus from footmetrics in the protobuf format; OpenMetrics 1.0 shows
/// their count, sum and `+Inf` bucket, and any classic buckets).
#[pyfunction]
#[pyo3(signature = (registry = None, escaping = "underscores", version = "1.0.0"))]
pub(crate) fn generate_latest_openmetrics<'py>(
    py: Python<'py>,
    registry: Option<&Bound<'py, CollectorRegistry>>,
    escaping: &str,
    version: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let _ = version;
    let escaping = escaping_of(escaping)?;
    render_with(py, registry, Format::OpenMetrics, escaping)
}

fn render_with<'py>(
    py: Python<'py>,
    registry: Option<&Bound<'py, CollectorRegistry>>,
    format: Format,
    escaping: NameEscaping,
) -> PyResult<Bound<'py, PyBytes>> {
    let registry = match registry {
        Some(r) => r,
        None => default_registry(py)?,
    };
    let bytes = registry.get().render_python(py, format, escaping, None)?;
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

pub(crate) fn to_python_metric<'py>(
    py: Python<'py>,
    f: &MetricFamily,
) -> PyResult<Bound<'py, PyAny>> {
    let (metric_class, sample_class) = metric_classes(py)?;
    let list = PyList::empty(py);
    for s in f.flat_samples() {
        let d = PyDict::new(py);
        for (k, v) in s.labels {
            d.set_item(k, v)?;
        }
        list.append(
            sample_class
                .bind(py)
                .call1((s.name, d, s.value, s.timestamp))?,
        )?;
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

/// The body and content type a scrape handler answers with: the format and name escaping
/// the `Accept` header gets (as prometheus_client's `choose_encoder` picks them), restricted
/// to the families that have a sample named in `names` (`name[]` query parameters) when
/// given. Rendered with the GIL released. When the header prefers the protobuf format (as
/// Prometheus' does with its native histograms on), the answer is protobuf: the only format
/// that carries native histograms to Prometheus (prometheus_client has none).
#[pyfunction]
#[pyo3(signature = (registry, accept = None, names = None))]
pub(crate) fn render_for_scrape<'py>(
    py: Python<'py>,
    registry: &Bound<'py, CollectorRegistry>,
    accept: Option<&str>,
    names: Option<Vec<String>>,
) -> PyResult<(Bound<'py, PyBytes>, String)> {
    if Format::negotiate(accept) == Format::Protobuf {
        let inner = &registry.get().inner;
        let names = names.unwrap_or_default();
        let (out, error) = py.detach(|| {
            crate::collector::raising(|| {
                let mut out = Vec::with_capacity(64 * 1024);
                let content_type = inner.scrape(accept, &names, &mut out);
                (out, content_type)
            })
        });
        if let Some(e) = error {
            return Err(e);
        }
        let (body, content_type) = out;
        return Ok((PyBytes::new(py, &body), content_type));
    }
    let (format, escaping, content_type) = pyclient::negotiate(accept);
    let body = registry
        .get()
        .render_python(py, format, escaping, names.as_deref())?;
    Ok((PyBytes::new(py, &body), content_type))
}

/// The format, name escaping scheme and content type an `Accept` header gets, as
/// prometheus_client's `choose_encoder` picks them: `(openmetrics, escaping, content_type)`.
#[pyfunction]
#[pyo3(signature = (accept = None))]
pub(crate) fn negotiate(accept: Option<&str>) -> (bool, &'static str, String) {
    let (format, escaping, content_type) = pyclient::negotiate(accept);
    (format == Format::OpenMetrics, escaping.name(), content_type)
}

/// Mirrors `prometheus_client.validation`'s switch in the core: UTF-8 metric and label names
/// accepted (`True`) or the legacy character sets only.
#[pyfunction]
pub(crate) fn set_utf8_names(on: bool) {
    footmetrics::validate::set_utf8_names(on);
}
