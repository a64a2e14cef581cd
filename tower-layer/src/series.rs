//! The series a request records into, resolved once per (method, route) rather than twice
//! per request: the duration histogram, the in-flight gauge and a few counters by status
//! code, all already resolved, found by one lookup at the start of a request.
//!
//! The lookup has two levels. Behind, one lock-free map shared by every thread holds the
//! entries. In front, each thread keeps a table of the entries it used, each with a few
//! spare references to it: a request takes one, and gives it back to its thread's table
//! once recorded. So a request whose thread has seen its (method, route) before does no
//! atomic operation to find its series and keep it alive (an uncontended `lock`-prefixed
//! instruction costs about as much as the whole lookup). A request reaches the shared map
//! the first time its thread sees its (method, route), or after the families removed series
//! (see `Family::generation`).
//!
//! A table holds strong references: a dropped layer's series stay allocated until the thread
//! exits or its table fills up and starts over (at most `LOCAL_MAX` entries a thread).

use crate::in_flight::InFlight;
use footmetrics::arena::HasCells;
use footmetrics::{Counter, Family, Histogram};
use http::StatusCode;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Status codes a route's entry keeps resolved; more are looked up in the family each time.
/// Routes rarely answer with more than a handful of codes.
const CODE_SLOTS: usize = 8;

/// Entries kept at most. Routes come from templates so this is rarely reached; past it (a
/// classifier producing unbounded routes) requests resolve their series without caching,
/// and the families fold the excess into their overflow series as usual.
const MAX_ENTRIES: usize = 4096;

/// Entries a thread's table holds at most; a table that would hold more starts over. Only
/// a classifier producing unbounded routes gets near it.
const LOCAL_MAX: usize = 1024;

/// Spare references a thread's table keeps per entry: as many requests of one route as may
/// be in flight at once on one thread and still find one. Past it, references are taken and
/// dropped with atomic operations as usual.
const LOCAL_SPARES: usize = 32;

/// What a request of one (method, route) records into.
pub(crate) struct RouteSeries {
    pub(crate) method: &'static str,
    route: Box<str>,
    requests: Family<Counter>,
    pub(crate) duration: Histogram,
    /// `duration` is native: observed through the core, not its cells.
    native: bool,
    pub(crate) in_flight: InFlight,
    /// Reads the TSC where it is invariant: ~10 ns here against ~23 for `Instant::now`, and
    /// the conversion to nanoseconds happens once per request, on the difference.
    pub(crate) clock: quanta::Clock,
    /// Counters resolved for the codes seen so far, claimed first come first served.
    ///
    /// Invariant: a slot, once set, holds the counter of its own code for the life of the
    /// entry; slots fill in order, so the first empty slot ends a search.
    codes: [OnceLock<(StatusCode, Counter)>; CODE_SLOTS],
    /// The families' generations when this entry was resolved (see `Family::generation`).
    generations: (u64, u64),
}

impl RouteSeries {
    fn resolve(
        requests: &Family<Counter>,
        duration: &Family<Histogram>,
        in_flight: &InFlight,
        clock: &quanta::Clock,
        method: &'static str,
        route: &str,
    ) -> Self {
        // Read the generations first: a removal after this point makes the entry stale.
        let generations = (requests.generation(), duration.generation());
        // Two label values, as the catalog declares: this lookup cannot fail on count, and
        // the core folds a label set past the cardinality limit into its overflow series.
        let duration = duration
            .with_label_values(&[method, route])
            .expect("http_request_duration_seconds has labels method and route");
        RouteSeries {
            method,
            route: route.into(),
            requests: requests.clone(),
            native: duration.is_native(),
            duration,
            in_flight: in_flight.clone(),
            clock: clock.clone(),
            codes: Default::default(),
            generations,
        }
    }

