//! Multi-process metrics: series whose cells live in memory-mapped files in a directory, so
//! that any process can sum every process' values (prometheus_client's
//! `PROMETHEUS_MULTIPROC_DIR` mode, Node's cluster workers).
//!
//! # Files
//! A writing process keeps one *lane file* per kind of series it writes, named as
//! prometheus_client names its files so that the tooling around them keeps working:
//! `counter_<id>.db`, `gauge_<mode>_<id>.db`, `histogram_<id>.db`, `summary_<id>.db`, where
//! `<id>` is the process identifier (the pid by default). Should that name be taken (a pid
//! reused after a restart, before the old file was folded), `<kind>_<id>.<n>.db` is used.
//! A lane file is created under a temporary name (`.fm-tmp-…`), initialised, locked and only
//! then linked under its `.db` name, so no reader ever sees a half-made lane.
//! Dead processes' lanes are folded into `archive.db` (see *Folding*).
//!
//! # Layout, version [`FILE_VERSION`] (little-endian, every offset a multiple of 8)
//! A file is a 128-byte header followed by a log of entries:
//! - header: `0` magic `FMSHARED`; `8` version `u32`; `12` flags `u32` (bit 0: archive);
//!   `16` `used` `u64`, the bytes of the file that hold complete entries (header included),
//!   only ever increased, with a release store after the entry is written; `24` the writer's
//!   OS pid `u32`; `28` the identifier's length `u32` (at most 64); `32` the writer's start
//!   time (clock ticks after boot, `/proc/<pid>/stat` field 22) `u64`; `40` the lane's random
//!   id `u64`; `48..64` zero; `64..128` the identifier's bytes.
//! - an entry: `0` its length `u32` (a multiple of 8, at least 16); `4` its tag `u8`; then:
//!   - tag 1, a family: `8` metric type `u8` (1 counter, 2 gauge, 3 histogram, 4 summary),
//!     `9` gauge mode `u8` (see [`GaugeMode`]), `10` flags `u8` (bit 0: the `pid` label is
//!     already among its label names), `12` bucket bounds `u32`, `16` the bounds as `f64`,
//!     then strings, each a `u32` length and UTF-8 bytes: name, help, unit (empty for none),
//!     then the number of label names `u32` and the names. Families are numbered in order of
//!     appearance in their file.
//!   - tag 2, a series: `8` its family's number `u32`, `12` its cells `u32`, `16` the cells,
//!     8 bytes each, then its label values as strings (one per label name).
//!   - tag 3, a folded lane (archive only): `8` the lane id `u64`.
//! - cells, per type: counter `[integer word, f64 bits]` (the counter's own layout, one
//!   shard); gauge `[value bits, f64 bits of the time of the last write]`; histogram
//!   `[non-cumulative bucket counts…, +Inf count, sum bits]`; summary `[count, sum bits]`.
//!
//! # Writing
//! Cells are written in place with the same relaxed atomic operations as in-process cells:
//! a series handle's cells simply are in the file. A lane file is mapped once at the start of
//! an address range reserved for its whole possible size ([`LANE_RESERVATION`]); it grows by
//! allocating more of the file (`fallocate`, so a full disk is an error when a series is
//! created, never a fault when it is written) before `used` covers the new entry, and it never
//! moves, so no reader observes a half-done resize and a handle's cell address stays valid.
//! A writer holds a shared `flock` on each of its lane files for as long as it lives.
//!
//! After a fork (or a change of process identifier) the child must not write its parent's
//! lanes: [`ProcessLanes::switch_identity`] copies each lane's log under the new identifier
//! with every cell zeroed and maps the copy over the same address range, so every handle
//! keeps its address and writes the child's file from then on.
//!
//! # Folding
//! A lane is dead when its lock is free and its writer (pid and start time) is gone. A
//! scrape that can take the directory's exclusive lock (a `flock` on the directory itself)
//! folds the dead lanes into `archive.db`: it writes the old archive plus their values, and
//! the list of the lane ids it folded, to a temporary file, renames it over `archive.db`, and
//! only then deletes the lanes. Readers skip a lane whose id the archive lists, and a later
//! fold deletes such a lane, so a fold interrupted at any point (`kill -9`) loses nothing and
//! counts nothing twice. Readers hold the directory's shared lock while they read. Gauges of
//! the `live*` modes belong to live processes only: a dead lane's are dropped, not archived.

use crate::arena::OwnedBlock;
use crate::error::{Error, Result};
use crate::exemplar::now_seconds;
use crate::metric::{MetricFamily, MetricPoint, MetricType, PointValue};
use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// The layout version written in every file's header.
pub const FILE_VERSION: u32 = 1;
const MAGIC: &[u8; 8] = b"FMSHARED";
const HEADER_LEN: usize = 128;
const MAX_IDENT: usize = 64;
const FLAG_ARCHIVE: u32 = 1;
const TAG_FAMILY: u8 = 1;
const TAG_SERIES: u8 = 2;
const TAG_FOLDED: u8 = 3;
const FAMILY_PID_INCLUDED: u8 = 1;
/// Address space reserved per lane file: the most a lane can grow to (1 GiB, millions of
/// series). Only the part of the file in use has memory or disk behind it.
pub const LANE_RESERVATION: usize = 1 << 30;
const INITIAL_FILE: usize = 64 << 10;
/// The archive's name in the directory.
pub const ARCHIVE: &str = "archive.db";
const TMP_PREFIX: &str = ".fm-tmp-";

/// How a gauge's values from several processes combine (prometheus_client's
/// `multiprocess_mode`). The `live*` modes count live processes only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GaugeMode {
    /// One series per process, with a `pid` label (the default).
    All,
    /// As `All`, live processes only.
    LiveAll,
    /// The smallest value.
    Min,
    /// The smallest value of live processes.
    LiveMin,
    /// The largest value.
    Max,
    /// The largest value of live processes.
    LiveMax,
    /// The sum.
    Sum,
    /// The sum over live processes.
    LiveSum,
    /// The value written last.
    MostRecent,
    /// The value written last by a live process.
    LiveMostRecent,
}

const GAUGE_MODES: [(GaugeMode, &str); 10] = [
    (GaugeMode::All, "all"),
    (GaugeMode::LiveAll, "liveall"),
    (GaugeMode::Min, "min"),
    (GaugeMode::LiveMin, "livemin"),
    (GaugeMode::Max, "max"),
    (GaugeMode::LiveMax, "livemax"),
    (GaugeMode::Sum, "sum"),
    (GaugeMode::LiveSum, "livesum"),
    (GaugeMode::MostRecent, "mostrecent"),
    (GaugeMode::LiveMostRecent, "livemostrecent"),
];

