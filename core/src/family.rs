//! Label families: one metric per distinct set of label values.
//!
//! # Lookup without locks
//! Children live in a [`SeriesMap`]. A hit hashes the label values as given (no allocation;
//! a [`LabelValue`](crate::LabelValue) brings its hash), compares them with the stored key,
//! and returns a reference protected by an epoch guard ([`crate::epoch`]): two plain stores to
//! a thread's own slot, no shared write and no atomic read-modify-write, so lookups from many
//! threads do not bounce cache lines. Only a miss takes the family's `write_lock`, which serialises child
//! creation, removal and the cardinality check; writers of existing children never take it.
//!
//! # Bounded cardinality
//! At most `limit` label sets are admitted. Past it, every new label set resolves to one
//! overflow child whose label values are all [`OVERFLOW_LABEL_VALUE`], and the family's
//! `overflowed` count rises (exposed as `footmetrics_cardinality_overflow_total`).

use crate::collector::{Collector, Desc};
use crate::encode::Encoder;
use crate::epoch::{pin, Guard};
use crate::error::{Error, Result};
use crate::fmt::render_pairs;
use crate::label_value::{hash_values, AsLabelValue};
use crate::metric::{ChildMeta, Metric, MetricFamily, MetricPoint, MetricType, SeriesWriter};
use crate::opts::Opts;
use crate::series_map::{with_guard, Borrowed, RawHandle, SeriesMap};
use crate::validate;

use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The label value every label of the overflow series carries.
pub const OVERFLOW_LABEL_VALUE: &str = "__overflow__";

/// Most label names a by-name lookup resolves without allocating.
const MAX_STACK_LABELS: usize = 16;

/// Lookup key: label values as given. A child's own values are in its [`ChildMeta`], which
/// is what a key is compared with (the map stores no second copy).
struct LabelRef<'a, S>(&'a [S]);

impl<S: AsLabelValue> LabelRef<'_, S> {
    #[inline]
    fn hash(&self) -> u64 {
        hash_values(self.0)
    }

    #[inline]
    fn matches<M: Metric>(&self, child: &M) -> bool {
        child.meta().matches(self.0)
    }
}

type ChildMap<M> = SeriesMap<Child<M>>;

pub(crate) struct FamilyInner<M: Metric> {
    pub(crate) desc: Desc,
    config: M::Config,
    /// Family const labels, rendered once; every child's rendered labels start with them.
    const_rendered: String,
    children: ChildMap<M>,
    /// The only child of a family without labels (never in `children`).
    single: Option<M>,
    /// Serialises misses, removal and sweeps; never taken on a hit.
    write_lock: Mutex<()>,
    /// Admitted label sets (the overflow child excluded). Changed under `write_lock` only.
    admitted: AtomicUsize,
    limit: usize,
    /// Set once `admitted` reaches `limit`, so overflowing lookups skip the lock.
    full: AtomicBool,
    overflowed: AtomicU64,
    /// Bumped after every removal of a child, so callers that cache resolved handles can tell
    /// theirs may have been detached (see [`Family::generation`]).
    generation: AtomicU64,
    /// Bumped after every insertion of a child (with `generation`, when `scrape_order` is stale).
    inserted: AtomicU64,
    /// The children in creation order, as scrapes last listed them: rebuilt only when a child
    /// was added or removed since, so a scrape walks a dense array (and can prefetch ahead)
    /// instead of the map.
    scrape_order: Mutex<ScrapeOrder<M>>,
    /// The creation number the next child gets (children are gathered in creation order).
    next_seq: AtomicU64,
    expiry_ms: Option<u64>,
    /// With an expiry: each child's cells' fingerprint at the last sweep and when it last
    /// changed (ms since `epoch`), by the child's address. Kept here, not in every child, so
    /// families without expiry pay no memory for it.
    idle: Mutex<std::collections::HashMap<usize, (u64, u64)>>,
    epoch: Instant,
    /// The sample is named exactly as the family (see `Opts::exact_name`).
    exact_name: bool,
}

/// See `FamilyInner::scrape_order`.
struct ScrapeOrder<M> {
    /// `(generation, inserted)` when `children` was listed.
    version: (u64, u64),
    children: Vec<M>,
}

