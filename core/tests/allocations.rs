//! Hot paths allocate nothing: a hit lookup, increments and observations, and a warm
//! encode into a reused buffer. Counted by a global allocator wrapper (this test binary only).

use footmetrics::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|a| a.set(a.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.with(|a| a.set(a.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by this thread while running `f`.
fn allocations(f: impl FnOnce()) -> u64 {
    let before = ALLOCS.with(Cell::get);
    f();
    ALLOCS.with(Cell::get) - before
}

#[test]
fn hot_paths_do_not_allocate() {
    let r = Registry::new();
    let requests = r
        .counter_vec(&Opts::new("requests_total", "R.").labels(&["method", "route", "code"]))
        .unwrap();
    let latency = r
        .histogram_vec(&Opts::new("latency_seconds", "L.").labels(&["method", "route"]))
        .unwrap();
    let routes: Vec<String> = (0..100).map(|i| format!("/route/{i}")).collect();
    for route in &routes {
        requests.get(&["GET", route.as_str(), "200"]).unwrap().inc();
        latency.get(&["GET", route.as_str()]).unwrap().observe(0.1);
    }
    let counter = r.counter(&Opts::new("plain_total", "P.")).unwrap();
    let gauge = r.gauge(&Opts::new("g", "G.")).unwrap();
    let handle = requests
        .with_label_values(&["GET", "/route/1", "200"])
        .unwrap();

    let n = allocations(|| {
        for (i, route) in routes.iter().enumerate().cycle().take(10_000) {
            requests.get(&["GET", route.as_str(), "200"]).unwrap().inc();
            requests
                .get_by_name(&[
                    ("code", "200"),
                    ("route", route.as_str()),
                    ("method", "GET"),
                ])
                .unwrap()
                .inc();
            latency
                .get(&["GET", route.as_str()])
                .unwrap()
                .observe(i as f64 * 0.001);
            counter.inc();
            counter.inc_by(0.5).unwrap();
            gauge.add(1.0);
            handle.inc();
        }
    });
    assert_eq!(n, 0, "allocations on hit lookups and updates");

    // The counter counts: a miss creates a child, which allocates.
    assert!(allocations(|| requests.get(&["GET", "/new", "200"]).unwrap().inc()) > 0);

    let mut buf = Vec::new();
    for format in [Format::Text, Format::OpenMetrics] {
        r.encode(format, &mut buf); // warm: the buffer grows to size once
        let n = allocations(|| {
            for _ in 0..10 {
                buf.clear();
                r.encode(format, &mut buf);
            }
        });
        assert_eq!(n, 0, "allocations in a warm {format:?} encode");
    }
}
