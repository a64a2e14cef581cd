//! The map from label values to a family's series: lock-free reads, writes under one lock.
//!
//! # Invariants
//! - The table is open addressing with linear probing over `AtomicPtr<Entry>` slots. A slot
//!   goes `null -> entry -> TOMBSTONE -> entry -> ...`, only under the writer lock; readers
//!   stop at `null` and skip tombstones, so a probe sequence is never cut short by a removal.
//! - At most half the slots are non-null (entries and tombstones), so probes end quickly;
//!   past that a writer builds a new table from the live entries, publishes it (release), and
//!   retires the old one.
//! - Entries never move and are never changed after publication. A removed entry, and a
//!   replaced table, are freed through [`epoch`](crate::epoch) once no reader can hold them:
//!   every read happens under an epoch [`Guard`], and what it returns borrows that guard.

use crate::epoch::{pin, Guard, Retired};
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::Mutex;

struct Entry<K, V> {
    hash: u64,
    key: K,
    value: V,
}

struct Table<K, V> {
    mask: usize,
    slots: Box<[AtomicPtr<Entry<K, V>>]>,
}

impl<K, V> Table<K, V> {
    fn with_capacity(cap: usize) -> Box<Self> {
        Box::new(Table {
            mask: cap - 1,
            slots: (0..cap)
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect(),
        })
    }
}

/// What writers unlink: freed when readers are gone.
enum Garbage<K, V> {
    // Held only to be dropped.
    #[allow(dead_code)]
    Entry(Box<Entry<K, V>>),
    #[allow(dead_code)]
    Table(Box<Table<K, V>>),
}

/// The slot marker of a removed entry (never dereferenced).
fn tombstone<K, V>() -> *mut Entry<K, V> {
    std::ptr::dangling_mut::<Entry<K, V>>()
}

struct Writer<K, V> {
    /// Non-null slots of the current table (entries and tombstones).
    used: usize,
    retired: Retired<Garbage<K, V>>,
}

/// A concurrent map keyed by a caller-computed 64-bit hash and an equality test.
pub(crate) struct SeriesMap<K, V> {
    table: AtomicPtr<Table<K, V>>,
    len: AtomicUsize,
    writer: Mutex<Writer<K, V>>,
}

// SAFETY: entries are shared between threads by reference (K, V: Sync) and moved to the
// thread that frees them (K, V: Send); the raw pointers are owned by the map.
unsafe impl<K: Send + Sync, V: Send + Sync> Send for SeriesMap<K, V> {}
unsafe impl<K: Send + Sync, V: Send + Sync> Sync for SeriesMap<K, V> {}

const MIN_CAPACITY: usize = 8;