impl GaugeMode {
    /// The mode named `name` (prometheus_client's spelling), or an error listing them.
    pub fn parse(name: &str) -> Result<GaugeMode> {
        GAUGE_MODES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(m, _)| *m)
            .ok_or_else(|| {
                Error::InvalidOption(format!(
                    "Invalid multiprocess mode: {name} (one of {})",
                    GAUGE_MODES.map(|(_, n)| n).join(", ")
                ))
            })
    }

    /// Its name, as `multiprocess_mode` spells it.
    pub fn name(self) -> &'static str {
        GAUGE_MODES[self as usize].1
    }

    /// Whether only live processes count.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            GaugeMode::LiveAll
                | GaugeMode::LiveMin
                | GaugeMode::LiveMax
                | GaugeMode::LiveSum
                | GaugeMode::LiveMostRecent
        )
    }

    fn per_process(self) -> bool {
        matches!(self, GaugeMode::All | GaugeMode::LiveAll)
    }

    fn code(self) -> u8 {
        self as u8
    }

    fn from_code(c: u8) -> Option<GaugeMode> {
        GAUGE_MODES.get(usize::from(c)).map(|(m, _)| *m)
    }
}

/// What a lane file holds: one kind of series (and, for gauges, one mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LaneKind {
    /// Counters.
    Counter,
    /// Gauges of one mode.
    Gauge(GaugeMode),
    /// Histograms.
    Histogram,
    /// Summaries (count and sum).
    Summary,
}

impl LaneKind {
    /// The file name's prefix (`counter`, `gauge_livesum`, …).
    pub fn prefix(self) -> String {
        match self {
            LaneKind::Counter => "counter".into(),
            LaneKind::Gauge(m) => format!("gauge_{}", m.name()),
            LaneKind::Histogram => "histogram".into(),
            LaneKind::Summary => "summary".into(),
        }
    }

    fn type_code(self) -> u8 {
        match self {
            LaneKind::Counter => 1,
            LaneKind::Gauge(_) => 2,
            LaneKind::Histogram => 3,
            LaneKind::Summary => 4,
        }
    }
}

fn storage_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::Storage(format!("{what} {}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// Writing

/// A lane file mapped for writing at a fixed address range.
struct LaneFile {
    base: *mut u8,
    kind: LaneKind,
    state: Mutex<LaneState>,
}

struct LaneState {
    file: File,
    path: PathBuf,
    /// Bytes allocated in the file.
    allocated: usize,
    /// Bytes of complete entries (the header's `used`; only this thread writes it).
    used: usize,
    families: u32,
}

// SAFETY: the mapping is shared memory accessed through atomics (cells, `used`) or written
// under `state`'s lock before being published by `used`.
unsafe impl Send for LaneFile {}
unsafe impl Sync for LaneFile {}

impl Drop for LaneFile {
    fn drop(&mut self) {
        // Only lanes that no handle can reach are dropped (see `SharedFamily`): unmapping
        // is safe. A lane whose handles outlive it is leaked with them instead.
        // SAFETY: the reservation made in `create`.
        unsafe { libc::munmap(self.base as *mut libc::c_void, LANE_RESERVATION) };
    }
}

fn header_used(base: *const u8) -> &'static AtomicU64 {
    // SAFETY: offset 16 of a mapped header, 8-aligned; callers keep the mapping alive.
    unsafe { &*(base.add(16) as *const AtomicU64) }
}

/// This process' start time in clock ticks after boot, or 0 if unknown.
fn start_ticks(pid: u32) -> u64 {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // Field 2 (the command) is in parentheses and may hold spaces: count after its end.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(19))
        .and_then(|t| t.parse().ok())
        .unwrap_or(0)
}

fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    if File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b))
        .is_err()
    {
        let t = now_seconds().to_bits() ^ u64::from(std::process::id()).rotate_left(32);
        return t ^ (&b as *const _ as u64);
    }
    u64::from_le_bytes(b)
}

fn header(ident: &str, flags: u32, lane_id: u64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&FILE_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&flags.to_le_bytes());
    h[16..24].copy_from_slice(&(HEADER_LEN as u64).to_le_bytes());
    let pid = std::process::id();
    h[24..28].copy_from_slice(&pid.to_le_bytes());
    let id = &ident.as_bytes()[..ident.len().min(MAX_IDENT)];
    h[28..32].copy_from_slice(&(id.len() as u32).to_le_bytes());
    h[32..40].copy_from_slice(&start_ticks(pid).to_le_bytes());
    h[40..48].copy_from_slice(&lane_id.to_le_bytes());
    h[64..64 + id.len()].copy_from_slice(id);
    h
}

fn flock(file: &File, op: libc::c_int) -> bool {
    // SAFETY: flock on an open descriptor.
    unsafe { libc::flock(file.as_raw_fd(), op) == 0 }
}

fn fallocate(file: &File, len: usize, path: &Path) -> Result<()> {
    // SAFETY: a plain syscall on an open descriptor.
    let r = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len as libc::off_t) };
    match r {
        0 => Ok(()),
        // Filesystems without fallocate: extend (sparse); a full disk then shows later.
        libc::EOPNOTSUPP | libc::EINVAL => file
            .set_len(len as u64)
            .map_err(|e| storage_error("cannot grow", path, e)),
        e => Err(storage_error(
            "cannot grow",
            path,
            std::io::Error::from_raw_os_error(e),
        )),
    }
}

/// Creates `<prefix>_<ident>.db` (or `.<n>.db`) in `dir` holding `contents` (a log whose
/// header is patched here) in a file of `allocated` bytes, already locked shared.
fn create_lane_file(
    dir: &Path,
    prefix: &str,
    ident: &str,
    contents: &[u8],
    allocated: usize,
) -> Result<(File, PathBuf)> {
    let tmp = dir.join(format!(
        "{TMP_PREFIX}{prefix}_{ident}.{}",
        random_u64() & 0xffff_ffff
    ));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| storage_error("cannot create", &tmp, e))?;
    // Locked before anything else: a fold deletes unlocked temporary files.
    flock(&file, libc::LOCK_SH);
    let made = (|| {
        fallocate(&file, allocated, &tmp)?;
        file.write_all_at(contents, 0)
            .map_err(|e| storage_error("cannot write", &tmp, e))?;
        for n in 0u32.. {
            let name = if n == 0 {
                format!("{prefix}_{ident}.db")
            } else {
                format!("{prefix}_{ident}.{n}.db")
            };
            let path = dir.join(name);
            match fs::hard_link(&tmp, &path) {
                Ok(()) => return Ok(path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(storage_error("cannot create", &path, e)),
            }
        }
        unreachable!("u32 names run out")
    })();
    let _ = fs::remove_file(&tmp);
    Ok((file, made?))
}

impl LaneFile {
    fn create(dir: &Path, kind: LaneKind, ident: &str) -> Result<LaneFile> {
        let h = header(ident, 0, random_u64());
        let (file, path) = create_lane_file(dir, &kind.prefix(), ident, &h, INITIAL_FILE)?;
        // SAFETY: a fresh reservation, then the file mapped over it (MAP_FIXED inside our own
        // reservation replaces nothing else).
        let base = unsafe {
            let r = libc::mmap(
                std::ptr::null_mut(),
                LANE_RESERVATION,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            );
            if r == libc::MAP_FAILED {
                let _ = fs::remove_file(&path);
                return Err(storage_error(
                    "cannot reserve address space for",
                    &path,
                    std::io::Error::last_os_error(),
                ));
            }
            r as *mut u8
        };
        let lane = LaneFile {
            base,
            kind,
            state: Mutex::new(LaneState {
                file,
                path,
                allocated: INITIAL_FILE,
                used: HEADER_LEN,
                families: 0,
            }),
        };
        {
            let st = lane.lock();
            lane.map(&st.file, &st.path)?;
        }
        Ok(lane)
    }

