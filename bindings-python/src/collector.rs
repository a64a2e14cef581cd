//! Custom collectors written in Python: any object with a `collect()` method returning
//! `Metric` families (the `*MetricFamily` classes of `footmetrics.metrics_core`), registered
//! next to the core's own families.
//!
//! A scrape renders with the GIL released; it takes the GIL back only to call `collect()` and
//! copy the samples out, then formats them with the GIL released again.

use footmetrics::{Collector, Desc, Exemplar, MetricFamily, MetricType, PointValue};
use pyo3::exceptions::{PyAttributeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyString, PyTuple};
use std::cell::RefCell;

thread_local! {
    /// While [`raising`] runs on this thread: the first error of a custom collector, kept to be
    /// raised to the caller (as `prometheus_client.generate_latest` raises it) instead of being
    /// reported as unraisable and skipped (what a scrape by the server thread does).
    static FIRST_ERROR: RefCell<Option<Option<PyErr>>> = const { RefCell::new(None) };
}

/// Runs `f` (which gathers, possibly with the GIL released: same thread) and returns its
/// result with the first error a Python collector raised meanwhile.
pub(crate) fn raising<T>(f: impl FnOnce() -> T) -> (T, Option<PyErr>) {
    let previous = FIRST_ERROR.with(|c| c.replace(Some(None)));
    let out = f();
    let error = FIRST_ERROR.with(|c| c.replace(previous)).flatten();
    (out, error)
}

/// Whether a [`raising`] render runs on this thread.
fn raising_now() -> bool {
    FIRST_ERROR.with(|c| c.borrow().is_some())
}

/// Keeps `e` for [`raising`], or reports it as unraisable when nobody is waiting for it.
fn report(py: Python<'_>, e: PyErr, object: &Bound<'_, PyAny>) {
    let kept = FIRST_ERROR.with(|c| match &mut *c.borrow_mut() {
        Some(slot) => {
            if slot.is_none() {
                *slot = Some(e.clone_ref(py));
            }
            true
        }
        None => false,
    });
    if !kept {
        e.write_unraisable(py, Some(object));
    }
}

/// `e` with `metric` appended to its `args`, as prometheus_client tags a rendering error with
/// the family it was rendering.
fn tagged(py: Python<'_>, e: PyErr, metric: &Bound<'_, PyAny>) -> PyErr {
    let value = e.value(py);
    let tag = || -> PyResult<()> {
        let args = value.getattr("args")?.cast_into::<PyTuple>()?;
        let mut items: Vec<Bound<'_, PyAny>> = args.iter().collect();
        if items.is_empty() {
            items.push(PyString::new(py, "").into_any());
        }
        items.push(metric.clone());
        value.setattr("args", PyTuple::new(py, items)?)
    };
    let _ = tag();
    e
}

/// A Python collector as the core registry sees it.
pub(crate) struct PyCollector {
    object: Py<PyAny>,
    descs: Vec<Desc>,
}

impl PyCollector {
    /// Wraps `object`, naming its families from `describe()` when it has one (or from
    /// `collect()` when the registry auto-describes), so registration can refuse clashes.
    pub(crate) fn new(object: &Bound<'_, PyAny>, auto_describe: bool) -> PyResult<Self> {
        if !object.hasattr("collect")? {
            return Err(PyTypeError::new_err(
                "a collector needs a collect() method returning Metric families",
            ));
        }
        let described = if object.hasattr("describe")? {
            Some(object.call_method0("describe")?)
        } else if auto_describe {
            Some(object.call_method0("collect")?)
        } else {
            None
        };
        let mut descs = Vec::new();
        if let Some(metrics) = described {
            for m in metrics.try_iter()? {
                let f = family_of(&m?, false)?;
                descs.push(Desc {
                    name: f.name,
                    help: f.help,
                    unit: f.unit,
                    kind: f.kind,
                    label_names: Vec::new(),
                    const_labels: Vec::new(),
                });
            }
        }
        Ok(PyCollector {
            object: object.clone().unbind(),
            descs,
        })
    }

    /// A stand-in with `object`'s identity, for `unregister`.
    pub(crate) fn identity(object: &Bound<'_, PyAny>) -> Self {
        PyCollector {
            object: object.clone().unbind(),
            descs: Vec::new(),
        }
    }
}

impl Collector for PyCollector {
    fn id(&self) -> usize {
        self.object.as_ptr() as usize
    }

