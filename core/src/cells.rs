//! Cells written from outside Rust, and the label families that render them.
//!
//! A call into Rust from JavaScript costs more than prom-client's whole increment, so the Node
//! binding keeps Rust off its hot path: JavaScript resolves label values in its own maps and
//! adds into typed arrays laid over the pages below; Rust allocates series and renders.
//!
//! # Invariants
//! - A page is 8,192 `f64` cells, zeroed when allocated, and never moves or is freed while the
//!   process lives (lanes are recycled, never dropped), so a typed array over it stays valid.
//! - A *lane* is one set of pages with exactly one writer at a time: the JavaScript thread that
//!   leased it. Its stores are plain aligned 8-byte stores, single-copy atomic on every target
//!   Node runs on (x86-64, AArch64); Rust reads cells with relaxed atomic loads, so a render
//!   sees each cell's old or new value, never a torn one.
//! - Counter, histogram and summary series own the same cell range in every lane; a value is
//!   the sum over lanes, so two threads never write one cell.
//! - Gauges live in the one shared lane: `set` from any thread is one whole-cell store (last
//!   writer wins). Concurrent `inc` of one gauge from two threads can lose an update.
//! - A lane released by a finished thread keeps its values and goes to the next thread that
//!   leases one, which continues the same sums; the free-list mutex orders the old writer's
//!   stores before the new writer's.
//! - A series' cells never cross a page boundary, so a child is one typed array and an offset.
//! - Histogram exemplars are not cells: one `ArcSwapOption` slot per bucket, allocated on the
//!   first exemplar and replaced whole, so a render reads each slot's old or new exemplar.
//! - A native histogram's series (`CellKind::Histogram` with `native`) hold one placeholder
//!   cell, never written: the cell index is only the series' identity for the writer's cache
//!   and the quarantine below. Its counts live in the series' native core ([`crate::native`], lock-free, shared
//!   by every thread), which writers reach through [`CellFamily::observe_native`] by first cell,
//!   as summaries reach their quantile windows; a removed series is no longer found there, so a
//!   write racing its removal is dropped with it.
//!
//! # Reuse of removed series' cells (quarantine)
//! `remove` and `reset` drop a series and give its cell block back, so memory follows the live
//! series, not history. A writer outside Rust (a JavaScript thread) may still hold the block's
//! index in a cached handle, so a freed block is reused only once no such writer can write it:
//!
//! - Every family has a *generation* cell in the shared lane, bumped (under the family's
//!   creation lock) by every removal, *before* the block is freed.
//! - A writer snapshots the generation **before** the call that resolves a series' index, and
//!   compares the snapshot with the generation cell before every write; on a mismatch it
//!   resolves again (a new index) instead of writing.
//! - Freeing a block advances the [`arena`]'s release epoch and tags the block with it. Each
//!   writer thread is a [`Holder`] that records the epoch it has caught up with (`quiesce`)
//!   only at calls where it holds no index it would write without first checking the
//!   generation (the Node binding: on entry to resolve, remove, reset, zero, and from an idle
//!   timer), and it registers at the first such call, before it can hold any index.
//! - A quarantined block becomes reusable once every registered holder has caught up with its
//!   epoch. Such a holder saw the epoch advance, which the generation bump precedes, so each of
//!   its later writes compares against the bumped generation and none reaches the old block.
//!   Writes racing the removal (generation checked just before the bump) land in the block
//!   while it is still quarantined; it is zeroed in every lane when it is reused.
//! - A thread that never catches up only delays reuse (allocation then takes fresh cells); it
//!   never makes it unsafe. A render racing a removal may read a block being reused once.
//!
//! # Bounded cardinality and exhaustion
//! Each family reserves one *anchor* series when it is declared, never freed: the series
//! without labels, or for a labelled family the overflow series (every label value
//! [`OVERFLOW_LABEL_VALUE`]). Past `cardinality_limit` live label sets, or when the index space
//! is exhausted, a new label set resolves to the overflow series and the family's overflow
//! count rises (rendered by the registry as `footmetrics_cardinality_overflow_total`). So
//! resolving a series never fails for want of cells.

pub use crate::arena::Holder;
use crate::arena::{self, Arena, Block};
use crate::collector::{Collector, Desc};
use crate::encode::Encoder;
use crate::error::{Error, Result};
use crate::exemplar::Exemplar;
use crate::family::OVERFLOW_LABEL_VALUE;
use crate::fmt::{float_string, float_string_openmetrics, render_pairs};
use crate::label_value::{encoded_values, push_encoded_values};
use crate::metric::{MetricFamily, MetricPoint, MetricType, PointValue, SeriesWriter, SumCount};
use crate::native::{NativeBuckets, NativeConfig, NativeCore, NativeOpts};
use crate::quantile::QuantileWindow;
use arc_swap::ArcSwapOption;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

pub use crate::arena::PAGE_CELLS;
/// Pages per lane in a test's private arena.
#[cfg(test)]
const MAX_PAGES: usize = 64;

/// One page of cells, each the bits of an `f64` (a view of [`PAGE_CELLS`] arena cells).
#[repr(C, align(64))]
pub struct Page(pub [AtomicU64; PAGE_CELLS]);

/// One writer's lane of the arena. See the module invariants.
pub struct Lane {
    arena: &'static Arena,
    index: usize,
}

impl Lane {
    /// Page `p` of this lane. The pointer is valid for the process' life (the arena never
    /// moves or frees cells).
    pub fn page(&self, p: usize) -> Result<*mut Page> {
        Ok(self.arena.page_ptr(self.index, p)?.cast::<Page>())
    }

    #[inline]
    fn cell(&self, i: usize) -> Option<&AtomicU64> {
        (i < self.arena.lane_cells()).then(|| self.arena.cell(self.index, i))
    }

    #[inline]
    fn read(&self, i: usize) -> f64 {
        self.cell(i)
            .map_or(0.0, |c| f64::from_bits(c.load(Ordering::Relaxed)))
    }

    fn zero(&self, i: usize) {
        if let Some(c) = self.cell(i) {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// Registers the calling thread as a cell writer. Call it at a point where the thread holds no
/// cell index (before its first resolve); it is caught up with the current epoch.
pub fn register_holder() -> Arc<Holder> {
    arena::global().register_holder()
}

/// The thread of `h` has ended: it writes no cell any more.
pub fn unregister_holder(h: &Arc<Holder>) {
    arena::global().unregister_holder(h)
}

/// The thread of `h` holds no cell index it would write without checking its family's
/// generation first (see the module's quarantine invariants).
pub fn quiesce(h: &Holder) {
    arena::global().quiesce(h)
}

/// A set of lanes over one arena: lanes leased to writer threads, or the one shared lane.
struct Space {
    arena: &'static Arena,
    lanes: RwLock<Vec<Arc<Lane>>>,
    free: Mutex<Vec<Arc<Lane>>>,
}

/// What the arena holds, for tests and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SpaceStats {
    /// Cells in live blocks.
    pub live_cells: usize,
    /// Cells in blocks freed and waiting, quarantined or reusable.
    pub idle_cells: usize,
    /// Cells ever handed out (the high-water mark; pages cover at most this much per lane).
    pub reserved_cells: usize,
    /// Pages a lane spans at most (`reserved_cells` rounded up to pages).
    pub pages: usize,
    /// Lanes of this space (writer threads' lanes, live or released).
    pub lanes: usize,
}

impl Space {
    fn new(arena: &'static Arena) -> Self {
        Space {
            arena,
            lanes: RwLock::new(Vec::new()),
            free: Mutex::new(Vec::new()),
        }
    }

    /// `width` contiguous cells within one page, all zero.
    fn alloc(&self, width: usize) -> Result<usize> {
        Ok(self.arena.alloc(width)?.base)
    }

    /// Gives a block back (quarantined: see the module invariants); the caller has bumped the
    /// owning family's generation first.
    fn release(&self, base: usize, width: usize) {
        self.arena.release(Block { base, width });
    }

    fn stats(&self) -> SpaceStats {
        let a = self.arena.stats();
        SpaceStats {
            live_cells: a.live_cells,
            idle_cells: a.idle_cells,
            reserved_cells: a.reserved_cells,
            pages: a.reserved_cells.div_ceil(PAGE_CELLS),
            lanes: self.lanes.read().unwrap_or_else(|e| e.into_inner()).len(),
        }
    }

    fn lanes(&self) -> Vec<Arc<Lane>> {
        self.lanes.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A lane of its own for one writer thread: a released one if any, else the next.
    fn lease(&self) -> Result<Arc<Lane>> {
        if let Some(l) = self.free.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(l);
        }
        let mut lanes = self.lanes.write().unwrap_or_else(|e| e.into_inner());
        let index = lanes.len();
        if index >= arena::MAX_LANES {
            return Err(Error::InvalidOption(format!(
                "more than {} threads write metrics at once",
                arena::MAX_LANES
            )));
        }
        self.arena.note_lanes_written(index + 1);
        let l = Arc::new(Lane {
            arena: self.arena,
            index,
        });
        lanes.push(l.clone());
        Ok(l)
    }

    #[inline]
    fn sum(lanes: &[Arc<Lane>], i: usize) -> f64 {
        lanes.iter().map(|l| l.read(i)).sum()
    }
}

fn laned() -> &'static Space {
    static S: OnceLock<Space> = OnceLock::new();
    S.get_or_init(|| Space::new(arena::global()))
}

/// Gauges and family generations: lane 0 of the same arena, in blocks of their own.
fn shared_space() -> &'static Space {
    static S: OnceLock<Space> = OnceLock::new();
    S.get_or_init(|| {
        let s = Space::new(arena::global());
        s.lanes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(Lane {
                arena: arena::global(),
                index: 0,
            }));
        s
    })
}