    fn lock(&self) -> MutexGuard<'_, LaneState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Maps `file` over the whole reservation (pages past its end are never touched: `used`
    /// stays within the allocated part).
    fn map(&self, file: &File, path: &Path) -> Result<()> {
        // SAFETY: replaces this lane's own reservation (or previous mapping) in place.
        let r = unsafe {
            libc::mmap(
                self.base as *mut libc::c_void,
                LANE_RESERVATION,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_FIXED,
                file.as_raw_fd(),
                0,
            )
        };
        if r == libc::MAP_FAILED {
            return Err(storage_error(
                "cannot map",
                path,
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    /// Appends `entry` (its length field is filled here) and returns its offset.
    fn append(&self, st: &mut LaneState, mut entry: Vec<u8>) -> Result<usize> {
        while !entry.len().is_multiple_of(8) {
            entry.push(0);
        }
        let len = entry.len();
        entry[0..4].copy_from_slice(&(len as u32).to_le_bytes());
        let at = st.used;
        let need = at + len;
        if need > LANE_RESERVATION {
            return Err(Error::Storage(format!(
                "{} is full ({} bytes of series)",
                st.path.display(),
                LANE_RESERVATION
            )));
        }
        if need > st.allocated {
            let grown = need.max(st.allocated * 2).min(LANE_RESERVATION);
            fallocate(&st.file, grown, &st.path)?;
            st.allocated = grown;
        }
        // SAFETY: `at..need` is inside the allocated file and the mapping, past `used`, so no
        // reader looks at it and no writer holds a cell there; we hold the lane's lock.
        unsafe { std::ptr::copy_nonoverlapping(entry.as_ptr(), self.base.add(at), len) };
        st.used = need;
        // Publishes the entry: readers load `used` with acquire before reading entries.
        header_used(self.base).store(need as u64, Ordering::Release);
        Ok(at)
    }

    /// Copies this lane under identifier `ident` with every cell zeroed and maps the copy at
    /// the same addresses; the old file is left to its other holders (the parent).
    fn switch(&self, dir: &Path, ident: &str) -> Result<()> {
        let mut st = self.lock();
        // SAFETY: `0..used` is the published log; we hold the lock, so it does not grow.
        let mut log = unsafe { std::slice::from_raw_parts(self.base, st.used) }.to_vec();
        let lane_id = random_u64();
        log[..HEADER_LEN].copy_from_slice(&header(ident, 0, lane_id));
        log[16..24].copy_from_slice(&(st.used as u64).to_le_bytes());
        zero_cells(&mut log);
        let (file, path) = create_lane_file(dir, &self.kind.prefix(), ident, &log, st.allocated)?;
        self.map(&file, &path)?;
        st.file = file;
        st.path = path;
        Ok(())
    }
}

fn zero_cells(log: &mut [u8]) {
    let mut pos = HEADER_LEN;
    while pos + 16 <= log.len() {
        let len = u32::from_le_bytes(log[pos..pos + 4].try_into().unwrap()) as usize;
        if len < 16 || pos + len > log.len() {
            break;
        }
        if log[pos + 4] == TAG_SERIES {
            let cells = u32::from_le_bytes(log[pos + 12..pos + 16].try_into().unwrap()) as usize;
            let end = (pos + 16 + cells * 8).min(pos + len);
            log[pos + 16..end].fill(0);
        }
        pos += len;
    }
}

/// The lane files one process writes into a directory under one identifier.
pub struct ProcessLanes {
    dir: PathBuf,
    ident: Mutex<String>,
    lanes: Mutex<HashMap<LaneKind, Arc<LaneFile>>>,
}

impl std::fmt::Debug for ProcessLanes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessLanes")
            .field("dir", &self.dir)
            .field(
                "ident",
                &*self.ident.lock().unwrap_or_else(|p| p.into_inner()),
            )
            .finish()
    }
}

/// Every `ProcessLanes` alive, so a fork handler can switch them all.
static ALL_LANES: Mutex<Vec<Weak<ProcessLanes>>> = Mutex::new(Vec::new());

impl ProcessLanes {
    /// Lanes in `dir` for the process identified by `ident`. An error if `dir` is not a
    /// writable directory (checked by creating and removing a file in it).
    pub fn new(dir: impl Into<PathBuf>, ident: impl Into<String>) -> Result<Arc<ProcessLanes>> {
        let dir = dir.into();
        let ident = ident.into();
        check_ident(&ident)?;
        check_writable_dir(&dir)?;
        let lanes = Arc::new(ProcessLanes {
            dir,
            ident: Mutex::new(ident),
            lanes: Mutex::new(HashMap::new()),
        });
        let mut all = ALL_LANES.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|w| w.strong_count() > 0);
        all.push(Arc::downgrade(&lanes));
        Ok(lanes)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The current process identifier.
    pub fn ident(&self) -> String {
        self.ident.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Declares a family in the lane of `kind`, creating the lane file if needed: an error
    /// if the directory cannot take it. Its series get their cells from the returned value.
    pub fn family(
        self: &Arc<Self>,
        kind: LaneKind,
        name: &str,
        help: &str,
        unit: Option<&str>,
        label_names: &[String],
        bounds: &[f64],
    ) -> Result<SharedFamily> {
        let lane = {
            let mut lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
            match lanes.get(&kind) {
                Some(l) => l.clone(),
                None => {
                    let l = Arc::new(LaneFile::create(&self.dir, kind, &self.ident())?);
                    lanes.insert(kind, l.clone());
                    l
                }
            }
        };
        let mut e = vec![0u8; 16];
        e[4] = TAG_FAMILY;
        e[8] = kind.type_code();
        e[9] = match kind {
            LaneKind::Gauge(m) => m.code(),
            _ => 0,
        };
        e[12..16].copy_from_slice(&(bounds.len() as u32).to_le_bytes());
        for b in bounds {
            e.extend_from_slice(&b.to_le_bytes());
        }
        push_str(&mut e, name);
        push_str(&mut e, help);
        push_str(&mut e, unit.unwrap_or(""));
        e.extend_from_slice(&(label_names.len() as u32).to_le_bytes());
        for n in label_names {
            push_str(&mut e, n);
        }
        let mut st = lane.lock();
        lane.append(&mut st, e)?;
        let index = st.families;
        st.families += 1;
        drop(st);
        Ok(SharedFamily {
            lane,
            index,
            mostrecent: matches!(
                kind,
                LaneKind::Gauge(GaugeMode::MostRecent | GaugeMode::LiveMostRecent)
            ),
        })
    }

    /// Makes `ident` this process' identifier: each lane is copied under it with zeroed
    /// cells and mapped at the same addresses (a forked child calls this first thing).
    pub fn switch_identity(&self, ident: &str) -> Result<()> {
        check_ident(ident)?;
        let mut cur = self.ident.lock().unwrap_or_else(|p| p.into_inner());
        if *cur == ident {
            return Ok(());
        }
        let lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        for lane in lanes.values() {
            lane.switch(&self.dir, ident)?;
        }
        *cur = ident.to_owned();
        Ok(())
    }

    /// Switches every live `ProcessLanes` whose identifier is `from` to `to` (after a fork:
    /// from the parent's pid to the child's).
    pub fn switch_all(from: &str, to: &str) -> Result<()> {
        let all: Vec<_> = ALL_LANES
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        for l in all {
            if l.ident() == from {
                l.switch_identity(to)?;
            }
        }
        Ok(())
    }

    /// Releases this process' locks on its lane files (prometheus_client's
    /// `close_all_multiprocess_files`); the cells stay mapped, so writes still land.
    pub fn close(&self) {
        for lane in self
            .lanes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
        {
            flock(&lane.lock().file, libc::LOCK_UN);
        }
    }

    /// The paths of the lane files, for tests.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.lanes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(|l| l.lock().path.clone())
            .collect()
    }
}

fn check_ident(ident: &str) -> Result<()> {
    if ident.is_empty()
        || ident.len() > MAX_IDENT
        || !ident
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Error::InvalidOption(format!(
            "process identifier {ident:?} must be 1 to {MAX_IDENT} letters, digits, '-' or '_'"
        )));
    }
    Ok(())
}

