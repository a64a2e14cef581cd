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
//! - Series are never freed: `remove` and `reset` zero the cells and hide the series until its
//!   label values are resolved again, which reuses the same cells.
//! - Histogram exemplars are not cells: one `ArcSwapOption` slot per bucket, allocated on the
//!   first exemplar and replaced whole, so a render reads each slot's old or new exemplar.

use crate::encode::Encoder;
use crate::error::{Error, Result};
use crate::exemplar::Exemplar;
use crate::family::{render_pairs, Desc};
use crate::fmt::{float_string, float_string_openmetrics};
use crate::metric::{MetricFamily, MetricPoint, MetricType, PointValue, SeriesWriter};
use crate::quantile::QuantileWindow;
use crate::registry::Collector;
use arc_swap::ArcSwapOption;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

/// Cells per page.
pub const PAGE_CELLS: usize = 8192;
/// Pages per index space: 67M cells.
const MAX_PAGES: usize = 8192;

/// One page of cells, each the bits of an `f64`.
#[repr(C, align(64))]
pub struct Page(pub [AtomicU64; PAGE_CELLS]);

/// One writer's pages. See the module invariants.
pub struct Lane {
    pages: Box<[AtomicPtr<Page>]>,
}

impl Lane {
    fn new() -> Self {
        Lane {
            pages: (0..MAX_PAGES)
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect(),
        }
    }

    /// Page `p`, allocated (zeroed) on first use. The pointer is valid for the process' life.
    pub fn page(&self, p: usize) -> Result<*mut Page> {
        let slot = self
            .pages
            .get(p)
            .ok_or_else(|| Error::InvalidOption(format!("page {p} is out of range")))?;
        let cur = slot.load(Ordering::Acquire);
        if !cur.is_null() {
            return Ok(cur);
        }
        let layout = std::alloc::Layout::new::<Page>();
        // SAFETY: `Page` has non-zero size; all-zero bits are a valid `[AtomicU64; N]`.
        let fresh = unsafe { std::alloc::alloc_zeroed(layout) } as *mut Page;
        if fresh.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        match slot.compare_exchange(
            std::ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => Ok(fresh),
            Err(winner) => {
                // SAFETY: `fresh` came from `alloc_zeroed(layout)` and was never shared.
                unsafe { std::alloc::dealloc(fresh as *mut u8, layout) };
                Ok(winner)
            }
        }
    }

    #[inline]
    fn cell(&self, i: usize) -> Option<&AtomicU64> {
        let p = self.pages.get(i / PAGE_CELLS)?.load(Ordering::Acquire);
        // SAFETY: a non-null page pointer is never freed (module invariant).
        (!p.is_null()).then(|| unsafe { &(*p).0[i % PAGE_CELLS] })
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

/// A set of lanes sharing one index allocator.
struct Space {
    next: Mutex<usize>,
    lanes: RwLock<Vec<Arc<Lane>>>,
    free: Mutex<Vec<Arc<Lane>>>,
}

impl Space {
    fn new() -> Self {
        Space {
            next: Mutex::new(0),
            lanes: RwLock::new(Vec::new()),
            free: Mutex::new(Vec::new()),
        }
    }

    /// `width` contiguous cells within one page.
    fn alloc(&self, width: usize) -> Result<usize> {
        if width == 0 || width > PAGE_CELLS {
            return Err(Error::InvalidOption(format!(
                "a series needs {width} cells; at most {PAGE_CELLS} fit a page"
            )));
        }
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        if *next % PAGE_CELLS + width > PAGE_CELLS {
            *next = next.div_ceil(PAGE_CELLS) * PAGE_CELLS;
        }
        let base = *next;
        if (base + width).div_ceil(PAGE_CELLS) > MAX_PAGES {
            return Err(Error::InvalidOption("out of metric cells".into()));
        }
        *next += width;
        Ok(base)
    }

    fn lanes(&self) -> Vec<Arc<Lane>> {
        self.lanes.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    #[inline]
    fn sum(lanes: &[Arc<Lane>], i: usize) -> f64 {
        lanes.iter().map(|l| l.read(i)).sum()
    }
}

fn laned() -> &'static Space {
    static S: OnceLock<Space> = OnceLock::new();
    S.get_or_init(Space::new)
}

fn shared_space() -> &'static Space {
    static S: OnceLock<Space> = OnceLock::new();
    S.get_or_init(|| {
        let s = Space::new();
        s.lanes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(Lane::new()));
        s
    })
}

/// The lane every thread writes gauges into.
pub fn shared_lane() -> Arc<Lane> {
    shared_space().lanes()[0].clone()
}

