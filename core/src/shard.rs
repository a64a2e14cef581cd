//! Which shard of a sharded cell the current thread writes to.
//!
//! Each thread takes the next index from a global counter the first time it writes, and keeps
//! it. Two threads therefore write different cache lines of a sharded counter (as long as there
//! are no more threads than shards), so a counter shared by all threads costs what an
//! uncontended atomic add costs. Readers sum every shard.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Upper bound on shards per cell: beyond 8, memory grows faster than contention falls.
pub(crate) const MAX_SHARDS: usize = 8;

static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static THREAD_INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// This thread's index (any `usize`; callers mask it to their shard count).
#[inline(always)]
pub(crate) fn thread_index() -> usize {
    THREAD_INDEX.with(|c| {
        let i = c.get();
        if i != usize::MAX {
            i
        } else {
            let i = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
            c.set(i);
            i
        }
    })
}

/// Default shard count: the machine's parallelism rounded up to a power of two, at most
/// [`MAX_SHARDS`]. Decided once per process.
pub(crate) fn default_shards() -> usize {
    static SHARDS: OnceLock<usize> = OnceLock::new();
    *SHARDS.get_or_init(|| {
        let n = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        n.next_power_of_two().min(MAX_SHARDS)
    })
}

/// Rounds a requested shard count to what cells support: a power of two in `1..=MAX_SHARDS`.
pub(crate) fn normalize(requested: usize) -> usize {
    requested
        .clamp(1, MAX_SHARDS)
        .next_power_of_two()
        .min(MAX_SHARDS)
}
