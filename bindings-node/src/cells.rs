//! Families: declared from JavaScript, identified by a number so the hot calls are plain
//! functions taking numbers (cheaper than class methods across N-API).

use crate::errors::{Failure, Fallible, Kind};
use crate::Throw;
use footmetrics::cells::{CellFamily, CellKind, CellValue};
use footmetrics::{Encoder, Format, NativeOpts};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

/// Every family ever declared, by id. Ids are never reused, nor are families dropped (their
/// generation cells stay valid for JavaScript).
fn families() -> &'static RwLock<Vec<Arc<CellFamily>>> {
    static F: OnceLock<RwLock<Vec<Arc<CellFamily>>>> = OnceLock::new();
    F.get_or_init(Default::default)
}

/// Families declared for the global registry, by name: a worker thread declaring the same
/// metric joins the family, so every thread's values land in one registry.
fn global_names() -> &'static Mutex<HashMap<String, u32>> {
    static G: OnceLock<Mutex<HashMap<String, u32>>> = OnceLock::new();
    G.get_or_init(Default::default)
}

pub(crate) fn family(id: u32) -> Fallible<Arc<CellFamily>> {
    families()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(id as usize)
        .cloned()
        .ok_or_else(|| Failure::new(Kind::Internal, format!("no metric family {id}")))
}

pub(crate) fn forget_global_name(name: &str, id: u32) {
    let mut g = global_names().lock().unwrap_or_else(|e| e.into_inner());
    if g.get(name) == Some(&id) {
        g.remove(name);
    }
}

/// Records a family added to the global registry by hand, so other threads join it.
pub(crate) fn claim_global_name(name: &str, id: u32) {
    global_names()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(name.to_owned())
        .or_insert(id);
}

pub(crate) fn forget_global_names() {
    global_names()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
}

#[napi(object)]
pub struct FamilySpec {
    /// `counter`, `gauge`, `histogram` or `summary`.
    pub kind: String,
    pub name: String,
    pub help: String,
    pub label_names: Vec<String>,
    pub buckets: Option<Vec<f64>>,
    pub percentiles: Option<Vec<f64>>,
    pub max_age_seconds: Option<f64>,
    pub age_buckets: Option<u32>,
    /// Most label sets live at once (default 10,000; `Infinity` for none); new ones past it
    /// fold into the overflow series. The first declaration of a global family sets it.
    pub cardinality_limit: Option<f64>,
    /// Join a family of this name already declared (by another thread) for the global
    /// registry, instead of making a new one.
    pub global: bool,
    /// Histograms: native buckets with this bucket factor (client_golang's
    /// `NativeHistogramBucketFactor`); the other `native*` fields apply only with it. Their
    /// types and ranges are checked in JavaScript (lib/histogram.js), the core checks again.
    pub native_bucket_factor: Option<f64>,
    /// The zero bucket's threshold (default 2^-128).
    pub native_zero_threshold: Option<f64>,
    /// Most native buckets before the limit strategy (0: no limit).
    pub native_max_bucket_number: Option<u32>,
    /// Seconds: past the bucket limit, reset if the last reset is at least this old (0: never).
    pub native_min_reset_duration: Option<f64>,
    /// Past the bucket limit, the zero bucket may widen up to this threshold (0: never).
    pub native_max_zero_threshold: Option<f64>,
}

fn native_opts(spec: &FamilySpec) -> Fallible<Option<NativeOpts>> {
    let Some(factor) = spec.native_bucket_factor else {
        return Ok(None);
    };
    let mut o = NativeOpts::new(factor);
    if let Some(t) = spec.native_zero_threshold {
        o = o.zero_threshold(t);
    }
    if let Some(n) = spec.native_max_bucket_number {
        o = o.max_buckets(n);
    }
    if let Some(d) = spec.native_min_reset_duration {
        let d = Duration::try_from_secs_f64(d).map_err(|_| {
            Failure::new(
                Kind::InvalidArgument,
                "nativeHistogramMinResetDuration must be a non-negative number of seconds",
            )
        })?;
        o = o.min_reset_duration(d);
    }
    if let Some(t) = spec.native_max_zero_threshold {
        o = o.max_zero_threshold(t);
    }
    Ok(Some(o))
}

