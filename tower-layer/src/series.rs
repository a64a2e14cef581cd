//! The series a request records into, resolved once per (method, route) rather than twice
//! per request: one hash lookup at the start of a request finds the duration histogram, the
//! in-flight gauge and a few counters by status code, all already resolved.

use crate::in_flight::InFlight;
use footmetrics::{Counter, Family, Histogram};
use http::StatusCode;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, OnceLock};

/// Status codes a route's entry keeps resolved; more are looked up in the family each time.
/// Routes rarely answer with more than a handful of codes.
const CODE_SLOTS: usize = 8;

/// Entries kept at most. Routes come from templates so this is rarely reached; past it (a
/// classifier producing unbounded routes) requests resolve their series without caching,
/// and the families fold the excess into their overflow series as usual.
const MAX_ENTRIES: usize = 4096;

/// What a request of one (method, route) records into.
pub(crate) struct RouteSeries {
    pub(crate) method: &'static str,
    route: Box<str>,
    requests: Family<Counter>,
    pub(crate) duration: Histogram,
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
        RouteSeries {
            method,
            route: route.into(),
            requests: requests.clone(),
            // Two label values, as the catalog declares: this lookup cannot fail on count, and
            // the core folds a label set past the cardinality limit into its overflow series.
            duration: duration
                .with_label_values(&[method, route])
                .expect("http_request_duration_seconds has labels method and route"),
            in_flight: in_flight.clone(),
            clock: clock.clone(),
            codes: Default::default(),
            generations,
        }
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
    requests: Family<Counter>,
    duration: Family<Histogram>,
    in_flight: InFlight,
    clock: quanta::Clock,
    entries: papaya::HashMap<SeriesKey, Arc<RouteSeries>, foldhash::fast::RandomState>,
}

impl SeriesCache {
    pub(crate) fn new(
        requests: Family<Counter>,
        duration: Family<Histogram>,
        in_flight: InFlight,
    ) -> Self {
        SeriesCache {
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

    /// The series for `method` and `route`; a lock-free lookup once the pair has been seen.
    #[inline]
    pub(crate) fn get(&self, method: &'static str, route: &str) -> Arc<RouteSeries> {
        let generations = (self.requests.generation(), self.duration.generation());
        let key = SeriesKeyRef { method, route };
        {
            let entries = self.entries.pin();
            if let Some(series) = entries.get(&key) {
                if series.generations == generations {
                    return series.clone();
                }
            }
        }
        self.resolve(method, route)
    }

    #[cold]
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
        let a = c.get("GET", "/a");
        assert!(Arc::ptr_eq(&a, &c.get("GET", "/a")));
        assert!(!Arc::ptr_eq(&a, &c.get("POST", "/a")));
        assert!(!Arc::ptr_eq(&a, &c.get("GET", "/b")));
        assert_eq!((a.method, &*a.route), ("GET", "/a"));
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