impl<K, V> SeriesMap<K, V> {
    pub(crate) fn new() -> Self {
        SeriesMap {
            table: AtomicPtr::new(Box::into_raw(Table::with_capacity(MIN_CAPACITY))),
            len: AtomicUsize::new(0),
            writer: Mutex::new(Writer {
                used: 0,
                retired: Retired::default(),
            }),
        }
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, Writer<K, V>> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Live entries.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// The value stored under `hash` whose key satisfies `eq`.
    #[inline]
    pub(crate) fn get<'g>(
        &self,
        hash: u64,
        mut eq: impl FnMut(&K, &V) -> bool,
        _guard: &'g Guard,
    ) -> Option<&'g V> {
        // SAFETY: the table and its entries are freed only after every guard that could have
        // loaded them is dropped; `_guard` outlives the returned reference.
        let table = unsafe { &*self.table.load(Ordering::Acquire) };
        let mut i = hash as usize & table.mask;
        loop {
            let p = table.slots[i].load(Ordering::Acquire);
            if p.is_null() {
                return None;
            }
            if p != tombstone() {
                let e = unsafe { &*p };
                if e.hash == hash && eq(&e.key, &e.value) {
                    return Some(&e.value);
                }
            }
            i = (i + 1) & table.mask;
        }
    }

    /// The value under `hash`/`eq`, or `make()`'s, inserted. Returns the value and whether
    /// it was inserted.
    pub(crate) fn get_or_insert_with<'g>(
        &self,
        hash: u64,
        mut eq: impl FnMut(&K, &V) -> bool,
        make: impl FnOnce() -> (K, V),
        guard: &'g Guard,
    ) -> (&'g V, bool) {
        let mut w = self.writer();
        if let Some(v) = self.get(hash, &mut eq, guard) {
            return (v, false);
        }
        let live = self.len.load(Ordering::Relaxed);
        // SAFETY: only writers (serialised by `w`) replace the table.
        let mut table = unsafe { &*self.table.load(Ordering::Acquire) };
        if (w.used + 1) * 2 > table.slots.len() {
            let cap = ((live + 1) * 4).next_power_of_two().max(MIN_CAPACITY);
            let fresh = Table::with_capacity(cap);
            for slot in table.slots.iter() {
                let p = slot.load(Ordering::Relaxed);
                if !p.is_null() && p != tombstone() {
                    let h = unsafe { (*p).hash };
                    place(&fresh, h, p);
                }
            }
            let fresh = Box::into_raw(fresh);
            let old = self.table.swap(fresh, Ordering::AcqRel);
            w.used = live;
            // SAFETY: `old` came from `Box::into_raw` and is unreachable from now on.
            w.retired
                .retire(Garbage::Table(unsafe { Box::from_raw(old) }));
            table = unsafe { &*fresh };
        }
        let (key, value) = make();
        let p = Box::into_raw(Box::new(Entry { hash, key, value }));
        if place(table, hash, p) {
            w.used += 1;
        }
        self.len.fetch_add(1, Ordering::Relaxed);
        // SAFETY: just published; freed only after `guard` is gone.
        (unsafe { &(*p).value }, true)
    }

    /// Removes the entry under `hash`/`eq`; returns whether there was one.
    pub(crate) fn remove(&self, hash: u64, mut eq: impl FnMut(&K, &V) -> bool) -> bool {
        let mut w = self.writer();
        let table = unsafe { &*self.table.load(Ordering::Acquire) };
        let mut i = hash as usize & table.mask;
        loop {
            let p = table.slots[i].load(Ordering::Relaxed);
            if p.is_null() {
                return false;
            }
            if p != tombstone() {
                let e = unsafe { &*p };
                if e.hash == hash && eq(&e.key, &e.value) {
                    table.slots[i].store(tombstone(), Ordering::Release);
                    self.len.fetch_sub(1, Ordering::Relaxed);
                    // SAFETY: unlinked just now; readers that loaded it hold guards.
                    w.retired
                        .retire(Garbage::Entry(unsafe { Box::from_raw(p) }));
                    return true;
                }
            }
            i = (i + 1) & table.mask;
        }
    }

    /// Removes every entry.
    pub(crate) fn clear(&self) {
        let mut w = self.writer();
        let fresh = Box::into_raw(Table::with_capacity(MIN_CAPACITY));
        let old = self.table.swap(fresh, Ordering::AcqRel);
        let old = unsafe { Box::from_raw(old) };
        for slot in old.slots.iter() {
            let p = slot.load(Ordering::Relaxed);
            if !p.is_null() && p != tombstone() {
                w.retired
                    .retire(Garbage::Entry(unsafe { Box::from_raw(p) }));
            }
        }
        w.retired.retire(Garbage::Table(old));
        w.used = 0;
        self.len.store(0, Ordering::Relaxed);
    }

    /// Calls `f` with every live entry (in table order) under `guard`.
    pub(crate) fn for_each(&self, guard: &Guard, mut f: impl FnMut(&K, &V)) {
        let _ = guard;
        let table = unsafe { &*self.table.load(Ordering::Acquire) };
        for slot in table.slots.iter() {
            let p = slot.load(Ordering::Acquire);
            if !p.is_null() && p != tombstone() {
                let e = unsafe { &*p };
                f(&e.key, &e.value);
            }
        }
    }

    /// Frees what removals left, if no reader holds it any more.
    pub(crate) fn collect_garbage(&self) {
        self.writer().retired.collect();
    }
}

