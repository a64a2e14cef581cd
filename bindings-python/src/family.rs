//! What every metric class shares: construction from `prometheus_client`'s arguments, the
//! parent/child split, `labels()`, `remove()` and `clear()`.
//!
//! A metric object is either a parent (it has label names; `labels()` gives children) or a
//! leaf (no label names, or a child): only leaves record. Recent children are cached in a
//! small dict keyed by the very tuple `labels()` was called with, so a repeated
//! `labels(a, b, c)` is one dict lookup and no allocation; the series themselves live in the
//! core, so the cache is bounded and a family's memory does not grow with Python objects.

use crate::errors::{value_error, IntoPy};
use crate::registry::CollectorRegistry;
use footmetrics::{Family, Metric, Opts};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use std::sync::Arc;

/// The `registry` argument: omitted means `REGISTRY`, an explicit `None` means no registry.
pub(crate) enum RegistryArg {
    Default,
    Given(Py<PyAny>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for RegistryArg {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Ok(RegistryArg::Given(obj.to_owned().unbind()))
    }
}

impl RegistryArg {
    /// The registry to register in, if any.
    pub fn resolve<'py>(self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self {
            RegistryArg::Default => Ok(Some(
                crate::registry::default_registry(py)?.clone().into_any(),
            )),
            RegistryArg::Given(r) if r.is_none(py) => Ok(None),
            RegistryArg::Given(r) => Ok(Some(r.into_bound(py))),
        }
    }
}

/// Arguments every metric constructor takes, in `prometheus_client`'s order.
pub(crate) struct MetricArgs<'py> {
    pub name: String,
    pub documentation: String,
    pub labelnames: Vec<String>,
    pub namespace: String,
    pub subsystem: String,
    pub unit: String,
    pub registry: Option<Bound<'py, PyAny>>,
    /// A gauge's `multiprocess_mode` (prometheus_client's default, `all`, for the others).
    pub multiprocess_mode: String,
}

impl<'py> MetricArgs<'py> {
    /// Validates a constructor's arguments; `labelnames` defaults to none, `registry` is
    /// resolved (omitted means `REGISTRY`).
    #[allow(clippy::too_many_arguments)]
    pub fn extract(
        py: Python<'py>,
        name: &Bound<'py, PyAny>,
        documentation: &Bound<'py, PyAny>,
        labelnames: Option<&Bound<'py, PyAny>>,
        namespace: &str,
        subsystem: &str,
        unit: &str,
        registry: RegistryArg,
    ) -> PyResult<Self> {
        let registry = registry.resolve(py)?;
        let name = utf8_str(name, "metric name")?;
        if name.is_empty() {
            // Even with a namespace or subsystem (which UTF-8 names would otherwise accept).
            return Err(pyo3::exceptions::PyValueError::new_err(
                "Metric name should not be empty",
            ));
        }
        let documentation = utf8_str(documentation, "documentation")?;
        let empty = PyTuple::empty(py);
        let labelnames = labelnames.unwrap_or(empty.as_any());
        if labelnames.is_instance_of::<PyString>() {
            // A str is iterable; prometheus_client would take each character as a label name.
            return Err(PyTypeError::new_err(
                "labelnames must be a sequence of str, not a str",
            ));
        }
        let labelnames = labelnames
            .try_iter()
            .map_err(|_| PyTypeError::new_err("labelnames must be a sequence of str"))?
            .map(|l| utf8_str(&l?, "label name"))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(MetricArgs {
            name,
            documentation,
            labelnames,
            namespace: namespace.to_owned(),
            subsystem: subsystem.to_owned(),
            unit: unit.to_owned(),
            registry,
            multiprocess_mode: "all".to_owned(),
        })
    }

