//! `cluster` workers' shared series: a metric a worker reports to the primary also writes its
//! values into this process' lane files in the cluster's directory (`core::multiprocess`), as
//! a core family in multi-process mode mirroring the metric's cell family. The primary reads
//! the directory (`cluster::cluster_scrape`) without asking the workers, so a stopped or
//! hung worker's values are still served.
//!
//! A shared family is keyed by its cell family's id (one per process, so every worker thread
//! that joins a global family writes the same shared one). Its series are never removed: a
//! lane file is a log, and a series re-created after a `remove()` would be counted twice; so
//! each label set keeps one handle for the process' life, numbered for JavaScript.

use crate::errors::{Failure, Fallible, Kind};
use crate::Throw;
use footmetrics::multiprocess::{GaugeMode, ProcessLanes};
use footmetrics::{Counter, Family, Gauge, Histogram, Opts, Summary};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

enum Handle {
    Counter(Counter),
    Gauge(Gauge),
    Histogram(Histogram),
    Summary(Summary),
}

enum Fam {
    Counter(Family<Counter>),
    Gauge(Family<Gauge>),
    Histogram(Family<Histogram>),
    Summary(Family<Summary>),
}

struct SharedFamily {
    fam: Fam,
    /// Label values → handle number.
    index: Mutex<HashMap<Vec<String>, u32>>,
    handles: RwLock<Vec<Handle>>,
}

/// This process' lanes, made on the first shared family (the directory named then).
fn lanes(dir: &str) -> Fallible<Arc<ProcessLanes>> {
    static L: Mutex<Option<Arc<ProcessLanes>>> = Mutex::new(None);
    let mut l = L.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(lanes) = l.as_ref() {
        if lanes.dir() == std::path::Path::new(dir) {
            return Ok(lanes.clone());
        }
    }
    let made = ProcessLanes::new(dir, std::process::id().to_string())?;
    *l = Some(made.clone());
    Ok(made)
}

fn shared() -> &'static RwLock<HashMap<u32, Arc<SharedFamily>>> {
    static S: OnceLock<RwLock<HashMap<u32, Arc<SharedFamily>>>> = OnceLock::new();
    S.get_or_init(Default::default)
}

fn get(family_id: u32) -> Fallible<Arc<SharedFamily>> {
    shared()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&family_id)
        .cloned()
        .ok_or_else(|| Failure::new(Kind::Internal, format!("family {family_id} is not shared")))
}

/// The lane mode of a gauge whose prom-client `aggregator` is `aggregator`: the `live*`
/// modes, since the primary's IPC aggregation counts only the workers alive.
pub(crate) fn gauge_mode(aggregator: &str) -> Option<GaugeMode> {
    Some(match aggregator {
        "sum" => GaugeMode::LiveSum,
        "min" => GaugeMode::LiveMin,
        "max" => GaugeMode::LiveMax,
        "first" => GaugeMode::LiveMostRecent,
        // One series per worker (a `pid` label), averaged by the primary.
        "average" => GaugeMode::LiveAll,
        _ => return None,
    })
}

fn share(dir: &str, family_id: u32, aggregator: &str) -> Fallible<()> {
    use footmetrics::cells::CellKind;
    if shared()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .contains_key(&family_id)
    {
        return Ok(()); // another thread of this process joined the global family first
    }
    let cells = crate::cells::family(family_id)?;
    let lanes = lanes(dir)?;
    let mode = match cells.kind() {
        CellKind::Gauge => gauge_mode(aggregator).ok_or_else(|| {
            Failure::new(
                Kind::InvalidOption,
                format!("'{aggregator}' is not a defined aggregator."),
            )
        })?,
        _ => GaugeMode::Sum,
    };
    let opts = Opts::new(cells.name(), cells.help())
        .labels(cells.label_names())
        .name_is_base(true)
        .cardinality_limit(usize::MAX)
        .multiprocess(lanes, mode);
    let fam = match cells.kind() {
        CellKind::Counter => Fam::Counter(Family::new(&opts)?),
        CellKind::Gauge => Fam::Gauge(Family::new(&opts)?),
        // The core refuses native buckets in multi-process mode (InvalidOption); JavaScript
        // refuses them first, with the option's name.
        CellKind::Histogram { bounds, native } => {
            let opts = opts.buckets(bounds.clone());
            let opts = match native {
                Some(n) => opts.native_histogram(*n),
                None => opts,
            };
            Fam::Histogram(Family::new(&opts)?)
        }
        CellKind::Summary { .. } => Fam::Summary(Family::new(&opts)?),
    };
    shared()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .entry(family_id)
        .or_insert_with(|| {
            Arc::new(SharedFamily {
                fam,
                index: Mutex::new(HashMap::new()),
                handles: RwLock::new(Vec::new()),
            })
        });
    Ok(())
}

