//! Registries: sets of collectors rendered together.
//!
//! Registration takes a write lock; a scrape takes the read lock only to walk the collector
//! list. Metric writers never touch either: they write their cells directly, so a scrape never
//! makes a writer wait.

use crate::collector::Collector;
use crate::collector::Desc;
use crate::encode::Encoder;
use crate::encode::Format;
use crate::encode::TextStyle;
use crate::error::{Error, Result};
use crate::family::Family;
use crate::fmt::render_pairs;
use crate::metric::{Metric, MetricFamily, MetricType, PointValue};
use crate::opts::Opts;
use crate::validate;
use crate::{Counter, Gauge, Histogram, Info, StateSet, Summary};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

struct Entry {
    id: usize,
    names: Vec<String>,
    collector: Arc<dyn Collector>,
    /// Registered without names while the registry collects such collectors in restricted
    /// views (see [`Registry::set_collect_nameless`]).
    nameless: bool,
}

/// The sample name the target info family takes; no collector may produce it while it is set.
pub(crate) const TARGET_INFO: &str = "target_info";

/// The registry's target info: an info family `target` (`target_info{...} 1`) and its labels.
struct TargetInfo {
    family: Family<Info>,
    labels: Vec<(String, String)>,
}

struct RegistryInner {
    const_labels: Vec<(String, String)>,
    const_rendered: String,
    entries: RwLock<Vec<Entry>>,
    /// [`TextStyle`] as its discriminant: 0 Go, 1 prometheus_client.
    text_style: AtomicU8,
    /// Whether collectors registered without names from now on are collected by restricted
    /// views (they cannot be selected by name).
    collect_nameless: AtomicBool,
    /// Rendered first; changed under the `entries` write lock.
    target_info: RwLock<Option<TargetInfo>>,
}

/// A set of collectors. Cheap to clone; clones share the set.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<RegistryInner>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

/// Name of the self-metric counting lookups folded into overflow series.
pub(crate) const OVERFLOW_METRIC: &str = "footmetrics_cardinality_overflow";

impl Registry {
    /// An empty registry without const labels.
    pub fn new() -> Self {
        Registry {
            inner: Arc::new(RegistryInner {
                const_labels: Vec::new(),
                const_rendered: String::new(),
                entries: RwLock::new(Vec::new()),
                text_style: AtomicU8::new(0),
                collect_nameless: AtomicBool::new(false),
                target_info: RwLock::new(None),
            }),
        }
    }

    /// A registry whose every sample carries these labels (e.g. `service`, `env`).
    pub fn with_const_labels<K: AsRef<str>, V: AsRef<str>>(labels: &[(K, V)]) -> Result<Self> {
        validate::label_names(labels.iter().map(|(k, _)| k.as_ref()), &[])?;
        let mut rendered = String::new();
        render_pairs(
            &mut rendered,
            labels.iter().map(|(k, v)| (k.as_ref(), v.as_ref())),
        );
        Ok(Registry {
            inner: Arc::new(RegistryInner {
                const_labels: labels
                    .iter()
                    .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
                    .collect(),
                const_rendered: rendered,
                entries: RwLock::new(Vec::new()),
                text_style: AtomicU8::new(0),
                collect_nameless: AtomicBool::new(false),
                target_info: RwLock::new(None),
            }),
        })
    }

    /// How the classic text format is written from now on (OpenMetrics is unaffected).
    pub fn set_text_style(&self, style: TextStyle) {
        let v = match style {
            TextStyle::Go => 0,
            TextStyle::PrometheusClient => 1,
        };
        self.inner.text_style.store(v, Ordering::Relaxed);
    }

    /// The classic text format's style (see [`set_text_style`](Self::set_text_style)).
    pub fn text_style(&self) -> TextStyle {
        match self.inner.text_style.load(Ordering::Relaxed) {
            0 => TextStyle::Go,
            _ => TextStyle::PrometheusClient,
        }
    }

    /// Whether collectors registered from now on that name nothing (no descriptions) are
    /// collected by every [`restricted`](Self::restricted) view, as prometheus_client's
    /// `support_collectors_without_names`. Off by default: such collectors are left out.
    pub fn set_collect_nameless(&self, on: bool) {
        self.inner.collect_nameless.store(on, Ordering::Relaxed);
    }