/// `(laned space, shared space)` statistics. Both are views of the one arena, so the cell
/// figures are the arena's; `lanes` is each view's own.
pub fn space_stats() -> (SpaceStats, SpaceStats) {
    (laned().stats(), shared_space().stats())
}

/// The lane every thread writes gauges into.
pub fn shared_lane() -> Arc<Lane> {
    shared_space().lanes()[0].clone()
}

/// A lane for one writer thread: a released one if any (its sums continue), else a new one.
/// Fails when [`arena::MAX_LANES`] threads hold one.
pub fn lease_lane() -> Result<Arc<Lane>> {
    laned().lease()
}

/// Gives a lane back when its thread ends. The caller must not write it afterwards.
pub fn release_lane(lane: Arc<Lane>) {
    laned()
        .free
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(lane);
}

/// What a family holds per series.
#[derive(Debug, Clone)]
pub enum CellKind {
    /// One cell: the running total.
    Counter,
    /// One cell in the shared lane.
    Gauge,
    /// Cells `[bucket 0 … bucket n-1, +Inf bucket, sum]`, counts not cumulative; or, for a
    /// native histogram, one placeholder cell that is never written: its counts live in the
    /// series' [`NativeCore`](crate::native) and every observation goes through
    /// [`CellFamily::observe_native`].
    Histogram {
        /// The finite upper bounds, strictly increasing (a native histogram may have none:
        /// then only `+Inf`).
        bounds: Vec<f64>,
        /// Native (sparse, exponential) buckets too, with these options.
        native: Option<NativeOpts>,
    },
    /// Cells `[count, sum]`, plus a quantile window per series kept in Rust.
    Summary {
        /// The quantiles to report, each in `0..=1`.
        quantiles: Vec<f64>,
        /// How long an observation counts toward the quantiles (prom-client's `maxAgeSeconds`);
        /// zero: forever.
        max_age: Duration,
        /// Slices the window is rotated in (prom-client's `ageBuckets`); zero: one, never rotated.
        age_buckets: usize,
    },
}

impl CellKind {
    fn width(&self) -> usize {
        match self {
            CellKind::Counter | CellKind::Gauge => 1,
            CellKind::Histogram {
                native: Some(_), ..
            } => 1,
            CellKind::Histogram { bounds, .. } => bounds.len() + 2,
            CellKind::Summary { .. } => 2,
        }
    }

    fn metric_type(&self) -> MetricType {
        match self {
            CellKind::Counter => MetricType::Counter,
            CellKind::Gauge => MetricType::Gauge,
            CellKind::Histogram { .. } => MetricType::Histogram,
            CellKind::Summary { .. } => MetricType::Summary,
        }
    }

    fn shared(&self) -> bool {
        matches!(self, CellKind::Gauge)
    }

    /// Whether series are found by first cell (a summary's quantile window, a native
    /// histogram's buckets: written through Rust).
    fn by_base(&self) -> bool {
        matches!(
            self,
            CellKind::Summary { .. }
                | CellKind::Histogram {
                    native: Some(_),
                    ..
                }
        )
    }
}

/// One label set of a [`CellFamily`]. Kept small: there is one per live label set.
pub struct Series {
    /// The label values, encoded by [`encode_key`]; the family's map is keyed by them.
    labels: Box<[u8]>,
    /// Creation number: series render in creation order (the anchor of a labelled family,
    /// its overflow series, last).
    seq: u64,
    /// First cell (an index space holds fewer than 2^32 cells).
    base: u32,
    visible: AtomicBool,
    /// A summary's quantile window (set at creation), or a histogram's exemplars (set at the
    /// first exemplar), as a `Box<Extra>`; null while there is neither, as for most series.
    /// Set at most once (compare-exchange from null) and freed only when the series drops, so a
    /// non-null pointer read with `Acquire` is valid for as long as the series is borrowed.
    extra: AtomicPtr<Extra>,
}

impl Drop for Series {
    fn drop(&mut self) {
        let p = *self.extra.get_mut();
        if !p.is_null() {
            // SAFETY: set once from `Box::into_raw` and never freed elsewhere.
            drop(unsafe { Box::from_raw(p) });
        }
    }
}

enum Extra {
    Window(Mutex<QuantileWindow>),
    /// The last exemplar of each bucket (`+Inf` last).
    Exemplars(Box<[ArcSwapOption<Exemplar>]>),
    /// A native histogram's buckets, exemplars included (set at creation).
    Native(Arc<NativeCore>),
}

impl Series {
    fn extra(&self) -> Option<&Extra> {
        let p = self.extra.load(Ordering::Acquire);
        // SAFETY: see the field: never replaced once set, freed only on drop.
        (!p.is_null()).then(|| unsafe { &*p })
    }

    /// The extra data, set to `make()` if there is none yet.
    fn extra_or(&self, make: impl FnOnce() -> Extra) -> &Extra {
        if let Some(e) = self.extra() {
            return e;
        }
        let fresh = Box::into_raw(Box::new(make()));
        match self.extra.compare_exchange(
            std::ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            // SAFETY: just published; lives until the series drops.
            Ok(_) => unsafe { &*fresh },
            Err(winner) => {
                // SAFETY: `fresh` was never shared; `winner` is set for good.
                drop(unsafe { Box::from_raw(fresh) });
                unsafe { &*winner }
            }
        }
    }

    fn window(&self) -> Option<&Mutex<QuantileWindow>> {
        match self.extra() {
            Some(Extra::Window(w)) => Some(w),
            _ => None,
        }
    }

    fn native(&self) -> Option<&Arc<NativeCore>> {
        match self.extra() {
            Some(Extra::Native(n)) => Some(n),
            _ => None,
        }
    }

    fn exemplars(&self) -> Option<&[ArcSwapOption<Exemplar>]> {
        match self.extra() {
            Some(Extra::Exemplars(e)) => Some(e),
            _ => None,
        }
    }

    fn exemplar(&self, bucket: usize) -> Option<Arc<Exemplar>> {
        self.exemplars().and_then(|e| e.get(bucket)?.load_full())
    }

