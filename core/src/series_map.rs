//! The map from label values to a family's series: lock-free reads, writes under one lock.
//!
//! # Invariants
//! - The table is open addressing with linear probing over slots that hold a series'
//!   handle as a raw pointer ([`RawHandle`]): no entry of its own, so a series costs the map
//!   one pointer (its label values, which lookups compare, are the series' own). A slot goes
//!   `null -> handle -> TOMBSTONE -> handle -> ...`, only under the writer lock; readers stop
//!   at `null` and skip tombstones, so a probe sequence is never cut short by a removal.
//! - At most half the slots are non-null (handles and tombstones), so probes end quickly; past
//!   that a writer builds a new table from the live handles (rehashed by the map's `hasher`),
//!   publishes it (release), and retires the old one.
//! - The map owns one reference per stored handle. A removed handle, and a replaced table, are
//!   dropped through [`epoch`](crate::epoch) once no reader can hold them: every read happens
//!   under an epoch [`Guard`], and a handle it returns is *borrowed* ([`Borrowed`]: never
//!   dropped, so no reference count is touched on a hit) for no longer than that guard.

use crate::epoch::{pin, Guard, Retired};
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::Mutex;

/// A reference-counted handle that converts to and from one raw pointer (an `Arc`'s).
///
/// # Safety
/// `from_raw(into_raw(h))` must give back `h`, and a pointer from `into_raw` must stay valid
/// until `from_raw` of it is dropped.
pub(crate) unsafe trait RawHandle: Sized + Send + Sync {
    /// Gives up the handle for its pointer (the reference is kept).
    fn into_raw(self) -> *const ();
    /// Takes a reference back.
    ///
    /// # Safety
    /// `p` came from `into_raw` and its reference was not taken back yet.
    unsafe fn from_raw(p: *const ()) -> Self;
}

/// A handle read from the map, valid for as long as the guard it was read under.
pub(crate) struct Borrowed<'g, V> {
    handle: ManuallyDrop<V>,
    _guard: PhantomData<&'g Guard>,
}

impl<'g, V: RawHandle> Borrowed<'g, V> {
    /// # Safety
    /// `p` is a stored handle's pointer, kept alive for `'g`.
    unsafe fn new(p: *const ()) -> Self {
        Borrowed {
            handle: ManuallyDrop::new(V::from_raw(p)),
            _guard: PhantomData,
        }
    }

    /// Gives up the borrow's lifetime: the caller keeps the pointer valid (by holding the guard
    /// it was read under) while it uses the handle, and never drops it.
    pub(crate) fn into_inner(self) -> ManuallyDrop<V> {
        self.handle
    }
}

impl<V> Deref for Borrowed<'_, V> {
    type Target = V;
    #[inline(always)]
    fn deref(&self) -> &V {
        &self.handle
    }
}

struct Table {
    mask: usize,
    slots: Box<[AtomicPtr<()>]>,
}

impl Table {
    fn with_capacity(cap: usize) -> Box<Self> {
        Box::new(Table {
            mask: cap - 1,
            slots: (0..cap)
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect(),
        })
    }
}

/// What writers unlink: dropped when readers are gone.
enum Garbage<V> {
    // Held only to be dropped.
    #[allow(dead_code)]
    Handle(V),
    #[allow(dead_code)]
    Table(Box<Table>),
}

/// The slot marker of a removed handle (never dereferenced).
fn tombstone() -> *mut () {
    std::ptr::dangling_mut::<u64>() as *mut ()
}

#[inline(always)]
fn live(p: *mut ()) -> bool {
    !p.is_null() && p != tombstone()
}

struct Writer<V> {
    /// Non-null slots of the current table (handles and tombstones).
    used: usize,
    retired: Retired<Garbage<V>>,
}

