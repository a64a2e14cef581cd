//! The arena: where every series' values live, in every language.
//!
//! This module is the one public way to raw cells: Rust handles, the Node binding's typed
//! arrays and the C ABI's cell pointers (through which Go writes) all address cells as laid
//! out here.
//!
//! # Layout, version [`LAYOUT_VERSION`]
//! - The arena is [`MAX_LANES`] *lanes* of [`Arena::lane_cells`] cells each. A cell is 8 bytes, a
//!   little-endian `u64` (an integer, or the bits of an `f64`), 8-byte aligned and only ever
//!   accessed atomically (relaxed loads, stores, adds and compare-and-swaps).
//! - Lane `l` starts [`Arena::lane_stride`] bytes after lane `l - 1`: cell `i` of lane `l` is
//!   at `base + l * lane_stride + 8 * i`.
//! - A lane is divided into pages of [`PAGE_CELLS`] cells. A [`Block`] is `width` consecutive
//!   cell indices, never crossing a page, and it owns those indices **in every lane**. So the
//!   cells of one lane are contiguous for all series (shard-major): a scrape that sums a
//!   lane reads memory in order, and two writers in different lanes never share a cache line.
//! - Which lanes a block's writers use is the block owner's rule, stated with each metric
//!   type: a Rust counter writes lane `thread shard & (shards - 1)`; a Node series the lane its
//!   JavaScript thread leased; everything else lane 0. Readers sum the lanes the owner uses.
//!
//! # Memory
//! The whole range is reserved once (an anonymous private mapping without swap reservation),
//! and the kernel gives a page its memory, zeroed, when it is first written: lanes and pages
//! no one writes cost address space only. The range is never unmapped or moved, so a cell's
//! address stays valid for the life of the process. Because a lane is a fixed range at a fixed
//! offset, a later version can back one lane with a file mapped at that address (one lane per
//! process for multi-process metrics) without changing how anything addresses cells.
//!
//! # Reuse
//! A freed block is quarantined until every registered outside writer (see [`Holder`]) has
//! caught up with the epoch of its release, then reused; it is zeroed in every lane ever
//! written when it is handed out again. Rust handles free their block when the last handle is
//! dropped, so no Rust writer can reach a reused block.

use crate::error::{Error, Result};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// The version of the layout described in the module documentation. Bindings that write
/// cells check it.
pub const LAYOUT_VERSION: u32 = 1;
/// Cells per page: the unit of a block's placement, and of the Node binding's typed arrays.
pub const PAGE_CELLS: usize = 8192;
/// Lanes in the arena: Rust shards, and lanes leased to threads writing from other languages.
pub const MAX_LANES: usize = 64;
/// Cells per lane the process' arena asks for; fewer if the system refuses the range.
const WANTED_LANE_CELLS: usize = 1 << 24;
const MIN_LANE_CELLS: usize = 1 << 18;

/// The reserved range: `MAX_LANES` lanes of `lane_cells` cells.
struct Region {
    base: *mut AtomicU64,
    lane_cells: usize,
}

// SAFETY: the region is plain shared memory, accessed only through atomics.
unsafe impl Send for Region {}
unsafe impl Sync for Region {}

impl Region {
    /// Reserves `lane_cells` cells per lane, halving down to `min` if refused.
    fn reserve(mut lane_cells: usize, min: usize) -> Region {
        loop {
            if let Some(base) = reserve(MAX_LANES * lane_cells * 8) {
                return Region {
                    base: base as *mut AtomicU64,
                    lane_cells,
                };
            }
            if lane_cells <= min {
                // Nothing to record metrics in: like any allocation failure.
                std::alloc::handle_alloc_error(
                    std::alloc::Layout::from_size_align(MAX_LANES * lane_cells * 8, 4096)
                        .expect("layout"),
                );
            }
            lane_cells /= 2;
        }
    }
}

#[cfg(unix)]
fn reserve(bytes: usize) -> Option<*mut u8> {
    // SAFETY: a fresh anonymous mapping; nothing else is at the address the kernel picks.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    (p != libc::MAP_FAILED).then_some(p as *mut u8)
}