/// A family of metrics of type `M`, one per set of label values. Cheap to clone.
pub struct Family<M: Metric> {
    pub(crate) inner: Arc<FamilyInner<M>>,
}

impl<M: Metric> Clone for Family<M> {
    fn clone(&self) -> Self {
        Family {
            inner: self.inner.clone(),
        }
    }
}

impl<M: Metric> std::fmt::Debug for Family<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Family")
            .field("desc", &self.inner.desc)
            .finish_non_exhaustive()
    }
}

/// A resolved child, borrowed from its family. Derefs to the metric handle; holding it keeps
/// the child's memory alive even if another thread removes it meanwhile. Meant for one-shot
/// use (`family.get(&[..])?.inc()`); keep a clone of the handle for long-lived use.
pub struct ChildRef<'a, M> {
    /// Borrowed: never dropped, so resolving touches no reference count. Valid while `_guard`
    /// lives (a child of the map), or while the family is borrowed (its single child).
    handle: ManuallyDrop<M>,
    _guard: Option<Guard>,
    _family: PhantomData<&'a M>,
}

impl<M> Deref for ChildRef<'_, M> {
    type Target = M;
    #[inline(always)]
    fn deref(&self) -> &M {
        &self.handle
    }
}

impl<'a, M: Metric> ChildRef<'a, M> {
    /// A child the map handed out under `guard`.
    #[inline(always)]
    fn stored(child: Borrowed<'_, Child<M>>, guard: Guard) -> Self {
        let handle = ManuallyDrop::into_inner(child.into_inner()).0;
        ChildRef {
            handle: ManuallyDrop::new(handle),
            _guard: Some(guard),
            _family: PhantomData,
        }
    }
}

/// A family's child as its map stores it: by the handle's raw pointer.
struct Child<M>(M);

// SAFETY: `Metric::into_raw`/`from_raw` are an `Arc`'s, inverse of each other.
unsafe impl<M: Metric> RawHandle for Child<M> {
    fn into_raw(self) -> *const () {
        self.0.into_raw()
    }
    unsafe fn from_raw(p: *const ()) -> Self {
        Child(unsafe { M::from_raw(p) })
    }
}

/// A stored child's hash, as lookups compute it from label values.
fn child_hash<M: Metric>(child: &Child<M>) -> u64 {
    let values: Vec<&str> = child.0.meta().label_values().collect();
    hash_values(&values)
}