fn kind_of(spec: &FamilySpec) -> Fallible<CellKind> {
    Ok(match spec.kind.as_str() {
        "counter" => CellKind::Counter,
        "gauge" => CellKind::Gauge,
        "histogram" => CellKind::Histogram {
            bounds: spec.buckets.clone().unwrap_or_default(),
            native: native_opts(spec)?,
        },
        "summary" => {
            let age = spec.max_age_seconds.unwrap_or(0.0);
            if !(age >= 0.0 && age.is_finite()) {
                return Err(Failure::new(
                    Kind::InvalidArgument,
                    "maxAgeSeconds must be a non-negative number",
                ));
            }
            CellKind::Summary {
                quantiles: spec.percentiles.clone().unwrap_or_default(),
                max_age: Duration::from_secs_f64(age),
                age_buckets: spec.age_buckets.unwrap_or(0) as usize,
            }
        }
        k => return Err(Failure::new(Kind::Internal, format!("unknown kind {k}"))),
    })
}

/// Declares a family; returns its id.
#[napi(catch_unwind)]
pub fn declare_family(env: &Env, spec: FamilySpec) -> Result<u32> {
    declare(spec).throw(env)
}

fn declare(spec: FamilySpec) -> Fallible<u32> {
    let mut fresh = CellFamily::new(&spec.name, &spec.help, kind_of(&spec)?, &spec.label_names)?;
    if let Some(limit) = spec.cardinality_limit {
        if !(limit >= 1.0 && (limit.fract() == 0.0 || limit.is_infinite())) {
            return Err(Failure::new(
                Kind::InvalidArgument,
                "cardinalityLimit must be a positive integer or Infinity",
            ));
        }
        let limit = if limit >= usize::MAX as f64 {
            usize::MAX
        } else {
            limit as usize
        };
        fresh = fresh.with_cardinality_limit(limit)?;
    }
    let mut g = spec
        .global
        .then(|| global_names().lock().unwrap_or_else(|e| e.into_inner()));
    if let Some(Some(&id)) = g.as_ref().map(|g| g.get(&spec.name)) {
        let existing = family(id)?;
        if existing.same_shape(&fresh) {
            return Ok(id);
        }
        return Err(Failure::new(
            Kind::AlreadyRegistered,
            format!(
                "A metric with the name {} has already been registered with a different type, help, labels or buckets.",
                spec.name
            ),
        ));
    }
    let mut all = families().write().unwrap_or_else(|e| e.into_inner());
    let id = all.len() as u32;
    all.push(Arc::new(fresh));
    if let Some(g) = g.as_mut() {
        g.insert(spec.name.clone(), id);
    }
    Ok(id)
}

/// The index of the family's generation cell in the shared lane. JavaScript snapshots it before
/// every call that returns a series' first cell and compares before every write (see
/// `footmetrics::cells`, quarantine invariants).
#[napi(catch_unwind)]
pub fn family_generation_cell(env: &Env, family_id: u32) -> Result<f64> {
    family(family_id)
        .map(|f| f.generation_cell() as f64)
        .throw(env)
}

/// The first cell of the family's overflow series (its only series without labels), reserved
/// at declaration and never freed.
#[napi(catch_unwind)]
pub fn family_overflow_cell(env: &Env, family_id: u32) -> Result<f64> {
    family(family_id)
        .map(|f| f.overflow_base() as f64)
        .throw(env)
}

/// `[live label sets, label sets folded into the overflow series, cardinality limit]`.
#[napi(catch_unwind)]
pub fn family_stats(env: &Env, family_id: u32) -> Result<Vec<f64>> {
    let f = family(family_id).throw(env)?;
    Ok(vec![
        f.live_series() as f64,
        f.overflow_count() as f64,
        f.cardinality_limit() as f64,
    ])
}