#[cfg(not(unix))]
fn reserve(bytes: usize) -> Option<*mut u8> {
    let layout = std::alloc::Layout::from_size_align(bytes, 4096).ok()?;
    // SAFETY: non-zero size; zeroed memory is valid `AtomicU64`s.
    let p = unsafe { std::alloc::alloc_zeroed(layout) };
    (!p.is_null()).then_some(p)
}

/// Outside writer threads, and the epoch each has caught up with: a released block is reused
/// only once every registered holder has caught up with its release.
struct Holders {
    epoch: AtomicU64,
    list: Mutex<Vec<Arc<Holder>>>,
}

/// One outside writer thread's progress through the release epochs. A holder *catches up*
/// ([`Arena::quiesce`]) only where it holds no cell index it would write without first
/// checking that its series is still live.
pub struct Holder {
    seen: AtomicU64,
}

/// A series' cells: `width` cell indices from `base`, in every lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    /// The first cell index.
    pub base: usize,
    /// How many cells.
    pub width: usize,
}

struct Alloc {
    next: usize,
    free: HashMap<usize, Vec<usize>>,
    /// `(epoch, base, width)`, in epoch order.
    quarantine: VecDeque<(u64, usize, usize)>,
    live: usize,
}

/// An arena: the process has one ([`global`]); tests make small private ones.
pub struct Arena {
    region: Region,
    alloc: Mutex<Alloc>,
    holders: Holders,
    /// Lanes ever written (one past the highest), so reuse zeroes no more lanes than needed.
    lanes_written: AtomicUsize,
}

/// The process' arena, where every series' cells are.
pub fn global() -> &'static Arena {
    static GLOBAL: OnceLock<Arena> = OnceLock::new();
    GLOBAL.get_or_init(|| Arena::new(WANTED_LANE_CELLS, MIN_LANE_CELLS))
}

impl Arena {
    /// An arena of `lane_cells` cells per lane (a multiple of [`PAGE_CELLS`]), or fewer, down
    /// to `min_lane_cells`, if the system refuses the range.
    pub fn new(lane_cells: usize, min_lane_cells: usize) -> Arena {
        assert!(lane_cells.is_multiple_of(PAGE_CELLS) && min_lane_cells.is_multiple_of(PAGE_CELLS));
        Arena {
            region: Region::reserve(lane_cells, min_lane_cells.max(PAGE_CELLS)),
            alloc: Mutex::new(Alloc {
                next: 0,
                free: HashMap::new(),
                quarantine: VecDeque::new(),
                live: 0,
            }),
            holders: Holders {
                epoch: AtomicU64::new(0),
                list: Mutex::new(Vec::new()),
            },
            lanes_written: AtomicUsize::new(1),
        }
    }

    /// Cells per lane (a multiple of [`PAGE_CELLS`]).
    pub fn lane_cells(&self) -> usize {
        self.region.lane_cells
    }

    /// Bytes from a cell to the same cell in the next lane.
    pub fn lane_stride(&self) -> usize {
        self.region.lane_cells * 8
    }

    /// Cell `i` of lane `lane`. Panics if out of range (a bug in the caller).
    #[inline]
    pub fn cell(&self, lane: usize, i: usize) -> &AtomicU64 {
        assert!(
            lane < MAX_LANES && i < self.region.lane_cells,
            "cell out of range"
        );
        // SAFETY: in range of the reservation, which lives as long as the arena.
        unsafe { &*self.region.base.add(lane * self.region.lane_cells + i) }
    }

    /// The first cell of page `page` in lane `lane`; [`PAGE_CELLS`] cells follow it.
    pub fn page_ptr(&self, lane: usize, page: usize) -> Result<*mut AtomicU64> {
        if lane >= MAX_LANES || (page + 1) * PAGE_CELLS > self.region.lane_cells {
            return Err(Error::InvalidOption(format!(
                "page {page} of lane {lane} is out of range"
            )));
        }
        // SAFETY: in range (checked above).
        Ok(unsafe {
            self.region
                .base
                .add(lane * self.region.lane_cells + page * PAGE_CELLS)
        })
    }

    /// Records that lanes below `n` may be written (call before a writer uses a lane).
    pub fn note_lanes_written(&self, n: usize) {
        self.lanes_written
            .fetch_max(n.min(MAX_LANES), Ordering::AcqRel);
    }