/// Puts `p` in the first free slot of its probe sequence; returns whether that slot was null
/// (not a reused tombstone).
fn place<K, V>(table: &Table<K, V>, hash: u64, p: *mut Entry<K, V>) -> bool {
    let mut i = hash as usize & table.mask;
    loop {
        let cur = table.slots[i].load(Ordering::Relaxed);
        if cur.is_null() || cur == tombstone() {
            table.slots[i].store(p, Ordering::Release);
            return cur.is_null();
        }
        i = (i + 1) & table.mask;
    }
}

impl<K, V> Drop for SeriesMap<K, V> {
    fn drop(&mut self) {
        // `&mut self`: no reader is left.
        let table = unsafe { Box::from_raw(*self.table.get_mut()) };
        for slot in table.slots.iter() {
            let p = slot.load(Ordering::Relaxed);
            if !p.is_null() && p != tombstone() {
                drop(unsafe { Box::from_raw(p) });
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

    fn h(k: u32) -> u64 {
        // Deliberately colliding low bits, to exercise probing.
        u64::from(k % 3) | (u64::from(k) << 40)
    }

    #[test]
    fn insert_get_remove_and_grow() {
        let m = SeriesMap::<u32, String>::new();
        let g = pin();
        for k in 0..1000u32 {
            let (v, new) = m.get_or_insert_with(h(k), |x, _| *x == k, || (k, k.to_string()), &g);
            assert!(new);
            assert_eq!(v, &k.to_string());
        }
        assert_eq!(m.len(), 1000);
        for k in (0..1000u32).step_by(2) {
            assert!(m.remove(h(k), |x, _| *x == k));
            assert!(!m.remove(h(k), |x, _| *x == k));
        }
        for k in 0..1000u32 {
            assert_eq!(m.get(h(k), |x, _| *x == k, &g).is_some(), k % 2 == 1, "{k}");
        }
        let (_, new) = m.get_or_insert_with(h(1), |x, _| *x == 1, || unreachable!(), &g);
        assert!(!new);
        let mut seen = 0;
        m.for_each(&g, |k, v| {
            assert_eq!(&k.to_string(), v);
            seen += 1;
        });
        assert_eq!(seen, 500);
        m.clear();
        assert_eq!(m.len(), 0);
        assert!(m.get(h(1), |x, _| *x == 1, &g).is_none());
    }

    #[test]
    fn churn_keeps_the_table_small() {
        let m = SeriesMap::<u32, ()>::new();
        for k in 0..100_000u32 {
            with_guard(|g| {
                m.get_or_insert_with(h(k), |x, _| *x == k, || (k, ()), g);
            });
            assert!(m.remove(h(k), |x, _| *x == k));
        }
        m.collect_garbage();
        let table = m.table.load(Ordering::Acquire);
        let cap = unsafe { (*table).mask + 1 };
        assert!(cap <= 64, "{cap}");
    }

    #[test]
    fn readers_racing_removals_and_growth_only_see_whole_entries() {
        // Values carry their key twice; a freed or torn entry would show a mismatch (and a
        // use after free is what ASan/Miri would flag here).
        let m = SeriesMap::<u32, Box<(u32, u32)>>::new();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            for t in 0..3u32 {
                let (m, stop) = (&m, &stop);
                s.spawn(move || {
                    let mut k = t;
                    while !stop.load(Ordering::Relaxed) {
                        k = (k * 7 + 1) % 512;
                        with_guard(|g| {
                            if let Some(v) = m.get(h(k), |x, _| *x == k, g) {
                                assert_eq!(**v, (k, k));
                            }
                        });
                    }
                });
            }
            for round in 0..200u32 {
                for k in 0..512u32 {
                    if (k + round) % 3 == 0 {
                        m.remove(h(k), |x, _| *x == k);
                    } else {
                        with_guard(|g| {
                            m.get_or_insert_with(h(k), |x, _| *x == k, || (k, Box::new((k, k))), g);
                        });
                    }
                }
                m.collect_garbage();
            }
            stop.store(true, Ordering::Relaxed);
        });
    }
}