/// A concurrent set of handles, found by a caller-computed 64-bit hash and an equality test.
pub(crate) struct SeriesMap<V: RawHandle> {
    table: AtomicPtr<Table>,
    len: AtomicUsize,
    writer: Mutex<Writer<V>>,
    /// A stored handle's hash (as callers compute it from what they look up by), for growth.
    hasher: fn(&V) -> u64,
}

const MIN_CAPACITY: usize = 8;

impl<V: RawHandle> SeriesMap<V> {
    pub(crate) fn new(hasher: fn(&V) -> u64) -> Self {
        SeriesMap {
            table: AtomicPtr::new(Box::into_raw(Table::with_capacity(MIN_CAPACITY))),
            len: AtomicUsize::new(0),
            writer: Mutex::new(Writer {
                used: 0,
                retired: Retired::default(),
            }),
            hasher,
        }
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, Writer<V>> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Live handles.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// The handle under `hash` that satisfies `eq`.
    #[inline]
    pub(crate) fn get<'g>(
        &self,
        hash: u64,
        mut eq: impl FnMut(&V) -> bool,
        _guard: &'g Guard,
    ) -> Option<Borrowed<'g, V>> {
        // SAFETY: the table and the handles it holds are dropped only after every guard that
        // could have loaded them is dropped; `_guard` outlives what this returns.
        let table = unsafe { &*self.table.load(Ordering::Acquire) };
        let mut i = hash as usize & table.mask;
        loop {
            let p = table.slots[i].load(Ordering::Acquire);
            if p.is_null() {
                return None;
            }
            if p != tombstone() {
                let h = unsafe { Borrowed::<V>::new(p) };
                if eq(&*h) {
                    return Some(h);
                }
            }
            i = (i + 1) & table.mask;
        }
    }

    /// The handle under `hash`/`eq`, or `make()`'s, inserted. Returns it and whether it was
    /// inserted.
    pub(crate) fn get_or_insert_with<'g>(
        &self,
        hash: u64,
        mut eq: impl FnMut(&V) -> bool,
        make: impl FnOnce() -> V,
        guard: &'g Guard,
    ) -> (Borrowed<'g, V>, bool) {
        let mut w = self.writer();
        if let Some(v) = self.get(hash, &mut eq, guard) {
            return (v, false);
        }
        let live_count = self.len.load(Ordering::Relaxed);
        // SAFETY: only writers (serialised by `w`) replace the table.
        let mut table = unsafe { &*self.table.load(Ordering::Acquire) };
        if (w.used + 1) * 2 > table.slots.len() {
            let cap = ((live_count + 1) * 4).next_power_of_two().max(MIN_CAPACITY);
            let fresh = Table::with_capacity(cap);
            for slot in table.slots.iter() {
                let p = slot.load(Ordering::Relaxed);
                if live(p) {
                    // SAFETY: a stored handle, alive while stored.
                    let h = (self.hasher)(&*unsafe { Borrowed::<V>::new(p) });
                    place(&fresh, h, p);
                }
            }
            let fresh = Box::into_raw(fresh);
            let old = self.table.swap(fresh, Ordering::AcqRel);
            w.used = live_count;
            // SAFETY: `old` came from `Box::into_raw` and is unreachable from now on.
            w.retired
                .retire(Garbage::Table(unsafe { Box::from_raw(old) }));
            table = unsafe { &*fresh };
        }
        let p = make().into_raw() as *mut ();
        if place(table, hash, p) {
            w.used += 1;
        }
        self.len.fetch_add(1, Ordering::Relaxed);
        // SAFETY: just stored; dropped only after `guard` is gone.
        (unsafe { Borrowed::new(p) }, true)
    }

    /// Removes the handle under `hash`/`eq`; returns whether there was one.
    pub(crate) fn remove(&self, hash: u64, mut eq: impl FnMut(&V) -> bool) -> bool {
        let mut w = self.writer();
        let table = unsafe { &*self.table.load(Ordering::Acquire) };
        let mut i = hash as usize & table.mask;
        loop {
            let p = table.slots[i].load(Ordering::Relaxed);
            if p.is_null() {
                return false;
            }
            if p != tombstone() && eq(&*unsafe { Borrowed::<V>::new(p) }) {
                table.slots[i].store(tombstone(), Ordering::Release);
                self.len.fetch_sub(1, Ordering::Relaxed);
                // SAFETY: unlinked just now: the map's reference, dropped once readers that
                // loaded it (they hold guards) are gone.
                w.retired.retire(Garbage::Handle(unsafe { V::from_raw(p) }));
                return true;
            }
            i = (i + 1) & table.mask;
        }
    }

    /// Removes every handle.
    pub(crate) fn clear(&self) {
        let mut w = self.writer();
        let fresh = Box::into_raw(Table::with_capacity(MIN_CAPACITY));
        let old = self.table.swap(fresh, Ordering::AcqRel);
        let old = unsafe { Box::from_raw(old) };
        for slot in old.slots.iter() {
            let p = slot.load(Ordering::Relaxed);
            if live(p) {
                w.retired.retire(Garbage::Handle(unsafe { V::from_raw(p) }));
            }
        }
        w.retired.retire(Garbage::Table(old));
        w.used = 0;
        self.len.store(0, Ordering::Relaxed);
    }

    /// Calls `f` with every live handle (in table order) under `guard`.
    pub(crate) fn for_each(&self, guard: &Guard, mut f: impl FnMut(&V)) {
        let _ = guard;
        let table = unsafe { &*self.table.load(Ordering::Acquire) };
        for slot in table.slots.iter() {
            let p = slot.load(Ordering::Acquire);
            if live(p) {
                f(&*unsafe { Borrowed::<V>::new(p) });
            }
        }
    }

    /// Drops what removals left, if no reader holds it any more.
    pub(crate) fn collect_garbage(&self) {
        self.writer().retired.collect();
    }
}

