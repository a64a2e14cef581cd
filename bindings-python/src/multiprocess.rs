//! Multi-process mode, as `prometheus_client`'s (`PROMETHEUS_MULTIPROC_DIR`): the binding of
//! the core's `multiprocess` module.
//!
//! A metric created while `footmetrics.values.ValueClass` is a `MultiProcessValue(...)` class
//! keeps its series' cells in this process' lane files under the directory named by
//! `PROMETHEUS_MULTIPROC_DIR` (read when the metric is created). The class carries a
//! [`MultiProcessContext`]: the process identifier callable and the lanes opened under it.
//! With the default identifier (`os.getpid`) nothing is checked on writes: a fork switches
//! every such context's lanes to the child's pid (`after_fork_in_child`, registered with
//! `os.register_at_fork`). With another callable, as prometheus_client does, each write calls
//! it and switches the lanes when its answer changes.

use crate::errors::IntoPy;
use crate::registry::CollectorHandle;
use footmetrics::multiprocess::{self, DirCollector, GaugeMode, Merged, MergedView, ProcessLanes};
use footmetrics::Opts;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};

struct ContextInner {
    identifier: Py<PyAny>,
    /// The identifier is `os.getpid`: forks are seen by the at-fork hook, not on writes.
    default_identifier: bool,
    /// The identifier's last answer, and the lanes opened per directory.
    state: Mutex<(String, HashMap<PathBuf, Arc<ProcessLanes>>)>,
}

/// Every context alive, for the at-fork hook and `close_all_multiprocess_files`.
static CONTEXTS: Mutex<Vec<Weak<ContextInner>>> = Mutex::new(Vec::new());

fn contexts() -> Vec<Arc<ContextInner>> {
    let mut all = CONTEXTS.lock().unwrap_or_else(|p| p.into_inner());
    all.retain(|w| w.strong_count() > 0);
    all.iter().filter_map(Weak::upgrade).collect()
}

/// What a `MultiProcessValue(process_identifier)` class carries.
#[pyclass(module = "footmetrics._core", frozen)]
pub(crate) struct MultiProcessContext {
    inner: Arc<ContextInner>,
}

#[pymethods]
impl MultiProcessContext {
    #[new]
    fn new(py: Python<'_>, process_identifier: Py<PyAny>) -> PyResult<Self> {
        if !process_identifier.bind(py).is_callable() {
            return Err(PyTypeError::new_err("process_identifier must be callable"));
        }
        let getpid = py.import("os")?.getattr("getpid")?;
        let inner = Arc::new(ContextInner {
            default_identifier: process_identifier.bind(py).is(&getpid),
            identifier: process_identifier,
            state: Mutex::new((String::new(), HashMap::new())),
        });
        CONTEXTS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::downgrade(&inner));
        Ok(MultiProcessContext { inner })
    }
}

impl ContextInner {
    fn ask_identifier(&self, py: Python<'_>) -> PyResult<String> {
        Ok(self.identifier.bind(py).call0()?.str()?.to_string())
    }

    /// Switches every lane to the identifier's current answer if it changed.
    fn follow_identifier(&self, py: Python<'_>) -> PyResult<String> {
        let ident = self.ask_identifier(py)?;
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if st.0 != ident {
            for lanes in st.1.values() {
                lanes.switch_identity(&ident).py()?;
            }
            st.0 = ident.clone();
        }
        Ok(ident)
    }

    /// The lanes of `dir` under the current identifier, opened if needed (an error if the
    /// directory cannot take files).
    fn lanes(&self, py: Python<'_>, dir: PathBuf) -> PyResult<Arc<ProcessLanes>> {
        let ident = self.follow_identifier(py)?;
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = st.1.get(&dir) {
            return Ok(l.clone());
        }
        let lanes = ProcessLanes::new(&dir, ident).map_err(storage_error)?;
        st.1.insert(dir, lanes.clone());
        Ok(lanes)
    }
}

/// A core storage error as the `OSError` prometheus_client's file handling would raise, with
/// the core kind's `code`.
fn storage_error(e: footmetrics::Error) -> PyErr {
    if e.code() != "STORAGE" {
        return crate::errors::to_py(e);
    }
    let err = pyo3::exceptions::PyOSError::new_err(e.to_string());
    Python::attach(|py| {
        let _ = err.value(py).setattr("code", e.code());
    });
    err
}

