//! What every metric class shares: construction from `prometheus_client`'s arguments, the
//! parent/child split, `labels()`, `remove()` and `clear()`.
//!
//! A metric object is either a parent (it has label names; `labels()` gives children) or a
//! leaf (no label names, or a child): only leaves record. Recent children are cached in a
//! small dict keyed by the very tuple `labels()` was called with, so a repeated
//! `labels(a, b, c)` is one dict lookup and no allocation; the series themselves live in the
//! core, so the cache is bounded and a family's memory does not grow with Python objects.
//!
//! The classes can be subclassed, as prometheus_client's: the Rust state is built by
//! `__init__` (which a subclass's `__init__` reaches through `super().__init__(...)`, with the
//! arguments it chose), and kept in a [`Slot`] written once. A subclass instance's `labels()`
//! builds each child as prometheus_client does, by calling the subclass with the parent's
//! original arguments and `_labelvalues`; the child attaches to the parent's family (see
//! [`subclass_child`]) rather than building one of its own.

use crate::errors::{value_error, IntoPy};
use crate::registry::CollectorRegistry;
use footmetrics::{Family, Metric, Opts};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pyclass::boolean_struct::True;
use pyo3::types::{PyDict, PyString, PyTuple};
use pyo3::PyClass;
use std::any::Any;
use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

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

/// A metric object's state: empty from `__new__` until `__init__` builds it, then never
/// changed (the classes are frozen: no borrow flag on the recording path).
pub(crate) struct Slot<T>(OnceLock<T>);

impl<T> Slot<T> {
    pub fn empty() -> Self {
        Slot(OnceLock::new())
    }

    pub fn full(value: T) -> Self {
        Slot(OnceLock::from(value))
    }

    /// The state, or prometheus_client's error for an object whose `__init__` did not run
    /// (a subclass's `__init__` that does not call `super().__init__`).
    #[inline]
    pub fn get(&self) -> PyResult<&T> {
        match self.0.get() {
            Some(value) => Ok(value),
            None => Err(not_initialized()),
        }
    }

    fn set(&self, value: T) -> PyResult<()> {
        self.0
            .set(value)
            .map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("metric is already initialized"))
    }
}

#[cold]
#[inline(never)]
fn not_initialized() -> PyErr {
    pyo3::exceptions::PyAttributeError::new_err(
        "metric is not initialized: a subclass's __init__ must call \
         super().__init__(name, documentation, ...)",
    )
}

/// A metric class: its state slot, and what a fresh parent or child needs (an Enum starts in
/// its first state).
pub(crate) trait MetricClass: PyClass<Frozen = True> + Sync + Sized {
    type M: Metric + Clone + Send + 'static;
    /// What the class keeps besides the family (shared by its children).
    type X: Clone;
    fn slot(&self) -> &Slot<Base<Self::M, Self::X>>;
    fn with_slot(slot: Slot<Base<Self::M, Self::X>>) -> Self;
    fn started(_base: &Base<Self::M, Self::X>) {}

    #[inline]
    fn base(&self) -> PyResult<&Base<Self::M, Self::X>> {
        self.slot().get()
    }
}

/// On the labelled parent of a subclass instance: what its children are built from, as
/// prometheus_client builds them.
struct SubclassParent {
    /// The name as passed to `__init__` (before namespace, subsystem and unit).
    name: Py<PyString>,
    /// documentation, labelnames, namespace, subsystem, unit and the class's own arguments.
    kwargs: Py<PyDict>,
    /// Every child by its label values' strings, as prometheus_client keeps them: a child of a
    /// subclass may carry state of its own, so `labels()` must give the same object each time.
    children: Py<PyDict>,
}

/// The shared state of a metric object.
pub(crate) struct Base<M: Metric, X = ()> {
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
    /// The class's own state (a gauge's registry, an enum's first state).
    pub extra: X,
    subclass: Option<Box<SubclassParent>>,
}