    fn descs(&self) -> Vec<Desc> {
        self.descs.clone()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        Python::attach(|py| {
            let object = self.object.bind(py);
            let collected = object.call_method0("collect").and_then(|metrics| {
                metrics
                    .try_iter()?
                    .map(|m| {
                        let m = m?;
                        family_of(&m, true).map_err(|e| tagged(py, e, &m))
                    })
                    .collect::<PyResult<Vec<_>>>()
            });
            // A failing collector loses its own families for this scrape, not the scrape
            // (unless the caller asked for its errors: `raising`).
            collected.unwrap_or_else(|e| {
                report(py, e, object);
                Vec::new()
            })
        })
    }
}

/// The core's type for a `Metric.type` string.
fn kind_of(typ: &str) -> PyResult<MetricType> {
    Ok(match typ {
        "counter" => MetricType::Counter,
        "gauge" => MetricType::Gauge,
        "histogram" => MetricType::Histogram,
        "gaugehistogram" => MetricType::GaugeHistogram,
        "summary" => MetricType::Summary,
        "info" => MetricType::Info,
        "stateset" => MetricType::StateSet,
        "unknown" | "untyped" => MetricType::Unknown,
        other => {
            return Err(PyValueError::new_err(format!(
                "Invalid metric type: {other}"
            )))
        }
    })
}

/// Copies one `Metric` (name, documentation, type, unit, samples) into the core's model.
fn family_of(metric: &Bound<'_, PyAny>, with_samples: bool) -> PyResult<MetricFamily> {
    let name: String = metric.getattr("name")?.extract()?;
    let help: String = metric.getattr("documentation")?.extract()?;
    let typ: String = metric.getattr("type")?.extract()?;
    let unit: String = metric.getattr("unit")?.extract()?;
    if footmetrics::validate::metric_name(&name).is_err() {
        return Err(PyValueError::new_err(format!(
            "Invalid metric name: {name}"
        )));
    }
    let mut family = MetricFamily {
        name,
        help,
        unit: Some(unit).filter(|u| !u.is_empty()),
        kind: kind_of(&typ)?,
        points: Vec::new(),
    };
    if with_samples {
        for s in metric.getattr("samples")?.try_iter()? {
            let s = s?;
            let name: String = s.getattr("name")?.extract()?;
            let labels = sample_labels(s.getattr("labels")?.cast()?)?;
            let value = match float(&s.getattr("value")?) {
                Ok(v) => v,
                // A value that is no number fails a render that raises (generate_latest);
                // a lookup (collect(), get_sample_value) or a server scrape skips the sample.
                Err(e) if raising_now() => return Err(e),
                Err(_) => continue,
            };
            let timestamp = optional_float(&s.getattr("timestamp")?)?;
            let exemplar = match s.getattr("exemplar")? {
                e if e.is_none() => None,
                e => {
                    let labels = crate::exemplar::string_pairs(e.getattr("labels")?.cast()?)?;
                    let mut ex = Exemplar::new(&labels, float(&e.getattr("value")?)?)
                        .map_err(crate::errors::to_py)?;
                    // No timestamp: NaN, which the exposition leaves out.
                    ex.timestamp = optional_float(&e.getattr("timestamp")?)?.unwrap_or(f64::NAN);
                    Some(ex)
                }
            };
            family.points.push(footmetrics::MetricPoint {
                labels,
                value: PointValue::Sample {
                    name,
                    value,
                    timestamp,
                    exemplar,
                },
            });
        }
    }
    Ok(family)
}

/// A sample value as Python's `float()` reads it (any real number, numpy scalars, objects
/// with `__float__`, numeric strings); raises what `float()` raises otherwise (TypeError for
/// None, ValueError for `"x"`), as prometheus_client does when it renders the sample.
fn float(v: &Bound<'_, PyAny>) -> PyResult<f64> {
    if let Ok(f) = v.cast::<PyFloat>() {
        return Ok(f.value());
    }
    v.py().get_type::<PyFloat>().call1((v,))?.extract::<f64>()
}

/// A sample's labels: str names and str values (prometheus_client escapes the values with
/// `str.replace`, so anything else fails there with AttributeError; so it does here).
fn sample_labels(d: &Bound<'_, PyDict>) -> PyResult<Vec<(String, String)>> {
    d.iter()
        .map(|(k, v)| {
            let k = k
                .extract::<String>()
                .map_err(|_| PyTypeError::new_err("label names must be str"))?;
            let v = v.extract::<String>().map_err(|_| {
                let t = v
                    .get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default();
                PyAttributeError::new_err(format!("'{t}' object has no attribute 'replace'"))
            })?;
            Ok((k, v))
        })
        .collect()
}

/// A timestamp: None, a number of seconds, or an object with `__float__`
/// (prometheus_client's `Timestamp`).
fn optional_float(v: &Bound<'_, PyAny>) -> PyResult<Option<f64>> {
    if v.is_none() {
        Ok(None)
    } else {
        float(v).map(Some)
    }
}