    /// Core options: the full name as `prometheus_client` builds it: namespace, subsystem and
    /// name joined, `suffix_to_strip` (a counter's `_total`) taken off, then the unit appended
    /// when the name does not already end with it; `_created` as the process is configured.
    /// Info and Enum (`unit_allowed` false) refuse a unit.
    pub fn opts(&self, suffix_to_strip: Option<&str>, unit_allowed: bool) -> PyResult<Opts> {
        let mut full = [self.namespace.as_str(), self.subsystem.as_str(), &self.name]
            .iter()
            .filter(|p| !p.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("_");
        if let Some(s) = suffix_to_strip {
            if let Some(stripped) = full.strip_suffix(s) {
                full = stripped.to_owned();
            }
        }
        let mut opts = Opts::new("", self.documentation.clone()).name_is_base(true);
        if !self.unit.is_empty() {
            if !full.ends_with(&format!("_{}", self.unit)) {
                full = format!("{full}_{}", self.unit);
            }
            if !unit_allowed {
                return Err(PyValueError::new_err(format!(
                    "Metric name is of a type that cannot have a unit: {full}"
                )));
            }
            opts = opts.unit(self.unit.clone());
        }
        opts.name = full;
        opts.label_names = self.labelnames.clone();
        opts.created = crate::registry::created_enabled();
        // With the GIL, one Python thread writes at a time: per-thread shards would cost
        // 128 bytes each per counter series and avoid no contention.
        if crate::gil_enabled() {
            opts = opts.shards(1);
        }
        Ok(opts)
    }
}

/// A Python str as UTF-8, or a clear error: TypeError for a non-str, ValueError naming the
/// lone surrogate (which UTF-8 cannot encode, so no exposition could carry it) and where it is.
pub(crate) fn utf8_str(value: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    let s = value
        .cast::<PyString>()
        .map_err(|_| PyTypeError::new_err(format!("{what} must be a str")))?;
    if let Ok(text) = s.extract::<String>() {
        return Ok(text);
    }
    // Only a lone surrogate makes a str unencodable: find it for the message.
    let bytes = s
        .call_method1("encode", ("utf-8", "surrogatepass"))?
        .extract::<Vec<u8>>()?;
    let (index, code) = match std::str::from_utf8(&bytes) {
        Ok(_) => (0, 0),
        Err(e) => {
            let at = e.valid_up_to();
            let prefix = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
            let b = &bytes[at..];
            let code = if b.len() >= 3 {
                (u32::from(b[0] & 0x0f) << 12)
                    | (u32::from(b[1] & 0x3f) << 6)
                    | u32::from(b[2] & 0x3f)
            } else {
                0
            };
            (prefix.chars().count(), code)
        }
    };
    Err(PyValueError::new_err(format!(
        "{what} contains a lone surrogate (U+{code:04X} at index {index}), which UTF-8 cannot \
         encode: {:?}",
        s.to_string_lossy()
    )))
}

/// Label values as prometheus_client takes them: `str()` of each (any object, a list too).
pub(crate) fn label_strings<'a>(
    values: impl IntoIterator<Item = Bound<'a, PyAny>>,
) -> PyResult<Vec<String>> {
    values
        .into_iter()
        .map(|v| utf8_str(v.str()?.as_any(), "label value"))
        .collect()
}

/// Children `labels()` keeps per parent, most. Past it the cache starts over: a repeated label
/// set is then one dict lookup again after its next call.
const CHILD_CACHE_SIZE: usize = 256;

/// The shared state of a metric object.
pub(crate) struct Base<M: Metric> {
    pub family: Family<M>,
    /// The handle to record into: the unlabelled metric itself, or this child.
    pub leaf: Option<M>,
    /// Children by the argument tuple of `labels()`; only on labelled parents.
    children: Option<Py<PyDict>>,
    pub kind: &'static str,
    /// Shared by the parent and every child (a child costs a pointer, not a copy).
    pub name: Arc<str>,
    pub labelnames: Arc<[String]>,
    /// In multi-process mode with a custom process identifier: asked before each write.
    mp: Option<crate::multiprocess::Follower>,
}

