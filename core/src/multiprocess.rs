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
//!   - tag 4, an exemplar slot, appended when a series records its first exemplar (for a
//!     bucket): `8` where the series' cells are `u64`, `16` the bucket `u32` (0 for a
//!     counter), `24` the slot: a sequence `u64` (odd while written; readers keep a reading
//!     only if it is even and unchanged after), the value and timestamp `f64`, the labels'
//!     length `u32`, then the labels as strings (name, value, ...). A scrape shows the newest
//!     exemplar of a series over live processes; folding does not keep exemplars.
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
#[allow(clippy::wildcard_imports)]
use crate::lanes::*;
pub use crate::lanes::{
    GaugeMode, LaneKind, ProcessLanes, SharedFamily, ARCHIVE, FILE_VERSION, LANE_RESERVATION,
};
use crate::metric::{MetricFamily, MetricPoint, MetricType, PointValue};
use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
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

/// A file's header, checked.
struct Header {
    archive: bool,
    ident: String,
    os_pid: u32,
    start: u64,
    lane_id: u64,
    /// Bytes of complete entries (loaded with acquire: the entries up to it are complete).
    used: usize,
}

fn parse_header(bytes: &[u8]) -> std::result::Result<Header, String> {
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
    let ident_len = (h.pos_u32(28) as usize).min(MAX_IDENT);
    if used < HEADER_LEN || !used.is_multiple_of(8) {
        return Err(format!("{used} bytes used of {}", bytes.len()));
    }
    Ok(Header {
        archive: flags & FLAG_ARCHIVE != 0,
        ident: String::from_utf8_lossy(&bytes[64..64 + ident_len]).into_owned(),
        os_pid: h.pos_u32(24),
        start: u64::from_le_bytes(bytes[32..40].try_into().unwrap()),
        lane_id: u64::from_le_bytes(bytes[40..48].try_into().unwrap()),
        used,
    })
}

/// A series entry: its family's number in the file, where its cells start, and its label
/// values.
struct SeriesEntry {
    family: u32,
    cells_at: usize,
    values: Vec<String>,
}

/// Parses the entries in `bytes[from..used]` (`from` the end of an entry), appending to
/// `families`, `series` and `folded`. An error names the first bad entry; what was parsed
/// before it stays.
fn parse_entries(
    bytes: &[u8],
    from: usize,
    used: usize,
    families: &mut Vec<FamilyRecord>,
    series: &mut Vec<SeriesEntry>,
    folded: &mut Vec<u64>,
    exemplars: &mut Vec<(usize, u32, usize)>,
) -> std::result::Result<(), String> {
    if used > bytes.len() {
        return Err(format!("{used} bytes used of {}", bytes.len()));
    }
    let mut pos = from;
    while pos < used {
        let bad = |why: &str| format!("entry at byte {pos}: {why}");
        if pos + 16 > used {
            return Err(bad("truncated"));
        }
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
                        families.push(FamilyRecord {
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
                let f = families
                    .get(family as usize)
                    .ok_or_else(|| bad("series of an unknown family"))?;
                if 16 + ncells * 8 > len || ncells != cells_for(f) {
                    return Err(bad("wrong number of cells"));
                }
                r.pos = 16 + ncells * 8;
                let values = (0..f.label_names.len())
                    .map(|_| r.str())
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| bad("truncated label values"))?;
                series.push(SeriesEntry {
                    family,
                    cells_at: pos + 16,
                    values,
                });
            }
            TAG_FOLDED => folded.push(r.u64().unwrap()),
            TAG_EXEMPLAR => {
                if len < 24 + EXEMPLAR_SLOT {
                    return Err(bad("exemplar slot too short"));
                }
                let cells_at = r.u64().unwrap() as usize;
                let bucket = r.u32().unwrap();
                // (series cells, bucket, slot): the series is looked up by its cells.
                exemplars.push((cells_at, bucket, pos + 24));
            }
            _ => return Err(bad("unknown tag")),
        }
        pos += len;
    }
    Ok(())
}