/// A lane for one writer thread: a released one if any (its sums continue), else a new one.
pub fn lease_lane() -> Arc<Lane> {
    let space = laned();
    if let Some(l) = space.free.lock().unwrap_or_else(|e| e.into_inner()).pop() {
        return l;
    }
    let l = Arc::new(Lane::new());
    space
        .lanes
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .push(l.clone());
    l
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
    /// Cells `[bucket 0 … bucket n-1, +Inf bucket, sum]`, counts not cumulative; `bounds` are
    /// the finite upper bounds, strictly increasing.
    Histogram { bounds: Vec<f64> },
    /// Cells `[count, sum]`, plus a quantile window per series kept in Rust.
    Summary {
        quantiles: Vec<f64>,
        max_age: Duration,
        age_buckets: usize,
    },
}

impl CellKind {
    fn width(&self) -> usize {
        match self {
            CellKind::Counter | CellKind::Gauge => 1,
            CellKind::Histogram { bounds } => bounds.len() + 2,
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
}

/// One label set of a [`CellFamily`].
pub struct Series {
    labels: Box<[String]>,
    /// `k="v",…`, escaped, in label-name order.
    rendered: String,
    base: usize,
    visible: AtomicBool,
    window: Option<Mutex<QuantileWindow>>,
    /// Histograms: the last exemplar of each bucket (`+Inf` last), once there is one.
    exemplars: OnceLock<Box<[ArcSwapOption<Exemplar>]>>,
}

impl Series {
    fn exemplar(&self, bucket: usize) -> Option<Arc<Exemplar>> {
        self.exemplars
            .get()
            .and_then(|e| e.get(bucket)?.load_full())
    }
}

impl Series {
    /// First cell index (in the lane space, or the shared lane for gauges).
    pub fn base(&self) -> usize {
        self.base
    }
    pub fn label_values(&self) -> &[String] {
        &self.labels
    }
}

/// A series' value, summed over lanes.
#[derive(Debug, Clone, PartialEq)]
pub enum CellValue {
    Scalar(f64),
    /// Non-cumulative bucket counts (last is `+Inf`), and the sum.
    Histogram {
        buckets: Vec<f64>,
        sum: f64,
    },
    /// Count, sum, and `(quantile, value)` (value 0 for an empty window, as prom-client).
    Summary {
        count: f64,
        sum: f64,
        quantiles: Vec<(f64, f64)>,
    },
}

type SeriesMap = papaya::HashMap<Box<[String]>, Arc<Series>, foldhash::fast::RandomState>;

/// A label family whose values live in lane cells. `name` is written exactly as given (a
/// counter need not end in `_total`), as prom-client writes it.
pub struct CellFamily {
    name: String,
    help: String,
    kind: CellKind,
    label_names: Vec<String>,
    by_labels: SeriesMap,
    by_base: papaya::HashMap<usize, Arc<Series>, foldhash::fast::RandomState>,
    /// Serialises series creation so two threads resolving one new label set share cells.
    create: Mutex<()>,
}

impl CellFamily {
    pub fn new(name: &str, help: &str, kind: CellKind, label_names: &[String]) -> Result<Self> {
        crate::validate::metric_name(name)?;
        for (i, l) in label_names.iter().enumerate() {
            // Syntax only: prom-client accepts `__`-prefixed label names.
            if !crate::validate::is_label_name(l) {
                return Err(Error::InvalidLabelName(l.clone()));
            }
            if label_names[..i].contains(l) {
                return Err(Error::DuplicateLabelName(l.clone()));
            }
        }
        match &kind {
            CellKind::Histogram { bounds } => {
                if label_names.iter().any(|l| l == "le") {
                    return Err(Error::ReservedLabelName("le".into()));
                }
                if bounds.iter().any(|b| !b.is_finite()) || bounds.windows(2).any(|w| w[0] >= w[1])
                {
                    return Err(Error::InvalidBuckets(
                        "bounds must be finite and strictly increasing".into(),
                    ));
                }
                if bounds.len() + 2 > PAGE_CELLS {
                    return Err(Error::InvalidBuckets("too many buckets".into()));
                }
            }
            CellKind::Summary { quantiles, .. } => {
                if label_names.iter().any(|l| l == "quantile") {
                    return Err(Error::ReservedLabelName("quantile".into()));
                }
                if quantiles.iter().any(|q| !(0.0..=1.0).contains(q)) {
                    return Err(Error::InvalidOption(
                        "percentiles must be between 0 and 1".into(),
                    ));
                }
            }
            _ => {}
        }
        Ok(CellFamily {
            name: name.to_owned(),
            help: help.to_owned(),
            kind,
            label_names: label_names.to_vec(),
            by_labels: SeriesMap::default(),
            by_base: Default::default(),
            create: Mutex::new(()),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn help(&self) -> &str {
        &self.help
    }
    pub fn kind(&self) -> &CellKind {
        &self.kind
    }
    pub fn label_names(&self) -> &[String] {
        &self.label_names
    }

    /// Whether two declarations describe the same family (threads may each declare it).
    pub fn same_shape(&self, other: &CellFamily) -> bool {
        self.help == other.help
            && self.label_names == other.label_names
            && match (&self.kind, &other.kind) {
                (CellKind::Counter, CellKind::Counter) | (CellKind::Gauge, CellKind::Gauge) => true,
                (CellKind::Histogram { bounds: a }, CellKind::Histogram { bounds: b }) => a == b,
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

    /// The series for `values` (created on first use), made visible. Its cells keep whatever
    /// they held: a removed series was zeroed when it was removed.
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
        if let Some(s) = self.by_labels.pin().get(values) {
            if show {
                s.visible.store(true, Ordering::Relaxed);
            }
            return Ok(s.clone());
        }
        let _g = self.create.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = self.by_labels.pin().get(values) {
            if show {
                s.visible.store(true, Ordering::Relaxed);
            }
            return Ok(s.clone());
        }
        let space = if self.kind.shared() {
            shared_space()
        } else {
            laned()
        };
        let base = space.alloc(self.kind.width())?;
        let mut rendered = String::new();
        render_pairs(
            &mut rendered,
            self.label_names
                .iter()
                .map(String::as_str)
                .zip(values.iter().map(String::as_str)),
        );
        let window = match &self.kind {
            CellKind::Summary {
                max_age,
                age_buckets,
                ..
            } => Some(Mutex::new(QuantileWindow::new(*max_age, *age_buckets))),
            _ => None,
        };
        let s = Arc::new(Series {
            labels: values.into(),
            rendered,
            base,
            visible: AtomicBool::new(show),
            window,
            exemplars: OnceLock::new(),
        });
        self.by_labels.pin().insert(values.into(), s.clone());
        self.by_base.pin().insert(base, s.clone());
        Ok(s)
    }

    fn lanes(&self) -> Vec<Arc<Lane>> {
        if self.kind.shared() {
            shared_space().lanes()
        } else {
            laned().lanes()
        }
    }

    fn clear(&self, s: &Series, lanes: &[Arc<Lane>]) {
        s.visible.store(false, Ordering::Relaxed);
        for l in lanes {
            for i in s.base..s.base + self.kind.width() {
                l.zero(i);
            }
        }
        if let Some(w) = &s.window {
            w.lock().unwrap_or_else(|e| e.into_inner()).reset();
        }
        if let Some(slots) = s.exemplars.get() {
            slots.iter().for_each(|e| e.store(None));
        }
    }

    /// Hides the series and zeroes its cells; false if it never existed.
    pub fn remove(&self, values: &[String]) -> bool {
        match self.by_labels.pin().get(values) {
            Some(s) => {
                self.clear(s, &self.lanes());
                true
            }
            None => false,
        }
    }

    /// [`remove`](Self::remove) for every series.
    pub fn reset(&self) {
        let lanes = self.lanes();
        for s in self.by_labels.pin().values() {
            self.clear(s, &lanes);
        }
    }

    /// Zeroes the series' cells and makes it visible (prom-client's `zero`).
    pub fn zero(&self, values: &[String]) -> Result<Arc<Series>> {
        let s = self.resolve(values)?;
        let lanes = self.lanes();
        self.clear(&s, &lanes);
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
        let CellKind::Histogram { bounds } = &self.kind else {
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
        let bucket = bounds
            .iter()
            .position(|b| value <= *b)
            .unwrap_or(bounds.len());
        let slots = series
            .exemplars
            .get_or_init(|| (0..=bounds.len()).map(|_| ArcSwapOption::empty()).collect());
        slots[bucket].store(Some(Arc::new(exemplar)));
        Ok(())
    }

    /// Adds an observation to a summary series' quantile window (count and sum are cells the
    /// caller writes). False if `base` is not a summary series of this family.
    pub fn observe_quantiles(&self, base: usize, v: f64) -> bool {
        match self
            .by_base
            .pin()
            .get(&base)
            .and_then(|s| s.window.as_ref())
        {
            Some(w) => {
                w.lock().unwrap_or_else(|e| e.into_inner()).observe(v);
                true
            }
            None => false,
        }
    }

    fn value_of(&self, s: &Series, lanes: &[Arc<Lane>]) -> CellValue {
        match &self.kind {
            CellKind::Counter | CellKind::Gauge => CellValue::Scalar(Space::sum(lanes, s.base)),
            CellKind::Histogram { bounds } => {
                let n = bounds.len() + 1;
                CellValue::Histogram {
                    buckets: (0..n).map(|i| Space::sum(lanes, s.base + i)).collect(),
                    sum: Space::sum(lanes, s.base + n),
                }
            }
            CellKind::Summary { quantiles, .. } => {
                let window = s.window.as_ref().map(|w| {
                    w.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .quantiles(quantiles)
                });
                let values = window
                    .flatten()
                    .unwrap_or_else(|| vec![0.0; quantiles.len()]);
                CellValue::Summary {
                    count: Space::sum(lanes, s.base),
                    sum: Space::sum(lanes, s.base + 1),
                    quantiles: quantiles.iter().copied().zip(values).collect(),
                }
            }
        }
    }

    /// Visible series in creation order (cells are allocated in increasing order), as
    /// prom-client lists them.
    fn visible(&self) -> Vec<Arc<Series>> {
        let mut v: Vec<Arc<Series>> = self
            .by_labels
            .pin()
            .values()
            .filter(|s| s.visible.load(Ordering::Relaxed))
            .cloned()
            .collect();
        v.sort_unstable_by_key(|s| s.base);
        v
    }

    /// Every visible series with its value, in creation order.
    pub fn values(&self) -> Vec<(Vec<String>, CellValue)> {
        let lanes = self.lanes();
        self.visible()
            .iter()
            .map(|s| (s.labels.to_vec(), self.value_of(s, &lanes)))
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
            let v = self.value_of(&s, &lanes);
            let labels = self
                .label_names
                .iter()
                .cloned()
                .zip(s.labels.iter().cloned())
                .collect();
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
                    let CellKind::Histogram { bounds } = &self.kind else {
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
            CellKind::Histogram { bounds } => bounds
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
        for s in self.visible() {
            let w = &mut SeriesWriter {
                out: &mut *out,
                openmetrics,
                openmetrics_label_floats: openmetrics,
                name: &main,
                registry_labels,
                labels: &s.rendered,
            };
            match &self.kind {
                CellKind::Counter | CellKind::Gauge => {
                    sample(w, "", None, &defaults, Space::sum(&lanes, s.base))
                }
                CellKind::Histogram { .. } => {
                    let mut acc = 0.0;
                    for (i, le) in les.iter().enumerate() {
                        acc += Space::sum(&lanes, s.base + i);
                        w.start_with("_bucket", Some(("le", le)), &defaults);
                        w.f64(acc);
                        w.exemplar(s.exemplar(i).as_deref());
                        w.end();
                    }
                    let sum = Space::sum(&lanes, s.base + les.len());
                    sample(w, "_sum", None, &defaults, sum);
                    sample(w, "_count", None, &defaults, acc);
                }
                CellKind::Summary { .. } => {
                    let CellValue::Summary {
                        count,
                        sum,
                        quantiles,
                    } = self.value_of(&s, &lanes)
                    else {
                        unreachable!("summary families produce summary values")
                    };
                    for (q, (_, v)) in qs.iter().zip(quantiles) {
                        sample(w, "", Some(("quantile", q)), &defaults, v);
                    }
                    sample(w, "_sum", None, &defaults, sum);
                    sample(w, "_count", None, &defaults, count);
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
        };
        let f = Arc::new(CellFamily::new("lat_seconds", "L.", kind, &vals(&["r"])).unwrap());
        let lane = lease_lane();
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
    fn counters_sum_over_lanes_and_render() {
        let f = Arc::new(
            CellFamily::new("jobs_total", "Jobs.", CellKind::Counter, &vals(&["kind"])).unwrap(),
        );
        let (a, b) = (lease_lane(), lease_lane());
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
        let again = f.resolve(&vals(&["x"])).unwrap();
        assert_eq!(again.base(), s.base(), "a removed series reuses its cells");
        assert_eq!(f.values(), vec![(vals(&["x"]), CellValue::Scalar(0.0))]);
        release_lane(a);
        release_lane(b);
    }

    #[test]
    fn hidden_series_show_from_their_first_resolve() {
        let f =
            CellFamily::new("jobs_total", "Jobs.", CellKind::Counter, &vals(&["kind"])).unwrap();
        let lane = lease_lane();
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
            },
            &[],
        )
        .unwrap();
        let lane = lease_lane();
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
        };
        assert!(CellFamily::new("x", "h", h, &[]).is_err());
        let f = CellFamily::new("x", "h", CellKind::Gauge, &vals(&["a"])).unwrap();
        assert!(f.resolve(&[]).is_err());
    }

    #[test]
    fn allocation_never_crosses_a_page() {
        let s = Space::new();
        let a = s.alloc(PAGE_CELLS - 1).unwrap();
        let b = s.alloc(2).unwrap();
        assert_eq!(a, 0);
        assert_eq!(b, PAGE_CELLS);
        assert!(s.alloc(PAGE_CELLS + 1).is_err());
    }
}