/// What a metric in multi-process mode keeps to follow a custom process identifier.
#[derive(Clone)]
pub(crate) struct Follower(Arc<ContextInner>);

impl Follower {
    /// Before a write: with a custom identifier, ask it and switch lanes if it changed.
    #[inline]
    pub fn check(&self) -> PyResult<()> {
        if self.0.default_identifier {
            return Ok(());
        }
        Python::attach(|py| self.0.follow_identifier(py).map(drop))
    }
}

/// The multi-process directory from the environment (the deprecated lower-case name too).
fn env_dir(py: Python<'_>) -> PyResult<Option<PathBuf>> {
    let environ = py.import("os")?.getattr("environ")?;
    for name in ["PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"] {
        if let Some(v) = environ
            .call_method1("get", (name,))?
            .extract::<Option<String>>()?
        {
            return Ok(Some(PathBuf::from(v)));
        }
    }
    Ok(None)
}

/// For a new metric of `kind`: the options in multi-process mode when the value class says
/// so (counters, gauges, histograms and summaries; info and enum stay in the process, as in
/// prometheus_client), and what its writes must check.
pub(crate) fn apply(
    py: Python<'_>,
    opts: Opts,
    kind: &str,
    gauge_mode: &str,
) -> PyResult<(Opts, Option<Follower>)> {
    if !matches!(kind, "counter" | "gauge" | "histogram" | "summary") {
        return Ok((opts, None));
    }
    let class = py.import("footmetrics.values")?.getattr("ValueClass")?;
    let multiprocess = class
        .getattr("_multiprocess")
        .and_then(|v| v.is_truthy())
        .unwrap_or(false);
    if !multiprocess {
        return Ok((opts, None));
    }
    let ctx = class.getattr("_footmetrics_context")?;
    let ctx = ctx.cast::<MultiProcessContext>().map_err(|_| {
        PyTypeError::new_err(
            "values.ValueClass must come from footmetrics.values.MultiProcessValue",
        )
    })?;
    let inner = ctx.get().inner.clone();
    let Some(dir) = env_dir(py)? else {
        return Err(PyValueError::new_err(
            "multi-process mode needs PROMETHEUS_MULTIPROC_DIR set to a directory",
        ));
    };
    let lanes = inner.lanes(py, dir)?;
    let mode = GaugeMode::parse(gauge_mode).py()?;
    Ok((opts.multiprocess(lanes, mode), Some(Follower(inner))))
}

/// The fork hook: every context with the default identifier continues under the child's pid.
#[pyfunction]
pub(crate) fn after_fork_in_child() -> PyResult<()> {
    let pid = std::process::id().to_string();
    let mut failed = Vec::new();
    for ctx in contexts() {
        if !ctx.default_identifier {
            continue;
        }
        let mut st = ctx.state.lock().unwrap_or_else(|p| p.into_inner());
        // Every lane is switched even if one fails (its directory removed since, say).
        for lanes in st.1.values() {
            if let Err(e) = lanes.switch_identity(&pid) {
                failed.push(e.to_string());
            }
        }
        st.0 = pid.clone();
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(storage_error(footmetrics::Error::Storage(
            failed.join("; "),
        )))
    }
}

/// `values.close_all_multiprocess_files()`: releases this process' locks on its files.
#[pyfunction]
pub(crate) fn close_all_multiprocess_files() {
    for ctx in contexts() {
        for lanes in ctx
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .values()
        {
            lanes.close();
        }
    }
}

/// `mark_process_dead(pid, path)`: removes the process' `live*` gauge files.
#[pyfunction]
pub(crate) fn mark_process_dead(path: PathBuf, pid: &Bound<'_, PyAny>) -> PyResult<usize> {
    multiprocess::mark_process_dead(&path, &pid.str()?.to_string()).map_err(storage_error)
}

/// The directory's merged view, for `MultiProcessCollector`: registered in a registry it is a
/// core collector (a scrape reads and renders the files without Python objects).
#[pyclass(module = "footmetrics._core", frozen)]
pub(crate) struct MultiProcessDir {
    collector: Arc<DirCollector>,
}