/// Checks that `dir` is a directory this process can create files in (as
/// [`ProcessLanes::new`] does): an [`Error::Storage`] saying why not. For a process that reads
/// a directory others write (a cluster's primary) to report a bad one before they start.
pub fn check_dir(dir: &Path) -> Result<()> {
    check_writable_dir(dir)
}

fn check_writable_dir(dir: &Path) -> Result<()> {
    let meta = fs::metadata(dir).map_err(|e| storage_error("cannot use", dir, e))?;
    if !meta.is_dir() {
        return Err(Error::Storage(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    let probe = dir.join(format!("{TMP_PREFIX}probe.{}", random_u64()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .and_then(|f| {
            let r = f.set_len(0);
            let _ = fs::remove_file(&probe);
            r
        })
        .map_err(|e| storage_error("cannot write in", dir, e))
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A family declared in a lane file: its series' cells are allocated in the file.
#[derive(Clone)]
pub struct SharedFamily {
    lane: Arc<LaneFile>,
    index: u32,
    mostrecent: bool,
}

impl std::fmt::Debug for SharedFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedFamily")
            .field("kind", &self.lane.kind)
            .field("index", &self.index)
            .finish()
    }
}

impl SharedFamily {
    /// `width` zeroed cells for the series with label `values`, in the lane file.
    pub fn alloc<'a>(
        &self,
        values: impl Iterator<Item = &'a str>,
        width: usize,
    ) -> Result<OwnedBlock> {
        let mut e = vec![0u8; 16 + width * 8];
        e[4] = TAG_SERIES;
        e[8..12].copy_from_slice(&self.index.to_le_bytes());
        e[12..16].copy_from_slice(&(width as u32).to_le_bytes());
        for v in values {
            push_str(&mut e, v);
        }
        let mut st = self.lane.lock();
        let at = self.lane.append(&mut st, e)?;
        // The lane is never unmapped while a handle may write it: keep it alive as long as
        // the process (lanes are few: one per kind and identifier).
        std::mem::forget(self.lane.clone());
        // SAFETY: 16 bytes into an entry published in the mapping, 8-aligned.
        let ptr = unsafe { self.lane.base.add(at + 16) } as *const AtomicU64;
        Ok(OwnedBlock::in_file(ptr, width))
    }

    /// Whether writes must also record their time (gauges of the `mostrecent` modes).
    pub fn records_time(&self) -> bool {
        self.mostrecent
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

/// A file's entries, checked.
struct Parsed {
    archive: bool,
    ident: String,
    os_pid: u32,
    start: u64,
    lane_id: u64,
    families: Vec<FamilyRecord>,
    series: Vec<SeriesRecord>,
    folded: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq)]
struct FamilyRecord {
    kind: MetricType,
    mode: Option<GaugeMode>,
    pid_included: bool,
    bounds: Vec<f64>,
    name: String,
    help: String,
    unit: String,
    label_names: Vec<String>,
}

struct SeriesRecord {
    family: u32,
    cells: Vec<u64>,
    values: Vec<String>,
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn u32(&mut self) -> Option<u32> {
        let v = self.b.get(self.pos..self.pos + 4)?;
        self.pos += 4;
        Some(u32::from_le_bytes(v.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        let v = self.b.get(self.pos..self.pos + 8)?;
        self.pos += 8;
        Some(u64::from_le_bytes(v.try_into().ok()?))
    }
    fn str(&mut self) -> Option<String> {
        let n = self.u32()? as usize;
        let v = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        std::str::from_utf8(v).ok().map(str::to_owned)
    }
}

fn parse(bytes: &[u8], cells_of: impl Fn(usize) -> u64) -> std::result::Result<Parsed, String> {
    if bytes.len() < HEADER_LEN {
        return Err(format!("{} bytes, shorter than a header", bytes.len()));
    }
    if &bytes[0..8] != MAGIC {
        return Err("not a footmetrics multi-process file".into());
    }
    let mut h = Reader { b: bytes, pos: 8 };
    let version = h.u32().unwrap_or(0);
    if version != FILE_VERSION {
        return Err(format!("layout version {version}, expected {FILE_VERSION}"));
    }
    let flags = h.u32().unwrap_or(0);
    let used = header_used(bytes.as_ptr()).load(Ordering::Acquire) as usize;
    let os_pid = h.pos_u32(24);
    let ident_len = (h.pos_u32(28) as usize).min(MAX_IDENT);
    let start = u64::from_le_bytes(bytes[32..40].try_into().unwrap());
    let lane_id = u64::from_le_bytes(bytes[40..48].try_into().unwrap());
    let ident = String::from_utf8_lossy(&bytes[64..64 + ident_len]).into_owned();
    if used < HEADER_LEN || used > bytes.len() || !used.is_multiple_of(8) {
        return Err(format!("{used} bytes used of {}", bytes.len()));
    }
    let mut p = Parsed {
        archive: flags & FLAG_ARCHIVE != 0,
        ident,
        os_pid,
        start,
        lane_id,
        families: Vec::new(),
        series: Vec::new(),
        folded: Vec::new(),
    };
    let mut pos = HEADER_LEN;
    while pos < used {
        let bad = |why: &str| format!("entry at byte {pos}: {why}");
        let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        if len < 16 || !len.is_multiple_of(8) || pos + len > used {
            return Err(bad("bad length"));
        }
        let e = &bytes[pos..pos + len];
        let mut r = Reader { b: e, pos: 8 };
        match e[4] {
            TAG_FAMILY => {
                let kind = match e[8] {
                    1 => MetricType::Counter,
                    2 => MetricType::Gauge,
                    3 => MetricType::Histogram,
                    4 => MetricType::Summary,
                    _ => return Err(bad("unknown metric type")),
                };
                let mode = if kind == MetricType::Gauge {
                    Some(GaugeMode::from_code(e[9]).ok_or_else(|| bad("unknown gauge mode"))?)
                } else {
                    None
                };
                r.pos = 12;
                let nb = r.u32().ok_or_else(|| bad("truncated"))? as usize;
                if nb > len / 8 {
                    return Err(bad("too many bounds"));
                }
                let bounds = (0..nb)
                    .map(|_| r.u64().map(f64::from_bits))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| bad("truncated"))?;
                let (name, help, unit) = (r.str(), r.str(), r.str());
                let nl = r.u32().ok_or_else(|| bad("truncated"))? as usize;
                if nl > len {
                    return Err(bad("too many labels"));
                }
                let labels = (0..nl).map(|_| r.str()).collect::<Option<Vec<_>>>();
                match (name, help, unit, labels) {
                    (Some(name), Some(help), Some(unit), Some(label_names)) => {
                        p.families.push(FamilyRecord {
                            kind,
                            mode,
                            pid_included: e[10] & FAMILY_PID_INCLUDED != 0,
                            bounds,
                            name,
                            help,
                            unit,
                            label_names,
                        })
                    }
                    _ => return Err(bad("truncated strings")),
                }
            }
            TAG_SERIES => {
                let family = r.u32().unwrap();
                let ncells = r.u32().unwrap() as usize;
                let f = p
                    .families
                    .get(family as usize)
                    .ok_or_else(|| bad("series of an unknown family"))?;
                if 16 + ncells * 8 > len || ncells != cells_for(f) {
                    return Err(bad("wrong number of cells"));
                }
                let cells = (0..ncells).map(|i| cells_of(pos + 16 + 8 * i)).collect();
                r.pos = 16 + ncells * 8;
                let values = (0..f.label_names.len())
                    .map(|_| r.str())
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| bad("truncated label values"))?;
                p.series.push(SeriesRecord {
                    family,
                    cells,
                    values,
                });
            }
            TAG_FOLDED => p.folded.push(r.u64().unwrap()),
            _ => return Err(bad("unknown tag")),
        }
        pos += len;
    }
    Ok(p)
}

impl Reader<'_> {
    fn pos_u32(&mut self, at: usize) -> u32 {
        u32::from_le_bytes(self.b[at..at + 4].try_into().unwrap())
    }
}

fn cells_for(f: &FamilyRecord) -> usize {
    match f.kind {
        MetricType::Histogram => f.bounds.len() + 2,
        _ => 2,
    }
}

/// A read-only mapping of a whole file.
struct Mapped {
    ptr: *const u8,
    len: usize,
}

impl Mapped {
    fn open(file: &File) -> std::io::Result<Option<Mapped>> {
        let len = file.metadata()?.len() as usize;
        if len == 0 {
            return Ok(None);
        }
        // SAFETY: a fresh read-only shared mapping of an open file.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Some(Mapped {
            ptr: p as *const u8,
            len,
        }))
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `len` mapped bytes. Writers change cells and bytes past `used` only; cells
        // are read through `cell`, atomically.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    fn cell(&self, off: usize) -> u64 {
        // SAFETY: `off` is 8-aligned inside the mapping (checked by `parse`).
        unsafe { (*(self.ptr.add(off) as *const AtomicU64)).load(Ordering::Relaxed) }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `open`.
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
    }
}

