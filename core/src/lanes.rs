//! Multi-process mode, the writing side: a process' lane files, the families declared in them
//! and their series' cells. The layout, and how files are read and folded, are documented in
//! [`crate::multiprocess`], which re-exports the public items.

use crate::arena::OwnedBlock;
use crate::error::{Error, Result};
use crate::exemplar::now_seconds;
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// The layout version written in every file's header.
pub const FILE_VERSION: u32 = 1;
pub(crate) const MAGIC: &[u8; 8] = b"FMSHARED";
pub(crate) const HEADER_LEN: usize = 128;
pub(crate) const MAX_IDENT: usize = 64;
pub(crate) const FLAG_ARCHIVE: u32 = 1;
pub(crate) const TAG_FAMILY: u8 = 1;
pub(crate) const TAG_SERIES: u8 = 2;
pub(crate) const TAG_FOLDED: u8 = 3;
pub(crate) const TAG_EXEMPLAR: u8 = 4;
/// An exemplar slot: `0` sequence `u64` (odd while written), `8` value `f64`, `16` timestamp
/// `f64`, `24` bytes of labels `u32`, `28` zero, `32` the labels (each name and value a `u32`
/// length and UTF-8 bytes; OpenMetrics' 128 characters take at most 512 bytes).
pub(crate) const EXEMPLAR_SLOT: usize = 32 + 520;
pub(crate) const FAMILY_PID_INCLUDED: u8 = 1;
/// Address space reserved per lane file: the most a lane can grow to (1 GiB, millions of
/// series). Only the part of the file in use has memory or disk behind it.
pub const LANE_RESERVATION: usize = 1 << 30;
pub(crate) const INITIAL_FILE: usize = 64 << 10;
/// The archive's name in the directory.
pub const ARCHIVE: &str = "archive.db";
pub(crate) const TMP_PREFIX: &str = ".fm-tmp-";

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