/// Puts `p` in the first free slot of its probe sequence; returns whether that slot was null
/// (not a reused tombstone).
fn place(table: &Table, hash: u64, p: *mut ()) -> bool {
    let mut i = hash as usize & table.mask;
    loop {
        let cur = table.slots[i].load(Ordering::Relaxed);
        if !live(cur) {
            table.slots[i].store(p, Ordering::Release);
            return cur.is_null();
        }
        i = (i + 1) & table.mask;
    }
}

impl<V: RawHandle> Drop for SeriesMap<V> {
    fn drop(&mut self) {
        // `&mut self`: no reader is left; the map's references go.
        let table = unsafe { Box::from_raw(*self.table.get_mut()) };
        for slot in table.slots.iter() {
            let p = slot.load(Ordering::Relaxed);
            if live(p) {
                drop(unsafe { V::from_raw(p) });
            }
        }
    }
}

/// Runs `f` under a fresh guard (for callers that do not hold one).
pub(crate) fn with_guard<R>(f: impl FnOnce(&Guard) -> R) -> R {
    let g = pin();
    f(&g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A test handle: a key carried twice (a freed or torn handle would show a mismatch).
    #[derive(Clone)]
    struct H(Arc<(u32, u32)>);

    unsafe impl RawHandle for H {
        fn into_raw(self) -> *const () {
            Arc::into_raw(self.0) as *const ()
        }
        unsafe fn from_raw(p: *const ()) -> Self {
            H(unsafe { Arc::from_raw(p as *const (u32, u32)) })
        }
    }

    fn h(k: u32) -> u64 {
        // Deliberately colliding low bits, to exercise probing.
        u64::from(k % 3) | (u64::from(k) << 40)
    }

    fn map() -> SeriesMap<H> {
        SeriesMap::new(|v| h(v.0 .0))
    }

    fn make(k: u32) -> impl FnOnce() -> H {
        move || H(Arc::new((k, k)))
    }

    #[test]
    fn insert_get_remove_and_grow() {
        let m = map();
        let g = pin();
        for k in 0..1000u32 {
            let (v, new) = m.get_or_insert_with(h(k), |x| x.0 .0 == k, make(k), &g);
            assert!(new);
            assert_eq!(*v.0, (k, k));
        }
        assert_eq!(m.len(), 1000);
        for k in (0..1000u32).step_by(2) {
            assert!(m.remove(h(k), |x| x.0 .0 == k));
            assert!(!m.remove(h(k), |x| x.0 .0 == k));
        }
        for k in 0..1000u32 {
            assert_eq!(
                m.get(h(k), |x| x.0 .0 == k, &g).is_some(),
                k % 2 == 1,
                "{k}"
            );
        }
        let (_, new) = m.get_or_insert_with(h(1), |x| x.0 .0 == 1, || unreachable!(), &g);
        assert!(!new);
        let mut seen = 0;
        m.for_each(&g, |v| {
            assert_eq!(v.0 .0, v.0 .1);
            seen += 1;
        });
        assert_eq!(seen, 500);
        m.clear();
        assert_eq!(m.len(), 0);
        assert!(m.get(h(1), |x| x.0 .0 == 1, &g).is_none());
    }

    #[test]
    fn the_map_holds_one_reference_and_gives_it_up() {
        let m = map();
        let kept = H(Arc::new((7, 7)));
        let stored = kept.clone();
        with_guard(|g| {
            m.get_or_insert_with(h(7), |x| x.0 .0 == 7, move || stored, g);
            // Borrowed handles touch no reference count.
            let b = m.get(h(7), |x| x.0 .0 == 7, g).unwrap();
            assert_eq!(Arc::strong_count(&b.0), 2);
        });
        assert!(m.remove(h(7), |x| x.0 .0 == 7));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while Arc::strong_count(&kept.0) > 1 && std::time::Instant::now() < deadline {
            m.collect_garbage();
            std::thread::yield_now();
        }
        assert_eq!(Arc::strong_count(&kept.0), 1);
        with_guard(|g| m.get_or_insert_with(h(8), |x| x.0 .0 == 8, make(8), g).1);
        let other = m
            .get(h(8), |x| x.0 .0 == 8, &pin())
            .map(|b| b.0.clone())
            .unwrap();
        drop(m);
        assert_eq!(
            Arc::strong_count(&other),
            1,
            "dropping the map drops its references"
        );
    }

    #[test]
    fn churn_keeps_the_table_small() {
        let m = map();
        for k in 0..100_000u32 {
            with_guard(|g| {
                m.get_or_insert_with(h(k), |x| x.0 .0 == k, make(k), g);
            });
            assert!(m.remove(h(k), |x| x.0 .0 == k));
        }
        m.collect_garbage();
        let table = m.table.load(Ordering::Acquire);
        let cap = unsafe { (*table).mask + 1 };
        assert!(cap <= 64, "{cap}");
    }

    #[test]
    fn readers_racing_removals_and_growth_only_see_whole_handles() {
        let m = map();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            for t in 0..3u32 {
                let (m, stop) = (&m, &stop);
                s.spawn(move || {
                    let mut k = t;
                    while !stop.load(Ordering::Relaxed) {
                        k = (k * 7 + 1) % 512;
                        with_guard(|g| {
                            if let Some(v) = m.get(h(k), |x| x.0 .0 == k, g) {
                                assert_eq!(*v.0, (k, k));
                            }
                        });
                    }
                });
            }
            for round in 0..200u32 {
                for k in 0..512u32 {
                    if (k + round) % 3 == 0 {
                        m.remove(h(k), |x| x.0 .0 == k);
                    } else {
                        with_guard(|g| {
                            m.get_or_insert_with(h(k), |x| x.0 .0 == k, make(k), g);
                        });
                    }
                }
                m.collect_garbage();
            }
            stop.store(true, Ordering::Relaxed);
        });
    }
}