impl<M: Metric> Family<M> {
    /// Validates `opts` for type `M` and creates an empty family (not registered anywhere).
    pub fn new(opts: &Opts) -> Result<Self> {
        let name = opts.family_name(M::TYPE)?;
        let config = M::config(opts)?;
        let reserved = M::reserved_labels(&config, &name);
        let reserved: Vec<&str> = reserved.iter().map(String::as_str).collect();
        let all_names = opts
            .const_labels
            .iter()
            .map(|(k, _)| k.as_str())
            .chain(opts.label_names.iter().map(String::as_str));
        validate::label_names(all_names, &reserved)?;
        if opts.cardinality_limit == 0 {
            return Err(Error::InvalidOption(
                "cardinality limit must be at least 1".into(),
            ));
        }
        let mut const_rendered = String::new();
        render_pairs(
            &mut const_rendered,
            opts.const_labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        let desc = Desc {
            name,
            help: opts.help.clone(),
            unit: opts.unit.clone(),
            kind: M::TYPE,
            label_names: opts.label_names.clone(),
            const_labels: opts.const_labels.clone(),
        };
        let epoch = Instant::now();
        let single = if opts.label_names.is_empty() {
            Some(M::new_child(
                &config,
                ChildMeta::unlabelled(&const_rendered),
            ))
        } else {
            None
        };
        Ok(Family {
            inner: Arc::new(FamilyInner {
                desc,
                config,
                const_rendered,
                children: ChildMap::new(child_hash::<M>),
                single,
                write_lock: Mutex::new(()),
                admitted: AtomicUsize::new(0),
                limit: opts.cardinality_limit,
                full: AtomicBool::new(false),
                overflowed: AtomicU64::new(0),
                generation: AtomicU64::new(0),
                inserted: AtomicU64::new(0),
                scrape_order: Mutex::new(ScrapeOrder {
                    version: (u64::MAX, 0),
                    children: Vec::new(),
                }),
                next_seq: AtomicU64::new(0),
                expiry_ms: opts.expiry.map(|d| d.as_millis().max(1) as u64),
                idle: Mutex::new(std::collections::HashMap::new()),
                epoch,
                exact_name: opts.exact_sample_name(M::TYPE),
            }),
        })
    }

    /// The family's name, help, unit, type and label names.
    pub fn desc(&self) -> &Desc {
        &self.inner.desc
    }

    /// The settings every child shares (bucket bounds, state names, …).
    pub fn config(&self) -> &M::Config {
        &self.inner.config
    }

    /// The metric of a family without labels.
    pub fn unlabelled(&self) -> Result<M> {
        self.inner.single.clone().ok_or(Error::LabelCount {
            expected: self.inner.desc.label_names.len(),
            got: 0,
        })
    }

    /// Resolves label values (in label-name order) to a borrowed child, creating it on first
    /// use. A hit takes no lock and allocates nothing.
    #[inline]
    pub fn get<S: AsLabelValue>(&self, values: &[S]) -> Result<ChildRef<'_, M>> {
        let inner = &*self.inner;
        if values.len() != inner.desc.label_names.len() {
            return Err(Error::LabelCount {
                expected: inner.desc.label_names.len(),
                got: values.len(),
            });
        }
        if let Some(single) = &inner.single {
            return Ok(ChildRef {
                // SAFETY: the family (borrowed for `'_`) holds this reference; never dropped.
                handle: ManuallyDrop::new(unsafe { M::from_raw(single.as_raw()) }),
                _guard: None,
                _family: PhantomData,
            });
        }
        let key = LabelRef(values);
        let hash = key.hash();
        let guard = pin();
        if let Some(m) = inner.children.get(hash, |m| key.matches(&m.0), &guard) {
            // SAFETY of the lifetime: the borrow is valid while `guard` lives, which the
            // `ChildRef` owns.
            let m: Borrowed<'_, Child<M>> = unsafe { std::mem::transmute(m) };
            return Ok(ChildRef::stored(m, guard));
        }
        drop(guard);
        self.get_slow(values)
    }