    /// Observes a request's duration as `Histogram::observe` does (one atomic add on the
    /// bucket, a compare-and-swap adding to the sum), but finds the bucket by scanning the
    /// bounds from the smallest rather than by binary search. Request durations sit in the
    /// first buckets, where the scan ends after a compare or two the branch predictor knows,
    /// while each step of a binary search waits for the one before (about 15 ns a request
    /// on the benchmark machine). Writes through the cell layout the core documents for
    /// bindings (`footmetrics::Histogram::cells_ptr`); a test holds it to `Histogram::observe`.
    #[inline]
    pub(crate) fn observe(&self, seconds: f64) {
        debug_assert!(!seconds.is_nan(), "durations come from integer nanoseconds");
        if self.native {
            // A native histogram does not use the documented cells: the core's own path.
            self.duration.observe(seconds);
            return;
        }
        let bounds = self.duration.bounds();
        let bucket = bounds
            .iter()
            .position(|&b| seconds <= b)
            .unwrap_or(bounds.len());
        // Safety: `series_cells().ptr` points to `bucket_count() + 2` words, live as long as a handle
        // to the histogram is, and `self.duration` is one.
        let cells = unsafe {
            std::slice::from_raw_parts(
                self.duration.series_cells().ptr,
                self.duration.bucket_count() + 2,
            )
        };
        let (sum, counts) = cells.split_last().expect("a histogram has a sum word");
        counts[bucket].fetch_add(1, Ordering::Relaxed);
        let mut old = sum.load(Ordering::Relaxed);
        loop {
            let new = (f64::from_bits(old) + seconds).to_bits();
            match sum.compare_exchange_weak(old, new, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(actual) => old = actual,
            }
        }
    }

    /// Whether this entry is the current one for `method` and `route`.
    #[inline]
    fn is(&self, method: &str, route: &str, generations: (u64, u64)) -> bool {
        self.generations == generations && self.method == method && *self.route == *route
    }

    /// Counts one request answered with `code`.
    pub(crate) fn count(&self, code: StatusCode) {
        for slot in &self.codes {
            let (c, counter) = match slot.get() {
                Some(entry) => entry,
                None => slot.get_or_init(|| (code, self.counter_for(code))),
            };
            // A racing request may have claimed this slot for another code: keep looking.
            if *c == code {
                counter.inc();
                return;
            }
        }
        self.counter_for(code).inc();
    }

    fn counter_for(&self, code: StatusCode) -> Counter {
        self.requests
            .with_label_values(&[self.method, &self.route, code.as_str()])
            .expect("http_requests_total has labels method, route and code")
    }
}

/// Map key: the method's label and the route label, owned.
#[derive(PartialEq, Eq)]
struct SeriesKey {
    method: &'static str,
    route: Box<str>,
}

/// Borrowed form of [`SeriesKey`]; hashes exactly as it does.
struct SeriesKeyRef<'a> {
    method: &'static str,
    route: &'a str,
}

impl Hash for SeriesKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_key(state, self.method, &self.route);
    }
}

impl Hash for SeriesKeyRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_key(state, self.method, self.route);
    }
}

#[inline(always)]
fn hash_key<H: Hasher>(state: &mut H, method: &str, route: &str) {
    // Methods are few and short; their length and first byte tell the standard ones apart
    // well enough for a hash (equality still compares the whole string).
    state.write_u16(((method.len() as u16) << 8) | u16::from(method.as_bytes()[0]));
    state.write(route.as_bytes());
}

impl papaya::Equivalent<SeriesKey> for SeriesKeyRef<'_> {
    fn equivalent(&self, key: &SeriesKey) -> bool {
        self.method == key.method && self.route == &*key.route
    }
}

/// Resolved series by (method, route), shared by every service of one layer.
pub(crate) struct SeriesCache {
    /// Tells this cache's entries apart in the threads' tables; never reused in a process.
    id: u64,
    requests: Family<Counter>,
    duration: Family<Histogram>,
    in_flight: InFlight,
    clock: quanta::Clock,
    entries: papaya::HashMap<SeriesKey, Arc<RouteSeries>, foldhash::fast::RandomState>,
}

