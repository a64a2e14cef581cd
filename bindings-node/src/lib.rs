//! Node bindings for footmetrics (the npm package `footmetrics`).
//!
//! Thin by design: JavaScript (`bindings-node/lib/`) keeps prom-client's API, resolves label
//! values in its own maps and writes into typed arrays over the core's cell pages
//! ([`footmetrics::cells`]); these functions only declare families, resolve new series, hand
//! out pages and render. Every export catches panics (`catch_unwind`) so none reaches JS;
//! core errors become JS `Error`s with the core's message.

// napi-rs registers nothing under `cfg(test)`, so the exports look unused there.
#![cfg_attr(test, allow(dead_code))]

mod cells;
mod cluster;
mod otlp;
mod registry;

use footmetrics::cells::{lease_lane, release_lane, shared_lane, Lane, PAGE_CELLS};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::Arc;

/// What each Node environment (main thread or worker) owns: its lane.
struct EnvLane(Arc<Lane>);

/// This environment's lane, leased on first use and released when the environment ends (a
/// worker exits), so the next worker continues its sums.
fn env_lane(env: &Env) -> Result<Arc<Lane>> {
    if let Some(l) = env.get_instance_data::<EnvLane>()? {
        return Ok(l.0.clone());
    }
    let lane = lease_lane();
    env.set_instance_data(EnvLane(lane.clone()), (), |ctx| {
        release_lane(ctx.value.0);
    })?;
    Ok(lane)
}

pub(crate) fn core_err(e: footmetrics::Error) -> Error {
    Error::new(Status::InvalidArg, e.to_string())
}

/// Cells per page (JavaScript splits a cell index into page and offset with it).
#[napi(catch_unwind)]
pub fn page_cells() -> u32 {
    PAGE_CELLS as u32
}

fn page_array<'env>(env: &'env Env, lane: &Lane, page: u32) -> Result<Float64ArraySlice<'env>> {
    let p = lane.page(page as usize).map_err(core_err)?;
    // SAFETY: pages are never freed or moved (footmetrics::cells invariants), so the external
    // array stays valid for the environment's life; f64 and AtomicU64 share size and alignment.
    unsafe { Float64ArraySlice::from_external(env, p.cast::<f64>(), PAGE_CELLS, (), |_, _| {}) }
}

/// This thread's page `page` of the per-thread lane (counters, histograms, summaries).
#[napi(catch_unwind)]
pub fn lane_page(env: &Env, page: u32) -> Result<Float64ArraySlice<'_>> {
    let lane = env_lane(env)?;
    page_array(env, &lane, page)
}

/// Page `page` of the shared lane (gauges), the same memory in every thread.
#[napi(catch_unwind)]
pub fn shared_page(env: &Env, page: u32) -> Result<Float64ArraySlice<'_>> {
    page_array(env, &shared_lane(), page)
}