/// Mirrors cell family `familyId` into this process' lane file in `dir` (created if needed):
/// an `ERR_FOOTMETRICS_STORAGE` error if the directory cannot take it.
#[napi(catch_unwind)]
pub fn share_family(env: &Env, dir: String, family_id: u32, aggregator: String) -> Result<()> {
    share(&dir, family_id, &aggregator).throw(env)
}

/// The handle number of the shared series with label `values` (created if new).
#[napi(catch_unwind)]
pub fn shared_series(env: &Env, family_id: u32, values: Vec<String>) -> Result<u32> {
    let series = || -> Fallible<u32> {
        let f = get(family_id)?;
        let mut index = f.index.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&n) = index.get(&values) {
            return Ok(n);
        }
        let h = match &f.fam {
            Fam::Counter(x) => Handle::Counter(x.with_label_values(&values)?),
            Fam::Gauge(x) => Handle::Gauge(x.with_label_values(&values)?),
            Fam::Histogram(x) => Handle::Histogram(x.with_label_values(&values)?),
            Fam::Summary(x) => Handle::Summary(x.with_label_values(&values)?),
        };
        let mut handles = f.handles.write().unwrap_or_else(|e| e.into_inner());
        let n = handles.len() as u32;
        handles.push(h);
        index.insert(values, n);
        Ok(n)
    };
    series().throw(env)
}

/// One write to shared series `series`: a counter's increment, a gauge's new value, an
/// observation of a histogram or a summary. JavaScript has checked the value.
#[napi(catch_unwind)]
pub fn shared_write(env: &Env, family_id: u32, series: u32, value: f64) -> Result<()> {
    let write = || -> Fallible<()> {
        let f = get(family_id)?;
        let handles = f.handles.read().unwrap_or_else(|e| e.into_inner());
        let h = handles
            .get(series as usize)
            .ok_or_else(|| Failure::new(Kind::Internal, format!("no shared series {series}")))?;
        match h {
            Handle::Counter(c) => c.inc_by(value)?,
            Handle::Gauge(g) => g.set(value),
            Handle::Histogram(h) => h.observe(value),
            Handle::Summary(s) => s.observe(value),
        }
        Ok(())
    };
    write().throw(env)
}

/// Makes `dir` (and its parents) if missing, then checks that this process can create files
/// in it: an `ERR_FOOTMETRICS_STORAGE` error saying why not.
#[napi(catch_unwind)]
pub fn prepare_shared_dir(env: &Env, dir: String) -> Result<()> {
    let dir = std::path::Path::new(&dir);
    let prepare = || -> Fallible<()> {
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(|e| {
                Failure::new(
                    Kind::Storage,
                    format!("cannot create the shared directory {}: {e}", dir.display()),
                )
            })?;
        }
        Ok(footmetrics::multiprocess::check_dir(dir)?)
    };
    prepare().throw(env)
}

/// The shared directory of this process, named by its main thread (a cluster worker's):
/// worker threads are not cluster workers to Node's `cluster` module, but their metrics join
/// the process' families and must write the same lanes.
fn process_dir() -> &'static Mutex<Option<String>> {
    static D: Mutex<Option<String>> = Mutex::new(None);
    &D
}

/// Sets this process' shared directory (the main thread of a cluster worker, at load).
#[napi(catch_unwind)]
pub fn set_process_shared_dir(dir: String) {
    *process_dir().lock().unwrap_or_else(|e| e.into_inner()) = Some(dir);
}

/// This process' shared directory, if its main thread named one.
#[napi(catch_unwind)]
pub fn process_shared_dir() -> Option<String> {
    process_dir()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}