/// Reads the file at `path`: `Ok(None)` if it no longer exists.
fn read_file(path: &Path) -> std::result::Result<Option<(Parsed, File)>, String> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    read_open(file).map(Some)
}

fn read_open(file: File) -> std::result::Result<(Parsed, File), String> {
    // A lane only grows, and `used` is published after the file covers it: a file that
    // grew between the size check and the mapping is read up to what was mapped.
    let m = Mapped::open(&file)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "empty file".to_string())?;
    let parsed = parse(m.bytes(), |off| m.cell(off))?;
    Ok((parsed, file))
}

/// A series' values summed over processes.
#[derive(Debug, Clone, PartialEq)]
pub enum Merged {
    /// A counter: integer words (summed exactly) and float words.
    Counter {
        /// The integer words' sum.
        int: u128,
        /// The float words' sum.
        float: f64,
    },
    /// A gauge combined by its mode: the value, and the time of the write it comes from.
    Gauge {
        /// The value.
        value: f64,
        /// When it was written (seconds since the epoch; 0 if never recorded).
        time: f64,
    },
    /// A histogram: non-cumulative bucket counts (`+Inf` last) and the sum.
    Histogram {
        /// Per-bucket counts, not cumulative.
        buckets: Vec<u64>,
        /// The sum of observations.
        sum: f64,
    },
    /// A summary's count and sum.
    Summary {
        /// Observations.
        count: u64,
        /// Their sum.
        sum: f64,
    },
}

impl Merged {
    fn from_cells(f: &FamilyRecord, c: &[u64]) -> Merged {
        match f.kind {
            MetricType::Counter => Merged::Counter {
                int: u128::from(c[0]),
                float: f64::from_bits(c[1]),
            },
            MetricType::Gauge => Merged::Gauge {
                value: f64::from_bits(c[0]),
                time: f64::from_bits(c[1]),
            },
            MetricType::Histogram => Merged::Histogram {
                buckets: c[..c.len() - 1].to_vec(),
                sum: f64::from_bits(c[c.len() - 1]),
            },
            _ => Merged::Summary {
                count: c[0],
                sum: f64::from_bits(c[1]),
            },
        }
    }

    fn add(&mut self, other: &Merged, mode: Option<GaugeMode>) {
        match (self, other) {
            (Merged::Counter { int, float }, Merged::Counter { int: i2, float: f2 }) => {
                *int += i2;
                *float += f2;
            }
            (
                Merged::Gauge { value, time },
                Merged::Gauge {
                    value: v2,
                    time: t2,
                },
            ) => {
                match mode.unwrap_or(GaugeMode::Sum) {
                    GaugeMode::Min | GaugeMode::LiveMin => *value = value.min(*v2),
                    GaugeMode::Max | GaugeMode::LiveMax => *value = value.max(*v2),
                    GaugeMode::MostRecent | GaugeMode::LiveMostRecent => {
                        if *t2 > *time {
                            *value = *v2;
                            *time = *t2;
                        }
                    }
                    // Sum; and per-process modes never meet another process' value.
                    _ => *value += v2,
                }
            }
            (
                Merged::Histogram { buckets, sum },
                Merged::Histogram {
                    buckets: b2,
                    sum: s2,
                },
            ) => {
                for (a, b) in buckets.iter_mut().zip(b2) {
                    *a = a.saturating_add(*b);
                }
                *sum += s2;
            }
            (Merged::Summary { count, sum }, Merged::Summary { count: c2, sum: s2 }) => {
                *count = count.saturating_add(*c2);
                *sum += s2;
            }
            _ => {}
        }
    }