    #[cold]
    fn get_slow<S: AsLabelValue>(&self, values: &[S]) -> Result<ChildRef<'_, M>> {
        let inner = &*self.inner;
        let overflow = || {
            inner.overflowed.fetch_add(1, Ordering::Relaxed);
            let n = inner.desc.label_names.len();
            self.get_or_insert(&vec![OVERFLOW_LABEL_VALUE; n], false)
        };
        if inner.full.load(Ordering::Relaxed) {
            // Another thread may have created it meanwhile, or it may be the overflow itself.
            let key = LabelRef(values);
            let guard = pin();
            if let Some(m) = inner
                .children
                .get(key.hash(), |m| key.matches(&m.0), &guard)
            {
                let m: Borrowed<'_, Child<M>> = unsafe { std::mem::transmute(m) };
                return Ok(ChildRef::stored(m, guard));
            }
            drop(guard);
            return Ok(overflow());
        }
        let _lock = inner.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        if inner.admitted.load(Ordering::Relaxed) >= inner.limit
            && !with_guard(|g| {
                let key = LabelRef(values);
                inner
                    .children
                    .get(key.hash(), |m| key.matches(&m.0), g)
                    .is_some()
            })
        {
            inner.full.store(true, Ordering::Relaxed);
            drop(_lock);
            return Ok(overflow());
        }
        Ok(self.get_or_insert(values, true))
    }

    /// Returns the child for `values`, creating it if absent. `admit` counts it against the
    /// limit. Callers hold `write_lock` when `admit` is true.
    fn get_or_insert<S: AsLabelValue>(&self, values: &[S], admit: bool) -> ChildRef<'_, M> {
        let inner = &*self.inner;
        let lookup = LabelRef(values);
        let guard = pin();
        let (m, inserted) = inner.children.get_or_insert_with(
            lookup.hash(),
            |m| lookup.matches(&m.0),
            || {
                let child = M::new_child(&inner.config, self.meta_for(values));
                if inner.expiry_ms.is_some() {
                    // Idle from its creation on.
                    inner.idle.lock().unwrap_or_else(|e| e.into_inner()).insert(
                        child.as_raw() as usize,
                        (child.fingerprint(), self.now_ms()),
                    );
                }
                Child(child)
            },
            &guard,
        );
        let m: Borrowed<'_, Child<M>> = unsafe { std::mem::transmute(m) };
        if inserted {
            inner.inserted.fetch_add(1, Ordering::Release);
            if admit {
                inner.admitted.fetch_add(1, Ordering::Relaxed);
            }
        }
        ChildRef::stored(m, guard)
    }

    fn meta_for<S: AsLabelValue>(&self, values: &[S]) -> ChildMeta {
        let inner = &*self.inner;
        let mut rendered = inner.const_rendered.clone();
        if !rendered.is_empty() {
            rendered.push(',');
        }
        render_pairs(
            &mut rendered,
            inner
                .desc
                .label_names
                .iter()
                .map(String::as_str)
                .zip(values.iter().map(|v| v.label_str())),
        );
        let values: Vec<&str> = values.iter().map(|v| v.label_str()).collect();
        ChildMeta::new(
            &values,
            &rendered,
            inner.next_seq.fetch_add(1, Ordering::Relaxed),
        )
    }

    fn now_ms(&self) -> u64 {
        self.inner.epoch.elapsed().as_millis() as u64
    }

    /// Resolves label values to an owned handle (like the `prometheus` crate's
    /// `with_label_values`). Cloning the handle touches its reference count; for one-shot
    /// updates from many threads prefer [`get`](Self::get).
    pub fn with_label_values<S: AsLabelValue>(&self, values: &[S]) -> Result<M> {
        self.get(values).map(|c| (*c).clone())
    }

    /// Resolves labels given by name (any order). Allocates nothing for up to 16 labels.
    pub fn get_by_name<K: AsRef<str>, V: AsRef<str>>(
        &self,
        labels: &[(K, V)],
    ) -> Result<ChildRef<'_, M>> {
        let names = &self.inner.desc.label_names;
        if labels.len() != names.len() {
            return Err(Error::LabelCount {
                expected: names.len(),
                got: labels.len(),
            });
        }
        let find = |name: &str| -> Result<&str> {
            labels
                .iter()
                .find(|(k, _)| k.as_ref() == name)
                .map(|(_, v)| v.as_ref())
                .ok_or_else(|| {
                    Error::UnknownLabel(format!(
                        "expected {names:?}, got {:?}",
                        labels.iter().map(|(k, _)| k.as_ref()).collect::<Vec<_>>()
                    ))
                })
        };
        if names.len() <= MAX_STACK_LABELS {
            let mut ordered = [""; MAX_STACK_LABELS];
            for (slot, name) in ordered.iter_mut().zip(names) {
                *slot = find(name)?;
            }
            self.get(&ordered[..names.len()])
        } else {
            let ordered = names.iter().map(|n| find(n)).collect::<Result<Vec<_>>>()?;
            self.get(&ordered)
        }
    }

    /// Removes one label set; returns whether it existed. Held handles keep working but are
    /// no longer exported.
    pub fn remove<S: AsLabelValue>(&self, values: &[S]) -> Result<bool> {
        let inner = &*self.inner;
        if values.len() != inner.desc.label_names.len() {
            return Err(Error::LabelCount {
                expected: inner.desc.label_names.len(),
                got: values.len(),
            });
        }
        let _lock = inner.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        Ok(self.remove_locked(&LabelRef(values)))
    }

    fn remove_locked<S: AsLabelValue>(&self, key: &LabelRef<'_, S>) -> bool {
        let inner = &*self.inner;
        let is_overflow = key.0.iter().all(|v| v.label_str() == OVERFLOW_LABEL_VALUE);
        let removed = inner.children.remove(key.hash(), |m| key.matches(&m.0));
        if removed && !is_overflow {
            inner.admitted.fetch_sub(1, Ordering::Relaxed);
            inner.full.store(false, Ordering::Relaxed);
        }
        if removed {
            inner.generation.fetch_add(1, Ordering::Release);
        }
        removed
    }

    /// Removes every label set whose values match all of `labels` (`(label name, value)`
    /// pairs naming some of the family's labels); returns how many were removed. Fails, removing
    /// nothing, when a name is not one of the family's labels. No pairs remove nothing.
    pub fn remove_matching<K: AsRef<str>, V: AsRef<str>>(
        &self,
        labels: &[(K, V)],
    ) -> Result<usize> {
        let inner = &*self.inner;
        let names = &inner.desc.label_names;
        let mut wanted = Vec::with_capacity(labels.len());
        for (k, v) in labels {
            let Some(i) = names.iter().position(|n| n == k.as_ref()) else {
                return Err(Error::UnknownLabel(format!(
                    "{:?} is not one of {names:?}",
                    k.as_ref()
                )));
            };
            wanted.push((i, v.as_ref()));
        }
        if wanted.is_empty() {
            return Ok(0);
        }
        let _lock = inner.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut matching: Vec<Vec<String>> = Vec::new();
        with_guard(|g| {
            inner.children.for_each(g, |Child(m)| {
                let values: Vec<&str> = m.meta().label_values().collect();
                if wanted.iter().all(|(i, v)| values[*i] == *v) {
                    matching.push(values.iter().map(|v| v.to_string()).collect());
                }
            })
        });
        Ok(matching
            .iter()
            .filter(|k| self.remove_locked(&LabelRef(&k[..])))
            .count())
    }

    /// Removes every label set.
    pub fn clear(&self) {
        let inner = &*self.inner;
        let _lock = inner.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        inner.children.clear();
        // Free the children here, on the caller's thread, not in the next scrape.
        let listed = std::mem::take(
            &mut inner
                .scrape_order
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .children,
        );
        drop(listed);
        inner.admitted.store(0, Ordering::Relaxed);
        inner.full.store(false, Ordering::Relaxed);
        inner.generation.fetch_add(1, Ordering::Release);
        inner.children.collect_garbage();
    }

    /// Changes whenever a child is removed (by [`remove`](Self::remove), [`clear`](Self::clear)
    /// or expiry). A handle resolved while the generation was `g` is still exported if the
    /// generation is still `g`; caches of resolved handles compare it to know when to resolve
    /// again. One atomic load.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// Number of label sets currently exported (the overflow series included).
    pub fn len(&self) -> usize {
        if self.inner.single.is_some() {
            1
        } else {
            self.inner.children.len()
        }
    }

    /// Whether no label set is exported.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many lookups were folded into the overflow series.
    pub fn overflowed(&self) -> u64 {
        self.inner.overflowed.load(Ordering::Relaxed)
    }

    /// Removes label sets whose cells have not changed for the configured expiry. Runs at
    /// every scrape; callable directly. Returns how many were removed.
    ///
    /// "Not changed" is judged by the cells' fingerprint between sweeps, so writers pay
    /// nothing for expiry; a gauge set again to the value it already holds counts as idle.
    pub(crate) fn sweep_expired(&self) -> usize {
        let inner = &*self.inner;
        let Some(ttl) = inner.expiry_ms else { return 0 };
        let now = self.now_ms();
        let mut stale: Vec<Vec<String>> = Vec::new();
        {
            let mut idle = inner.idle.lock().unwrap_or_else(|e| e.into_inner());
            // Rebuilt from the live children, so removed ones leave it.
            let mut next = std::collections::HashMap::with_capacity(idle.len());
            with_guard(|g| {
                inner.children.for_each(g, |Child(m)| {
                    let key = m.as_raw() as usize;
                    let fp = m.fingerprint();
                    let (last_fp, changed) = idle.get(&key).copied().unwrap_or((fp, now));
                    if fp != last_fp {
                        next.insert(key, (fp, now));
                    } else {
                        next.insert(key, (fp, changed));
                        if now.saturating_sub(changed) >= ttl {
                            stale.push(m.meta().label_values().map(str::to_owned).collect());
                        }
                    }
                })
            });
            *idle = next;
        }
        if stale.is_empty() {
            return 0;
        }
        let _lock = inner.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        stale
            .iter()
            .filter(|k| self.remove_locked(&LabelRef(&k[..])))
            .count()
    }

    /// Each child's label values and handle (a snapshot; order unspecified).
    pub fn children(&self) -> Vec<(Vec<String>, M)> {
        if let Some(single) = &self.inner.single {
            return vec![(Vec::new(), single.clone())];
        }
        let mut out = Vec::new();
        with_guard(|g| {
            self.inner.children.for_each(g, |Child(m)| {
                out.push((
                    m.meta().label_values().map(str::to_owned).collect(),
                    m.clone(),
                ))
            })
        });
        out
    }

    /// The children in creation order (see `scrape_order`), refreshed if one was added or
    /// removed since the last call.
    fn scrape_order(&self) -> std::sync::MutexGuard<'_, ScrapeOrder<M>> {
        let inner = &*self.inner;
        let mut order = inner.scrape_order.lock().unwrap_or_else(|e| e.into_inner());
        // `generation` first: a removal bumps it after unlinking, so a listing made after this
        // load includes every insertion counted by the second load and no child removed before.
        let version = (
            inner.generation.load(Ordering::Acquire),
            inner.inserted.load(Ordering::Acquire),
        );
        if order.version != version {
            let mut children = Vec::with_capacity(self.len());
            self.for_each_child(|m| children.push(m.clone()));
            children.sort_by_key(|m| m.meta().seq);
            *order = ScrapeOrder { version, children };
        }
        order
    }

    /// Calls `f` on every child in creation order, prefetching the memory of the children a
    /// few places ahead (a scrape of many children is otherwise bound by memory latency).
    fn for_each_ordered(&self, mut f: impl FnMut(&M)) {
        let order = self.scrape_order();
        let children = &order.children;
        const AHEAD: usize = 8;
        for (i, m) in children.iter().enumerate() {
            if let Some(next) = children.get(i + AHEAD) {
                next.prefetch_handle();
            }
            if let Some(next) = children.get(i + AHEAD / 2) {
                next.prefetch_cells();
            }
            f(m);
        }
    }

    fn for_each_child(&self, mut f: impl FnMut(&M)) {
        match &self.inner.single {
            Some(single) => f(single),
            None => {
                with_guard(|g| self.inner.children.for_each(g, |Child(m)| f(m)));
                // Scrapes are where removed children are freed once readers are gone.
                self.inner.children.collect_garbage();
            }
        }
    }
}