    /// First cell index (in the lane space, or the shared lane for gauges).
    pub fn base(&self) -> usize {
        self.base as usize
    }

    pub(crate) fn label_values(&self) -> Vec<String> {
        encoded_values(&self.labels).map(str::to_owned).collect()
    }
}

/// Label values as one byte string (see [`push_encoded_values`]).
fn encode_key<S: AsRef<str>>(values: &[S]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.iter().map(|v| v.as_ref().len() + 1).sum());
    push_encoded_values(&mut out, values);
    out
}

/// A series' value, summed over lanes.
#[derive(Debug, Clone, PartialEq)]
pub enum CellValue {
    /// A counter's or gauge's value.
    Scalar(f64),
    /// Non-cumulative bucket counts (last is `+Inf`), and the sum.
    Histogram {
        /// Per-bucket counts, not cumulative, `+Inf` last.
        buckets: Vec<f64>,
        /// The sum of the observations.
        sum: f64,
    },
    /// Count, sum, and `(quantile, value)` (value 0 for an empty window, as prom-client).
    Summary {
        /// Observations.
        count: f64,
        /// Their sum.
        sum: f64,
        /// `(quantile, value)` in the family's quantile order.
        quantiles: Vec<(f64, f64)>,
    },
}

/// Series by label values. A lock rather than a lock-free map: JavaScript caches resolved
/// series, so this is read on misses and scrapes only; and a set of pointers keyed through
/// the series' own label bytes costs 8 bytes a slot, a third of a map's, per live series.
#[derive(Default)]
struct SeriesMap(RwLock<HashSet<BySeriesLabels, foldhash::fast::RandomState>>);

/// A series, hashed and compared by its label bytes (as `[u8]` hashes them, so a set of these
/// is looked up by `&[u8]`).
struct BySeriesLabels(Arc<Series>);

impl std::hash::Hash for BySeriesLabels {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.labels[..].hash(state)
    }
}
impl PartialEq for BySeriesLabels {
    fn eq(&self, other: &Self) -> bool {
        self.0.labels == other.0.labels
    }
}
impl Eq for BySeriesLabels {}
impl std::borrow::Borrow<[u8]> for BySeriesLabels {
    fn borrow(&self) -> &[u8] {
        &self.0.labels
    }
}

impl SeriesMap {
    fn get(&self, values: &[String]) -> Option<Arc<Series>> {
        let key = encode_key(values);
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key[..])
            .map(|s| s.0.clone())
    }
    fn insert(&self, s: Arc<Series>) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(BySeriesLabels(s));
    }
    fn remove(&self, key: &[u8]) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
    fn values(&self) -> Vec<Arc<Series>> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|s| s.0.clone())
            .collect()
    }
}

/// A label family whose values live in lane cells. `name` is written exactly as given (a
/// counter need not end in `_total`), as prom-client writes it.
pub struct CellFamily {
    name: String,
    help: String,
    kind: CellKind,
    label_names: Vec<String>,
    by_labels: SeriesMap,
    /// Summaries and native histograms (their windows and buckets are found by first cell).
    by_base: papaya::HashMap<usize, Arc<Series>, foldhash::fast::RandomState>,
    /// Serialises series creation and removal so two threads resolving one new label set share
    /// cells, and generation bumps precede the release of the block.
    create: Mutex<()>,
    /// This family's generation cell in the shared lane (see the module's quarantine
    /// invariants); bumped under `create` by every removal.
    gen_cell: usize,
    /// Where the series' cells are: the laned space, or the shared one for gauges.
    space: &'static Space,
    /// The series reserved at declaration, never freed: without labels, the only series; with
    /// labels, the overflow series.
    anchor: Arc<Series>,
    next_seq: AtomicU64,
    /// Most label sets live at once, the overflow series excluded.
    limit: usize,
    /// Live label sets, the anchor excluded. Changed under `create`.
    admitted: AtomicUsize,
    /// New label sets folded into the overflow series.
    overflowed: AtomicU64,
    /// A native histogram's validated options and classic bounds, shared by its series.
    native: Option<NativeParts>,
}

/// What each series of a native histogram family is made with.
struct NativeParts {
    config: Arc<NativeConfig>,
    bounds: Arc<[f64]>,
}

impl Drop for CellFamily {
    fn drop(&mut self) {
        let space = self.space();
        let width = self.kind.width();
        for s in self.by_labels.values() {
            if !Arc::ptr_eq(&s, &self.anchor) {
                space.release(s.base(), width);
            }
        }
        space.release(self.anchor.base(), width);
        shared_space().release(self.gen_cell, 1);
    }
}

impl CellFamily {
    /// Declares a family: checks the name, the label names and `kind` (`le` and `quantile`
    /// reserved, bounds finite and increasing, quantiles in `0..=1`), then reserves its anchor
    /// series and generation cell. Gauges live in the shared lane, other kinds in every lane.
    pub fn new(name: &str, help: &str, kind: CellKind, label_names: &[String]) -> Result<Self> {
        let space = if kind.shared() {
            shared_space()
        } else {
            laned()
        };
        Self::new_in(space, name, help, kind, label_names)
    }

    /// [`new`](Self::new), its series' cells in `space`.
    fn new_in(
        space: &'static Space,
        name: &str,
        help: &str,
        kind: CellKind,
        label_names: &[String],
    ) -> Result<Self> {
        // The same checks as every family's, with prom-client's rules: `__`-prefixed label
        // names and histograms without finite buckets are accepted.
        crate::validate::metric_name(name)?;
        let reserved: &[&str] = match &kind {
            CellKind::Histogram { .. } => &["le"],
            CellKind::Summary { .. } => &["quantile"],
            _ => &[],
        };
        crate::validate::label_names_with(label_names.iter().map(String::as_str), reserved, true)?;
        let mut native = None;
        match &kind {
            CellKind::Histogram { bounds, native: n } => {
                crate::validate::bucket_bounds(bounds, true)?;
                if bounds.len() + 2 > PAGE_CELLS {
                    return Err(Error::InvalidBuckets("too many buckets".into()));
                }
                if let Some(opts) = n {
                    native = Some(NativeParts {
                        config: Arc::new(opts.validate()?),
                        bounds: bounds.as_slice().into(),
                    });
                }
            }
            CellKind::Summary { quantiles, .. }
                if quantiles.iter().any(|q| !(0.0..=1.0).contains(q)) =>
            {
                return Err(Error::InvalidOption(
                    "percentiles must be between 0 and 1".into(),
                ));
            }
            _ => {}
        }
        let gen_cell = shared_space().alloc(1)?;
        let anchor_values: Vec<String> = label_names
            .iter()
            .map(|_| OVERFLOW_LABEL_VALUE.to_owned())
            .collect();
        let anchor_base = match space.alloc(kind.width()) {
            Ok(b) => b,
            Err(e) => {
                shared_space().release(gen_cell, 1);
                return Err(e);
            }
        };
        let anchor_seq = if label_names.is_empty() { 0 } else { u64::MAX };
        let anchor = Self::make_series(
            &kind,
            native.as_ref(),
            &anchor_values,
            anchor_base,
            anchor_seq,
            false,
        );
        let f = CellFamily {
            name: name.to_owned(),
            help: help.to_owned(),
            kind,
            label_names: label_names.to_vec(),
            by_labels: SeriesMap::default(),
            by_base: Default::default(),
            create: Mutex::new(()),
            gen_cell,
            space,
            anchor: anchor.clone(),
            next_seq: AtomicU64::new(1),
            limit: crate::opts::DEFAULT_CARDINALITY_LIMIT,
            admitted: AtomicUsize::new(0),
            overflowed: AtomicU64::new(0),
            native,
        };
        f.insert(anchor);
        Ok(f)
    }

    /// At most `limit` label sets live at once (default 10,000); new ones past it fold into
    /// the overflow series. At least 1.
    pub fn with_cardinality_limit(mut self, limit: usize) -> Result<Self> {
        if limit == 0 {
            return Err(Error::InvalidOption(
                "cardinality limit must be at least 1".into(),
            ));
        }
        self.limit = limit;
        Ok(self)
    }