    /// The counter's total, or the gauge's value.
    pub fn value(&self) -> f64 {
        match self {
            Merged::Counter { int, float } => *int as f64 + float,
            Merged::Gauge { value, .. } => *value,
            Merged::Histogram { sum, .. } | Merged::Summary { sum, .. } => *sum,
        }
    }

    fn cells(&self) -> Vec<u64> {
        match self {
            Merged::Counter { int, float } => {
                // The integer word holds what fits below 2^62 (the counter's own limit);
                // the rest goes to the float word.
                let limit = 1u128 << 62;
                let kept = (*int).min(limit);
                vec![kept as u64, (float + (int - kept) as f64).to_bits()]
            }
            Merged::Gauge { value, time } => vec![value.to_bits(), time.to_bits()],
            Merged::Histogram { buckets, sum } => {
                let mut c = buckets.clone();
                c.push(sum.to_bits());
                c
            }
            Merged::Summary { count, sum } => vec![*count, sum.to_bits()],
        }
    }
}

/// A family summed over processes.
#[derive(Debug, Clone, PartialEq)]
pub struct MergedFamily {
    /// The family name (a counter's without `_total`).
    pub name: String,
    /// The help text.
    pub help: String,
    /// The unit, if any.
    pub unit: Option<String>,
    /// The type.
    pub kind: MetricType,
    /// A gauge's mode.
    pub mode: Option<GaugeMode>,
    /// Label names (a per-process gauge's end with `pid`).
    pub label_names: Vec<String>,
    /// A histogram's bounds, without `+Inf`.
    pub bounds: Vec<f64>,
    /// `(label values, merged values)`, in order of first appearance.
    pub series: Vec<(Vec<String>, Merged)>,
    index: HashMap<Vec<String>, usize>,
}

impl MergedFamily {
    /// In the owned data model, for the encoder (no `_created`: processes start at
    /// different times).
    pub fn to_family(&self) -> MetricFamily {
        let mut f = MetricFamily::new(&self.name, &self.help, self.kind);
        f.name = self.name.clone();
        f.unit = self.unit.clone();
        for (values, m) in &self.series {
            let labels = self
                .label_names
                .iter()
                .cloned()
                .zip(values.iter().cloned())
                .collect();
            let value = match m {
                Merged::Counter { .. } => PointValue::Counter {
                    value: m.value(),
                    created: None,
                    exemplar: None,
                },
                Merged::Gauge { value, .. } => PointValue::Gauge(*value),
                Merged::Histogram { buckets, sum } => {
                    let mut acc = 0u64;
                    let buckets = buckets
                        .iter()
                        .enumerate()
                        .map(|(i, n)| {
                            acc = acc.saturating_add(*n);
                            (
                                self.bounds.get(i).copied().unwrap_or(f64::INFINITY),
                                acc,
                                None,
                            )
                        })
                        .collect();
                    PointValue::Histogram {
                        buckets,
                        count: acc,
                        sum: *sum,
                        created: None,
                    }
                }
                Merged::Summary { count, sum } => PointValue::Summary {
                    count: *count,
                    sum: *sum,
                    quantiles: Vec::new(),
                    created: None,
                },
            };
            f.points.push(MetricPoint { labels, value });
        }
        f
    }
}

/// Families summed over files, and the files that could not be read.
#[derive(Debug, Default)]
pub struct MergedView {
    /// The families, in order of first appearance.
    pub families: Vec<MergedFamily>,
    /// `(path, why)` of each file skipped (corrupt, foreign, or of another layout version).
    pub skipped: Vec<(PathBuf, String)>,
    by_name: HashMap<String, usize>,
}

impl MergedView {
    fn add_file(&mut self, p: &Parsed, skip_live: bool) {
        let mut local: Vec<Option<(usize, bool)>> = Vec::with_capacity(p.families.len());
        for f in &p.families {
            let live = f.mode.is_some_and(GaugeMode::is_live);
            if skip_live && live {
                local.push(None);
                continue;
            }
            let per_process = f.mode.is_some_and(GaugeMode::per_process) && !f.pid_included;
            let mut names = f.label_names.clone();
            if per_process {
                names.push("pid".into());
            }
            let i = match self.by_name.get(&f.name) {
                Some(&i) => {
                    let m = &self.families[i];
                    // The same name declared differently elsewhere: keep the first.
                    (m.kind == f.kind && m.label_names == names && m.bounds == f.bounds)
                        .then_some(i)
                }
                None => {
                    self.by_name.insert(f.name.clone(), self.families.len());
                    self.families.push(MergedFamily {
                        name: f.name.clone(),
                        help: f.help.clone(),
                        unit: (!f.unit.is_empty()).then(|| f.unit.clone()),
                        kind: f.kind,
                        mode: f.mode,
                        label_names: names,
                        bounds: f.bounds.clone(),
                        series: Vec::new(),
                        index: HashMap::new(),
                    });
                    Some(self.families.len() - 1)
                }
            };
            local.push(i.map(|i| (i, per_process)));
        }
        for s in &p.series {
            let Some(&Some((i, per_process))) = local.get(s.family as usize) else {
                continue;
            };
            let rec = &p.families[s.family as usize];
            let value = Merged::from_cells(rec, &s.cells);
            let fam = &mut self.families[i];
            let key: Vec<String> = if per_process {
                let mut k = s.values.clone();
                k.push(p.ident.clone());
                k
            } else {
                s.values.clone()
            };
            match fam.index.get(&key) {
                Some(&j) => {
                    let mode = fam.mode;
                    fam.series[j].1.add(&value, mode);
                }
                None => {
                    fam.index.insert(key.clone(), fam.series.len());
                    fam.series.push((key, value));
                }
            }
        }
    }

    /// Every family in the owned data model.
    pub fn to_families(&self) -> Vec<MetricFamily> {
        self.families.iter().map(MergedFamily::to_family).collect()
    }
}

/// Sums the given files, as prometheus_client's `MultiProcessCollector.merge` (a file that
/// no longer exists is left out; one that cannot be read is listed in `skipped`).
pub fn merge_files<P: AsRef<Path>>(paths: &[P]) -> MergedView {
    let mut view = MergedView::default();
    for path in paths {
        let path = path.as_ref();
        match read_file(path) {
            Ok(Some((p, _))) => view.add_file(&p, false),
            Ok(None) => {}
            Err(why) => view.skipped.push((path.to_owned(), why)),
        }
    }
    view
}

struct DirLock(File);

impl DirLock {
    fn open(dir: &Path) -> Result<DirLock> {
        File::open(dir)
            .map(DirLock)
            .map_err(|e| storage_error("cannot open", dir, e))
    }
}