pub(crate) const GAUGE_MODES: [(GaugeMode, &str); 10] = [
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

    pub(crate) fn per_process(self) -> bool {
        matches!(self, GaugeMode::All | GaugeMode::LiveAll)
    }

    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(c: u8) -> Option<GaugeMode> {
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

pub(crate) fn storage_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::Storage(format!("{what} {}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// Writing

/// A lane file mapped for writing at a fixed address range.
pub(crate) struct LaneFile {
    base: *mut u8,
    kind: LaneKind,
    state: Mutex<LaneState>,
    /// Exemplar slots made so far: (offset of the series' cells, bucket) -> slot offset.
    exemplars: Mutex<HashMap<(usize, u32), usize>>,
}

/// Every lane file of the process, to find the one holding a cell (lanes are never dropped
/// while a handle could write them).
static LANE_FILES: Mutex<Vec<Arc<LaneFile>>> = Mutex::new(Vec::new());

/// Records an exemplar for the series whose cells start at `cells` (a block in a lane file)
/// and bucket `bucket` (0 for counters): in a slot of the lane file, made when the series'
/// first exemplar (for that bucket) comes, written under a sequence lock that readers check.
/// A write racing another for the same slot is dropped (an exemplar is a sample). An error
/// making the slot (a full disk) leaves the exemplar in the process only.
pub(crate) fn record_exemplar(cells: *const AtomicU64, bucket: u32, e: &crate::exemplar::Exemplar) {
    let addr = cells as usize;
    let lane = LANE_FILES
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .find(|l| (l.base as usize..l.base as usize + LANE_RESERVATION).contains(&addr))
        .cloned();
    let Some(lane) = lane else { return };
    let cells_at = addr - lane.base as usize;
    let slot_at = {
        let mut slots = lane.exemplars.lock().unwrap_or_else(|p| p.into_inner());
        match slots.get(&(cells_at, bucket)) {
            Some(&at) => at,
            None => {
                let mut entry = vec![0u8; 24 + EXEMPLAR_SLOT];
                entry[4] = TAG_EXEMPLAR;
                entry[8..16].copy_from_slice(&(cells_at as u64).to_le_bytes());
                entry[16..20].copy_from_slice(&bucket.to_le_bytes());
                let mut st = lane.lock();
                let Ok(at) = lane.append(&mut st, entry) else {
                    return;
                };
                slots.insert((cells_at, bucket), at + 24);
                at + 24
            }
        }
    };
    let mut text = Vec::with_capacity(64);
    for (k, v) in &e.labels {
        push_str(&mut text, k);
        push_str(&mut text, v);
    }
    if text.len() > EXEMPLAR_SLOT - 32 {
        return;
    }
    let len = text.len();
    text.resize(len.next_multiple_of(8), 0);
    // SAFETY: the slot is `EXEMPLAR_SLOT` bytes of the published mapping, 8-aligned, and only
    // accessed through atomics.
    let word = |i: usize| unsafe { &*(lane.base.add(slot_at + 8 * i) as *const AtomicU64) };
    let seq = word(0).load(Ordering::Relaxed);
    if seq % 2 == 1
        || word(0)
            .compare_exchange(seq, seq + 1, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    std::sync::atomic::fence(Ordering::Release);
    word(1).store(e.value.to_bits(), Ordering::Relaxed);
    word(2).store(e.timestamp.to_bits(), Ordering::Relaxed);
    word(3).store(len as u64, Ordering::Relaxed);
    for (i, chunk) in text.chunks(8).enumerate() {
        word(4 + i).store(
            u64::from_le_bytes(chunk.try_into().unwrap()),
            Ordering::Relaxed,
        );
    }
    word(0).store(seq + 2, Ordering::Release);
}

pub(crate) struct LaneState {
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

pub(crate) fn header_used(base: *const u8) -> &'static AtomicU64 {
    // SAFETY: offset 16 of a mapped header, 8-aligned; callers keep the mapping alive.
    unsafe { &*(base.add(16) as *const AtomicU64) }
}

/// This process' start time in clock ticks after boot, or 0 if unknown.
pub(crate) fn start_ticks(pid: u32) -> u64 {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // Field 2 (the command) is in parentheses and may hold spaces: count after its end.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(19))
        .and_then(|t| t.parse().ok())
        .unwrap_or(0)
}

pub(crate) fn random_u64() -> u64 {
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

pub(crate) fn header(ident: &str, flags: u32, lane_id: u64) -> [u8; HEADER_LEN] {
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

pub(crate) fn flock(file: &File, op: libc::c_int) -> bool {
    // SAFETY: flock on an open descriptor.
    unsafe { libc::flock(file.as_raw_fd(), op) == 0 }
}

pub(crate) fn fallocate(file: &File, len: usize, path: &Path) -> Result<()> {
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
pub(crate) fn create_lane_file(
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
            exemplars: Mutex::new(HashMap::new()),
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
        seal_entry(&mut entry);
        let len = entry.len();
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

pub(crate) fn zero_cells(log: &mut [u8]) {
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
        if log[pos + 4] == TAG_EXEMPLAR {
            // The parent's exemplars are not the child's.
            log[pos + 24..pos + len].fill(0);
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
pub(crate) static ALL_LANES: Mutex<Vec<Weak<ProcessLanes>>> = Mutex::new(Vec::new());

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
                    LANE_FILES
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(l.clone());
                    lanes.insert(kind, l.clone());
                    l
                }
            }
        };
        let mode = match kind {
            LaneKind::Gauge(m) => m.code(),
            _ => 0,
        };
        let e = family_entry(
            kind.type_code(),
            mode,
            0,
            bounds,
            [name, help, unit.unwrap_or("")],
            label_names,
        );
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

pub(crate) fn check_ident(ident: &str) -> Result<()> {
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

pub(crate) fn check_writable_dir(dir: &Path) -> Result<()> {
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

/// Pads an entry to a multiple of 8 bytes and writes its length field.
pub(crate) fn seal_entry(e: &mut Vec<u8>) {
    e.resize(e.len().next_multiple_of(8), 0);
    let len = e.len() as u32;
    e[0..4].copy_from_slice(&len.to_le_bytes());
}

/// A family entry (unsealed): metric type and gauge mode codes, flags, bucket bounds, then
/// name, help and unit, then the label names.
pub(crate) fn family_entry<'a>(
    type_code: u8,
    mode: u8,
    flags: u8,
    bounds: &[f64],
    texts: [&str; 3],
    label_names: impl IntoIterator<Item = &'a String, IntoIter: ExactSizeIterator>,
) -> Vec<u8> {
    let mut e = vec![0u8; 16];
    e[4] = TAG_FAMILY;
    e[8] = type_code;
    e[9] = mode;
    e[10] = flags;
    e[12..16].copy_from_slice(&(bounds.len() as u32).to_le_bytes());
    for b in bounds {
        e.extend_from_slice(&b.to_le_bytes());
    }
    for t in texts {
        push_str(&mut e, t);
    }
    let names = label_names.into_iter();
    e.extend_from_slice(&(names.len() as u32).to_le_bytes());
    for n in names {
        push_str(&mut e, n);
    }
    e
}

/// A series entry (unsealed) of family number `family`: its cells, then its label values.
pub(crate) fn series_entry<'a>(
    family: u32,
    cells: &[u64],
    values: impl IntoIterator<Item = &'a str>,
) -> Vec<u8> {
    let mut e = vec![0u8; 16];
    e[4] = TAG_SERIES;
    e[8..12].copy_from_slice(&family.to_le_bytes());
    e[12..16].copy_from_slice(&(cells.len() as u32).to_le_bytes());
    for c in cells {
        e.extend_from_slice(&c.to_le_bytes());
    }
    for v in values {
        push_str(&mut e, v);
    }
    e
}

pub(crate) fn push_str(out: &mut Vec<u8>, s: &str) {
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
        let e = series_entry(self.index, &vec![0; width], values);
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