    /// Most label sets live at once (see [`with_cardinality_limit`](Self::with_cardinality_limit)).
    pub fn cardinality_limit(&self) -> usize {
        self.limit
    }

    /// New label sets folded into the overflow series so far.
    pub fn overflow_count(&self) -> u64 {
        self.overflowed.load(Ordering::Relaxed)
    }

    /// The first cell of the anchor series: the overflow series of a labelled family, the only
    /// series of one without labels. Fixed for the family's life.
    pub fn overflow_base(&self) -> usize {
        self.anchor.base()
    }

    /// Live label sets, the overflow series excluded.
    pub fn live_series(&self) -> usize {
        self.admitted.load(Ordering::Relaxed)
    }

    /// The index of this family's generation cell in the shared lane: writers compare it with
    /// their snapshot before every write (see the module's quarantine invariants).
    pub fn generation_cell(&self) -> usize {
        self.gen_cell
    }

    fn space(&self) -> &'static Space {
        self.space
    }

    fn make_series(
        kind: &CellKind,
        native: Option<&NativeParts>,
        values: &[String],
        base: usize,
        seq: u64,
        show: bool,
    ) -> Arc<Series> {
        let extra = match kind {
            CellKind::Summary {
                max_age,
                age_buckets,
                ..
            } => {
                let window = Mutex::new(QuantileWindow::new(*max_age, *age_buckets));
                Box::into_raw(Box::new(Extra::Window(window)))
            }
            _ => match native {
                Some(n) => Box::into_raw(Box::new(Extra::Native(NativeCore::new(
                    n.config.clone(),
                    n.bounds.clone(),
                )))),
                None => std::ptr::null_mut(),
            },
        };
        Arc::new(Series {
            labels: encode_key(values).into(),
            seq,
            // `Space::alloc` keeps every index below MAX_PAGES * PAGE_CELLS = 2^26.
            base: base as u32,
            visible: AtomicBool::new(show),
            extra: AtomicPtr::new(extra),
        })
    }

    fn insert(&self, s: Arc<Series>) {
        if self.kind.by_base() {
            self.by_base.pin().insert(s.base(), s.clone());
        }
        self.by_labels.insert(s);
    }

    /// Bumps the generation cell; callers hold `create`. Must precede releasing any block.
    fn bump_generation(&self) {
        let Ok(p) = shared_lane().page(self.gen_cell / PAGE_CELLS) else {
            return;
        };
        // SAFETY: pages are never freed (module invariant).
        let cell = unsafe { &(*p).0[self.gen_cell % PAGE_CELLS] };
        let next = f64::from_bits(cell.load(Ordering::Relaxed)) + 1.0;
        cell.store(next.to_bits(), Ordering::SeqCst);
    }

    /// The family name, written exactly as given.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The `# HELP` text.
    pub fn help(&self) -> &str {
        &self.help
    }
    /// What each series holds.
    pub fn kind(&self) -> &CellKind {
        &self.kind
    }
    /// The label names, in the order [`resolve`](Self::resolve) takes values.
    pub fn label_names(&self) -> &[String] {
        &self.label_names
    }

    /// Whether two declarations describe the same family (threads may each declare it).
    pub fn same_shape(&self, other: &CellFamily) -> bool {
        self.help == other.help
            && self.label_names == other.label_names
            && match (&self.kind, &other.kind) {
                (CellKind::Counter, CellKind::Counter) | (CellKind::Gauge, CellKind::Gauge) => true,
                (
                    CellKind::Histogram {
                        bounds: a,
                        native: na,
                    },
                    CellKind::Histogram {
                        bounds: b,
                        native: nb,
                    },
                ) => a == b && na == nb,
                (
                    CellKind::Summary {
                        quantiles: a,
                        max_age: ma,
                        age_buckets: aa,
                    },
                    CellKind::Summary {
                        quantiles: b,
                        max_age: mb,
                        age_buckets: ab,
                    },
                ) => a == b && ma == mb && aa == ab,
                _ => false,
            }
    }

    /// The series for `values` (created at zero on first use), made visible. Past the
    /// cardinality limit, or with the index space exhausted, a new label set gets the overflow
    /// series. A caller writing the cells snapshots [`generation_cell`](Self::generation_cell)
    /// before this call (see the module's quarantine invariants).
    pub fn resolve(&self, values: &[String]) -> Result<Arc<Series>> {
        self.resolve_showing(values, true)
    }

    /// The series for `values`, created hidden if it is new (prom-client's `labels()` exports
    /// nothing until the first update, which then calls [`resolve`](Self::resolve)); an
    /// existing series keeps its visibility.
    pub fn resolve_hidden(&self, values: &[String]) -> Result<Arc<Series>> {
        self.resolve_showing(values, false)
    }

    fn resolve_showing(&self, values: &[String], show: bool) -> Result<Arc<Series>> {
        if values.len() != self.label_names.len() {
            return Err(Error::LabelCount {
                expected: self.label_names.len(),
                got: values.len(),
            });
        }
        if let Some(s) = self.by_labels.get(values) {
            if show {
                s.visible.store(true, Ordering::Relaxed);
            }
            return Ok(s);
        }
        let _g = self.create.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = self.by_labels.get(values) {
            if show {
                s.visible.store(true, Ordering::Relaxed);
            }
            return Ok(s);
        }
        if self.admitted.load(Ordering::Relaxed) >= self.limit {
            return Ok(self.overflow(show));
        }
        let Ok(base) = self.space().alloc(self.kind.width()) else {
            // The index space is exhausted: degrade as past the limit.
            return Ok(self.overflow(show));
        };
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let s = Self::make_series(&self.kind, self.native.as_ref(), values, base, seq, show);
        self.insert(s.clone());
        self.admitted.fetch_add(1, Ordering::Relaxed);
        Ok(s)
    }

    /// The overflow series, standing for a label set not admitted.
    fn overflow(&self, show: bool) -> Arc<Series> {
        self.overflowed.fetch_add(1, Ordering::Relaxed);
        if show {
            self.anchor.visible.store(true, Ordering::Relaxed);
        }
        self.anchor.clone()
    }

    fn lanes(&self) -> Vec<Arc<Lane>> {
        self.space.lanes()
    }

    fn clear(&self, s: &Series, lanes: &[Arc<Lane>]) {
        s.visible.store(false, Ordering::Relaxed);
        for l in lanes {
            for i in s.base()..s.base() + self.kind.width() {
                l.zero(i);
            }
        }
        if let Some(w) = s.window() {
            w.lock().unwrap_or_else(|e| e.into_inner()).reset();
        }
        if let Some(slots) = s.exemplars() {
            slots.iter().for_each(|e| e.store(None));
        }
        if let Some(n) = s.native() {
            n.reset();
        }
    }

    /// Drops the series and gives its cells back (the anchor is hidden and zeroed instead);
    /// false if it did not exist. Held handles see the generation change and resolve again.
    pub fn remove(&self, values: &[String]) -> bool {
        let _g = self.create.lock().unwrap_or_else(|e| e.into_inner());
        let Some(s) = self.by_labels.get(values) else {
            return false;
        };
        self.bump_generation();
        self.drop_series(&s, &self.lanes());
        true
    }

    /// Callers hold `create` and have bumped the generation.
    fn drop_series(&self, s: &Arc<Series>, lanes: &[Arc<Lane>]) {
        if Arc::ptr_eq(s, &self.anchor) {
            self.clear(s, lanes);
            return;
        }
        s.visible.store(false, Ordering::Relaxed);
        self.by_labels.remove(&s.labels);
        if self.kind.by_base() {
            self.by_base.pin().remove(&s.base());
        }
        self.admitted.fetch_sub(1, Ordering::Relaxed);
        self.space().release(s.base(), self.kind.width());
    }

    /// [`remove`](Self::remove) for every series.
    pub fn reset(&self) {
        let _g = self.create.lock().unwrap_or_else(|e| e.into_inner());
        self.bump_generation();
        let lanes = self.lanes();
        let all = self.by_labels.values();
        for s in &all {
            self.drop_series(s, &lanes);
        }
    }

    /// Zeroes the series' cells and makes it visible (prom-client's `zero`).
    /// Past the cardinality limit this shows the overflow series without zeroing it: the
    /// other label sets folded into it keep their observations.
    pub fn zero(&self, values: &[String]) -> Result<Arc<Series>> {
        let s = self.resolve(values)?;
        let folded = Arc::ptr_eq(&s, &self.anchor)
            && !values.is_empty()
            && values.iter().any(|v| v != OVERFLOW_LABEL_VALUE);
        if !folded {
            let lanes = self.lanes();
            self.clear(&s, &lanes);
        }
        s.visible.store(true, Ordering::Relaxed);
        Ok(s)
    }

    /// Attaches an exemplar of `value` to the bucket of `value` in histogram series `values`
    /// (the observation itself is written to the cells by the caller).
    pub fn set_exemplar<K: AsRef<str>, V: AsRef<str>>(
        &self,
        values: &[String],
        value: f64,
        labels: &[(K, V)],
    ) -> Result<()> {
        let CellKind::Histogram { bounds, .. } = &self.kind else {
            return Err(Error::InvalidOption(format!(
                "{} is not a histogram: exemplars attach to histogram buckets",
                self.name
            )));
        };
        if value.is_nan() {
            return Err(Error::InvalidValue("exemplar value", value));
        }
        let exemplar = Exemplar::new(labels, value)?;
        let series = self.resolve(values)?;
        if let Some(n) = series.native() {
            n.record_exemplar(exemplar);
            return Ok(());
        }
        let bucket = bounds
            .iter()
            .position(|b| value <= *b)
            .unwrap_or(bounds.len());
        series.extra_or(|| {
            Extra::Exemplars((0..=bounds.len()).map(|_| ArcSwapOption::empty()).collect())
        });
        if let Some(slot) = series.exemplars().and_then(|e| e.get(bucket)) {
            slot.store(Some(Arc::new(exemplar)));
        }
        Ok(())
    }

    /// Adds an observation to a summary series' quantile window (count and sum are cells the
    /// caller writes). False if `base` is not a summary series of this family.
    pub fn observe_quantiles(&self, base: usize, v: f64) -> bool {
        match self.by_base.pin().get(&base).and_then(|s| s.window()) {
            Some(w) => {
                w.lock().unwrap_or_else(|e| e.into_inner()).observe(v);
                true
            }
            None => false,
        }
    }

    /// One observation into a native histogram series (found by first cell, as a summary's
    /// window). False if `base` is not a native histogram series of this family: a series
    /// another thread removed since the caller checked its generation takes the observation
    /// with it, as removed cells do.
    #[inline]
    pub fn observe_native(&self, base: usize, v: f64) -> bool {
        match self.by_base.pin().get(&base).and_then(|s| s.native()) {
            Some(n) => {
                n.observe(v);
                true
            }
            None => false,
        }
    }

    /// Whether the family's series have native buckets (written through
    /// [`observe_native`](Self::observe_native), not through cells).
    pub fn is_native(&self) -> bool {
        self.native.is_some()
    }

    /// The native buckets of a consistent reading of the series for `values`, if it exists
    /// and the family is native.
    pub fn native_buckets(&self, values: &[String]) -> Option<NativeBuckets> {
        let s = self.by_labels.get(values)?;
        Some(s.native()?.read().native)
    }

    fn value_of(&self, s: &Series, lanes: &[Arc<Lane>]) -> CellValue {
        if let Some(n) = s.native() {
            let r = n.read();
            return CellValue::Histogram {
                buckets: r.classic.iter().map(|&c| c as f64).collect(),
                sum: r.sum,
            };
        }
        match &self.kind {
            CellKind::Counter | CellKind::Gauge => CellValue::Scalar(Space::sum(lanes, s.base())),
            CellKind::Histogram { bounds, .. } => {
                let n = bounds.len() + 1;
                CellValue::Histogram {
                    buckets: (0..n).map(|i| Space::sum(lanes, s.base() + i)).collect(),
                    sum: Space::sum(lanes, s.base() + n),
                }
            }
            CellKind::Summary { quantiles, .. } => {
                let window = s.window().map(|w| {
                    w.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .quantiles(quantiles)
                });
                let values = window
                    .flatten()
                    .unwrap_or_else(|| vec![0.0; quantiles.len()]);
                CellValue::Summary {
                    count: Space::sum(lanes, s.base()),
                    sum: Space::sum(lanes, s.base() + 1),
                    quantiles: quantiles.iter().copied().zip(values).collect(),
                }
            }
        }
    }

    /// A native histogram series' point, from one consistent reading: the classic buckets
    /// (only `+Inf` without bounds) and the native buckets.
    fn native_point(&self, n: &NativeCore) -> PointValue {
        let bounds = self.native.as_ref().map(|p| &p.bounds[..]).unwrap_or(&[]);
        crate::histogram::native_point(n.read(), bounds, None)
    }

    /// Visible series in creation order, as prom-client lists them (a re-created series
    /// comes after those created meanwhile, as in prom-client).
    fn visible(&self) -> Vec<Arc<Series>> {
        let mut v = self.by_labels.values();
        v.retain(|s| s.visible.load(Ordering::Relaxed));
        v.sort_unstable_by_key(|s| s.seq);
        v
    }

    /// Every visible series with its value, in creation order.
    pub fn values(&self) -> Vec<(Vec<String>, CellValue)> {
        let lanes = self.lanes();
        self.visible()
            .iter()
            .map(|s| (s.label_values(), self.value_of(s, &lanes)))
            .collect()
    }

    /// The name without a counter's `_total`, as the core's families and OpenMetrics spell it.
    fn base_name(&self) -> &str {
        match self.kind {
            CellKind::Counter => self.name.strip_suffix("_total").unwrap_or(&self.name),
            _ => &self.name,
        }
    }

    /// The name on `# HELP`/`# TYPE` lines and the sample name for the main value.
    fn names(&self, openmetrics: bool) -> (&str, String) {
        match (&self.kind, openmetrics) {
            (CellKind::Counter, true) => (self.base_name(), format!("{}_total", self.base_name())),
            _ => (&self.name, self.name.clone()),
        }
    }
}