impl<M: Metric> Collector for Family<M> {
    fn id(&self) -> usize {
        Arc::as_ptr(&self.inner) as *const () as usize
    }

    fn descs(&self) -> Vec<Desc> {
        vec![self.inner.desc.clone()]
    }

    fn encode(&self, enc: &mut Encoder<'_>) {
        self.sweep_expired();
        let d = &self.inner.desc;
        if self.inner.exact_name {
            // As client_golang's expfmt: OpenMetrics has no counter without `_total`.
            let kind = if enc.openmetrics() {
                MetricType::Unknown
            } else {
                d.kind
            };
            enc.header_parts(&d.name, "", &d.help, d.unit.as_deref(), kind);
        } else {
            enc.header(&d.name, &d.help, d.unit.as_deref(), d.kind);
        }
        let (openmetrics, registry_labels) = (enc.openmetrics(), enc.registry_labels());
        let label_floats = enc.openmetrics_label_floats();
        let created_family = enc.text_created_families();
        let out = enc.buffer();
        self.for_each_ordered(|m| {
            let mut w = SeriesWriter {
                out: &mut *out,
                openmetrics,
                openmetrics_label_floats: label_floats,
                name: &d.name,
                registry_labels,
                labels: m.meta().rendered(),
            };
            m.encode(&self.inner.config, &mut w);
        });
        // prometheus_client's classic style: `_created` as a gauge family after the family.
        // One pass: the header goes out first and is taken back if no child had a `_created`.
        if created_family {
            let mark = enc.buffer().len();
            enc.header(
                &format!("{}_created", d.name),
                &d.help,
                None,
                MetricType::Gauge,
            );
            let out = enc.buffer();
            let mut any = false;
            self.for_each_ordered(|m| {
                if let Some(c) = m.created() {
                    any = true;
                    let mut w = SeriesWriter {
                        out: &mut *out,
                        openmetrics,
                        openmetrics_label_floats: label_floats,
                        name: &d.name,
                        registry_labels,
                        labels: m.meta().rendered(),
                    };
                    w.start("_created", None);
                    w.f64(c);
                    w.end();
                }
            });
            if !any {
                out.truncate(mark);
            }
        }
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.sweep_expired();
        let d = &self.inner.desc;
        let mut family = MetricFamily {
            name: d.name.clone(),
            help: d.help.clone(),
            unit: d.unit.clone(),
            kind: d.kind,
            points: Vec::new(),
        };
        // In creation order, as prometheus_client and prom-client list children (the map's own
        // order is its hashing's).
        // Walked under the list's lock, as `encode` does: no copy of the list, no counts touched.
        let order = self.scrape_order();
        family.points.reserve(order.children.len());
        order.children.iter().for_each(|m| {
            let labels = d
                .const_labels
                .iter()
                .cloned()
                .chain(
                    d.label_names
                        .iter()
                        .cloned()
                        .zip(m.meta().label_values().map(str::to_owned)),
                )
                .collect();
            family.points.push(MetricPoint {
                labels,
                value: m.point(&self.inner.config),
            });
        });
        vec![family]
    }