    /// Whether a registration or a scrape holds the registry's lock right now.
    pub fn is_locked(&self) -> bool {
        self.inner.entries.try_write().is_err()
    }

    /// Sets the target info labels (`target_info{labels} 1`, help "Target metadata", rendered
    /// first), replaces them, or removes the family when `labels` is empty. Setting it fails
    /// while another collector produces `target_info`; while it is set, registering one fails.
    pub fn set_target_info<K: AsRef<str>, V: AsRef<str>>(&self, labels: &[(K, V)]) -> Result<()> {
        let entries = self
            .inner
            .entries
            .write()
            .unwrap_or_else(|e| e.into_inner());
        let mut target = self
            .inner
            .target_info
            .write()
            .unwrap_or_else(|e| e.into_inner());
        if labels.is_empty() {
            *target = None;
            return Ok(());
        }
        if target.is_none()
            && entries
                .iter()
                .any(|e| e.names.iter().any(|n| n == TARGET_INFO))
        {
            return Err(Error::AlreadyRegistered(TARGET_INFO.to_owned()));
        }
        let family = Family::<Info>::new(&Opts::new("target", "Target metadata"))?;
        family.unlabelled()?.set(labels)?;
        *target = Some(TargetInfo {
            family,
            labels: labels
                .iter()
                .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
                .collect(),
        });
        Ok(())
    }

