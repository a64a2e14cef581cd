//! OTLP export (`startOtlpExporter` in lib/otlp.js) over `footmetrics-otlp`. Exporters are
//! kept by id like registries. The JS side schedules collections (`otlpCollectNow`) so that
//! metrics' JS `collect` callbacks run first; gathering, encoding and sending run on the
//! exporter's threads, and waiting for a flush or shutdown runs on the libuv pool, so the
//! event loop never blocks on the collector.

use crate::cells::pairs;
use crate::errors::{Failure, Fallible, Kind};
use crate::registry::registry;
use crate::Throw;
use footmetrics_otlp::{Config, OtlpExporter, Protocol};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

fn exporters() -> &'static Mutex<Vec<Option<Arc<OtlpExporter>>>> {
    static E: OnceLock<Mutex<Vec<Option<Arc<OtlpExporter>>>>> = OnceLock::new();
    E.get_or_init(|| Mutex::new(Vec::new()))
}

fn exporter(id: u32) -> Fallible<Arc<OtlpExporter>> {
    exporters()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(id as usize)
        .cloned()
        .flatten()
        .ok_or_else(|| Failure::new(Kind::ShutDown, format!("no running OTLP exporter {id}")))
}

fn millis(what: &str, ms: f64, zero_ok: bool) -> Fallible<Duration> {
    if ms.is_finite() && (ms > 0.0 || (zero_ok && ms == 0.0)) {
        Ok(Duration::from_secs_f64(ms / 1000.0))
    } else {
        Err(Failure::new(
            Kind::InvalidArgument,
            format!("{what} must be a positive number of milliseconds, got {ms}"),
        ))
    }
}

/// The exporter's errors: a bad configuration is the caller's (`TypeError`, as the wrapper's
/// own checks of the same options); self-metrics the registry already holds under another
/// shape, a registration clash.
fn otlp_failure(e: footmetrics_otlp::Error) -> Failure {
    let kind = match e {
        footmetrics_otlp::Error::InvalidConfig(_) => Kind::InvalidArgument,
        footmetrics_otlp::Error::Registry(_) => Kind::AlreadyRegistered,
        footmetrics_otlp::Error::Spawn(_) => Kind::System,
    };
    Failure::new(kind, e.to_string())
}

/// Starts an exporter of registry `registry_id`; returns its id. `resource`, `headers` and
/// `default_labels` are flattened `[key, value, …]` lists; `ca`, `cert` and `key` are PEM
/// text for `https://` endpoints.
#[allow(clippy::too_many_arguments)]
#[napi(catch_unwind)]
pub fn otlp_start(
    env: &Env,
    registry_id: u32,
    endpoint: String,
    protocol: String,
    interval_ms: f64,
    timeout_ms: f64,
    resource: Vec<String>,
    headers: Vec<String>,
    default_labels: Vec<String>,
    max_queue_batches: u32,
    ca: Option<String>,
    cert: Option<String>,
    key: Option<String>,
) -> Result<u32> {
    let start = || -> Fallible<u32> {
        let protocol: Protocol = protocol.parse().map_err(otlp_failure)?;
        let mut config = Config::new(endpoint)
            .protocol(protocol)
            .interval(millis("interval", interval_ms, false)?)
            .timeout(millis("timeout", timeout_ms, false)?)
            .max_queue_batches(max_queue_batches as usize);
        config.periodic = false;
        config.sdk_language = "nodejs".into();
        config.headers = pairs(headers);
        config.default_labels = pairs(default_labels);
        let tls = crate::registry::client_options(None, ca, cert, key)?;
        (config.ca, config.client_cert, config.client_key) =
            (tls.ca, tls.client_cert, tls.client_key);
        for (k, v) in pairs(resource) {
            config = config.resource_attribute(k, v);
        }
        let e = OtlpExporter::start(&registry(registry_id)?, config).map_err(otlp_failure)?;
        let mut all = exporters().lock().unwrap_or_else(|e| e.into_inner());
        all.push(Some(Arc::new(e)));
        Ok((all.len() - 1) as u32)
    };
    start().throw(env)
}

/// Queues a snapshot now; returns at once.
#[napi(catch_unwind)]
pub fn otlp_collect_now(env: &Env, id: u32) -> Result<()> {
    exporter(id).map(|e| e.collect_now()).throw(env)
}

pub struct Wait {
    exporter: Arc<OtlpExporter>,
    timeout: Duration,
    shutdown: Option<u32>,
}

impl Task for Wait {
    type Output = bool;
    type JsValue = bool;

    fn compute(&mut self) -> Result<bool> {
        Ok(match self.shutdown {
            Some(id) => {
                let delivered = self.exporter.shutdown(self.timeout);
                if let Some(slot) = exporters()
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_mut(id as usize)
                {
                    *slot = None;
                }
                delivered
            }
            None => self.exporter.force_flush(self.timeout),
        })
    }

    fn resolve(&mut self, _env: Env, delivered: bool) -> Result<bool> {
        Ok(delivered)
    }
}

/// Queues a snapshot and resolves to whether it reached the collector within `timeout_ms`.
#[napi(catch_unwind, ts_return_type = "Promise<boolean>")]
pub fn otlp_force_flush(env: &Env, id: u32, timeout_ms: f64) -> Result<AsyncTask<Wait>> {
    Ok(AsyncTask::new(Wait {
        exporter: exporter(id).throw(env)?,
        timeout: millis("timeout", timeout_ms, true).throw(env)?,
        shutdown: None,
    }))
}

/// Sends a final snapshot and stops; resolves to whether everything was delivered.
#[napi(catch_unwind, ts_return_type = "Promise<boolean>")]
pub fn otlp_shutdown(env: &Env, id: u32, timeout_ms: f64) -> Result<AsyncTask<Wait>> {
    Ok(AsyncTask::new(Wait {
        exporter: exporter(id).throw(env)?,
        timeout: millis("timeout", timeout_ms, true).throw(env)?,
        shutdown: Some(id),
    }))
}

#[napi(object)]
pub struct OtlpStats {
    pub exported_requests: f64,
    pub exported_points: f64,
    pub dropped_points: f64,
    pub failed_requests: f64,
    pub queued_batches: f64,
    pub last_error: Option<String>,
}

#[napi(catch_unwind)]
pub fn otlp_stats(env: &Env, id: u32) -> Result<OtlpStats> {
    let s = exporter(id).throw(env)?.stats();
    Ok(OtlpStats {
        exported_requests: s.exported_requests as f64,
        exported_points: s.exported_points as f64,
        dropped_points: s.dropped_points as f64,
        failed_requests: s.failed_requests as f64,
        queued_batches: s.queued_batches as f64,
        last_error: s.last_error,
    })
}