    /// Registers the calling thread as an outside writer. Call it where the thread holds no
    /// cell index yet; it starts caught up with the current epoch.
    pub fn register_holder(&self) -> Arc<Holder> {
        let mut list = self.holders.list.lock().unwrap_or_else(|e| e.into_inner());
        let holder = Arc::new(Holder {
            seen: AtomicU64::new(self.holders.epoch.load(Ordering::SeqCst)),
        });
        list.push(holder.clone());
        holder
    }

    /// The holder's thread has ended: it writes no cell any more.
    pub fn unregister_holder(&self, holder: &Arc<Holder>) {
        self.holders
            .list
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|x| !Arc::ptr_eq(x, holder));
    }

    /// The holder's thread holds no cell index it would write unchecked.
    pub fn quiesce(&self, holder: &Holder) {
        holder
            .seen
            .store(self.holders.epoch.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// Blocks released at an epoch at most this are unreachable by every holder.
    fn safe_epoch(&self) -> u64 {
        let list = self.holders.list.lock().unwrap_or_else(|e| e.into_inner());
        list.iter()
            .map(|x| x.seen.load(Ordering::SeqCst))
            .min()
            .unwrap_or_else(|| self.holders.epoch.load(Ordering::SeqCst))
    }

    /// `width` zeroed cells (at most one page) in every lane: a reusable released block of
    /// that width if there is one, else fresh cells. Fails only when the arena is full.
    pub fn alloc(&self, width: usize) -> Result<Block> {
        if width == 0 || width > PAGE_CELLS {
            return Err(Error::InvalidOption(format!(
                "a series needs {width} cells; at most {PAGE_CELLS} fit a page"
            )));
        }
        let mut a = self.alloc.lock().unwrap_or_else(|e| e.into_inner());
        if a.quarantine.front().is_some() {
            let safe = self.safe_epoch();
            while let Some(&(epoch, base, w)) = a.quarantine.front() {
                if epoch > safe {
                    break;
                }
                a.quarantine.pop_front();
                a.free.entry(w).or_default().push(base);
            }
        }
        if let Some(base) = a.free.get_mut(&width).and_then(Vec::pop) {
            // Its last writers are gone, but writes racing its release may have landed. A
            // cell already zero is not stored to, so pages no one wrote stay unbacked.
            for lane in 0..self.lanes_written.load(Ordering::Acquire) {
                for i in base..base + width {
                    let c = self.cell(lane, i);
                    if c.load(Ordering::Relaxed) != 0 {
                        c.store(0, Ordering::Relaxed);
                    }
                }
            }
            a.live += width;
            return Ok(Block { base, width });
        }
        let mut next = a.next;
        if next % PAGE_CELLS + width > PAGE_CELLS {
            next = next.div_ceil(PAGE_CELLS) * PAGE_CELLS;
        }
        if next + width > self.region.lane_cells {
            return Err(Error::InvalidOption("out of metric cells".into()));
        }
        a.next = next + width;
        a.live += width;
        Ok(Block { base: next, width })
    }

    /// Gives a block back: quarantined until every holder has caught up with the epoch this
    /// advances to. The caller has made the block unreachable to its writers first (for
    /// outside writers: bumped the family's generation).
    pub fn release(&self, block: Block) {
        let mut a = self.alloc.lock().unwrap_or_else(|e| e.into_inner());
        // Advanced under the lock, so the quarantine stays in epoch order.
        let epoch = self.holders.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        a.quarantine.push_back((epoch, block.base, block.width));
        a.live -= block.width;
    }

    /// What the arena holds.
    pub fn stats(&self) -> ArenaStats {
        let a = self.alloc.lock().unwrap_or_else(|e| e.into_inner());
        let idle = a.quarantine.iter().map(|q| q.2).sum::<usize>()
            + a.free
                .iter()
                .map(|(w, bases)| w * bases.len())
                .sum::<usize>();
        ArenaStats {
            live_cells: a.live,
            idle_cells: idle,
            reserved_cells: a.next,
            lanes_written: self.lanes_written.load(Ordering::Acquire),
        }
    }
}

/// Cells owned by one Rust series: a block of the process' arena, released when dropped, or,
/// should the arena be full, cells of its own on the heap with the same addressing (lanes
/// `lane_stride()` bytes apart, a smaller stride). The owner is the only writer of its cells
/// (it lends them to C/Go through a handle that keeps it alive), so nothing writes them once
/// it is dropped.
#[derive(Debug)]
pub struct OwnedBlock {
    ptr: *const AtomicU64,
    /// The arena block's first cell index (unused for heap cells).
    base: u32,
    width: u32,
    lane_shift: u8,
    /// Lanes the owner writes (heap cells were sized for them).
    lanes: u8,
    /// For the owner's own use (a counter keeps its shard mask here, where it costs no room).
    pub(crate) spare: u8,
    home: Home,
}

/// Where a block's cells are, which says what dropping it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Home {
    /// The process' arena: released to it.
    Arena,
    /// The heap, sized for its lanes: freed.
    Heap,
    /// A multi-process lane file (one lane): the file keeps them, nothing to do.
    File,
}