    /// The target info labels, if set.
    pub fn target_info(&self) -> Option<Vec<(String, String)>> {
        self.inner
            .target_info
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|t| t.labels.clone())
    }

    fn target_family(&self) -> Option<Family<Info>> {
        self.inner
            .target_info
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|t| t.family.clone())
    }

    /// Adds a collector. Fails if it is already registered, if any name it produces is
    /// already produced by another collector, or if its labels clash with the registry's.
    pub fn register<C: Collector>(&self, collector: C) -> Result<()> {
        self.register_arc(Arc::new(collector))
    }

    /// [`register`](Self::register) for a collector already shared behind an `Arc`.
    pub fn register_arc(&self, collector: Arc<dyn Collector>) -> Result<()> {
        let descs = collector.descs();
        for d in &descs {
            for l in d
                .label_names
                .iter()
                .chain(d.const_labels.iter().map(|(k, _)| k))
            {
                if self.inner.const_labels.iter().any(|(k, _)| k == l) {
                    return Err(Error::DuplicateLabelName(l.clone()));
                }
            }
        }
        let names: Vec<String> = descs.iter().flat_map(|d| d.sample_names()).collect();
        let id = collector.id();
        let mut entries = self
            .inner
            .entries
            .write()
            .unwrap_or_else(|e| e.into_inner());
        if entries.iter().any(|e| e.id == id) {
            return Err(Error::AlreadyRegistered(
                descs.first().map_or_else(String::new, |d| d.name.clone()),
            ));
        }
        for n in &names {
            if entries.iter().any(|e| e.names.contains(n)) {
                return Err(Error::AlreadyRegistered(n.clone()));
            }
        }
        if names.iter().any(|n| n == TARGET_INFO) && self.target_family().is_some() {
            return Err(Error::AlreadyRegistered(TARGET_INFO.to_owned()));
        }
        let nameless = names.is_empty() && self.inner.collect_nameless.load(Ordering::Relaxed);
        entries.push(Entry {
            id,
            names,
            collector,
            nameless,
        });
        Ok(())
    }

    /// Removes a collector registered before.
    pub fn unregister(&self, collector: &dyn Collector) -> Result<()> {
        let id = collector.id();
        let mut entries = self
            .inner
            .entries
            .write()
            .unwrap_or_else(|e| e.into_inner());
        match entries.iter().position(|e| e.id == id) {
            Some(i) => {
                entries.remove(i);
                Ok(())
            }
            None => Err(Error::NotRegistered(
                collector
                    .descs()
                    .first()
                    .map_or_else(String::new, |d| d.name.clone()),
            )),
        }
    }

    /// Removes the collector producing the family `name` (base name or any sample name).
    pub fn unregister_name(&self, name: &str) -> Result<()> {
        let mut entries = self
            .inner
            .entries
            .write()
            .unwrap_or_else(|e| e.into_inner());
        match entries
            .iter()
            .position(|e| e.names.iter().any(|n| n == name))
        {
            Some(i) => {
                entries.remove(i);
                Ok(())
            }
            None => Err(Error::NotRegistered(name.to_owned())),
        }
    }

    /// Creates and registers a family.
    pub fn family<M: Metric>(&self, opts: &Opts) -> Result<Family<M>> {
        let f = Family::<M>::new(opts)?;
        self.register(f.clone())?;
        Ok(f)
    }

    /// Creates and registers an unlabelled counter.
    pub fn counter(&self, opts: &Opts) -> Result<Counter> {
        self.family::<Counter>(&unlabelled(opts)?)?.unlabelled()
    }
    /// Creates and registers an unlabelled gauge.
    pub fn gauge(&self, opts: &Opts) -> Result<Gauge> {
        self.family::<Gauge>(&unlabelled(opts)?)?.unlabelled()
    }
    /// Creates and registers an unlabelled histogram.
    pub fn histogram(&self, opts: &Opts) -> Result<Histogram> {
        self.family::<Histogram>(&unlabelled(opts)?)?.unlabelled()
    }
    /// Creates and registers an unlabelled summary.
    pub fn summary(&self, opts: &Opts) -> Result<Summary> {
        self.family::<Summary>(&unlabelled(opts)?)?.unlabelled()
    }
    /// Creates and registers an unlabelled info metric.
    pub fn info(&self, opts: &Opts) -> Result<Info> {
        self.family::<Info>(&unlabelled(opts)?)?.unlabelled()
    }
    /// Creates and registers an unlabelled state set.
    pub fn state_set(&self, opts: &Opts) -> Result<StateSet> {
        self.family::<StateSet>(&unlabelled(opts)?)?.unlabelled()
    }
    /// Creates and registers a family of counters labelled by `opts`' label names.
    pub fn counter_vec(&self, opts: &Opts) -> Result<Family<Counter>> {
        self.family(opts)
    }
    /// Creates and registers a family of gauges labelled by `opts`' label names.
    pub fn gauge_vec(&self, opts: &Opts) -> Result<Family<Gauge>> {
        self.family(opts)
    }
    /// Creates and registers a family of histograms labelled by `opts`' label names.
    pub fn histogram_vec(&self, opts: &Opts) -> Result<Family<Histogram>> {
        self.family(opts)
    }
    /// Creates and registers a family of summaries labelled by `opts`' label names.
    pub fn summary_vec(&self, opts: &Opts) -> Result<Family<Summary>> {
        self.family(opts)
    }

    /// Appends the exposition of every collector to `out` (which callers reuse between
    /// scrapes, so a warm scrape allocates nothing for built-in families).
    pub fn encode(&self, format: Format, out: &mut Vec<u8>) {
        self.encode_with_defaults(format, out, &[]);
    }

    /// [`encode`](Self::encode) with default labels for series that lack them (see
    /// [`Encoder::with_default_labels`]).
    pub fn encode_with_defaults(
        &self,
        format: Format,
        out: &mut Vec<u8>,
        default_labels: &[(String, String)],
    ) {
        if format == Format::Protobuf {
            let mut families = self.gather();
            add_default_labels(&mut families, default_labels);
            crate::protobuf::encode(&families, out);
            return;
        }
        let entries = self.inner.entries.read().unwrap_or_else(|e| e.into_inner());
        let mut enc = Encoder::new(out, format, &self.inner.const_rendered)
            .with_text_style(self.text_style())
            .with_default_labels(default_labels);
        let mut overflowed: Vec<(String, u64)> = Vec::new();
        if let Some(t) = self.target_family() {
            t.encode(&mut enc);
        }
        for e in entries.iter() {
            e.collector.encode(&mut enc);
            overflowed.extend(e.collector.overflowed());
        }
        drop(entries);
        if !overflowed.is_empty() {
            enc.family(&overflow_family(overflowed));
        }
        enc.finish();
    }

    /// Renders to a new string.
    pub fn render(&self, format: Format) -> String {
        let mut out = Vec::with_capacity(4096);
        self.encode(format, &mut out);
        String::from_utf8(out).expect("exposition is UTF-8")
    }

    /// Picks the format from `Accept`, writes the exposition into `out`, and returns the
    /// format (for its content type).
    pub fn encode_for_accept(&self, accept: Option<&str>, out: &mut Vec<u8>) -> Format {
        let format = Format::negotiate(accept);
        self.encode(format, out);
        format
    }

    /// The one entry point for scrape handlers: writes into `out` what a scrape with this
    /// `Accept` header and these `name[]` parameters gets (only the families with a sample
    /// named in `names`, unless it is empty) and returns its content type. A registry in
    /// [`TextStyle::PrometheusClient`] answers as prometheus_client does (its negotiation, name
    /// escaping and bytes, see [`crate::pyclient`]), so that Python's `start_http_server` serves
    /// what its `generate_latest` writes.
    pub fn scrape(&self, accept: Option<&str>, names: &[String], out: &mut Vec<u8>) -> String {
        if Format::negotiate(accept) == Format::Protobuf {
            // Every registry style answers protobuf when it is preferred: it is how native
            // histograms reach Prometheus.
            let mut families = self.gather();
            if !names.is_empty() {
                families.retain(|f| names.iter().any(|n| f.has_sample_named(n)));
            }
            crate::protobuf::encode(&families, out);
            return Format::Protobuf.content_type().to_string();
        }
        if self.text_style() == TextStyle::PrometheusClient {
            let (format, escaping, content_type) = crate::pyclient::negotiate(accept);
            let names = (!names.is_empty()).then_some(names);
            out.extend_from_slice(
                self.encode_prometheus_client(format, escaping, names)
                    .as_bytes(),
            );
            return content_type;
        }
        let format = Format::negotiate(accept);
        if names.is_empty() {
            self.encode(format, out);
        } else {
            let mut enc = Encoder::new(out, format, "").with_text_style(self.text_style());
            for family in self.gather() {
                if names.iter().any(|n| family.has_sample_named(n)) {
                    enc.family(&family);
                }
            }
            enc.finish();
        }
        format.content_type().to_string()
    }

    /// The exposition as prometheus_client writes it (see [`crate::pyclient`]), restricted to
    /// the families with a sample named in `names` when given.
    pub fn encode_prometheus_client(
        &self,
        format: Format,
        escaping: crate::pyclient::NameEscaping,
        names: Option<&[String]>,
    ) -> String {
        let mut families = self.gather();
        if let Some(names) = names {
            families.retain(|f| names.iter().any(|n| f.has_sample_named(n)));
        }
        let mut out = String::with_capacity(64 * 1024);
        match format {
            // Protobuf is binary: `scrape` and `encode` give it; a string gets the text format.
            Format::Text | Format::Protobuf => {
                crate::pyclient::write_text(&mut out, &families, escaping)
            }
            Format::OpenMetrics => {
                crate::pyclient::write_openmetrics(&mut out, &families, escaping)
            }
        }
        out
    }

    /// Every family as owned data, registry const labels included on each point.
    pub fn gather(&self) -> Vec<MetricFamily> {
        let entries = self.inner.entries.read().unwrap_or_else(|e| e.into_inner());
        let mut out = self
            .target_family()
            .map(|t| t.collect())
            .unwrap_or_default();
        let mut overflowed = Vec::new();
        for e in entries.iter() {
            out.extend(e.collector.collect());
            overflowed.extend(e.collector.overflowed());
        }
        drop(entries);
        if !overflowed.is_empty() {
            out.push(overflow_family(overflowed));
        }
        self.add_const_labels(&mut out);
        out
    }

    /// Only the samples named in `names`, as prometheus_client's restricted registries
    /// collect them: from the collectors producing one of those names (and those registered
    /// without names while [`set_collect_nameless`](Self::set_collect_nameless) was on), each
    /// family cut down to the named samples and left out when none is. The target info
    /// comes first when `target_info` is named. The lock is released before any collector runs.
    pub fn gather_restricted(&self, names: &HashSet<String>) -> Vec<MetricFamily> {
        let collectors: Vec<Arc<dyn Collector>> = {
            let entries = self.inner.entries.read().unwrap_or_else(|e| e.into_inner());
            entries
                .iter()
                .filter(|e| {
                    e.nameless
                        || e.names
                            .iter()
                            .any(|n| n != TARGET_INFO && names.contains(n))
                })
                .map(|e| e.collector.clone())
                .collect()
        };
        let mut out = Vec::new();
        if names.contains(TARGET_INFO) {
            if let Some(t) = self.target_family() {
                out.extend(t.collect());
            }
        }
        for c in collectors {
            out.extend(c.collect());
        }
        self.add_const_labels(&mut out);
        out.iter().filter_map(|f| f.restricted(names)).collect()
    }

    /// A registry rendering only the samples named in `names` of this one, as it is at each
    /// scrape (metrics registered here later are included): see
    /// [`gather_restricted`](Self::gather_restricted).
    pub fn restricted(&self, names: impl IntoIterator<Item = String>) -> Registry {
        let view = Registry::new();
        view.set_text_style(self.text_style());
        // A fresh registry holds nothing this could clash with.
        let _ = view.register(self.restricted_collector(names));
        view
    }

    /// The collector behind [`restricted`](Self::restricted), for a view that registers
    /// collectors of its own ahead of it.
    pub fn restricted_collector(&self, names: impl IntoIterator<Item = String>) -> impl Collector {
        Restricted {
            registry: self.clone(),
            names: names.into_iter().collect(),
        }
    }

    fn add_const_labels(&self, out: &mut [MetricFamily]) {
        if !self.inner.const_labels.is_empty() {
            for f in out.iter_mut() {
                for p in &mut f.points {
                    let mut labels = self.inner.const_labels.clone();
                    labels.append(&mut p.labels);
                    p.labels = labels;
                }
            }
        }
    }
}