#[pymethods]
impl MultiProcessDir {
    #[new]
    fn new(path: PathBuf) -> PyResult<Self> {
        Ok(MultiProcessDir {
            collector: Arc::new(DirCollector::new(path).map_err(|_| {
                PyValueError::new_err("env PROMETHEUS_MULTIPROC_DIR is not set or not a directory")
            })?),
        })
    }

    fn _footmetrics_collector(&self) -> CollectorHandle {
        CollectorHandle {
            collector: self.collector.clone(),
        }
    }

    /// The merged families as plain data (see `families_data`).
    #[pyo3(signature = (accumulate = true))]
    fn read<'py>(&self, py: Python<'py>, accumulate: bool) -> PyResult<Bound<'py, PyList>> {
        let view = py.detach(|| self.collector.read()).map_err(storage_error)?;
        families_data(py, &view, accumulate)
    }
}

/// prometheus_client's `MultiProcessCollector.merge(files, accumulate)` as plain data.
#[pyfunction]
#[pyo3(signature = (files, accumulate = true))]
pub(crate) fn merge_files<'py>(
    py: Python<'py>,
    files: Vec<PathBuf>,
    accumulate: bool,
) -> PyResult<Bound<'py, PyList>> {
    let view = py.detach(|| multiprocess::merge_files(&files));
    families_data(py, &view, accumulate)
}

/// `[(name, help, type, [(sample name, ((label, value), ...), value), ...]), ...]`, the
/// samples in prometheus_client's multi-process order (a histogram's `_sum`, its buckets,
/// then `_count`; buckets per bucket rather than cumulative, and no `_count`, when not
/// `accumulate`). Files that could not be read are warned about (`UserWarning`).
fn families_data<'py>(
    py: Python<'py>,
    view: &MergedView,
    accumulate: bool,
) -> PyResult<Bound<'py, PyList>> {
    if !view.skipped.is_empty() {
        let warnings = py.import("warnings")?;
        for (path, why) in &view.skipped {
            warnings.call_method1(
                "warn",
                (format!(
                    "footmetrics: skipped {} in the multi-process directory: {why}",
                    path.display()
                ),),
            )?;
        }
    }
    let out = PyList::empty(py);
    for f in &view.families {
        let samples = PyList::empty(py);
        let labels = |values: &[String], extra: Option<(&str, String)>| -> PyResult<_> {
            let pairs: Vec<(String, String)> = f
                .label_names
                .iter()
                .cloned()
                .zip(values.iter().cloned())
                .chain(extra.map(|(k, v)| (k.to_owned(), v)))
                .collect();
            PyTuple::new(py, pairs)
        };
        for (values, m) in &f.series {
            match m {
                Merged::Counter { .. } => samples.append((
                    format!("{}_total", f.name),
                    labels(values, None)?,
                    m.value(),
                ))?,
                Merged::Gauge { value, .. } => {
                    samples.append((f.name.clone(), labels(values, None)?, *value))?
                }
                Merged::Histogram { buckets, sum } => {
                    samples.append((format!("{}_sum", f.name), labels(values, None)?, *sum))?;
                    let mut acc = 0u64;
                    for (i, n) in buckets.iter().enumerate() {
                        acc = acc.saturating_add(*n);
                        let le = f.bounds.get(i).map_or_else(
                            || "+Inf".to_owned(),
                            |b| footmetrics::fmt::float_string_openmetrics(*b),
                        );
                        let v = if accumulate { acc } else { *n };
                        samples.append((
                            format!("{}_bucket", f.name),
                            labels(values, Some(("le", le)))?,
                            v as f64,
                        ))?;
                    }
                    if accumulate {
                        samples.append((
                            format!("{}_count", f.name),
                            labels(values, None)?,
                            acc as f64,
                        ))?;
                    }
                }
                Merged::Summary { count, sum } => {
                    samples.append((
                        format!("{}_count", f.name),
                        labels(values, None)?,
                        *count as f64,
                    ))?;
                    samples.append((format!("{}_sum", f.name), labels(values, None)?, *sum))?;
                }
            }
        }
        let kind = match f.kind {
            footmetrics::MetricType::Counter => "counter",
            footmetrics::MetricType::Gauge => "gauge",
            footmetrics::MetricType::Histogram => "histogram",
            _ => "summary",
        };
        out.append((f.name.clone(), f.help.clone(), kind, samples))?;
    }
    Ok(out)
}
