//! `ProcessCollector` and `PROCESS_COLLECTOR`: the core's `/proc/self` reader, with
//! prometheus_client's constructor.

use crate::family::RegistryArg;
use crate::registry::{CollectorHandle, CollectorRegistry};
use footmetrics::{Collector, Desc, MetricFamily};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use std::sync::Arc;

/// The core's process collector with a name prefix (`namespace`).
struct Prefixed {
    prefix: String,
    inner: footmetrics::ProcessCollector,
}

impl Collector for Prefixed {
    fn descs(&self) -> Vec<Desc> {
        let mut descs = self.inner.descs();
        for d in &mut descs {
            d.name = format!("{}{}", self.prefix, d.name);
        }
        descs
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut families = self.inner.collect();
        for f in &mut families {
            f.name = format!("{}{}", self.prefix, f.name);
        }
        families
    }
}

/// `process_*` metrics of this process (CPU, memory, file descriptors, start time, threads).
#[pyclass(module = "footmetrics._core", frozen)]
pub(crate) struct ProcessCollector {
    collector: Arc<dyn Collector>,
}

impl ProcessCollector {
    fn with_prefix(prefix: String) -> Self {
        ProcessCollector {
            collector: Arc::new(Prefixed {
                prefix,
                inner: footmetrics::ProcessCollector::new(),
            }),
        }
    }

    pub(crate) fn collector(&self) -> Arc<dyn Collector> {
        self.collector.clone()
    }
}

#[pymethods]
impl ProcessCollector {
    /// `pid` and `proc` are accepted for signature compatibility; only this process is read.
    #[new]
    #[pyo3(signature = (namespace = "", pid = None, proc = "/proc", registry = RegistryArg::Default))]
    fn new(
        py: Python<'_>,
        namespace: &str,
        pid: Option<&Bound<'_, PyAny>>,
        proc: &str,
        registry: RegistryArg,
    ) -> PyResult<Self> {
        if let Some(pid) = pid {
            let p = pid.call0()?.str()?.to_string();
            if p != "self" && p != std::process::id().to_string() {
                return Err(PyValueError::new_err(
                    "footmetrics' ProcessCollector reads this process only (pid='self')",
                ));
            }
        }
        if proc != "/proc" {
            return Err(PyValueError::new_err(
                "footmetrics' ProcessCollector reads /proc only",
            ));
        }
        let prefix = if namespace.is_empty() {
            String::new()
        } else {
            format!("{namespace}_")
        };
        let this = ProcessCollector::with_prefix(prefix);
        if let Some(r) = registry.resolve(py)? {
            let r = r.cast::<CollectorRegistry>().map_err(|_| {
                PyTypeError::new_err("registry must be a CollectorRegistry or None")
            })?;
            r.get().register_arc(py, this.collector.clone())?;
        }
        Ok(this)
    }

    fn _footmetrics_collector(&self) -> CollectorHandle {
        CollectorHandle {
            collector: self.collector.clone(),
        }
    }

    /// The families as `Metric` objects, as a custom collector yields them.
    fn collect<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let families = py.detach(|| self.collector.collect());
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
    let collector = ProcessCollector::with_prefix(String::new());
    let _ = py.detach(|| registry.inner.unregister_name("process_cpu_seconds"));
    if cfg!(target_os = "linux") {
        registry.register_arc(py, collector.collector())?;
    }
    Ok(collector)
}
