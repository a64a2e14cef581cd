//! Node bindings for footmetrics (the npm package `footmetrics`).
//!
//! Thin by design: JavaScript (`bindings-node/lib/`) keeps prom-client's API, resolves label
//! values in its own maps and writes into typed arrays over the core's cell pages
//! ([`footmetrics::cells`]); these functions only declare families, resolve new series, hand
//! out pages and render. Every export catches panics (`catch_unwind`) so none reaches JS;
//! every error is thrown as its kind's class with its `code`, from one table ([`errors`]).

// napi-rs registers nothing under `cfg(test)`, so the exports look unused there.
#![cfg_attr(test, allow(dead_code))]

mod cells;
mod cluster;
mod errors;
mod otlp;
mod registry;
mod shared;

use errors::{Failure, Fallible};
use footmetrics::cells::{
    lease_lane, quiesce, register_holder, release_lane, shared_lane, unregister_holder, Holder,
    Lane, PAGE_CELLS,
};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::{Arc, OnceLock};

/// Throwing a [`Failure`] from an export: its kind's class and `code`.
pub(crate) trait Throw<T> {
    fn throw(self, env: &Env) -> Result<T>;
}

impl<T> Throw<T> for Fallible<T> {
    fn throw(self, env: &Env) -> Result<T> {
        self.map_err(|f| f.into_js(env))
    }
}

/// What each Node environment (main thread or worker) owns: its lane, and its place among the
/// cell writers whose progress gates the reuse of freed cells (N-API has one instance-data slot
/// per environment, so both live here).
#[derive(Default)]
struct EnvState {
    lane: OnceLock<Arc<Lane>>,
    holder: OnceLock<Arc<Holder>>,
}

fn env_state(env: &Env) -> Result<&'static EnvState> {
    if let Some(s) = env.get_instance_data::<EnvState>()? {
        return Ok(s);
    }
    env.set_instance_data(EnvState::default(), (), |ctx| {
        if let Some(l) = ctx.value.lane.get() {
            release_lane(l.clone());
        }
        if let Some(h) = ctx.value.holder.get() {
            unregister_holder(h);
        }
    })?;
    env.get_instance_data::<EnvState>()?
        .map(|s| &*s)
        .ok_or_else(|| Error::from_reason("no environment state"))
}

/// This environment's lane, leased on first use and released when the environment ends (a
/// worker exits), so the next worker continues its sums.
fn env_lane(env: &Env) -> Fallible<Arc<Lane>> {
    let state = env_state(env)?;
    if let Some(lane) = state.lane.get() {
        return Ok(lane.clone());
    }
    // One environment is one thread: nothing else sets its lane meanwhile.
    let lane = lease_lane()?;
    Ok(state.lane.get_or_init(|| lane).clone())
}

/// Records that this environment's JavaScript holds no cell index it would write without
/// checking its family's generation first: call it only on entry to a call from JavaScript
/// that is not in the middle of a write (resolve, remove, reset, zero, the idle timer). The
/// first call registers the environment as a writer, before it can hold any index.
pub(crate) fn caught_up(env: &Env) -> Fallible<()> {
    let state = env_state(env)?;
    match state.holder.get() {
        Some(h) => quiesce(h),
        None => {
            state.holder.get_or_init(register_holder);
        }
    }
    Ok(())
}

/// See [`caught_up`]; JavaScript calls it from an unref'd timer so an idle thread does not hold
/// back the reuse of freed cells.
#[napi(catch_unwind)]
pub fn cells_caught_up(env: &Env) -> Result<()> {
    caught_up(env).throw(env)
}

/// The cell spaces' occupancy: `[laned, shared]`, each `{ liveCells, idleCells,
/// reservedCells, pages, lanes }`, for tests and benchmarks.
#[napi(object)]
pub struct CellStats {
    pub live_cells: f64,
    pub idle_cells: f64,
    pub reserved_cells: f64,
    pub pages: f64,
    pub lanes: f64,
}

#[napi(catch_unwind)]
pub fn cell_stats() -> Vec<CellStats> {
    let (a, b) = footmetrics::cells::space_stats();
    [a, b]
        .into_iter()
        .map(|s| CellStats {
            live_cells: s.live_cells as f64,
            idle_cells: s.idle_cells as f64,
            reserved_cells: s.reserved_cells as f64,
            pages: s.pages as f64,
            lanes: s.lanes as f64,
        })
        .collect()
}

/// Cells per page (JavaScript splits a cell index into page and offset with it).
#[napi(catch_unwind)]
pub fn page_cells() -> u32 {
    PAGE_CELLS as u32
}

fn page_array<'env>(env: &'env Env, lane: &Lane, page: u32) -> Result<Float64ArraySlice<'env>> {
    let p = lane.page(page as usize).map_err(Failure::from).throw(env)?;
    // SAFETY: pages are never freed or moved (footmetrics::cells invariants), so the external
    // array stays valid for the environment's life; f64 and AtomicU64 share size and alignment.
    unsafe { Float64ArraySlice::from_external(env, p.cast::<f64>(), PAGE_CELLS, (), |_, _| {}) }
}

/// This thread's page `page` of the per-thread lane (counters, histograms, summaries).
#[napi(catch_unwind)]
pub fn lane_page(env: &Env, page: u32) -> Result<Float64ArraySlice<'_>> {
    let lane = env_lane(env).throw(env)?;
    page_array(env, &lane, page)
}

/// Page `page` of the shared lane (gauges), the same memory in every thread.
#[napi(catch_unwind)]
pub fn shared_page(env: &Env, page: u32) -> Result<Float64ArraySlice<'_>> {
    page_array(env, &shared_lane(), page)
}