fn parse(bytes: &[u8], cells_of: impl Fn(usize) -> u64) -> std::result::Result<Parsed, String> {
    let h = parse_header(bytes)?;
    let mut families = Vec::new();
    let mut entries = Vec::new();
    let mut folded = Vec::new();
    parse_entries(
        bytes,
        HEADER_LEN,
        h.used,
        &mut families,
        &mut entries,
        &mut folded,
        &mut Vec::new(),
    )?;
    let series = entries
        .into_iter()
        .map(|e| {
            let n = cells_for(&families[e.family as usize]);
            SeriesRecord {
                family: e.family,
                cells: (0..n).map(|i| cells_of(e.cells_at + 8 * i)).collect(),
                values: e.values,
            }
        })
        .collect();
    Ok(Parsed {
        archive: h.archive,
        ident: h.ident,
        os_pid: h.os_pid,
        start: h.start,
        lane_id: h.lane_id,
        families,
        series,
        folded,
    })
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

// SAFETY: a read-only mapping, read through atomics or as immutable bytes below `used`.
unsafe impl Send for Mapped {}
unsafe impl Sync for Mapped {}

impl Mapped {
    /// The exemplar in the slot at `at`, if one was written and not being rewritten.
    fn exemplar(&self, at: usize) -> Option<crate::exemplar::Exemplar> {
        let seq = self.cell(at);
        std::sync::atomic::fence(Ordering::Acquire);
        if seq == 0 || seq % 2 == 1 {
            return None;
        }
        let value = f64::from_bits(self.cell(at + 8));
        let timestamp = f64::from_bits(self.cell(at + 16));
        let n = (self.cell(at + 24) as usize).min(EXEMPLAR_SLOT - 32);
        let mut text = Vec::with_capacity(n);
        for i in 0..n.div_ceil(8) {
            text.extend_from_slice(&self.cell(at + 32 + 8 * i).to_le_bytes());
        }
        std::sync::atomic::fence(Ordering::Acquire);
        if self.cell(at) != seq {
            return None; // rewritten meanwhile: the next scrape reads it
        }
        let mut r = Reader {
            b: &text[..n],
            pos: 0,
        };
        let mut labels = Vec::new();
        while r.pos < n {
            labels.push((r.str()?, r.str()?));
        }
        let mut e = crate::exemplar::Exemplar::new(&labels, value).ok()?;
        e.timestamp = timestamp;
        Some(e)
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

    /// Sets (`first`) or combines this value with a series' cells read by `cell(i)`, without
    /// allocating: what a scrape does for every series of every file, and a fold or a merge
    /// for every series met again. A gauge combines by its mode.
    fn take_cells(
        &mut self,
        kind: MetricType,
        mode: Option<GaugeMode>,
        first: bool,
        cell: impl Fn(usize) -> u64,
    ) {
        match (self, kind) {
            (Merged::Counter { int, float }, MetricType::Counter) => {
                let (i, f) = (u128::from(cell(0)), f64::from_bits(cell(1)));
                if first {
                    (*int, *float) = (i, f);
                } else {
                    *int += i;
                    *float += f;
                }
            }
            (Merged::Gauge { value, time }, MetricType::Gauge) => {
                let (v, t) = (f64::from_bits(cell(0)), f64::from_bits(cell(1)));
                if first {
                    (*value, *time) = (v, t);
                    return;
                }
                match mode.unwrap_or(GaugeMode::Sum) {
                    GaugeMode::Min | GaugeMode::LiveMin => *value = value.min(v),
                    GaugeMode::Max | GaugeMode::LiveMax => *value = value.max(v),
                    GaugeMode::MostRecent | GaugeMode::LiveMostRecent => {
                        if t > *time {
                            (*value, *time) = (v, t);
                        }
                    }
                    // Sum; and per-process modes never meet another process' value.
                    _ => *value += v,
                }
            }
            (Merged::Histogram { buckets, sum }, MetricType::Histogram) => {
                let s = f64::from_bits(cell(buckets.len()));
                for (i, b) in buckets.iter_mut().enumerate() {
                    let c = cell(i);
                    *b = if first { c } else { b.saturating_add(c) };
                }
                *sum = if first { s } else { *sum + s };
            }
            (Merged::Summary { count, sum }, MetricType::Summary) => {
                let (c, s) = (cell(0), f64::from_bits(cell(1)));
                if first {
                    (*count, *sum) = (c, s);
                } else {
                    *count = count.saturating_add(c);
                    *sum += s;
                }
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
        f.points = self
            .series
            .iter()
            .map(|(values, m)| point(self, values, m, |_| None))
            .collect();
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
    /// The merged family a file's family `f` goes to (created if new), and whether its
    /// series get a `pid` label; `None` if a family of that name is declared differently.
    fn family_slot(&mut self, f: &FamilyRecord) -> Option<(usize, bool)> {
        let per_process = f.mode.is_some_and(GaugeMode::per_process) && !f.pid_included;
        let mut names = f.label_names.clone();
        if per_process {
            names.push("pid".into());
        }
        let i = match self.by_name.get(&f.name) {
            Some(&i) => {
                let m = &self.families[i];
                // The same name declared differently elsewhere: keep the first.
                (m.kind == f.kind && m.label_names == names && m.bounds == f.bounds).then_some(i)
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
        i.map(|i| (i, per_process))
    }

    fn add_file(&mut self, p: &Parsed, skip_live: bool) {
        let mut local: Vec<Option<(usize, bool)>> = Vec::with_capacity(p.families.len());
        for f in &p.families {
            if skip_live && f.mode.is_some_and(GaugeMode::is_live) {
                local.push(None);
            } else {
                local.push(self.family_slot(f));
            }
        }
        for s in &p.series {
            let Some(&Some((i, per_process))) = local.get(s.family as usize) else {
                continue;
            };
            let rec = &p.families[s.family as usize];
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
                    fam.series[j]
                        .1
                        .take_cells(rec.kind, mode, false, |c| s.cells[c]);
                }
                None => {
                    fam.index.insert(key.clone(), fam.series.len());
                    fam.series.push((key, Merged::from_cells(rec, &s.cells)));
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
    let mut entry = |mut e: Vec<u8>| {
        seal_entry(&mut e);
        log.extend_from_slice(&e);
    };
    for (fi, f) in merged.families.iter().enumerate() {
        let type_code = match f.kind {
            MetricType::Counter => 1,
            MetricType::Gauge => 2,
            MetricType::Histogram => 3,
            _ => 4,
        };
        let flags = if f.mode.is_some_and(GaugeMode::per_process) {
            FAMILY_PID_INCLUDED
        } else {
            0
        };
        entry(family_entry(
            type_code,
            f.mode.map_or(0, GaugeMode::code),
            flags,
            &f.bounds,
            [&f.name, &f.help, f.unit.as_deref().unwrap_or("")],
            &f.label_names,
        ));
        for (values, m) in &f.series {
            entry(series_entry(
                fi as u32,
                &m.cells(),
                values.iter().map(String::as_str),
            ));
        }
    }
    for id in folded {
        let mut e = vec![0u8; 16];
        e[4] = TAG_FOLDED;
        e[8..16].copy_from_slice(&id.to_le_bytes());
        entry(e);
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

/// Checks that `dir` is a directory this process can create files in (as
/// [`ProcessLanes::new`] does): an [`Error::Storage`] saying why not. For a process that reads
/// a directory others write (a cluster's primary) to report a bad one before they start.
pub fn check_dir(dir: &Path) -> Result<()> {
    check_writable_dir(dir)
}

/// Reads `dir` as one view: the archive plus every lane it does not list, folding dead
/// lanes into the archive first when no other process is folding.
pub fn read_dir(dir: &Path) -> Result<MergedView> {
    DirReader::new(dir).read()
}

/// A file as the reader keeps it between scrapes: mapped, and parsed up to `parsed_to`
/// (files only grow by appending, so later scrapes parse only what is new).
struct CachedFile {
    ino: u64,
    file: File,
    map: Mapped,
    header: Header,
    parsed_to: usize,
    families: Vec<FamilyRecord>,
    /// Per family of the file: its merged family and whether a `pid` label is added.
    slots: Vec<Option<(usize, bool)>>,
    /// Per series of the file: its family in the file, merged family, merged series and
    /// where its cells are.
    series: Vec<(u32, usize, usize, usize)>,
    folded: Vec<u64>,
    /// `folded` as a set (an archive's list of folded lanes), built when it is parsed.
    folded_set: HashSet<u64>,
    /// Merged family and series of each series entry, by where its cells are.
    by_cells: HashMap<usize, (usize, usize)>,
    /// Exemplar slots: merged family, series, bucket, and where the slot is.
    exemplar_slots: Vec<(usize, usize, u32, usize)>,
}

/// Reads a directory scrape after scrape, keeping each file mapped and parsed, and each
/// merged series in place: a scrape parses only entries appended since the last one, then
/// sums cells. Its cost follows the live files and series, not the history.
pub struct DirReader {
    dir: PathBuf,
    files: HashMap<std::ffi::OsString, CachedFile>,
    view: MergedView,
    /// Per merged family and series: whether a file has the series this scrape, and the
    /// merged value (kept between scrapes so that nothing is allocated to sum).
    values: Vec<Vec<(bool, Merged)>>,
    /// This scrape's newest exemplar per merged family, series and bucket.
    exemplars: HashMap<(usize, usize, u32), crate::exemplar::Exemplar>,
}

impl DirReader {
    /// A reader of `dir` (nothing is read yet).
    pub fn new(dir: impl Into<PathBuf>) -> DirReader {
        DirReader {
            dir: dir.into(),
            files: HashMap::new(),
            view: MergedView::default(),
            values: Vec::new(),
            exemplars: HashMap::new(),
        }
    }

    /// Folds dead lanes if this process can take the directory's exclusive lock, then sums
    /// every file under the shared lock.
    fn scrape(&mut self) -> Result<Vec<(PathBuf, String)>> {
        let lock = DirLock::open(&self.dir)?;
        let mut skipped = Vec::new();
        // The one who gets the exclusive lock folds; then every reader takes the shared lock
        // (for the folder, a downgrade).
        if flock(&lock.0, libc::LOCK_EX | libc::LOCK_NB) && self.something_to_fold() {
            if let Err(e) = fold_locked(&self.dir, &mut skipped, None) {
                skipped.push((self.dir.clone(), e.to_string()));
            }
        }
        flock(&lock.0, libc::LOCK_SH);
        self.refresh(&mut skipped)?;
        self.sum();
        Ok(skipped)
    }

    /// Whether a lane is dead (its lock free and its writer gone), or left over by a fold
    /// that stopped before deleting it, or a temporary file was left by a killed writer.
    /// Looks at the files as the last scrape left them (a lane made since is young: the
    /// next scrape looks at it), through the descriptors already open.
    fn something_to_fold(&self) -> bool {
        let empty = HashSet::new();
        let folded = self
            .files
            .get(std::ffi::OsStr::new(ARCHIVE))
            .map_or(&empty, |a| &a.folded_set);
        if self.files.is_empty() {
            // First scrape: look at everything.
            return true;
        }
        for f in self.files.values() {
            if f.header.archive {
                continue;
            }
            if folded.contains(&f.header.lane_id) {
                return true;
            }
            if flock(&f.file, libc::LOCK_EX | libc::LOCK_NB) {
                flock(&f.file, libc::LOCK_UN);
                if !process_alive(f.header.os_pid, f.header.start) {
                    return true;
                }
            }
        }
        false
    }

    /// Brings the cached files up to date with the directory.
    fn refresh(&mut self, skipped: &mut Vec<(PathBuf, String)>) -> Result<()> {
        use std::os::unix::fs::DirEntryExt;
        let mut present: HashMap<std::ffi::OsString, u64> = HashMap::new();
        for e in fs::read_dir(&self.dir).map_err(|e| storage_error("cannot list", &self.dir, e))? {
            let Ok(e) = e else { continue };
            let name = e.file_name();
            if name.as_bytes().ends_with(b".db") && !name.as_bytes().starts_with(b".") {
                present.insert(name, e.ino());
            }
        }
        self.files
            .retain(|name, f| present.get(name).is_some_and(|ino| *ino == f.ino));
        let mut names: Vec<_> = present.into_iter().collect();
        names.sort();
        for (name, ino) in names {
            let path = self.dir.join(&name);
            if !self.files.contains_key(&name) {
                match open_cached(&path, ino) {
                    Ok(Some(f)) => {
                        self.files.insert(name.clone(), f);
                    }
                    Ok(None) => continue,
                    Err(why) => {
                        skipped.push((path, why));
                        continue;
                    }
                }
            }
            let f = self.files.get_mut(&name).expect("inserted above");
            if let Err(why) = catch_up(f, &mut self.view, &mut self.values) {
                self.files.remove(&name);
                skipped.push((path, why));
            }
        }
        Ok(())
    }

    /// This scrape's values: every series of every file not folded into the archive.
    fn sum(&mut self) {
        self.exemplars.clear();
        for v in &mut self.values {
            v.iter_mut().for_each(|x| x.0 = false);
        }
        let empty = HashSet::new();
        let folded = self
            .files
            .get(std::ffi::OsStr::new(ARCHIVE))
            .map_or(&empty, |a| &a.folded_set);
        let mut names: Vec<_> = self.files.keys().cloned().collect();
        names.sort();
        for name in names {
            let f = &self.files[&name];
            if !f.header.archive && folded.contains(&f.header.lane_id) {
                continue;
            }
            for &(local, fam, idx, at) in &f.series {
                let rec = &f.families[local as usize];
                let mode = self.view.families[fam].mode;
                let (present, acc) = &mut self.values[fam][idx];
                acc.take_cells(rec.kind, mode, !*present, |i| f.map.cell(at + 8 * i));
                *present = true;
            }
            for &(fam, idx, bucket, at) in &f.exemplar_slots {
                if let Some(e) = f.map.exemplar(at) {
                    match self.exemplars.get(&(fam, idx, bucket)) {
                        Some(old) if old.timestamp >= e.timestamp => {}
                        _ => {
                            self.exemplars.insert((fam, idx, bucket), e);
                        }
                    }
                }
            }
        }
    }

    /// Reads the directory: the merged view, and the files it skipped.
    pub fn read(&mut self) -> Result<MergedView> {
        let skipped = self.scrape()?;
        let mut view = MergedView {
            skipped,
            ..MergedView::default()
        };
        for (fi, f) in self.view.families.iter().enumerate() {
            let series: Vec<_> = f
                .series
                .iter()
                .zip(&self.values[fi])
                .filter(|(_, (present, _))| *present)
                .map(|((k, _), (_, v))| (k.clone(), v.clone()))
                .collect();
            if series.is_empty() {
                continue;
            }
            view.by_name.insert(f.name.clone(), view.families.len());
            view.families.push(MergedFamily {
                series,
                index: HashMap::new(),
                ..f.clone()
            });
        }
        Ok(view)
    }
}

fn open_cached(path: &Path, ino: u64) -> std::result::Result<Option<CachedFile>, String> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let map = Mapped::open(&file)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "empty file".to_string())?;
    let header = parse_header(map.bytes())?;
    Ok(Some(CachedFile {
        ino,
        file,
        map,
        header,
        parsed_to: HEADER_LEN,
        families: Vec::new(),
        slots: Vec::new(),
        series: Vec::new(),
        folded: Vec::new(),
        folded_set: HashSet::new(),
        by_cells: HashMap::new(),
        exemplar_slots: Vec::new(),
    }))
}

/// Parses what `f` gained since the last scrape (mapping it again if it grew past the
/// mapping) and enters its new families and series in the merged view.
fn catch_up(
    f: &mut CachedFile,
    view: &mut MergedView,
    values: &mut Vec<Vec<(bool, Merged)>>,
) -> std::result::Result<(), String> {
    let used = header_used(f.map.bytes().as_ptr()).load(Ordering::Acquire) as usize;
    if used == f.parsed_to {
        return Ok(());
    }
    if used > f.map.len {
        // A lane grows by appending only: map it again, longer (the file covers `used`
        // before `used` is published).
        f.map = Mapped::open(&f.file)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "emptied".to_string())?;
        if used > f.map.len {
            return Err(format!("{used} bytes used of {}", f.map.len));
        }
    }
    let mut entries = Vec::new();
    let mut exemplars = Vec::new();
    let families_before = f.families.len();
    parse_entries(
        f.map.bytes(),
        f.parsed_to,
        used,
        &mut f.families,
        &mut entries,
        &mut f.folded,
        &mut exemplars,
    )?;
    for rec in &f.families[families_before..] {
        f.slots.push(view.family_slot(rec));
    }
    for e in entries {
        let Some((fam, per_process)) = f.slots[e.family as usize] else {
            continue;
        };
        let mut key = e.values;
        if per_process {
            key.push(f.header.ident.clone());
        }
        let mf = &mut view.families[fam];
        let idx = match mf.index.get(&key) {
            Some(&i) => i,
            None => {
                let rec = &f.families[e.family as usize];
                mf.index.insert(key.clone(), mf.series.len());
                mf.series
                    .push((key, Merged::from_cells(rec, &vec![0; cells_for(rec)])));
                mf.series.len() - 1
            }
        };
        if values.len() <= fam {
            values.resize_with(fam + 1, Vec::new);
        }
        if values[fam].len() <= idx {
            let zero = view.families[fam].series[idx].1.clone();
            values[fam].resize(idx + 1, (false, zero));
        }
        f.by_cells.insert(e.cells_at, (fam, idx));
        f.series.push((e.family, fam, idx, e.cells_at));
    }
    for (cells_at, bucket, slot_at) in exemplars {
        if let Some(&(fam, idx)) = f.by_cells.get(&cells_at) {
            f.exemplar_slots.push((fam, idx, bucket, slot_at));
        }
    }
    if f.folded.len() != f.folded_set.len() {
        f.folded_set = f.folded.iter().copied().collect();
    }
    f.parsed_to = used;
    Ok(())
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
/// mode serves. It keeps a [`DirReader`], so a scrape parses only what changed since the
/// last one.
pub struct DirCollector {
    dir: PathBuf,
    reader: Mutex<DirReader>,
}

impl std::fmt::Debug for DirCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirCollector")
            .field("dir", &self.dir)
            .finish()
    }
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
        Ok(DirCollector {
            reader: Mutex::new(DirReader::new(&dir)),
            dir,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The merged view.
    pub fn read(&self) -> Result<MergedView> {
        self.reader.lock().unwrap_or_else(|p| p.into_inner()).read()
    }
}

/// The self-metric a scrape adds when it had to skip files.
pub const SKIPPED_FILES_METRIC: &str = "footmetrics_multiprocess_skipped_files";

impl DirReader {
    /// This scrape's families in the owned data model (series no file has now left out),
    /// with the skipped-files gauge when files were skipped.
    fn families(&mut self) -> Vec<MetricFamily> {
        let skipped = match self.scrape() {
            Ok(s) => s,
            Err(e) => {
                warn_once(&format!(
                    "footmetrics: multi-process scrape of {}: {e}",
                    self.dir.display()
                ));
                return Vec::new();
            }
        };
        let mut out = Vec::with_capacity(self.view.families.len() + 1);
        for (fi, f) in self.view.families.iter().enumerate() {
            let mut family = MetricFamily::new(&f.name, &f.help, f.kind);
            family.name = f.name.clone();
            family.unit = f.unit.clone();
            family.points.reserve(f.series.len());
            for (idx, ((values, _), (present, v))) in
                f.series.iter().zip(&self.values[fi]).enumerate()
            {
                if *present {
                    let ex = &self.exemplars;
                    family
                        .points
                        .push(point(f, values, v, |b| ex.get(&(fi, idx, b)).cloned()));
                }
            }
            if !family.points.is_empty() {
                out.push(family);
            }
        }
        if !skipped.is_empty() {
            warn_skipped(&skipped);
            let mut f = MetricFamily::new(
                SKIPPED_FILES_METRIC,
                "Files in the multi-process directory the last scrape could not read.",
                MetricType::Gauge,
            );
            f.points.push(MetricPoint {
                labels: Vec::new(),
                value: PointValue::Gauge(skipped.len() as f64),
            });
            out.push(f);
        }
        out
    }
}

/// One merged series in the owned data model (no `_created`: processes start at different
/// times).
fn point(
    f: &MergedFamily,
    values: &[String],
    m: &Merged,
    exemplar: impl Fn(u32) -> Option<crate::exemplar::Exemplar>,
) -> MetricPoint {
    let labels = f
        .label_names
        .iter()
        .cloned()
        .zip(values.iter().cloned())
        .collect();
    let value = match m {
        Merged::Counter { .. } => PointValue::Counter {
            value: m.value(),
            created: None,
            exemplar: exemplar(0),
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
                        f.bounds.get(i).copied().unwrap_or(f64::INFINITY),
                        acc,
                        exemplar(i as u32),
                    )
                })
                .collect();
            PointValue::Histogram {
                buckets,
                count: acc,
                sum: *sum,
                created: None,
                native: None,
            }
        }
        Merged::Summary { count, sum } => PointValue::Summary {
            count: *count,
            sum: *sum,
            quantiles: Vec::new(),
            created: None,
        },
    };
    MetricPoint { labels, value }
}

impl crate::collector::Collector for DirCollector {
    fn descs(&self) -> Vec<crate::collector::Desc> {
        Vec::new()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.reader
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .families()
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