/// An entry of a thread's table: an entry of a cache this thread used, with references to
/// it that finished requests gave back.
struct LocalEntry {
    cache: u64,
    series: Arc<RouteSeries>,
    /// Clones of `series`, handed out before cloning it again.
    spares: Vec<Arc<RouteSeries>>,
}

/// A thread's table, by [`local_hash`] (already a hash: the map's hasher passes it on).
/// A hash two keys share only costs the one that finds the other's entry a trip to the
/// shared map, and the entry.
type LocalTable = HashMap<u64, LocalEntry, BuildHasherDefault<PassThrough>>;

thread_local! {
    static LOCAL: RefCell<LocalTable> =
        const { RefCell::new(HashMap::with_hasher(BuildHasherDefault::new())) };
}

/// Hashes a `u64` key as itself.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed; anything else folds in, correct if slow.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// The key a thread's table files (cache, method, route) under.
#[inline]
fn local_hash(cache: u64, method: &str, route: &str) -> u64 {
    let mut h = foldhash::fast::FixedState::with_seed(0).build_hasher();
    h.write_u64(cache);
    hash_key(&mut h, method, route);
    h.finish()
}

/// A request's reference to its series. Dropped, it goes back to the dropping thread's
/// table when that holds the same entry (no atomic operation), else it is released.
pub(crate) struct SeriesLease {
    /// `Some` until dropped.
    series: Option<Arc<RouteSeries>>,
    hash: u64,
}

impl Deref for SeriesLease {
    type Target = RouteSeries;

    #[inline]
    fn deref(&self) -> &RouteSeries {
        // Set from creation until drop.
        self.series
            .as_deref()
            .expect("a lease holds its series until dropped")
    }
}

impl Drop for SeriesLease {
    #[inline]
    fn drop(&mut self) {
        let Some(series) = self.series.take() else {
            return;
        };
        let hash = self.hash;
        // Kept by the thread's table, or handed back and released here, after the table's
        // borrow. Without the thread's locals (being destroyed) the closure is dropped unrun,
        // and the reference with it.
        let _released = LOCAL.try_with(move |table| {
            let Ok(mut table) = table.try_borrow_mut() else {
                return Some(series);
            };
            match table.get_mut(&hash) {
                Some(entry)
                    if Arc::ptr_eq(&entry.series, &series) && entry.spares.len() < LOCAL_SPARES =>
                {
                    entry.spares.push(series);
                    None
                }
                _ => Some(series),
            }
        });
    }
}

