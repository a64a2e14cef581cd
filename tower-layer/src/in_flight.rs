//! `http_requests_in_flight`, kept as requests started minus requests finished.
//!
//! Each thread counts the requests it starts and finishes in cells only it writes, so a
//! count is a plain load and store: no atomic read-modify-write (an uncontended `lock add`
//! costs as much as the rest of the count, and a request counts twice) and no cache line
//! written by two threads. Reading sums every thread's cells; a thread that exits hands its
//! counts over to the gauge, so memory does not grow with threads that came and went.

use footmetrics::{Collector, Desc, Family, Gauge, MetricFamily, MetricType, Opts, PointValue};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// Requests currently in flight through a [`MetricsLayer`](crate::MetricsLayer).
#[derive(Clone)]
pub struct InFlight {
    shared: Arc<Shared>,
}

struct Shared {
    /// Tells this gauge's cells apart in the threads' lists; never reused in a process.
    id: u64,
    threads: Mutex<Threads>,
    /// Counts from threads whose cells are gone (a request finishing while its thread's
    /// thread-locals are being destroyed): atomic adds, as a plain counter's.
    started: AtomicU64,
    finished: AtomicU64,
}

/// The cells of the live threads that counted here, and what exited threads counted.
#[derive(Default)]
struct Threads {
    cells: Vec<Arc<Cells>>,
    started: u64,
    finished: u64,
}

/// One thread's counts, written by that thread only. A line of its own, so no other
/// thread's writes evict it.
#[repr(align(128))]
#[derive(Default)]
struct Cells {
    started: AtomicU64,
    finished: AtomicU64,
}

impl Cells {
    /// Adds one to a cell this thread alone writes: a load and a store, no `lock` prefix.
    /// Release, so a reader that sees a finish (acquire) also sees the start it follows,
    /// whichever thread counted that.
    #[inline(always)]
    fn bump(cell: &AtomicU64) {
        cell.store(cell.load(Ordering::Relaxed) + 1, Ordering::Release);
    }
}

/// A thread's cells for one gauge. Dropped with the thread's locals, it moves its counts
/// into the gauge's (under the lock readers take, so no reading sees them twice or not at
/// all) and forgets the cells.
struct Registration {
    id: u64,
    cells: Arc<Cells>,
    shared: Weak<Shared>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.upgrade() {
            let mut threads = shared.lock();
            threads.started += self.cells.started.load(Ordering::Acquire);
            threads.finished += self.cells.finished.load(Ordering::Acquire);
            threads.cells.retain(|c| !Arc::ptr_eq(c, &self.cells));
        }
    }
}

thread_local! {
    /// This thread's cells, one per gauge it counted in (usually one: one layer).
    static CELLS: RefCell<Vec<Registration>> = const { RefCell::new(Vec::new()) };
}