// SAFETY: the cells are atomics that live as long as the value; the pointer is an address.
unsafe impl Send for OwnedBlock {}
unsafe impl Sync for OwnedBlock {}

impl OwnedBlock {
    /// `width` zeroed cells in each of `lanes` lanes (at most [`MAX_LANES`]).
    pub fn new(width: usize, lanes: usize) -> OwnedBlock {
        let arena = global();
        let lanes = lanes.clamp(1, MAX_LANES);
        arena.note_lanes_written(lanes);
        match arena.alloc(width) {
            Ok(block) => OwnedBlock {
                ptr: arena.cell(0, block.base),
                base: block.base as u32,
                width: width as u32,
                lane_shift: arena.lane_stride().trailing_zeros() as u8,
                lanes: lanes as u8,
                spare: 0,
                home: Home::Arena,
            },
            Err(_) => {
                let stride_cells = width.next_power_of_two();
                let heap: Box<[AtomicU64]> = (0..stride_cells * lanes)
                    .map(|_| AtomicU64::new(0))
                    .collect();
                OwnedBlock {
                    ptr: Box::into_raw(heap) as *const AtomicU64,
                    base: 0,
                    width: width as u32,
                    lane_shift: (stride_cells * 8).trailing_zeros() as u8,
                    lanes: lanes as u8,
                    spare: 0,
                    home: Home::Heap,
                }
            }
        }
    }

    /// `width` cells (one lane) at `ptr` in a multi-process lane file, which stays mapped for
    /// the life of the process (see [`crate::multiprocess`]).
    pub(crate) fn in_file(ptr: *const AtomicU64, width: usize) -> OwnedBlock {
        OwnedBlock {
            ptr,
            base: 0,
            width: width as u32,
            lane_shift: 3,
            lanes: 1,
            spare: 0,
            home: Home::File,
        }
    }

    /// Whether the cells are in a multi-process lane file.
    #[inline]
    pub(crate) fn in_lane_file(&self) -> bool {
        self.home == Home::File
    }

    /// The first cell in lane 0; lane `l`'s is `l << lane_shift()` bytes on.
    #[inline(always)]
    pub fn ptr(&self) -> *const AtomicU64 {
        self.ptr
    }

    /// The first cell in lane 0.
    #[inline(always)]
    pub fn first(&self) -> &AtomicU64 {
        // SAFETY: a block has at least one cell (`alloc` refuses width 0).
        unsafe { &*self.ptr }
    }

    /// log2 of the bytes between lanes.
    #[inline(always)]
    pub fn lane_shift(&self) -> u32 {
        u32::from(self.lane_shift)
    }

    /// The cells in lane 0.
    #[inline(always)]
    pub fn lane0(&self) -> &[AtomicU64] {
        // SAFETY: `width` cells from `ptr` are this block's for its life.
        unsafe { std::slice::from_raw_parts(self.ptr, self.width as usize) }
    }

    /// The cells in lane `lane` (one of the `lanes` it was made with).
    #[inline(always)]
    pub fn lane(&self, lane: usize) -> &[AtomicU64] {
        debug_assert!(lane < usize::from(self.lanes));
        // SAFETY: lanes are `1 << lane_shift` bytes apart, in the arena's reservation or the
        // heap cells sized for `lanes`.
        unsafe {
            std::slice::from_raw_parts(
                (self.ptr as *const u8).add(lane << self.lane_shift) as *const AtomicU64,
                self.width as usize,
            )
        }
    }
}