    fn overflowed(&self) -> Vec<(String, u64)> {
        match self.overflowed() {
            0 => Vec::new(),
            n => vec![(self.inner.desc.name.clone(), n)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Counter, Gauge};

    #[test]
    fn exact_name_counters_write_the_name_as_given() {
        let r = crate::Registry::new();
        let c = r
            .counter_vec(&Opts::new("requests", "Requests.").exact_name(true))
            .unwrap();
        c.with_label_values(&[] as &[&str])
            .unwrap()
            .inc_by(5.0)
            .unwrap();
        // A `_total` name is written as usual, exact or not.
        let t = r
            .counter_vec(&Opts::new("jobs_total", "Jobs.").exact_name(true))
            .unwrap();
        t.with_label_values(&[] as &[&str]).unwrap().inc();
        let text = r.render(crate::Format::Text);
        assert!(
            text.contains("# HELP requests Requests.\n# TYPE requests counter\nrequests 5\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE jobs_total counter\njobs_total 1\n"),
            "{text}"
        );
        let om = r.render(crate::Format::OpenMetrics);
        assert!(
            om.contains("# HELP requests Requests.\n# TYPE requests unknown\nrequests 5\n"),
            "{om}"
        );
        assert!(om.contains("# TYPE jobs counter\njobs_total 1\n"), "{om}");
    }

    fn counters(limit: usize) -> Family<Counter> {
        Family::new(
            &Opts::new("requests_total", "Requests.")
                .labels(&["method", "code"])
                .cardinality_limit(limit),
        )
        .unwrap()
    }

    #[test]
    fn resolves_and_counts_labels() {
        let f = counters(100);
        f.get(&["GET", "200"]).unwrap().inc();
        f.get(&["GET", "200"]).unwrap().inc();
        f.get(&[String::from("GET"), String::from("500")])
            .unwrap()
            .inc();
        f.get_by_name(&[("code", "200"), ("method", "GET")])
            .unwrap()
            .inc();
        assert_eq!(f.with_label_values(&["GET", "200"]).unwrap().get(), 3.0);
        assert_eq!(f.len(), 2);
        assert_eq!(
            f.get(&["GET"]).err(),
            Some(Error::LabelCount {
                expected: 2,
                got: 1
            })
        );
        assert!(matches!(
            f.get_by_name(&[("code", "1"), ("verb", "GET")]),
            Err(Error::UnknownLabel(_))
        ));
        // Keys that concatenate alike stay apart.
        f.get(&["ab", "c"]).unwrap().inc();
        f.get(&["a", "bc"]).unwrap().inc_by_u64(5);
        assert_eq!(f.with_label_values(&["ab", "c"]).unwrap().get(), 1.0);
    }

    #[test]
    fn remove_and_clear() {
        let f = counters(100);
        let held = f.with_label_values(&["GET", "200"]).unwrap();
        f.get(&["PUT", "200"]).unwrap().inc();
        let g0 = f.generation();
        assert!(f.remove(&["GET", "200"]).unwrap());
        let g1 = f.generation();
        assert_ne!(g0, g1, "a removal changes the generation");
        assert!(!f.remove(&["GET", "200"]).unwrap());
        assert_eq!(f.generation(), g1, "removing nothing does not");
        held.inc(); // still safe to use
        assert_eq!(f.len(), 1);
        f.clear();
        assert_ne!(f.generation(), g1);
        assert!(f.is_empty());
        assert_eq!(
            f.with_label_values(&["GET", "200"]).unwrap().get(),
            0.0,
            "recreated fresh"
        );
    }

    #[test]
    fn overflow_bounds_cardinality() {
        let f = counters(3);
        for i in 0..50 {
            f.get(&["GET", &i.to_string()]).unwrap().inc();
        }
        assert_eq!(f.len(), 4, "3 admitted plus the overflow series");
        assert_eq!(f.overflowed(), 47);
        let of = f
            .with_label_values(&[OVERFLOW_LABEL_VALUE, OVERFLOW_LABEL_VALUE])
            .unwrap();
        assert_eq!(of.get(), 47.0);
        // Admitted series keep counting themselves.
        f.get(&["GET", "1"]).unwrap().inc();
        assert_eq!(f.with_label_values(&["GET", "1"]).unwrap().get(), 2.0);
        // Removing one admits a new label set again.
        f.remove(&["GET", "0"]).unwrap();
        f.get(&["GET", "new"]).unwrap().inc();
        assert_eq!(f.with_label_values(&["GET", "new"]).unwrap().get(), 1.0);
        assert_eq!(f.overflowed(), 47);
    }

    #[test]
    fn expiry_removes_idle_label_sets() {
        let f: Family<Gauge> = Family::new(
            &Opts::new("queue_length", "q")
                .labels(&["queue"])
                .expiry(std::time::Duration::from_millis(30)),
        )
        .unwrap();
        f.get(&["idle"]).unwrap().set(1.0);
        f.get(&["busy"]).unwrap().set(1.0);
        assert_eq!(f.sweep_expired(), 0);
        let before = f.generation();
        for i in 0..8 {
            std::thread::sleep(std::time::Duration::from_millis(10));
            f.get(&["busy"]).unwrap().set(i as f64 + 2.0);
            f.sweep_expired();
        }
        let names: Vec<_> = f
            .children()
            .into_iter()
            .map(|(v, _)| v[0].clone())
            .collect();
        assert_eq!(names, vec!["busy".to_string()]);
        assert_ne!(f.generation(), before, "expiry is a removal too");
    }

    #[test]
    fn invalid_options() {
        let bad = |o: Opts| Family::<Counter>::new(&o).unwrap_err();
        assert_eq!(
            bad(Opts::new("a-b", "h")),
            Error::InvalidMetricName("a-b".into())
        );
        assert_eq!(
            bad(Opts::new("a", "h").labels(&["__x"])),
            Error::ReservedLabelName("__x".into())
        );
        assert_eq!(
            bad(Opts::new("a", "h").labels(&["x"]).const_label("x", "1")),
            Error::DuplicateLabelName("x".into())
        );
        assert!(matches!(
            bad(Opts::new("a", "h").buckets(vec![1.0])),
            Error::InvalidOption(_)
        ));
        let h = Family::<crate::Histogram>::new(&Opts::new("h", "h").labels(&["le"])).unwrap_err();
        assert_eq!(h, Error::ReservedLabelName("le".into()));
        let s =
            Family::<crate::Summary>::new(&Opts::new("s", "h").labels(&["quantile"])).unwrap_err();
        assert_eq!(s, Error::ReservedLabelName("quantile".into()));
    }
}