fn lane_paths(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut lanes = Vec::new();
    let mut tmp = Vec::new();
    for e in fs::read_dir(dir).map_err(|e| storage_error("cannot list", dir, e))? {
        let Ok(e) = e else { continue };
        let name = e.file_name();
        let name = name.as_bytes();
        if name.starts_with(TMP_PREFIX.as_bytes()) {
            tmp.push(e.path());
        } else if name.ends_with(b".db") && name != ARCHIVE.as_bytes() {
            lanes.push(e.path());
        }
    }
    lanes.sort();
    Ok((lanes, tmp))
}

fn process_alive(pid: u32, start: u64) -> bool {
    if pid == 0 {
        return false;
    }
    let now = start_ticks(pid);
    now != 0 && (start == 0 || now == start)
}

/// Folds the dead lanes of `dir` into its archive (see the module documentation). Returns
/// how many lanes were folded. The caller holds the directory's exclusive lock.
fn fold_locked(
    dir: &Path,
    view_skipped: &mut Vec<(PathBuf, String)>,
    stop: Option<FoldStep>,
) -> Result<usize> {
    let archive_path = dir.join(ARCHIVE);
    let mut merged = MergedView::default();
    let mut already: HashSet<u64> = HashSet::new();
    match read_file(&archive_path) {
        Ok(Some((a, _))) => {
            merged.add_file(&a, false);
            already.extend(a.folded.iter().copied());
        }
        Ok(None) => {}
        Err(why) => {
            // An archive we cannot read is never overwritten: fold nothing.
            view_skipped.push((archive_path, why));
            return Ok(0);
        }
    }
    let (lanes, tmps) = lane_paths(dir)?;
    for t in tmps {
        // A temporary file is locked by its maker from creation until it is linked and
        // removed: an unlocked one was left by a writer killed meanwhile.
        if let Ok(f) = File::open(&t) {
            if flock(&f, libc::LOCK_EX | libc::LOCK_NB) {
                let _ = fs::remove_file(&t);
            }
        }
    }
    let mut dead: Vec<(PathBuf, File)> = Vec::new();
    let mut leftovers: Vec<PathBuf> = Vec::new();
    let mut folded_ids: Vec<u64> = Vec::new();
    for path in lanes {
        let Ok(file) = File::open(&path) else {
            continue;
        };
        if !flock(&file, libc::LOCK_EX | libc::LOCK_NB) {
            continue; // a live writer holds it
        }
        let Ok((p, file)) = read_open(file) else {
            continue; // reported by the read that follows
        };
        if p.archive {
            continue;
        }
        if already.contains(&p.lane_id) {
            leftovers.push(path);
            continue;
        }
        if process_alive(p.os_pid, p.start) {
            continue; // its writer closed the file but lives (close_all_multiprocess_files)
        }
        merged.add_file(&p, true);
        folded_ids.push(p.lane_id);
        dead.push((path, file));
    }
    // Lanes the archive lists that are still there: delete them now (the previous fold
    // stopped between its rename and its deletions); the archive stops listing them below.
    for path in &leftovers {
        let _ = fs::remove_file(path);
    }
    if dead.is_empty() {
        return Ok(0);
    }
    write_archive(dir, &merged, &folded_ids, stop)?;
    if matches!(stop, Some(FoldStep::TempWritten | FoldStep::Renamed)) {
        return Ok(0);
    }
    for (i, (path, _)) in dead.iter().enumerate() {
        if i == 1 && stop == Some(FoldStep::OneLaneDeleted) {
            return Ok(0);
        }
        let _ = fs::remove_file(path);
    }
    Ok(dead.len())
}

/// A point in a fold where [`fold_interrupted`] stops, as a process killed there would.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoldStep {
    /// The new archive is written under its temporary name, not renamed.
    TempWritten,
    /// The new archive is in place; no folded lane is deleted yet.
    Renamed,
    /// One folded lane is deleted, the others not.
    OneLaneDeleted,
}

/// Folds `dir` but stops at `step`, leaving the files as a fold killed there leaves them
/// (for crash-safety tests; the caller should exit right after, releasing its locks).
#[doc(hidden)]
pub fn fold_interrupted(dir: &Path, step: FoldStep) -> Result<()> {
    let lock = DirLock::open(dir)?;
    flock(&lock.0, libc::LOCK_EX);
    fold_locked(dir, &mut Vec::new(), Some(step)).map(drop)
}

fn write_archive(
    dir: &Path,
    merged: &MergedView,
    folded: &[u64],
    stop: Option<FoldStep>,
) -> Result<()> {
    let mut log = header("archive", FLAG_ARCHIVE, 0).to_vec();
    let entry = |log: &mut Vec<u8>, mut e: Vec<u8>| {
        while !e.len().is_multiple_of(8) {
            e.push(0);
        }
        let len = e.len() as u32;
        e[0..4].copy_from_slice(&len.to_le_bytes());
        log.extend_from_slice(&e);
    };
    for (fi, f) in merged.families.iter().enumerate() {
        let mut e = vec![0u8; 16];
        e[4] = TAG_FAMILY;
        e[8] = match f.kind {
            MetricType::Counter => 1,
            MetricType::Gauge => 2,
            MetricType::Histogram => 3,
            _ => 4,
        };
        e[9] = f.mode.map_or(0, GaugeMode::code);
        e[10] = if f.mode.is_some_and(GaugeMode::per_process) {
            FAMILY_PID_INCLUDED
        } else {
            0
        };
        e[12..16].copy_from_slice(&(f.bounds.len() as u32).to_le_bytes());
        for b in &f.bounds {
            e.extend_from_slice(&b.to_le_bytes());
        }
        push_str(&mut e, &f.name);
        push_str(&mut e, &f.help);
        push_str(&mut e, f.unit.as_deref().unwrap_or(""));
        e.extend_from_slice(&(f.label_names.len() as u32).to_le_bytes());
        for n in &f.label_names {
            push_str(&mut e, n);
        }
        entry(&mut log, e);
        for (values, m) in &f.series {
            let cells = m.cells();
            let mut e = vec![0u8; 16];
            e[4] = TAG_SERIES;
            e[8..12].copy_from_slice(&(fi as u32).to_le_bytes());
            e[12..16].copy_from_slice(&(cells.len() as u32).to_le_bytes());
            for c in cells {
                e.extend_from_slice(&c.to_le_bytes());
            }
            for v in values {
                push_str(&mut e, v);
            }
            entry(&mut log, e);
        }
    }
    for id in folded {
        let mut e = vec![0u8; 16];
        e[4] = TAG_FOLDED;
        e[8..16].copy_from_slice(&id.to_le_bytes());
        entry(&mut log, e);
    }
    let used = log.len() as u64;
    log[16..24].copy_from_slice(&used.to_le_bytes());
    let tmp = dir.join(format!("{TMP_PREFIX}archive.{}", random_u64()));
    let write = || -> std::io::Result<()> {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        flock(&f, libc::LOCK_SH);
        f.write_all(&log)?;
        f.sync_data()?;
        if stop == Some(FoldStep::TempWritten) {
            // As if killed here: the temporary file stays, and is unlocked once we exit.
            std::mem::forget(f);
            return Ok(());
        }
        fs::rename(&tmp, dir.join(ARCHIVE))
    };
    write().map_err(|e| {
        // Nothing was renamed: the old archive and every lane are as they were.
        let _ = fs::remove_file(&tmp);
        storage_error("cannot write the archive in", dir, e)
    })
}