impl Drop for OwnedBlock {
    fn drop(&mut self) {
        if self.home == Home::File {
            return;
        }
        if self.home == Home::Heap {
            let len = (self.width as usize).next_power_of_two() * usize::from(self.lanes);
            // SAFETY: made by `Box::into_raw` of a slice of exactly `len` cells in `new`.
            drop(unsafe {
                Box::from_raw(std::ptr::slice_from_raw_parts_mut(
                    self.ptr as *mut AtomicU64,
                    len,
                ))
            });
        } else {
            global().release(Block {
                base: self.base as usize,
                width: self.width as usize,
            });
        }
    }
}

/// Where one series' cells are, for code that writes them directly (the C ABI, through which
/// Go writes; the tower layer's duration histogram). Valid while the handle it came from
/// lives; what each cell holds is the metric type's layout (see its module).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesCells {
    /// The first cell in lane 0.
    pub ptr: *const AtomicU64,
    /// Cells in each lane.
    pub width: usize,
    /// Lanes the series' writers use: a counter's shards, 1 for the other types.
    pub lanes: usize,
    /// Bytes from a cell to the same cell in the next lane (a power of two).
    pub lane_stride: usize,
}

/// A metric handle whose cells can be written directly: the one public way to raw cells.
pub trait HasCells {
    /// Where the handle's cells are.
    fn series_cells(&self) -> SeriesCells;
}

impl OwnedBlock {
    /// This block as [`SeriesCells`] written in `lanes` lanes.
    pub(crate) fn series_cells(&self, lanes: usize) -> SeriesCells {
        SeriesCells {
            ptr: self.ptr,
            width: self.width as usize,
            lanes,
            lane_stride: 1 << self.lane_shift,
        }
    }
}

/// What an arena holds, for tests and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ArenaStats {
    /// Cells in live blocks.
    pub live_cells: usize,
    /// Cells in released blocks, quarantined or reusable.
    pub idle_cells: usize,
    /// Cell indices ever handed out (the high-water mark).
    pub reserved_cells: usize,
    /// Lanes ever written.
    pub lanes_written: usize,
}

/// Adds to an `f64` stored as bits, by compare-and-swap.
#[inline]
pub(crate) fn add_f64(cell: &AtomicU64, v: f64) {
    let mut old = cell.load(Ordering::Relaxed);
    loop {
        let new = (f64::from_bits(old) + v).to_bits();
        match cell.compare_exchange_weak(old, new, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return,
            Err(actual) => old = actual,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_stay_in_a_page_and_come_back_zeroed() {
        let arena = Arena::new(4 * PAGE_CELLS, PAGE_CELLS);
        let a = arena.alloc(PAGE_CELLS - 1).unwrap();
        let b = arena.alloc(2).unwrap();
        assert_eq!(a.base / PAGE_CELLS, (a.base + a.width - 1) / PAGE_CELLS);
        assert_eq!(b.base / PAGE_CELLS, (b.base + 1) / PAGE_CELLS);
        arena.note_lanes_written(3);
        arena.cell(2, b.base + 1).store(7, Ordering::Relaxed);
        let lane0 = arena.cell(0, b.base + 1) as *const AtomicU64 as usize;
        let lane2 = arena.cell(2, b.base + 1) as *const AtomicU64 as usize;
        assert_eq!(lane2 - lane0, 2 * arena.lane_stride());
        arena.release(b);
        // No holder registered: reusable at once, and zeroed when handed out again.
        assert_eq!(arena.alloc(2).unwrap(), b);
        assert_eq!(arena.cell(2, b.base + 1).load(Ordering::Relaxed), 0);
        // A holder that has not caught up keeps a released block in quarantine.
        let h = arena.register_holder();
        arena.release(b);
        assert_ne!(arena.alloc(2).unwrap(), b);
        arena.quiesce(&h);
        assert_eq!(arena.alloc(2).unwrap(), b);
        assert!(arena.alloc(PAGE_CELLS + 1).is_err());
        assert!(arena.alloc(0).is_err());
    }

    #[test]
    fn a_full_arena_is_an_error() {
        let arena = Arena::new(PAGE_CELLS, PAGE_CELLS);
        assert!(arena.alloc(PAGE_CELLS).is_ok());
        assert!(arena.alloc(1).is_err());
    }
}