/// One sample line: `name+suffix{…,extra,defaults} value`.
fn sample(
    w: &mut SeriesWriter<'_>,
    suffix: &str,
    extra: Option<(&str, &str)>,
    defaults: &str,
    value: f64,
) {
    w.start_with(suffix, extra, defaults);
    w.f64(value);
    w.end();
}

impl Collector for CellFamily {
    fn overflowed(&self) -> Vec<(String, u64)> {
        match self.overflow_count() {
            0 => Vec::new(),
            n => vec![(self.base_name().to_owned(), n)],
        }
    }

    fn descs(&self) -> Vec<Desc> {
        // Base name as the core's families spell it, so duplicate detection matches theirs.
        vec![Desc {
            name: self.base_name().to_owned(),
            help: self.help.clone(),
            unit: None,
            kind: self.kind.metric_type(),
            label_names: self.label_names.clone(),
            const_labels: Vec::new(),
        }]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut f = MetricFamily::new(self.base_name(), &self.help, self.kind.metric_type());
        let lanes = self.lanes();
        for s in self.visible() {
            let labels = self
                .label_names
                .iter()
                .cloned()
                .zip(encoded_values(&s.labels).map(str::to_owned))
                .collect();
            if let Some(n) = s.native() {
                let value = self.native_point(n);
                f.points.push(MetricPoint { labels, value });
                continue;
            }
            let v = self.value_of(&s, &lanes);
            let value = match v {
                CellValue::Scalar(x) => match self.kind {
                    CellKind::Counter => PointValue::Counter {
                        value: x,
                        created: None,
                        exemplar: None,
                    },
                    _ => PointValue::Gauge(x),
                },
                CellValue::Histogram { buckets, sum } => {
                    let CellKind::Histogram { bounds, .. } = &self.kind else {
                        unreachable!("histogram values come from histogram families")
                    };
                    let mut acc = 0.0;
                    let buckets: Vec<(f64, u64, _)> = bounds
                        .iter()
                        .copied()
                        .chain([f64::INFINITY])
                        .zip(buckets)
                        .enumerate()
                        .map(|(i, (b, c))| {
                            acc += c;
                            (b, acc as u64, s.exemplar(i).map(|e| (*e).clone()))
                        })
                        .collect();
                    PointValue::Histogram {
                        count: acc as u64,
                        buckets,
                        sum,
                        created: None,
                        native: None,
                    }
                }
                CellValue::Summary {
                    count,
                    sum,
                    quantiles,
                } => PointValue::Summary {
                    count: count as u64,
                    sum,
                    quantiles,
                    created: None,
                },
            };
            f.points.push(MetricPoint { labels, value });
        }
        vec![f]
    }