/// Reads `dir` as one view: the archive plus every lane it does not list, folding dead
/// lanes into the archive first when no other process is folding.
pub fn read_dir(dir: &Path) -> Result<MergedView> {
    let lock = DirLock::open(dir)?;
    let mut view = MergedView::default();
    let mut skipped = Vec::new();
    if flock(&lock.0, libc::LOCK_EX | libc::LOCK_NB) {
        if let Err(e) = fold_locked(dir, &mut skipped, None) {
            skipped.push((dir.to_owned(), e.to_string()));
        }
        // Downgrade: readers may share from here.
        flock(&lock.0, libc::LOCK_SH);
    } else {
        flock(&lock.0, libc::LOCK_SH);
    }
    let mut folded: HashSet<u64> = HashSet::new();
    let archive_path = dir.join(ARCHIVE);
    match read_file(&archive_path) {
        Ok(Some((a, _))) => {
            view.add_file(&a, false);
            folded.extend(a.folded.iter().copied());
        }
        Ok(None) => {}
        Err(why) => {
            if !skipped.iter().any(|(p, _)| *p == archive_path) {
                skipped.push((archive_path, why));
            }
        }
    }
    for path in lane_paths(dir)?.0 {
        match read_file(&path) {
            Ok(Some((p, _))) if !folded.contains(&p.lane_id) && !p.archive => {
                view.add_file(&p, false)
            }
            Ok(_) => {}
            Err(why) => skipped.push((path, why)),
        }
    }
    view.skipped = skipped;
    Ok(view)
}

/// Removes the files of `live*` gauges of process `ident` (prometheus_client's
/// `mark_process_dead`); its other lanes are folded by the next scrape once it has exited.
pub fn mark_process_dead(dir: &Path, ident: &str) -> Result<usize> {
    let mut removed = 0;
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(0);
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix("gauge_live") else {
            continue;
        };
        // gauge_live<mode>_<ident>.db or gauge_live<mode>_<ident>.<n>.db
        let Some((_, tail)) = rest.split_once('_') else {
            continue;
        };
        let Some(stem) = tail.strip_suffix(".db") else {
            continue;
        };
        let id = match stem.rsplit_once('.') {
            Some((id, n)) if n.bytes().all(|b| b.is_ascii_digit()) => id,
            _ => stem,
        };
        if id == ident && fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

/// A collector of every process' series in a directory: what a scrape in multi-process
/// mode serves.
#[derive(Debug, Clone)]
pub struct DirCollector {
    dir: PathBuf,
}

impl DirCollector {
    /// A collector of `dir`: an error if it is not a directory.
    pub fn new(dir: impl Into<PathBuf>) -> Result<DirCollector> {
        let dir = dir.into();
        if !dir.is_dir() {
            return Err(Error::Storage(format!(
                "{} is not a directory",
                dir.display()
            )));
        }
        Ok(DirCollector { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The merged view.
    pub fn read(&self) -> Result<MergedView> {
        read_dir(&self.dir)
    }
}

/// The self-metric a scrape adds when it had to skip files.
pub const SKIPPED_FILES_METRIC: &str = "footmetrics_multiprocess_skipped_files";

impl crate::collector::Collector for DirCollector {
    fn descs(&self) -> Vec<crate::collector::Desc> {
        Vec::new()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        match self.read() {
            Ok(view) => {
                let mut out = view.to_families();
                if !view.skipped.is_empty() {
                    warn_skipped(&view.skipped);
                    let mut f = MetricFamily::new(
                        SKIPPED_FILES_METRIC,
                        "Files in the multi-process directory the last scrape could not read.",
                        MetricType::Gauge,
                    );
                    f.points.push(MetricPoint {
                        labels: Vec::new(),
                        value: PointValue::Gauge(view.skipped.len() as f64),
                    });
                    out.push(f);
                }
                out
            }
            Err(e) => {
                warn_once(&format!(
                    "multi-process scrape of {}: {e}",
                    self.dir.display()
                ));
                Vec::new()
            }
        }
    }
}

/// Warns on standard error once per file and reason.
pub fn warn_skipped(skipped: &[(PathBuf, String)]) {
    for (p, why) in skipped {
        warn_once(&format!(
            "footmetrics: skipping {} in the multi-process directory: {why}",
            p.display()
        ));
    }
}

fn warn_once(msg: &str) {
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    if seen.get_or_insert_with(HashSet::new).insert(msg.to_owned()) {
        let _ = writeln!(std::io::stderr(), "{msg}");
    }
}

/// Where a family's series get their cells: the process' arena, or a lane file.
#[derive(Debug, Clone, Default)]
pub(crate) enum CellSource {
    /// The arena (every family not in multi-process mode).
    #[default]
    Arena,
    /// A lane file.
    File(SharedFamily),
}

impl CellSource {
    /// The source for a family of `kind` built from `opts` (a lane file when the options
    /// say multi-process mode; `bounds` are a histogram's).
    pub(crate) fn for_family(
        opts: &crate::opts::Opts,
        kind: MetricType,
        bounds: &[f64],
    ) -> Result<CellSource> {
        let Some((lanes, mode)) = &opts.multiprocess else {
            return Ok(CellSource::Arena);
        };
        let lane = match kind {
            MetricType::Counter => LaneKind::Counter,
            MetricType::Gauge => LaneKind::Gauge(*mode),
            MetricType::Histogram => LaneKind::Histogram,
            MetricType::Summary => LaneKind::Summary,
            other => {
                return Err(Error::InvalidOption(format!(
                    "multi-process mode keeps counters, gauges, histograms and summaries, not \
                     {other:?}"
                )))
            }
        };
        let name = opts.family_name(kind)?;
        lanes
            .family(
                lane,
                &name,
                &opts.help,
                opts.unit.as_deref(),
                &opts.label_names,
                bounds,
            )
            .map(CellSource::File)
    }

    /// Whether cells come from a lane file.
    pub(crate) fn is_file(&self) -> bool {
        matches!(self, CellSource::File(_))
    }

    /// Cells for a new series: `width` cells in each of `lanes` lanes from the arena, or
    /// `width` cells in the lane file. A lane file that cannot grow (a full disk) is
    /// reported once on standard error and the series keeps its values in this process.
    pub(crate) fn block(
        &self,
        width: usize,
        lanes: usize,
        meta: &crate::metric::ChildMeta,
    ) -> OwnedBlock {
        match self {
            CellSource::Arena => OwnedBlock::new(width, lanes),
            CellSource::File(f) => match f.alloc(meta.label_values(), width) {
                Ok(mut b) => {
                    b.spare = u8::from(f.records_time());
                    b
                }
                Err(e) => {
                    warn_once(&format!(
                        "footmetrics: a series stays in this process only: {e}"
                    ));
                    OwnedBlock::new(width, lanes)
                }
            },
        }
    }
}
