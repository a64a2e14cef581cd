//! Epoch-based reclamation for family lookups: readers announce themselves with one plain
//! store and leave with another, so a label lookup costs no atomic read-modify-write besides
//! the update it leads to; the rare writer that unlinks a series pays instead.
//!
//! # Protocol
//! - A global epoch only grows. Each thread owns a *slot*; `0` means "not reading".
//! - A reader, on entering (outermost [`pin`]), stores the global epoch it just loaded into its
//!   slot, then a barrier, then reads shared structures. On leaving, it stores `0` (release).
//! - A writer unlinks an object (no new reader can reach it), then [`Retired::retire`] tags it
//!   with the epoch *after* advancing the global epoch. An object tagged `t` is freed once
//!   every slot, read after a heavy barrier, is `0` or holds an epoch `>= t`.
//!
//! # Why that is safe
//! A reader that can still reach an object loaded the index before the object was unlinked,
//! so its announcement precedes that load; the heavy barrier (on Linux `membarrier`, which
//! makes every thread's earlier stores visible; elsewhere the readers' own `SeqCst` fence)
//! guarantees the scan sees it. Its announced epoch was loaded before the writer advanced the
//! epoch past the unlink, so it is below `t`, and the object is kept. A reader whose
//! announcement the scan does not see announced after the barrier, hence after the unlink: it
//! cannot reach the object. Stale (lower) announcements only delay freeing.

use std::cell::Cell;
use std::sync::atomic::{compiler_fence, fence, AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

static EPOCH: AtomicU64 = AtomicU64::new(1);

/// One thread's announcement. Leaked: at most one per thread ever alive at once, reused.
/// Aligned to a cache-line pair, so threads announcing at once never write a shared line.
#[repr(align(128))]
struct Slot {
    active: AtomicU64,
    taken: AtomicBool,
}

fn slots() -> &'static Mutex<Vec<&'static Slot>> {
    static SLOTS: OnceLock<Mutex<Vec<&'static Slot>>> = OnceLock::new();
    SLOTS.get_or_init(|| Mutex::new(Vec::new()))
}

/// This thread's slot and pin depth; frees the slot when the thread ends.
struct Local {
    slot: &'static Slot,
    depth: Cell<usize>,
}

impl Local {
    fn new() -> Local {
        let mut all = slots().lock().unwrap_or_else(|e| e.into_inner());
        let slot = match all.iter().find(|s| {
            s.taken
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        }) {
            Some(s) => *s,
            None => {
                let s: &'static Slot = Box::leak(Box::new(Slot {
                    active: AtomicU64::new(0),
                    taken: AtomicBool::new(true),
                }));
                all.push(s);
                s
            }
        };
        Local {
            slot,
            depth: Cell::new(0),
        }
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        self.slot.active.store(0, Ordering::Release);
        self.slot.taken.store(false, Ordering::Release);
    }
}

thread_local! {
    static LOCAL: Local = Local::new();
}

/// Whether `membarrier(PRIVATE_EXPEDITED)` is registered for this process, so readers may use
/// a compiler fence where they would otherwise need a full fence.
fn fast_barrier() -> bool {
    static FAST: OnceLock<bool> = OnceLock::new();
    *FAST.get_or_init(membarrier::register)
}

#[cfg(target_os = "linux")]
mod membarrier {
    const REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;
    const PRIVATE_EXPEDITED: libc::c_long = 1 << 3;