impl<M: Metric + Clone, X: Clone> Base<M, X> {
    /// Builds the family, registers it when a registry is given, and resolves the leaf of an
    /// unlabelled metric.
    pub fn new(
        py: Python<'_>,
        args: &MetricArgs<'_>,
        opts: Opts,
        kind: &'static str,
        extra: X,
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
            extra,
            subclass: None,
        })
    }

    /// The handle to record into, or prometheus_client's error for a parent.
    #[inline]
    pub fn leaf(&self) -> PyResult<&M> {
        if let Some(mp) = &self.mp {
            mp.check()?;
        }
        match &self.leaf {
            Some(leaf) => Ok(leaf),
            None => Err(missing_label_values(self.kind)),
        }
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
            extra: self.extra.clone(),
            subclass: None,
        }
    }

    /// `labels(*args)` / `labels(**kwargs)`: the cached child, or `make` builds a new one from
    /// the label values and their series.
    pub fn labels(
        &self,
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
        make: impl FnOnce(&[String], M) -> PyResult<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
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
        let child = match &self.subclass {
            None => make(&values, self.family.with_label_values(&values).py()?)?,
            Some(sub) => {
                let id = PyTuple::new(py, &values)?;
                let all = sub.children.bind(py);
                match all.get_item(&id)? {
                    Some(child) => child.unbind(),
                    None => {
                        let child = make(&values, self.family.with_label_values(&values).py()?)?;
                        all.set_item(id, &child)?;
                        child
                    }
                }
            }
        };
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
        if let Some(sub) = &self.subclass {
            let all = sub.children.bind(py);
            let id = PyTuple::new(py, &values)?;
            if all.contains(&id)? {
                all.del_item(id)?;
            }
        }
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
            if let Some(sub) = &self.subclass {
                let all = sub.children.bind(py);
                let matches = |values: &[String]| {
                    pairs.iter().all(|(name, value)| {
                        self.labelnames
                            .iter()
                            .position(|n| n == name)
                            .is_some_and(|i| values.get(i) == Some(value))
                    })
                };
                let mut gone = Vec::new();
                for (id, _) in all.iter() {
                    if matches(&id.extract::<Vec<String>>()?) {
                        gone.push(id);
                    }
                }
                for id in gone {
                    all.del_item(id)?;
                }
            }
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
            if let Some(sub) = &self.subclass {
                sub.children.bind(py).clear();
            }
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

/// `__init__` of a metric object (not of a subclass instance's child, see [`attach_child`]):
/// installs the state built from the arguments `__init__` received. A subclass instance with
/// label names keeps what its children are built from: `name` and `args` as given, and the
/// class's own arguments (`own`, as prometheus_client's `_kwargs`).
pub(crate) fn init<T: MetricClass>(
    slf: &Bound<'_, T>,
    name: &Bound<'_, PyAny>,
    args: &MetricArgs<'_>,
    mut base: Base<T::M, T::X>,
    own: &[(&str, Bound<'_, PyAny>)],
) -> PyResult<()> {
    let py = slf.py();
    if !slf.as_any().is_exact_instance_of::<T>() && !args.labelnames.is_empty() {
        let kwargs = PyDict::new(py);
        kwargs.set_item("documentation", &args.documentation)?;
        kwargs.set_item("labelnames", PyTuple::new(py, &args.labelnames)?)?;
        kwargs.set_item("namespace", &args.namespace)?;
        kwargs.set_item("subsystem", &args.subsystem)?;
        kwargs.set_item("unit", &args.unit)?;
        for (key, value) in own {
            kwargs.set_item(key, value)?;
        }
        base.subclass = Some(Box::new(SubclassParent {
            name: name.cast::<PyString>()?.clone().unbind(),
            kwargs: kwargs.unbind(),
            children: PyDict::new(py).unbind(),
        }));
    }
    T::started(&base);
    slf.get().slot().set(base)
}

/// The child a subclass instance's `labels()` is building: its parent (an instance of the
/// same class) and the series it records into, handed from [`subclass_child`] to the child's
/// `__init__` across the subclass's own `__init__`, which cannot pass them on.
struct PendingChild {
    parent: Py<PyAny>,
    handle: Box<dyn Any + Send>,
}

thread_local! {
    static PENDING_CHILD: RefCell<Option<PendingChild>> = const { RefCell::new(None) };
}

/// In `__init__`: when this object is the child a subclass instance's `labels()` is building
/// (`_labelvalues` given and a child pending), it becomes a child of that parent's family, as
/// the plain class's child would (no family of its own, nothing registered; the name,
/// documentation and other arguments the subclass passed are its parent's). Returns whether
/// it did.
pub(crate) fn attach_child<T: MetricClass>(
    slf: &Bound<'_, T>,
    labelvalues: Option<&Bound<'_, PyAny>>,
) -> PyResult<bool> {
    if labelvalues.is_none_or(|v| v.is_none()) {
        return Ok(false);
    }
    let Some(pending) = PENDING_CHILD.with(|p| p.borrow_mut().take()) else {
        return Ok(false);
    };
    let py = slf.py();
    let parent = pending.parent.bind(py);
    if !parent.get_type().is(slf.as_any().get_type()) {
        return Err(PyTypeError::new_err(format!(
            "a child of {} was built as {}",
            parent.get_type().name()?,
            slf.as_any().get_type().name()?
        )));
    }
    let parent = parent.cast::<T>()?.get().base()?;
    let handle = pending
        .handle
        .downcast::<T::M>()
        .map_err(|_| PyTypeError::new_err("a child of another metric type"))?;
    let base = parent.child(*handle);
    T::started(&base);
    slf.get().slot().set(base)?;
    Ok(true)
}

/// `labels()` of any metric object: a plain class's child is built here; a subclass
/// instance's by calling the subclass (see [`subclass_child`]).
pub(crate) fn labels<T: MetricClass>(
    slf: &Bound<'_, T>,
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Py<PyAny>>
where
    PyClassInitializer<T>: From<T>,
{
    let py = slf.py();
    let base = slf.get().base()?;
    base.labels(py, args, kwargs, |values, handle| match &base.subclass {
        None => {
            let child = base.child(handle);
            T::started(&child);
            Ok(Bound::new(py, T::with_slot(Slot::full(child)))?
                .into_any()
                .unbind())
        }
        Some(sub) => subclass_child(slf.as_any(), sub, values, Box::new(handle)),
    })
}

/// A subclass instance's child, built as prometheus_client builds it:
/// `type(parent)(name, documentation=..., labelnames=..., namespace=..., subsystem=...,
/// unit=..., _labelvalues=..., **own)`, so it is an instance of the subclass whose `__init__`
/// ran. Its `__init__` reaches the metric class's with `_labelvalues`, which takes the pending
/// child ([`attach_child`]) and records into `handle`, the parent's series for these values.
fn subclass_child(
    parent: &Bound<'_, PyAny>,
    sub: &SubclassParent,
    values: &[String],
    handle: Box<dyn Any + Send>,
) -> PyResult<Py<PyAny>> {
    let py = parent.py();
    let kwargs = sub.kwargs.bind(py).copy()?;
    kwargs.set_item("_labelvalues", PyTuple::new(py, values)?)?;
    let pending = PendingChild {
        parent: parent.clone().unbind(),
        handle,
    };
    // Restored after the call: the subclass's __init__ may itself call labels() of others.
    let outer = PENDING_CHILD.with(|p| p.replace(Some(pending)));
    let built = parent.get_type().call((sub.name.bind(py),), Some(&kwargs));
    let unused = PENDING_CHILD.with(|p| p.replace(outer));
    let child = built?;
    if unused.is_some() {
        return Err(PyTypeError::new_err(format!(
            "{}.__init__ did not pass _labelvalues on to super().__init__(), which builds the \
             child labels() asked for",
            parent.get_type().name()?
        )));
    }
    Ok(child.unbind())
}

#[cold]
#[inline(never)]
fn missing_label_values(kind: &str) -> PyErr {
    PyValueError::new_err(format!("{kind} metric is missing label values"))
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

/// Generates a metric class's `#[pymethods]`: the methods every class shares (`__new__`,
/// `labels`, `remove`, `clear`, registration handle, introspection) followed by the class's
/// own, `__init__` first. `__new__` takes any arguments and leaves the state empty: `__init__`
/// builds it, from the arguments a subclass's `__init__` chose; `$signature` is the class's
/// (for `inspect.signature` and the stubs' check). `#[pymethods]` is written at the call site: the code PyO3 generates for `__init__` mixes its own identifiers with the
/// signature's, so both must come from the same place.
macro_rules! metric_methods {
    ($hash:tt $pymethods:tt $ty:ident, $signature:literal, { $($own:tt)* }) => {
        $hash $pymethods
        impl $ty {
            #[new]
            #[pyo3(signature = (*_args, **_kwargs), text_signature = $signature)]
            fn __new__(
                _args: &Bound<'_, pyo3::types::PyTuple>,
                _kwargs: Option<&Bound<'_, pyo3::types::PyDict>>,
            ) -> Self {
                <$ty as $crate::family::MetricClass>::with_slot($crate::family::Slot::empty())
            }

            #[pyo3(signature = (*args, **kwargs))]
            fn labels(
                slf: &Bound<'_, Self>,
                args: &Bound<'_, pyo3::types::PyTuple>,
                kwargs: Option<&Bound<'_, pyo3::types::PyDict>>,
            ) -> PyResult<Py<PyAny>> {
                $crate::family::labels(slf, args, kwargs)
            }

            #[pyo3(signature = (*labelvalues))]
            fn remove(&self, py: Python<'_>, labelvalues: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<()> {
                $crate::family::MetricClass::base(self)?.remove(py, labelvalues)
            }

            fn clear(&self, py: Python<'_>) -> PyResult<()> {
                $crate::family::MetricClass::base(self)?.clear(py)
            }

            fn remove_by_labels(&self, py: Python<'_>, labels: &Bound<'_, PyAny>) -> PyResult<()> {
                $crate::family::MetricClass::base(self)?.remove_by_labels(py, labels)
            }

            fn _footmetrics_collector(&self) -> PyResult<$crate::registry::CollectorHandle> {
                Ok($crate::registry::handle_of(&$crate::family::MetricClass::base(self)?.family))
            }

            #[getter]
            fn _name(&self) -> PyResult<&str> {
                Ok(&*$crate::family::MetricClass::base(self)?.name)
            }

            #[getter]
            fn _labelnames<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyTuple>> {
                pyo3::types::PyTuple::new(py, $crate::family::MetricClass::base(self)?.labelnames.iter())
            }

            /// prometheus_client's shape; a subclass is named by its own module and name.
            fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
                let name = &$crate::family::MetricClass::base(slf.get())?.name;
                if slf.is_exact_instance_of::<Self>() {
                    return Ok(format!("footmetrics.metrics.{}({})", stringify!($ty), name));
                }
                let ty = slf.get_type();
                Ok(format!("{}.{}({})", ty.module()?, ty.name()?, name))
            }

            $($own)*
        }
    };
}
pub(crate) use metric_methods;