impl SeriesCache {
    pub(crate) fn new(
        requests: Family<Counter>,
        duration: Family<Histogram>,
        in_flight: InFlight,
    ) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        SeriesCache {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            requests,
            duration,
            in_flight,
            // Calibrates against the OS clock on first use in the process (a few ms).
            clock: quanta::Clock::new(),
            entries: papaya::HashMap::with_hasher(foldhash::fast::RandomState::default()),
        }
    }

    pub(crate) fn requests(&self) -> &Family<Counter> {
        &self.requests
    }

    pub(crate) fn duration(&self) -> &Family<Histogram> {
        &self.duration
    }

    pub(crate) fn in_flight(&self) -> &InFlight {
        &self.in_flight
    }

    /// The series for `method` and `route`: from this thread's table when it has a current
    /// entry (no atomic operation), else from the shared map (a lock-free lookup), else
    /// resolved.
    #[inline]
    pub(crate) fn get(&self, method: &'static str, route: &str) -> SeriesLease {
        let generations = (self.requests.generation(), self.duration.generation());
        let hash = local_hash(self.id, method, route);
        let local = LOCAL.try_with(|table| {
            let mut table = table.try_borrow_mut().ok()?;
            let entry = table.get_mut(&hash)?;
            if entry.cache != self.id || !entry.series.is(method, route, generations) {
                return None;
            }
            Some(entry.spares.pop().unwrap_or_else(|| entry.series.clone()))
        });
        let series = match local {
            Ok(Some(series)) => series,
            _ => self.get_shared(method, route, generations, hash),
        };
        SeriesLease {
            series: Some(series),
            hash,
        }
    }

    /// The shared map's entry (resolved if it has none or a stale one), which this thread's
    /// table then holds.
    #[cold]
    #[inline(never)]
    fn get_shared(
        &self,
        method: &'static str,
        route: &str,
        generations: (u64, u64),
        hash: u64,
    ) -> Arc<RouteSeries> {
        let key = SeriesKeyRef { method, route };
        let found = self
            .entries
            .pin()
            .get(&key)
            .filter(|s| s.generations == generations)
            .cloned();
        let series = found.unwrap_or_else(|| self.resolve(method, route));
        let entry = LocalEntry {
            cache: self.id,
            series: series.clone(),
            spares: Vec::new(),
        };
        // What the entry replaces drops after the table's borrow ends: dropping a layer's
        // last series runs no code that uses the table, but keep it out of the borrow.
        let _replaced = LOCAL.try_with(move |table| {
            let mut table = table.try_borrow_mut().ok()?;
            let full = if table.len() >= LOCAL_MAX && !table.contains_key(&hash) {
                std::mem::take(&mut *table)
            } else {
                LocalTable::default()
            };
            Some((table.insert(hash, entry), full))
        });
        series
    }

    /// A new entry, put in the shared map while it has room.
    fn resolve(&self, method: &'static str, route: &str) -> Arc<RouteSeries> {
        let series = Arc::new(RouteSeries::resolve(
            &self.requests,
            &self.duration,
            &self.in_flight,
            &self.clock,
            method,
            route,
        ));
        let entries = self.entries.pin();
        let key = || SeriesKey {
            method,
            route: route.into(),
        };
        // A stale entry is replaced whatever the size; a new one only while there is room.
        if entries.contains_key(&SeriesKeyRef { method, route }) || entries.len() < MAX_ENTRIES {
            entries.insert(key(), series.clone());
        }
        series
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use footmetrics::Opts;

    fn cache() -> SeriesCache {
        let requests = Family::<Counter>::new(
            &Opts::new("http_requests_total", "r").labels(&["method", "route", "code"]),
        )
        .unwrap();
        let duration = Family::<Histogram>::new(
            &Opts::new("http_request_duration_seconds", "d").labels(&["method", "route"]),
        )
        .unwrap();
        SeriesCache::new(requests, duration, InFlight::new())
    }

    fn count(c: &SeriesCache, method: &str, route: &str, code: &str) -> f64 {
        c.requests()
            .with_label_values(&[method, route, code])
            .unwrap()
            .get()
    }

    #[test]
    fn one_entry_per_method_and_route() {
        let c = cache();
        let same = |a: &RouteSeries, b: &RouteSeries| std::ptr::eq(a, b);
        let a = c.get("GET", "/a");
        assert!(same(&a, &c.get("GET", "/a")));
        assert!(!same(&a, &c.get("POST", "/a")));
        assert!(!same(&a, &c.get("GET", "/b")));
        assert_eq!((a.method, &*a.route), ("GET", "/a"));
    }

    #[test]
    fn observes_as_the_core_does() {
        let c = cache();
        let s = c.get("GET", "/a");
        let reference = c
            .duration()
            .with_label_values(&["GET", "/reference"])
            .unwrap();
        let mut values = vec![0.0, 1e-9, 1e3, f64::MAX, f64::INFINITY];
        for &b in s.duration.bounds() {
            values.extend([b, b.next_down(), b.next_up()]);
        }
        for v in values {
            s.observe(v);
            reference.observe(v);
        }
        assert_eq!(s.duration.snapshot(), reference.snapshot());
        assert_eq!(
            s.duration.snapshot().count,
            5 + 3 * s.duration.bounds().len() as u64
        );
    }

    #[test]
    fn leases_go_back_to_their_thread() {
        let c = cache();
        let first = c.get("GET", "/a");
        let series = first.series.clone().unwrap();
        drop(first);
        for _ in 0..1000 {
            drop(c.get("GET", "/a"));
        }
        // The shared map, this thread's table, one spare, and `series`.
        assert_eq!(Arc::strong_count(&series), 4);
        let many: Vec<_> = (0..2 * LOCAL_SPARES).map(|_| c.get("GET", "/a")).collect();
        drop(many);
        assert_eq!(Arc::strong_count(&series), 3 + LOCAL_SPARES);
        // A lease dropped on a thread whose table does not hold the entry is released.
        let lease = c.get("GET", "/a");
        std::thread::spawn(move || drop(lease)).join().unwrap();
        assert_eq!(Arc::strong_count(&series), 2 + LOCAL_SPARES);
    }

    #[test]
    fn thread_tables_stay_bounded() {
        let c = cache();
        for i in 0..LOCAL_MAX + 10 {
            c.get("GET", &format!("/r{i}")).count(StatusCode::OK);
        }
        LOCAL.with(|t| assert!(t.borrow().len() <= LOCAL_MAX));
        c.get("GET", "/r0").count(StatusCode::OK);
        assert_eq!(count(&c, "GET", "/r0", "200"), 2.0);
    }

    #[test]
    fn tables_tell_caches_apart() {
        let (a, b) = (cache(), cache());
        a.get("GET", "/a").count(StatusCode::OK);
        b.get("GET", "/a").count(StatusCode::OK);
        b.get("GET", "/a").count(StatusCode::OK);
        assert_eq!(count(&a, "GET", "/a", "200"), 1.0);
        assert_eq!(count(&b, "GET", "/a", "200"), 2.0);
    }

    #[test]
    fn counts_every_code_including_past_the_slots() {
        let c = cache();
        let s = c.get("GET", "/a");
        for code in 200..200 + 3 * CODE_SLOTS as u16 {
            let code = StatusCode::from_u16(code).unwrap();
            for _ in 0..2 {
                s.count(code);
            }
        }
        for code in 200..200 + 3 * CODE_SLOTS as u16 {
            assert_eq!(count(&c, "GET", "/a", &code.to_string()), 2.0, "{code}");
        }
    }

    #[test]
    fn counts_exactly_under_racing_threads() {
        let c = Arc::new(cache());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for i in 0..5000u16 {
                        let code = StatusCode::from_u16(200 + (i + t) % 12).unwrap();
                        c.get("GET", "/a").count(code);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let total: f64 = (200..212)
            .map(|code| count(&c, "GET", "/a", &code.to_string()))
            .sum();
        assert_eq!(total, 20_000.0);
    }

    #[test]
    fn removal_from_the_family_is_noticed() {
        let c = cache();
        c.get("GET", "/a").count(StatusCode::OK);
        c.get("GET", "/a").duration.observe(0.1);
        c.requests().clear();
        c.duration().remove(&["GET", "/a"]).unwrap();
        // The cached handles were detached: the next request resolves exported ones again.
        c.get("GET", "/a").count(StatusCode::OK);
        c.get("GET", "/a").duration.observe(0.2);
        assert_eq!(count(&c, "GET", "/a", "200"), 1.0);
        let h = c.duration().with_label_values(&["GET", "/a"]).unwrap();
        assert_eq!(h.snapshot().count, 1);
    }

    #[test]
    fn stops_caching_at_the_bound() {
        let c = cache();
        for i in 0..MAX_ENTRIES + 10 {
            c.get("GET", &format!("/r{i}")).count(StatusCode::OK);
        }
        assert_eq!(c.entries.len(), MAX_ENTRIES);
        let last = format!("/r{}", MAX_ENTRIES + 9);
        assert_eq!(count(&c, "GET", &last, "200"), 1.0);
    }
}