    pub(super) fn register() -> bool {
        // SAFETY: the membarrier syscall takes (cmd, flags, cpu_id) and touches no memory.
        unsafe { libc::syscall(libc::SYS_membarrier, REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0 }
    }

    pub(super) fn heavy() -> bool {
        // SAFETY: as above.
        unsafe { libc::syscall(libc::SYS_membarrier, PRIVATE_EXPEDITED, 0, 0) == 0 }
    }
}

#[cfg(not(target_os = "linux"))]
mod membarrier {
    pub(super) fn register() -> bool {
        false
    }
    pub(super) fn heavy() -> bool {
        false
    }
}

/// Proof that this thread is announced as reading; shared structures reached while it lives
/// are not freed. Not `Send`: it must be dropped on the thread that made it.
pub(crate) struct Guard {
    /// Pinned through [`TEARDOWN`] (the thread's own slot was already gone).
    teardown: bool,
    _not_send: std::marker::PhantomData<*const ()>,
}

/// Readers on threads whose thread-locals are being destroyed (a metric updated from another
/// thread-local's destructor). While any is in, nothing is freed (it announces epoch 1).
static TEARDOWN: AtomicU64 = AtomicU64::new(0);

/// Enters a read-side section (nestable).
#[inline]
pub(crate) fn pin() -> Guard {
    let pinned = LOCAL.try_with(|l| {
        let d = l.depth.get();
        l.depth.set(d + 1);
        if d == 0 {
            l.slot
                .active
                .store(EPOCH.load(Ordering::Relaxed), Ordering::Relaxed);
            if fast_barrier() {
                compiler_fence(Ordering::SeqCst);
            } else {
                fence(Ordering::SeqCst);
            }
        }
    });
    let teardown = pinned.is_err();
    if teardown {
        TEARDOWN.fetch_add(1, Ordering::SeqCst);
    }
    Guard {
        teardown,
        _not_send: std::marker::PhantomData,
    }
}

impl Drop for Guard {
    #[inline]
    fn drop(&mut self) {
        if self.teardown {
            TEARDOWN.fetch_sub(1, Ordering::Release);
            return;
        }
        // `try_with`: if `LOCAL` was destroyed meanwhile, `Local::drop` already cleared the slot.
        let _ = LOCAL.try_with(|l| {
            let d = l.depth.get() - 1;
            l.depth.set(d);
            if d == 0 {
                l.slot.active.store(0, Ordering::Release);
            }
        });
    }
}

/// The oldest epoch a reader may still be in (`u64::MAX` when none reads).
fn oldest_reader() -> u64 {
    if !(fast_barrier() && membarrier::heavy()) {
        fence(Ordering::SeqCst);
    }
    if TEARDOWN.load(Ordering::SeqCst) > 0 {
        return 1;
    }
    let all = slots().lock().unwrap_or_else(|e| e.into_inner());
    all.iter()
        .map(|s| s.active.load(Ordering::Acquire))
        .filter(|&e| e != 0)
        .min()
        .unwrap_or(u64::MAX)
}

/// Objects unlinked by a structure's writers, waiting for readers to leave. Writers hold the
/// structure's own lock around [`retire`](Self::retire) and [`collect`](Self::collect).
pub(crate) struct Retired<T> {
    items: Vec<(u64, T)>,
    /// Collect when this many wait: twice what the last collection kept (at least 64), so a
    /// burst of removals costs a few heavy barriers, not one per 64 removals.
    threshold: usize,
}

impl<T> Default for Retired<T> {
    fn default() -> Self {
        Retired {
            items: Vec::new(),
            threshold: 64,
        }
    }
}

impl<T> Retired<T> {
    /// Takes an object no reader can newly reach; frees what has become safe to free.
    pub(crate) fn retire(&mut self, item: T) {
        let tag = EPOCH.fetch_add(1, Ordering::AcqRel) + 1;
        self.items.push((tag, item));
        if self.items.len() >= self.threshold {
            self.collect();
            self.threshold = (self.items.len() * 2).max(64);
        }
    }

    /// Drops every object no reader can still hold.
    pub(crate) fn collect(&mut self) {
        if self.items.is_empty() {
            return;
        }
        let oldest = oldest_reader();
        self.items.retain(|(tag, _)| *tag > oldest);
    }

    /// How many objects wait.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_retired_object_outlives_every_reader_that_could_see_it() {
        let item = Arc::new(());
        let mut retired = Retired::default();
        let (entered, release) = (
            Arc::new(std::sync::Barrier::new(2)),
            Arc::new(std::sync::Barrier::new(2)),
        );
        let reader = {
            let (entered, release) = (entered.clone(), release.clone());
            std::thread::spawn(move || {
                let _g = pin();
                entered.wait();
                release.wait();
            })
        };
        entered.wait();
        retired.retire(item.clone());
        retired.collect();
        assert_eq!(retired.len(), 1, "kept while a reader is in");
        assert_eq!(Arc::strong_count(&item), 2);
        release.wait();
        reader.join().unwrap();
        collect_until_empty(&mut retired);
        assert_eq!(Arc::strong_count(&item), 1);
    }

    #[test]
    fn readers_that_enter_after_the_retirement_do_not_hold_it() {
        let mut retired = Retired::default();
        retired.retire(Box::new(1));
        let _g = pin();
        collect_until_empty(&mut retired);
    }

    /// Other tests' readers (they run in parallel) hold older epochs briefly.
    fn collect_until_empty<T>(retired: &mut Retired<T>) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while retired.len() > 0 && std::time::Instant::now() < deadline {
            retired.collect();
            std::thread::yield_now();
        }
        assert_eq!(retired.len(), 0);
    }
}