impl<M: Metric + Clone> Base<M> {
    /// Builds the family, registers it when a registry is given, and resolves the leaf of an
    /// unlabelled metric.
    pub fn new(
        py: Python<'_>,
        args: &MetricArgs<'_>,
        opts: Opts,
        kind: &'static str,
    ) -> PyResult<Self> {
        let (opts, mp) = crate::multiprocess::apply(py, opts, kind, &args.multiprocess_mode)?;
        let family = Family::<M>::new(&opts).py()?;
        if let Some(registry) = &args.registry {
            let registry = registry.cast::<CollectorRegistry>().map_err(|_| {
                PyTypeError::new_err("registry must be a CollectorRegistry or None")
            })?;
            registry.get().register_family(py, family.clone())?;
        }
        let (leaf, children) = if args.labelnames.is_empty() {
            (Some(family.unlabelled().py()?), None)
        } else {
            (None, Some(PyDict::new(py).unbind()))
        };
        Ok(Base {
            name: family.desc().name.as_str().into(),
            family,
            leaf,
            children,
            kind,
            labelnames: args.labelnames.as_slice().into(),
            mp,
        })
    }

    /// The handle to record into, or prometheus_client's error for a parent.
    #[inline]
    pub fn leaf(&self) -> PyResult<&M> {
        if let Some(mp) = &self.mp {
            mp.check()?;
        }
        self.leaf.as_ref().ok_or_else(|| {
            PyValueError::new_err(format!("{} metric is missing label values", self.kind))
        })
    }

    /// A child sharing this family, for `labels()`.
    pub fn child(&self, handle: M) -> Self {
        Base {
            family: self.family.clone(),
            leaf: Some(handle),
            children: None,
            kind: self.kind,
            name: self.name.clone(),
            labelnames: self.labelnames.clone(),
            mp: self.mp.clone(),
        }
    }

    /// `labels(*args)` / `labels(**kwargs)`: the cached child, or `make` builds a new one.
    pub fn labels<T: pyo3::PyClass>(
        &self,
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
        make: impl FnOnce(M) -> T,
    ) -> PyResult<Py<PyAny>>
    where
        PyClassInitializer<T>: From<T>,
    {
        let Some(children) = &self.children else {
            return Err(PyValueError::new_err(format!(
                "No label names were set when constructing {}:{}",
                self.kind, self.name
            )));
        };
        let children = children.bind(py);
        let kwargs = kwargs.filter(|k| !k.is_empty());
        let key = match kwargs {
            None => args.clone(),
            Some(kw) => {
                if !args.is_empty() {
                    return Err(PyValueError::new_err("Can't pass both *args and **kwargs"));
                }
                if kw.len() != self.labelnames.len() {
                    return Err(value_error("UNKNOWN_LABEL", "Incorrect label names"));
                }
                let mut ordered = Vec::with_capacity(self.labelnames.len());
                for name in self.labelnames.iter() {
                    match kw.get_item(name)? {
                        Some(v) => ordered.push(v),
                        None => return Err(value_error("UNKNOWN_LABEL", "Incorrect label names")),
                    }
                }
                PyTuple::new(py, ordered)?
            }
        };
        // An unhashable value (`labels([1])`) is looked up by the str() of each value.
        let key = match children.get_item(&key) {
            Ok(Some(child)) => return Ok(child.unbind()),
            Ok(None) => key,
            Err(e) if e.is_instance_of::<PyTypeError>(py) => {
                let key = PyTuple::new(py, label_strings(key.iter())?)?;
                if let Some(child) = children.get_item(&key)? {
                    return Ok(child.unbind());
                }
                key
            }
            Err(e) => return Err(e),
        };
        if key.len() != self.labelnames.len() {
            return Err(value_error("LABEL_COUNT", "Incorrect label count"));
        }
        let values = label_strings(key.iter())?;
        let handle = self.family.with_label_values(&values).py()?;
        let child: Py<PyAny> = Bound::new(py, make(handle))?.into_any().unbind();
        // The cache serves the label sets a program repeats (its hot path); it is bounded, and
        // emptied when full, so a family of many series costs no Python memory per series.
        if children.len() >= CHILD_CACHE_SIZE {
            children.clear();
        }
        children.set_item(key, &child)?;
        Ok(child)
    }

    /// `remove(*labelvalues)`.
    pub fn remove(&self, py: Python<'_>, values: &Bound<'_, PyTuple>) -> PyResult<()> {
        let children = self.parent_children("remove")?;
        warn_in_multiprocess_mode(
            py,
            "Removal of labels has not been implemented in  multi process mode yet.",
        )?;
        if values.len() != self.labelnames.len() {
            return Err(PyValueError::new_err(format!(
                "Incorrect label count (expected {}, got {})",
                self.labelnames.len(),
                values.len()
            )));
        }
        let values = label_strings(values.iter())?;
        self.family.remove(&values).py()?;
        // Several argument tuples may name the same child (1 and "1"): drop the whole cache.
        children.bind(py).clear();
        Ok(())
    }