/// The first cell of the series for `values` (created if new), made visible. Like every call
/// that hands JavaScript a first cell, it marks the thread caught up on entry, before the
/// lookup (see `crate::caught_up`).
#[napi(catch_unwind)]
pub fn resolve_series(env: &Env, family_id: u32, values: Vec<String>) -> Result<f64> {
    crate::caught_up(env).throw(env)?;
    let s = family(family_id)
        .and_then(|f| Ok(f.resolve(&values)?))
        .throw(env)?;
    Ok(s.base() as f64)
}

/// The first cell of the series for `values`, created hidden if new (prom-client's
/// `labels()`): the child's first write calls `resolve_series`, which shows it.
#[napi(catch_unwind)]
pub fn resolve_series_hidden(env: &Env, family_id: u32, values: Vec<String>) -> Result<f64> {
    crate::caught_up(env).throw(env)?;
    let s = family(family_id)
        .and_then(|f| Ok(f.resolve_hidden(&values)?))
        .throw(env)?;
    Ok(s.base() as f64)
}

/// Zeroes and shows the series; returns its first cell.
#[napi(catch_unwind)]
pub fn zero_series(env: &Env, family_id: u32, values: Vec<String>) -> Result<f64> {
    crate::caught_up(env).throw(env)?;
    let s = family(family_id)
        .and_then(|f| Ok(f.zero(&values)?))
        .throw(env)?;
    Ok(s.base() as f64)
}

#[napi(catch_unwind)]
pub fn remove_series(env: &Env, family_id: u32, values: Vec<String>) -> Result<bool> {
    crate::caught_up(env).throw(env)?;
    family(family_id).map(|f| f.remove(&values)).throw(env)
}

#[napi(catch_unwind)]
pub fn reset_family(env: &Env, family_id: u32) -> Result<()> {
    crate::caught_up(env).throw(env)?;
    family(family_id).map(|f| f.reset()).throw(env)
}

/// One summary observation into the series' quantile window (JS writes count and sum).
#[napi(catch_unwind)]
pub fn observe_quantiles(env: &Env, family_id: u32, base: f64, value: f64) -> Result<()> {
    let f = family(family_id).throw(env)?;
    // A series another thread removed since this one checked its generation is no longer
    // found: the observation goes with it, as its count and sum cells do.
    if !f.observe_quantiles(base as usize, value) && !matches!(f.kind(), CellKind::Summary { .. }) {
        return Err(Failure::new(Kind::Internal, "not a summary series").into_js(env));
    }
    Ok(())
}

/// One observation into a native histogram series: `observe(familyId, base, value)`, JS having
/// checked the value and the series' generation. A series another thread removed since is no
/// longer found and the observation goes with it (as its cells would); a family that is not
/// native throws (a bug). The function is a bare N-API callback rather than a `#[napi]` export:
/// napi-rs's per-call scaffolding (a borrow scope allocated and freed per call) cost more than
/// the observation itself. Families are found through this thread's copy of the table
/// (families are never dropped nor their ids reused), so the call takes no lock.
#[napi(catch_unwind)]
pub fn native_observer(env: &Env) -> Result<Function<'_, (u32, f64, f64), ()>> {
    env.create_function("observeNative", observe_native_raw)
}

unsafe extern "C" fn observe_native_raw(
    env: napi::sys::napi_env,
    info: napi::sys::napi_callback_info,
) -> napi::sys::napi_value {
    use napi::sys;
    let mut argc = 3usize;
    let mut argv = [std::ptr::null_mut(); 3];
    let (mut id, mut base, mut value) = (0u32, 0f64, 0f64);
    // SAFETY: called by N-API with this callback's `env` and `info`; `argv` holds `argc` slots.
    let ok = unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        ) == sys::Status::napi_ok
            && argc == 3
            && sys::napi_get_value_uint32(env, argv[0], &mut id) == sys::Status::napi_ok
            && sys::napi_get_value_double(env, argv[1], &mut base) == sys::Status::napi_ok
            && sys::napi_get_value_double(env, argv[2], &mut value) == sys::Status::napi_ok
    };
    let failure = if !ok {
        Some(Failure::new(
            Kind::InvalidArgument,
            "observeNative(familyId, base, value) takes three numbers",
        ))
    } else {
        match std::panic::catch_unwind(|| observe_native(id, base, value)) {
            Ok(Ok(())) => None,
            Ok(Err(f)) => Some(f),
            Err(_) => Some(Failure::new(Kind::Internal, "panic in observeNative")),
        }
    };
    if let Some(f) = failure {
        let env = Env::from_raw(env);
        let e = f.into_js(&env);
        // SAFETY: `env` is this call's; the error's value was created in it.
        unsafe { napi::JsError::from(e).throw_into(env.raw()) };
    }
    std::ptr::null_mut()
}