impl InFlight {
    pub(crate) fn new() -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        InFlight {
            shared: Arc::new(Shared {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                threads: Mutex::new(Threads::default()),
                started: AtomicU64::new(0),
                finished: AtomicU64::new(0),
            }),
        }
    }

    #[inline]
    pub(crate) fn start(&self) {
        self.count(|c| &c.started, &self.shared.started);
    }

    #[inline]
    pub(crate) fn finish(&self) {
        self.count(|c| &c.finished, &self.shared.finished);
    }

    #[inline(always)]
    fn count(&self, cell: fn(&Cells) -> &AtomicU64, fallback: &AtomicU64) {
        let id = self.shared.id;
        let counted = CELLS.try_with(|list| {
            let list = list.try_borrow().ok()?;
            let r = list.iter().find(|r| r.id == id)?;
            Cells::bump(cell(&r.cells));
            Some(())
        });
        if !matches!(counted, Ok(Some(()))) {
            self.count_cold(cell, fallback);
        }
    }

    /// The thread's first count here: registers its cells (or, with its locals gone, adds to
    /// the shared counts).
    #[cold]
    #[inline(never)]
    fn count_cold(&self, cell: fn(&Cells) -> &AtomicU64, fallback: &AtomicU64) {
        let counted = CELLS.try_with(|list| {
            let mut list = list.try_borrow_mut().ok()?;
            if let Some(r) = list.iter().find(|r| r.id == self.shared.id) {
                Cells::bump(cell(&r.cells));
                return Some(());
            }
            let cells = Arc::new(Cells::default());
            Cells::bump(cell(&cells));
            self.shared.lock().cells.push(cells.clone());
            // Forget the gauges dropped since (their registrations move nothing).
            list.retain(|r| r.shared.strong_count() > 0);
            list.push(Registration {
                id: self.shared.id,
                cells,
                shared: Arc::downgrade(&self.shared),
            });
            Some(())
        });
        if !matches!(counted, Ok(Some(()))) {
            fallback.fetch_add(1, Ordering::Release);
        }
    }

    /// The current value. Reads every count finished before any count started, so a
    /// request that finishes during the read is never counted as finished but not started.
    pub fn get(&self) -> f64 {
        let threads = self.shared.lock();
        let mut finished = threads.finished + self.shared.finished.load(Ordering::Acquire);
        for c in &threads.cells {
            finished += c.finished.load(Ordering::Acquire);
        }
        let mut started = threads.started + self.shared.started.load(Ordering::Acquire);
        for c in &threads.cells {
            started += c.started.load(Ordering::Acquire);
        }
        started.saturating_sub(finished) as f64
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Threads> {
        // The lock guards sums that are whole after every statement: a panic cannot
        // leave them half-updated.
        self.threads.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Exposes an [`InFlight`] as a gauge family with its const labels.
pub(crate) struct InFlightCollector {
    desc: Desc,
    value: InFlight,
}

impl InFlightCollector {
    /// Validates `opts` as a gauge family without labels (the catalog's declaration).
    pub(crate) fn new(opts: &Opts) -> footmetrics::Result<Self> {
        let desc = Family::<Gauge>::new(opts)?.desc().clone();
        Ok(InFlightCollector {
            desc,
            value: InFlight::new(),
        })
    }

    pub(crate) fn value(&self) -> &InFlight {
        &self.value
    }
}

impl Collector for InFlightCollector {
    fn descs(&self) -> Vec<Desc> {
        vec![self.desc.clone()]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let d = &self.desc;
        let mut family = MetricFamily::new(&d.name, &d.help, MetricType::Gauge);
        if let Some(unit) = &d.unit {
            family = family.with_unit(unit);
        }
        family.push(
            d.const_labels.iter().cloned(),
            PointValue::Gauge(self.value.get()),
        );
        vec![family]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_across_threads_and_keeps_exited_threads_counts() {
        let f = InFlight::new();
        f.start();
        let g = f.clone();
        std::thread::spawn(move || {
            g.start();
            g.start();
            g.finish();
        })
        .join()
        .unwrap();
        // The exited thread's counts moved into the gauge's, and its cells are gone.
        assert_eq!(f.get(), 2.0);
        assert_eq!(f.shared.lock().cells.len(), 1);
        f.finish();
        f.finish();
        assert_eq!(f.get(), 0.0);
    }

    #[test]
    fn requests_started_on_one_thread_finish_on_another() {
        let f = InFlight::new();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let f = f.clone();
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        if t % 2 == 0 {
                            f.start();
                        } else {
                            f.finish();
                        }
                        assert!(f.get() >= 0.0);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(f.get(), 0.0);
    }

    #[test]
    fn gauges_are_apart() {
        let (a, b) = (InFlight::new(), InFlight::new());
        a.start();
        b.start();
        b.start();
        a.finish();
        assert_eq!((a.get(), b.get()), (0.0, 2.0));
        drop(a);
        // A thread's list forgets dropped gauges when it registers in a new one.
        let c = InFlight::new();
        c.start();
        assert_eq!(c.get(), 1.0);
        CELLS.with(|list| assert!(list.borrow().iter().all(|r| r.shared.strong_count() > 0)));
    }
}