    /// `remove_by_labels({name: value})`: removes every child whose labels include these.
    pub fn remove_by_labels(&self, py: Python<'_>, labels: &Bound<'_, PyAny>) -> PyResult<()> {
        let children = self.parent_children("remove_by_labels")?;
        let labels = labels.cast::<PyDict>().map_err(|_| {
            PyTypeError::new_err("labels must be a dict of {label_name: label_value}")
        })?;
        let mut pairs = Vec::with_capacity(labels.len());
        for (k, v) in labels.iter() {
            pairs.push((utf8_str(&k, "label name")?, label_strings([v])?.remove(0)));
        }
        if self.family.remove_matching(&pairs).py()? > 0 {
            children.bind(py).clear();
        }
        Ok(())
    }

    /// `clear()`: a metric without labels has nothing to clear.
    pub fn clear(&self, py: Python<'_>) -> PyResult<()> {
        if let Some(children) = &self.children {
            warn_in_multiprocess_mode(
                py,
                "Clearing labels has not been implemented in multi process mode yet.",
            )?;
            self.family.clear();
            children.bind(py).clear();
        }
        Ok(())
    }

    fn parent_children(&self, what: &str) -> PyResult<&Py<PyDict>> {
        self.children.as_ref().ok_or_else(|| {
            PyValueError::new_err(format!(
                "No label names were set when constructing {}:{} (cannot {what})",
                self.kind, self.name
            ))
        })
    }
}

/// prometheus_client's warning for what multi-process mode does not do (the series stays in
/// the files, so other processes' scrapes keep showing it), when its directory is set.
fn warn_in_multiprocess_mode(py: Python<'_>, message: &str) -> PyResult<()> {
    let environ = py.import("os")?.getattr("environ")?;
    if environ.contains("PROMETHEUS_MULTIPROC_DIR")?
        || environ.contains("prometheus_multiproc_dir")?
    {
        py.import("warnings")?.call_method1(
            "warn",
            (message, py.get_type::<pyo3::exceptions::PyUserWarning>()),
        )?;
    }
    Ok(())
}

/// Generates a metric class's `#[pymethods]`: the methods every class shares (`labels`,
/// `remove`, `clear`, registration handle, introspection) followed by the class's own.
macro_rules! metric_methods {
    ($ty:ident, { $($own:tt)* }) => {
        #[pymethods]
        impl $ty {
            #[pyo3(signature = (*args, **kwargs))]
            fn labels(
                &self,
                py: Python<'_>,
                args: &Bound<'_, pyo3::types::PyTuple>,
                kwargs: Option<&Bound<'_, pyo3::types::PyDict>>,
            ) -> PyResult<Py<PyAny>> {
                self.base
                    .labels(py, args, kwargs, |h| self.with_base(self.base.child(h)))
            }

            #[pyo3(signature = (*labelvalues))]
            fn remove(&self, py: Python<'_>, labelvalues: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<()> {
                self.base.remove(py, labelvalues)
            }

            fn clear(&self, py: Python<'_>) -> PyResult<()> {
                self.base.clear(py)
            }

            fn remove_by_labels(&self, py: Python<'_>, labels: &Bound<'_, PyAny>) -> PyResult<()> {
                self.base.remove_by_labels(py, labels)
            }

            fn _footmetrics_collector(&self) -> $crate::registry::CollectorHandle {
                $crate::registry::handle_of(&self.base.family)
            }

            #[getter]
            fn _name(&self) -> &str {
                &*self.base.name
            }

            #[getter]
            fn _labelnames<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyTuple>> {
                pyo3::types::PyTuple::new(py, self.base.labelnames.iter())
            }

            fn __repr__(&self) -> String {
                format!("footmetrics.metrics.{}({})", stringify!($ty), self.base.name)
            }

            $($own)*
        }
    };
}
pub(crate) use metric_methods;