    fn encode(&self, enc: &mut Encoder<'_>) {
        let openmetrics = enc.openmetrics();
        let label_float = |v: f64| {
            if openmetrics {
                float_string_openmetrics(v)
            } else {
                float_string(v)
            }
        };
        // Default labels the series do not carry themselves (prom-client: series labels win).
        let mut defaults = String::new();
        render_pairs(
            &mut defaults,
            enc.default_labels()
                .iter()
                .filter(|(k, _)| !self.label_names.contains(k))
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        let registry_labels = enc.registry_labels();
        let lanes = self.lanes();
        let (head, main) = self.names(openmetrics);
        enc.header_parts(head, "", &self.help, None, self.kind.metric_type());
        let les: Vec<String> = match &self.kind {
            CellKind::Histogram { bounds, .. } => bounds
                .iter()
                .map(|b| label_float(*b))
                .chain(["+Inf".to_owned()])
                .collect(),
            _ => Vec::new(),
        };
        let qs: Vec<String> = match &self.kind {
            CellKind::Summary { quantiles, .. } => {
                quantiles.iter().map(|q| label_float(*q)).collect()
            }
            _ => Vec::new(),
        };
        let out = enc.buffer();
        let mut rendered = String::new();
        for s in self.visible() {
            rendered.clear();
            render_pairs(
                &mut rendered,
                self.label_names
                    .iter()
                    .map(String::as_str)
                    .zip(encoded_values(&s.labels)),
            );
            let w = &mut SeriesWriter {
                out: &mut *out,
                openmetrics,
                openmetrics_label_floats: openmetrics,
                name: &main,
                registry_labels,
                labels: &rendered,
            };
            match &self.kind {
                CellKind::Counter | CellKind::Gauge => {
                    sample(w, "", None, &defaults, Space::sum(&lanes, s.base()))
                }
                // Text and OpenMetrics carry a native histogram's classic buckets, from one
                // consistent reading.
                CellKind::Histogram { .. } if s.native().is_some() => {
                    let r = s.native().map(|n| n.read()).expect("checked");
                    w.histogram_lines(
                        &les,
                        r.classic.iter().map(|&c| c as f64),
                        r.sum,
                        SumCount::SumFirst,
                        &defaults,
                        |i| r.classic_exemplars.get(i).cloned().flatten().map(Arc::new),
                    )
                }
                // The same line writers as every family's, in prom-client's order.
                CellKind::Histogram { .. } => w.histogram_lines(
                    &les,
                    (0..les.len()).map(|i| Space::sum(&lanes, s.base() + i)),
                    Space::sum(&lanes, s.base() + les.len()),
                    SumCount::SumFirst,
                    &defaults,
                    |i| s.exemplar(i),
                ),
                CellKind::Summary { .. } => {
                    let CellValue::Summary {
                        count,
                        sum,
                        quantiles,
                    } = self.value_of(&s, &lanes)
                    else {
                        unreachable!("summary families produce summary values")
                    };
                    w.summary_lines(
                        qs.iter().zip(quantiles).map(|(q, (_, v))| (q, v)),
                        count,
                        sum,
                        SumCount::SumFirst,
                        &defaults,
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Format, Registry};

    fn write(lane: &Lane, i: usize, v: f64) {
        let p = lane.page(i / PAGE_CELLS).unwrap();
        // SAFETY: pages are valid for the process' life; tests write from one thread.
        unsafe { (*p).0[i % PAGE_CELLS].store(v.to_bits(), Ordering::Relaxed) };
    }

    fn vals(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn histogram_exemplars_render_on_their_bucket_and_clear_with_the_series() {
        let kind = CellKind::Histogram {
            bounds: vec![0.1, 1.0],
            native: None,
        };
        let f = Arc::new(CellFamily::new("lat_seconds", "L.", kind, &vals(&["r"])).unwrap());
        let lane = lease_lane().unwrap();
        let s = f.resolve(&vals(&["a"])).unwrap();
        write(&lane, s.base() + 1, 1.0);
        write(&lane, s.base() + 3, 0.5);
        f.set_exemplar(&vals(&["a"]), 0.5, &[("trace_id", "abc")])
            .unwrap();
        let r = Registry::new();
        r.register_arc(f.clone()).unwrap();
        let om = r.render(Format::OpenMetrics);
        assert!(
            om.contains("lat_seconds_bucket{r=\"a\",le=\"1.0\"} 1 # {trace_id=\"abc\"} 0.5 "),
            "{om}"
        );
        assert!(!r.render(Format::Text).contains("trace_id"));
        let PointValue::Histogram { buckets, .. } = &f.collect()[0].points[0].value else {
            panic!()
        };
        assert!(buckets[0].2.is_none() && buckets[2].2.is_none());
        assert_eq!(buckets[1].2.as_ref().unwrap().labels[0].1, "abc");
        f.remove(&vals(&["a"]));
        f.resolve(&vals(&["a"])).unwrap();
        assert!(!r.render(Format::OpenMetrics).contains("trace_id"));
        let counter = CellFamily::new("c_total", "C.", CellKind::Counter, &[]).unwrap();
        assert!(counter
            .set_exemplar(&[], 1.0, &[("trace_id", "x")])
            .is_err());
        assert!(f
            .set_exemplar(&vals(&["a"]), f64::NAN, &[("trace_id", "x")])
            .is_err());
    }

    #[test]
    fn native_histogram_series_count_in_the_core_not_in_cells() {
        let kind = CellKind::Histogram {
            bounds: vec![],
            native: Some(NativeOpts::new(1.1)),
        };
        let f = Arc::new(CellFamily::new("nat_seconds", "N.", kind, &vals(&["r"])).unwrap());
        assert!(f.is_native());
        let a = f.resolve(&vals(&["a"])).unwrap();
        for v in [0.5, 3.0, 3.0, -1.0] {
            assert!(f.observe_native(a.base(), v));
        }
        assert_eq!(
            f.values(),
            vec![(
                vals(&["a"]),
                CellValue::Histogram {
                    buckets: vec![4.0],
                    sum: 5.5
                }
            )]
        );
        let nb = f.native_buckets(&vals(&["a"])).unwrap();
        assert_eq!(nb.schema, 3);
        // 0.5 = 2^(-8/8): key -8; 3 in (2^(12/8), 2^(13/8)]: key 13; -1: negative key 0.
        assert_eq!(nb.positive, vec![(-8, 1), (13, 2)]);
        assert_eq!(nb.negative, vec![(0, 1)]);
        let PointValue::Histogram {
            buckets, native, ..
        } = &f.collect()[0].points[0].value
        else {
            panic!()
        };
        assert_eq!(buckets.len(), 1, "no classic buckets but +Inf");
        assert_eq!(native.as_ref().unwrap().positive, nb.positive);
        let r = Registry::new();
        r.register_arc(f.clone()).unwrap();
        let text = r.render(Format::Text);
        assert!(
            text.contains(
                "nat_seconds_bucket{r=\"a\",le=\"+Inf\"} 4\nnat_seconds_sum{r=\"a\"} 5.5\n"
            ),
            "{text}"
        );
        // Removed: the observation through a stale first cell is dropped; re-created at zero.
        assert!(f.remove(&vals(&["a"])));
        assert!(!f.observe_native(a.base(), 1.0));
        let a2 = f.resolve(&vals(&["a"])).unwrap();
        assert!(f.native_buckets(&vals(&["a"])).unwrap().positive.is_empty());
        assert!(f.observe_native(a2.base(), 1.0));
        f.zero(&vals(&["a"])).unwrap();
        assert_eq!(f.native_buckets(&vals(&["a"])).unwrap().zero_count, 0);
        assert_eq!(
            f.values()[0].1,
            CellValue::Histogram {
                buckets: vec![0.0],
                sum: 0.0
            }
        );
        // The shape includes the native options; a bad factor is refused at declaration.
        let other = |o: NativeOpts| CellKind::Histogram {
            bounds: vec![],
            native: Some(o),
        };
        let g = CellFamily::new(
            "nat_seconds",
            "N.",
            other(NativeOpts::new(2.0)),
            &vals(&["r"]),
        );
        assert!(!f.same_shape(&g.unwrap()));
        assert!(matches!(
            CellFamily::new("bad_seconds", "B.", other(NativeOpts::new(1.0)), &[]),
            Err(Error::InvalidOption(_))
        ));
        // Classic bounds beside native buckets: both, from one reading.
        let both = CellKind::Histogram {
            bounds: vec![1.0],
            native: Some(NativeOpts::new(1.1)),
        };
        let h = CellFamily::new("both_seconds", "B.", both, &[]).unwrap();
        let s = h.resolve(&[]).unwrap();
        h.observe_native(s.base(), 0.5);
        h.observe_native(s.base(), 2.0);
        assert_eq!(
            h.values()[0].1,
            CellValue::Histogram {
                buckets: vec![1.0, 1.0],
                sum: 2.5
            }
        );
    }

    #[test]
    fn counters_sum_over_lanes_and_render() {
        let f = Arc::new(
            CellFamily::new("jobs_total", "Jobs.", CellKind::Counter, &vals(&["kind"])).unwrap(),
        );
        let (a, b) = (lease_lane().unwrap(), lease_lane().unwrap());
        let s = f.resolve(&vals(&["x"])).unwrap();
        write(&a, s.base(), 2.0);
        write(&b, s.base(), 3.0);
        assert_eq!(f.values(), vec![(vals(&["x"]), CellValue::Scalar(5.0))]);
        let r = Registry::new();
        r.register_arc(f.clone()).unwrap();
        let text = r.render(Format::Text);
        assert!(
            text.contains("# TYPE jobs_total counter\njobs_total{kind=\"x\"} 5\n"),
            "{text}"
        );
        let om = r.render(Format::OpenMetrics);
        assert!(
            om.contains("# TYPE jobs counter\njobs_total{kind=\"x\"} 5\n"),
            "{om}"
        );
        assert!(f.remove(&vals(&["x"])));
        assert!(f.values().is_empty());
        f.resolve(&vals(&["x"])).unwrap();
        assert_eq!(f.values(), vec![(vals(&["x"]), CellValue::Scalar(0.0))]);
        release_lane(a);
        release_lane(b);
    }

    #[test]
    fn hidden_series_show_from_their_first_resolve() {
        let f =
            CellFamily::new("jobs_total", "Jobs.", CellKind::Counter, &vals(&["kind"])).unwrap();
        let lane = lease_lane().unwrap();
        let s = f.resolve_hidden(&vals(&["x"])).unwrap();
        assert_eq!(f.values(), vec![], "a new hidden series is not exported");
        write(&lane, s.base(), 2.0);
        assert_eq!(f.resolve(&vals(&["x"])).unwrap().base(), s.base());
        assert_eq!(f.values(), vec![(vals(&["x"]), CellValue::Scalar(2.0))]);
        f.resolve_hidden(&vals(&["x"])).unwrap();
        assert_eq!(f.values().len(), 1, "an exported series stays exported");
    }

    #[test]
    fn histogram_cells_render_cumulative() {
        let f = CellFamily::new(
            "lat_seconds",
            "Latency.",
            CellKind::Histogram {
                bounds: vec![0.1, 1.0],
                native: None,
            },
            &[],
        )
        .unwrap();
        let lane = lease_lane().unwrap();
        let s = f.resolve(&[]).unwrap();
        write(&lane, s.base(), 1.0);
        write(&lane, s.base() + 2, 2.0);
        write(&lane, s.base() + 3, 7.5);
        let r = Registry::new();
        r.register_arc(Arc::new(f)).unwrap();
        let text = r.render(Format::Text);
        for line in [
            "lat_seconds_bucket{le=\"0.1\"} 1",
            "lat_seconds_bucket{le=\"1\"} 1",
            "lat_seconds_bucket{le=\"+Inf\"} 3",
            "lat_seconds_sum 7.5",
            "lat_seconds_count 3",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        release_lane(lane);
    }

    #[test]
    fn bad_declarations_are_errors() {
        assert!(CellFamily::new("1x", "h", CellKind::Counter, &[]).is_err());
        assert!(CellFamily::new("x", "h", CellKind::Counter, &vals(&["a-b"])).is_err());
        assert!(CellFamily::new("x", "h", CellKind::Counter, &vals(&["a", "a"])).is_err());
        let h = CellKind::Histogram {
            bounds: vec![1.0, 1.0],
            native: None,
        };
        assert!(CellFamily::new("x", "h", h, &[]).is_err());
        let f = CellFamily::new("x", "h", CellKind::Gauge, &vals(&["a"])).unwrap();
        assert!(f.resolve(&[]).is_err());
    }

    /// A space over an arena of its own (`max_pages` pages per lane), with holders of its
    /// own, so parallel tests do not interfere.
    fn private_space(max_pages: usize) -> (&'static Arena, Space) {
        let a: &'static Arena = Box::leak(Box::new(Arena::new(
            max_pages * PAGE_CELLS,
            max_pages * PAGE_CELLS,
        )));
        (a, Space::new(a))
    }

    fn with_lane(space: &Space) -> Arc<Lane> {
        space.lease().unwrap()
    }

    #[test]
    fn label_keys_round_trip_and_keep_boundaries() {
        let long = "x".repeat(300);
        for values in [
            vals(&[]),
            vals(&[""]),
            vals(&["", ""]),
            vals(&["ab", "c"]),
            vals(&["é\u{0}", &long, "z"]),
        ] {
            let key = encode_key(&values);
            assert_eq!(encoded_values(&key).collect::<Vec<_>>(), values);
        }
        assert_ne!(
            encode_key(&vals(&["ab", "c"])),
            encode_key(&vals(&["a", "bc"]))
        );
        assert_ne!(encode_key(&vals(&[""])), encode_key(&vals(&[])));
    }

    #[test]
    fn allocation_never_crosses_a_page() {
        let (_, s) = private_space(MAX_PAGES);
        let a = s.alloc(PAGE_CELLS - 1).unwrap();
        let b = s.alloc(2).unwrap();
        assert_eq!(a, 0);
        assert_eq!(b, PAGE_CELLS);
        assert!(s.alloc(PAGE_CELLS + 1).is_err());
        assert!(s.alloc(0).is_err());
    }

    #[test]
    fn freed_blocks_are_reused_by_width_and_handed_out_zeroed() {
        let (_, s) = private_space(4);
        let lane = with_lane(&s);
        let a = s.alloc(13).unwrap();
        let b = s.alloc(13).unwrap();
        write(&lane, a + 12, 7.0);
        s.release(a, 13);
        assert_eq!(s.stats().live_cells, 13);
        assert_eq!(s.stats().idle_cells, 13);
        // Another width does not take it.
        let c = s.alloc(1).unwrap();
        assert!(c > b);
        assert_eq!(s.alloc(13).unwrap(), a, "no holder: reused at once");
        assert_eq!(lane.read(a + 12), 0.0, "a reused block starts at zero");
        assert_eq!(s.stats().idle_cells, 0);
        assert_eq!(s.stats().live_cells, 27);
    }

    #[test]
    fn churn_of_wide_blocks_stays_in_the_pages_it_started_with() {
        // Two 4,002-cell blocks fit a page: 4 pages hold 8 live blocks. Without reuse the
        // space would be exhausted after 8 allocations.
        let (_, s) = private_space(4);
        let lane = with_lane(&s);
        let keep = s.alloc(4002).unwrap();
        for i in 0..20_000 {
            let b = s.alloc(4002).unwrap();
            write(&lane, b, i as f64);
            s.release(b, 4002);
        }
        let st = s.stats();
        assert_eq!(st.live_cells, 4002);
        assert!(st.pages <= 1, "{st:?}");
        assert_eq!(lane.read(keep), 0.0);
    }

    #[test]
    fn a_freed_block_waits_until_every_holder_has_caught_up() {
        let (h, s) = private_space(4);
        let (one, two) = (h.register_holder(), h.register_holder());
        let a = s.alloc(2).unwrap();
        s.release(a, 2);
        let fresh = s.alloc(2).unwrap();
        assert_ne!(fresh, a, "quarantined while holders may still write it");
        h.quiesce(&one);
        assert_ne!(s.alloc(2).unwrap(), a, "one holder has not caught up");
        h.quiesce(&two);
        assert_eq!(s.alloc(2).unwrap(), a);
        // A holder that caught up before a later release still holds that one back.
        s.release(fresh, 2);
        h.quiesce(&one);
        assert_ne!(s.alloc(2).unwrap(), fresh);
        h.unregister_holder(&two);
        assert_eq!(
            s.alloc(2).unwrap(),
            fresh,
            "an ended thread holds nothing back"
        );
        // A holder registered after a release never saw the block: it does not wait for it.
        let b = s.alloc(2).unwrap();
        s.release(b, 2);
        h.quiesce(&one);
        let _late = h.register_holder();
        assert_eq!(s.alloc(2).unwrap(), b);
    }

    #[test]
    fn an_exhausted_index_space_folds_new_label_sets_into_the_overflow_series() {
        // One page: the overflow series' 4,002 cells, and room for one more series.
        let (_, space) = private_space(1);
        let space: &'static Space = Box::leak(Box::new(space));
        let kind = CellKind::Histogram {
            bounds: (0..4000).map(f64::from).collect(),
            native: None,
        };
        let f = CellFamily::new_in(space, "full_seconds", "F.", kind, &vals(&["v"])).unwrap();
        let a = f.resolve(&vals(&["a"])).unwrap();
        let b = f.resolve(&vals(&["b"])).unwrap();
        assert_ne!(a.base(), b.base());
        assert_eq!(
            b.base(),
            f.overflow_base(),
            "no cells left: the overflow series"
        );
        assert_eq!(f.overflow_count(), 1);
        assert_eq!(f.live_series(), 1);
        // A removal frees room again.
        assert!(f.remove(&vals(&["a"])));
        assert_eq!(f.resolve(&vals(&["c"])).unwrap().base(), a.base());
        // A family whose overflow series cannot be reserved is refused when declared, not
        // when it is used.
        let kind = CellKind::Histogram {
            bounds: (0..4000).map(f64::from).collect(),
            native: None,
        };
        assert!(CellFamily::new_in(space, "more_seconds", "M.", kind, &vals(&["v"])).is_err());
    }

    #[test]
    fn the_generation_cell_moves_on_every_removal() {
        let f = CellFamily::new("gen_total", "G.", CellKind::Counter, &vals(&["k"])).unwrap();
        let g = |f: &CellFamily| Space::sum(&[shared_lane()], f.generation_cell());
        f.resolve(&vals(&["a"])).unwrap();
        let g0 = g(&f);
        assert!(f.remove(&vals(&["a"])));
        assert_eq!(g(&f), g0 + 1.0);
        assert!(!f.remove(&vals(&["a"])), "already gone");
        assert_eq!(g(&f), g0 + 1.0);
        f.resolve(&vals(&["b"])).unwrap();
        f.reset();
        assert_eq!(g(&f), g0 + 2.0);
        assert_eq!(f.live_series(), 0);
    }

    #[test]
    fn removed_series_give_their_cells_back_to_the_family_churn() {
        let kind = CellKind::Histogram {
            bounds: (0..4000).map(f64::from).collect(),
            native: None,
        };
        let f = CellFamily::new("wide_seconds", "W.", kind, &vals(&["v"])).unwrap();
        let before = laned().stats();
        // Past the 16,384 series of 4,002 cells that fit the index space without reuse.
        for i in 0..17_000 {
            let v = vals(&[&i.to_string()]);
            f.resolve(&v).unwrap();
            assert!(f.remove(&v));
        }
        assert_eq!(f.live_series(), 0);
        assert_eq!(f.overflow_count(), 0);
        let after = laned().stats();
        // Other tests allocate meanwhile; without reuse this would be 17,000 blocks.
        assert!(
            after.reserved_cells - before.reserved_cells < 64 * 4002,
            "{before:?} {after:?}"
        );
    }

    #[test]
    fn past_the_limit_new_label_sets_fold_into_the_overflow_series_and_count() {
        let f = Arc::new(
            CellFamily::new("req_total", "R.", CellKind::Counter, &vals(&["a", "b"]))
                .unwrap()
                .with_cardinality_limit(2)
                .unwrap(),
        );
        let lane = lease_lane().unwrap();
        let x = f.resolve(&vals(&["1", "1"])).unwrap();
        f.resolve(&vals(&["2", "2"])).unwrap();
        let o1 = f.resolve(&vals(&["3", "3"])).unwrap();
        let o2 = f.resolve(&vals(&["4", "4"])).unwrap();
        assert_eq!(o1.base(), o2.base());
        assert_eq!(
            o1.label_values(),
            &vals(&["__overflow__", "__overflow__"])[..]
        );
        write(&lane, o1.base(), 5.0);
        write(&lane, x.base(), 1.0);
        assert_eq!(f.overflow_count(), 2);
        assert_eq!(f.live_series(), 2);
        let r = Registry::new();
        r.register_arc(f.clone()).unwrap();
        let text = r.render(Format::Text);
        assert!(
            text.contains("req_total{a=\"__overflow__\",b=\"__overflow__\"} 5\n"),
            "{text}"
        );
        assert!(
            text.contains("footmetrics_cardinality_overflow_total{metric=\"req\"} 2"),
            "{text}"
        );
        // Removing a label set admits a new one again.
        assert!(f.remove(&vals(&["1", "1"])));
        let y = f.resolve(&vals(&["5", "5"])).unwrap();
        assert_ne!(y.base(), o1.base());
        assert_eq!(f.live_series(), 2);
        // Zeroing a label set past the limit leaves the overflow series' value alone.
        f.zero(&vals(&["7", "7"])).unwrap();
        assert!(r.render(Format::Text).contains("__overflow__\"} 5"));
        // The overflow series can be removed (hidden and zeroed) and comes back.
        assert!(f.remove(&vals(&["__overflow__", "__overflow__"])));
        assert!(!r.render(Format::Text).contains("__overflow__\"} 5"));
        assert_eq!(f.resolve(&vals(&["6", "6"])).unwrap().base(), o1.base());
        assert!(CellFamily::new("z_total", "Z.", CellKind::Counter, &[])
            .unwrap()
            .with_cardinality_limit(0)
            .is_err());
        release_lane(lane);
    }
}