/// The collector behind [`Registry::restricted`].
struct Restricted {
    registry: Registry,
    names: HashSet<String>,
}

impl Collector for Restricted {
    fn descs(&self) -> Vec<Desc> {
        Vec::new()
    }
    fn collect(&self) -> Vec<MetricFamily> {
        self.registry.gather_restricted(&self.names)
    }
}

fn unlabelled(opts: &Opts) -> Result<Opts> {
    if !opts.label_names.is_empty() {
        return Err(Error::InvalidOption(
            "use the *_vec constructors for labelled metrics".into(),
        ));
    }
    Ok(opts.clone())
}

fn overflow_family(overflowed: Vec<(String, u64)>) -> MetricFamily {
    let mut f = MetricFamily::new(
        OVERFLOW_METRIC,
        "Lookups of label sets not admitted because their family reached its cardinality limit; they were recorded in the family's overflow series.",
        MetricType::Counter,
    );
    for (metric, n) in overflowed {
        f.push(
            [("metric", metric)],
            PointValue::Counter {
                value: n as f64,
                created: None,
                exemplar: None,
            },
        );
    }
    f
}

/// The process-wide default registry. On Linux it starts with the process collector.
pub fn default_registry() -> &'static Registry {
    static DEFAULT: OnceLock<Registry> = OnceLock::new();
    DEFAULT.get_or_init(|| {
        let r = Registry::new();
        if cfg!(target_os = "linux") {
            // A fresh registry has no names yet, so this cannot clash.
            let _ = r.register(crate::process::ProcessCollector::new());
        }
        r
    })
}

/// Adds each default label to the points that lack a label of that name.
fn add_default_labels(families: &mut [MetricFamily], defaults: &[(String, String)]) {
    if defaults.is_empty() {
        return;
    }
    for p in families.iter_mut().flat_map(|f| f.points.iter_mut()) {
        for (k, v) in defaults {
            if !p.labels.iter().any(|(have, _)| have == k) {
                p.labels.push((k.clone(), v.clone()));
            }
        }
    }
}