fn observe_native(family_id: u32, base: f64, value: f64) -> Fallible<()> {
    thread_local! {
        static LOCAL: std::cell::RefCell<Vec<Option<Arc<CellFamily>>>> = const {
            std::cell::RefCell::new(Vec::new())
        };
    }
    LOCAL.with_borrow_mut(|local| {
        let i = family_id as usize;
        if local.get(i).is_none_or(Option::is_none) {
            let f = family(family_id)?;
            if local.len() <= i {
                local.resize(i + 1, None);
            }
            local[i] = Some(f);
        }
        let f = local[i].as_ref().expect("just cached");
        if f.observe_native(base as usize, value) || f.is_native() {
            Ok(())
        } else {
            Err(Failure::new(
                Kind::Internal,
                "not a native histogram series",
            ))
        }
    })
}

/// An exemplar (flattened `[name, value, …]` labels) on the bucket of `value` in histogram
/// series `values`; JS has written the observation itself into the cells.
#[napi(catch_unwind)]
pub fn cell_exemplar(
    env: &Env,
    family_id: u32,
    values: Vec<String>,
    value: f64,
    labels: Vec<String>,
) -> Result<()> {
    family(family_id)
        .and_then(|f| Ok(f.set_exemplar(&values, value, &pairs(labels))?))
        .throw(env)
}

/// A series' value for `get()`: `value` for counters and gauges; non-cumulative `buckets`
/// and `sum` for histograms; `count`, `sum` and `quantiles` for summaries.
#[napi(object)]
pub struct SeriesValue {
    pub labels: Vec<String>,
    pub value: Option<f64>,
    pub buckets: Option<Vec<f64>>,
    pub sum: Option<f64>,
    pub count: Option<f64>,
    pub quantiles: Option<Vec<f64>>,
}

#[napi(catch_unwind)]
pub fn family_values(env: &Env, family_id: u32) -> Result<Vec<SeriesValue>> {
    Ok(family(family_id)
        .throw(env)?
        .values()
        .into_iter()
        .map(|(labels, v)| {
            let mut out = SeriesValue {
                labels,
                value: None,
                buckets: None,
                sum: None,
                count: None,
                quantiles: None,
            };
            match v {
                CellValue::Scalar(x) => out.value = Some(x),
                CellValue::Histogram { buckets, sum } => {
                    out.count = Some(buckets.iter().sum());
                    out.buckets = Some(buckets);
                    out.sum = Some(sum);
                }
                CellValue::Summary {
                    count,
                    sum,
                    quantiles,
                } => {
                    out.count = Some(count);
                    out.sum = Some(sum);
                    out.quantiles = Some(quantiles.into_iter().map(|(_, v)| v).collect());
                }
            }
            out
        })
        .collect())
}

/// `[k0, v0, k1, v1, …]` from JavaScript into pairs.
pub(crate) fn pairs(flat: Vec<String>) -> Vec<(String, String)> {
    let mut it = flat.into_iter();
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    out
}

/// One family's exposition (`getSingleMetricAsString`), without a trailing `# EOF`.
#[napi(catch_unwind)]
pub fn render_family(
    env: &Env,
    family_id: u32,
    openmetrics: bool,
    default_labels: Vec<String>,
) -> Result<String> {
    use footmetrics::Collector;
    let f = family(family_id).throw(env)?;
    let defaults = pairs(default_labels);
    let format = if openmetrics {
        Format::OpenMetrics
    } else {
        Format::Text
    };
    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out, format, "").with_default_labels(&defaults);
    f.encode(&mut enc);
    String::from_utf8(out)
        .map_err(|e| Failure::new(Kind::Internal, e.to_string()))
        .throw(env)
}
