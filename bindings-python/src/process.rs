//! `ProcessCollector` and `PROCESS_COLLECTOR`: the core's `/proc` reader, with
//! prometheus_client's constructor (`namespace`, `pid`, `proc`, `registry`) and its `_ticks`
//! and `_pagesize` knobs.

use crate::family::RegistryArg;
use crate::registry::{CollectorHandle, CollectorRegistry};
use footmetrics::process;
use footmetrics::{Collector, Desc, MetricFamily};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// One process of one `/proc` tree, read at each scrape.
struct ProcReader {
    /// `<namespace>_` or empty.
    prefix: String,
    root: PathBuf,
    /// `pid()` names the process at each scrape; `None`: `self`.
    pid: Option<Py<PyAny>>,
    /// f64 bits: clock ticks per second and page size, for `stat`'s units.
    ticks: AtomicU64,
    page_size: AtomicU64,
}

impl ProcReader {
    /// The process to read: `pid()` as a string, stripped (`"584\n"` reads 584). A raising
    /// `pid` is reported as unraisable and the scrape goes on without these families.
    fn pid(&self) -> Option<String> {
        let Some(pid) = &self.pid else {
            return Some("self".to_owned());
        };
        Python::attach(|py| {
            let pid = pid.bind(py);
            match pid.call0().and_then(|p| p.str().map(|s| s.to_string())) {
                Ok(p) => Some(p.trim().to_owned()),
                Err(e) => {
                    e.write_unraisable(py, Some(pid));
                    None
                }
            }
        })
    }
}

impl Collector for ProcReader {
    fn descs(&self) -> Vec<Desc> {
        process::descs(&self.prefix)
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let Some(pid) = self.pid() else {
            return Vec::new();
        };
        // A pid that would leave the tree (`../x`, `a/b`) names no process.
        if pid.is_empty() || pid.contains('/') || pid == ".." {
            return Vec::new();
        }
        let ticks = f64::from_bits(self.ticks.load(Ordering::Relaxed));
        let page_size = f64::from_bits(self.page_size.load(Ordering::Relaxed));
        process::read_at(&self.root, &pid, ticks, page_size)
            .map_or_else(Vec::new, |st| process::families(&st, &self.prefix))
    }
}

/// `process_*` metrics of a process (CPU, memory, file descriptors, start time, threads), by
/// default this one, from `/proc`.
#[pyclass(module = "footmetrics._core", frozen)]
pub(crate) struct ProcessCollector {
    reader: Arc<ProcReader>,
}

impl ProcessCollector {
    fn reading(prefix: String, root: PathBuf, pid: Option<Py<PyAny>>) -> Self {
        ProcessCollector {
            reader: Arc::new(ProcReader {
                prefix,
                root,
                pid,
                ticks: AtomicU64::new(process::clock_ticks().to_bits()),
                page_size: AtomicU64::new(process::page_size().to_bits()),
            }),
        }
    }

    pub(crate) fn collector(&self) -> Arc<dyn Collector> {
        self.reader.clone()
    }
}

#[pymethods]
impl ProcessCollector {
    /// Reads process `pid()` (called at each scrape; default `self`) under the `/proc` tree
    /// at `proc`; `namespace` prefixes the names (`<namespace>_process_...`).
    #[new]
    #[pyo3(signature = (namespace = "", pid = None, proc = PathBuf::from("/proc"), registry = RegistryArg::Default))]
    fn new(
        py: Python<'_>,
        namespace: &str,
        pid: Option<Py<PyAny>>,
        proc: PathBuf,
        registry: RegistryArg,
    ) -> PyResult<Self> {
        let prefix = if namespace.is_empty() {
            String::new()
        } else {
            format!("{namespace}_")
        };
        let this = ProcessCollector::reading(prefix, proc, pid);
        if let Some(r) = registry.resolve(py)? {
            let r = r.cast::<CollectorRegistry>().map_err(|_| {
                PyTypeError::new_err("registry must be a CollectorRegistry or None")
            })?;
            r.get().register_arc(py, this.collector())?;
        }
        Ok(this)
    }

    /// Clock ticks per second, the unit of `stat`'s CPU and start times (from sysconf).
    #[getter(_ticks)]
    fn ticks(&self) -> f64 {
        f64::from_bits(self.reader.ticks.load(Ordering::Relaxed))
    }

    #[setter(_ticks)]
    fn set_ticks(&self, ticks: f64) {
        self.reader.ticks.store(ticks.to_bits(), Ordering::Relaxed);
    }

    /// The page size in bytes, the unit of `stat`'s resident set size (from sysconf).
    #[getter(_pagesize)]
    fn pagesize(&self) -> f64 {
        f64::from_bits(self.reader.page_size.load(Ordering::Relaxed))
    }

    #[setter(_pagesize)]
    fn set_pagesize(&self, page_size: f64) {
        self.reader
            .page_size
            .store(page_size.to_bits(), Ordering::Relaxed);
    }

    fn _footmetrics_collector(&self) -> CollectorHandle {
        CollectorHandle {
            collector: self.collector(),
        }
    }

    /// The families as `Metric` objects, as a custom collector yields them.
    fn collect<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let families = py.detach(|| self.reader.collect());
        families
            .iter()
            .map(|f| crate::registry::to_python_metric(py, f))
            .collect()
    }
}

/// Replaces the core default registry's anonymous process collector with one Python can name
/// (`PROCESS_COLLECTOR`), so `REGISTRY.unregister(PROCESS_COLLECTOR)` works.
pub(crate) fn adopt_default(
    py: Python<'_>,
    registry: &CollectorRegistry,
) -> PyResult<ProcessCollector> {
    let collector = ProcessCollector::reading(String::new(), PathBuf::from("/proc"), None);
    let _ = py.detach(|| registry.inner.unregister_name("process_cpu_seconds"));
    if cfg!(target_os = "linux") {
        registry.register_arc(py, collector.collector())?;
    }
    Ok(collector)
}
