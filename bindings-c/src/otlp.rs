//! OTLP export of a registry to an OpenTelemetry collector (`footmetrics-otlp`). The exporter
//! runs on its own threads; these calls only start it, wait for it, or read its counters.

use crate::registry::fm_registry;
use crate::{
    boundary, boundary_value, err, fm_result, fm_str, free_handle, into_handle, non_null, out_ptr,
    pairs_arg, str_arg, FfiResult,
};
use footmetrics_otlp::{Config, OtlpExporter, Protocol};
use std::time::Duration;

/// The OTLP transport, as `uint32_t` in `fm_otlp_options.protocol`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum fm_otlp_protocol {
    /// OTLP/HTTP with a protobuf body (`/v1/metrics` is appended to the endpoint).
    FM_OTLP_HTTP_PROTOBUF = 0,
    /// OTLP/gRPC.
    FM_OTLP_GRPC = 1,
}

/// How to export. Zero values mean the defaults: every 60 s, 10 s request timeout,
/// 8 queued snapshots, `service.name` from `OTEL_SERVICE_NAME`, for `https://` the
/// operating system's root certificates and no client certificate. Fields are only ever
/// appended, so a zero-initialised struct of an older header stays valid.
#[repr(C)]
pub struct fm_otlp_options {
    /// `http://host:port` or `https://host:port` of the collector.
    pub endpoint: fm_str,
    /// An `fm_otlp_protocol`.
    pub protocol: u32,
    pub interval_seconds: f64,
    pub timeout_seconds: f64,
    /// Empty: the default.
    pub service_name: fm_str,
    /// `resource_count` resource attribute names and as many values.
    pub resource_names: *const fm_str,
    pub resource_values: *const fm_str,
    pub resource_count: usize,
    /// `header_count` request header names and as many values.
    pub header_names: *const fm_str,
    pub header_values: *const fm_str,
    pub header_count: usize,
    pub max_queue_batches: u32,
    /// For `https://`: a PEM file of the CA(s) to trust instead of the system's roots.
    /// Empty: the system's roots.
    pub tls_ca_file: fm_str,
    /// For `https://`: PEM client certificate and key files (mutual TLS); both or neither.
    pub tls_client_cert_file: fm_str,
    pub tls_client_key_file: fm_str,
}

/// Counters of an exporter since it started.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct fm_otlp_stats {
    pub exported_requests: u64,
    pub exported_points: u64,
    pub dropped_points: u64,
    pub failed_requests: u64,
    pub queued_batches: u64,
}

/// A running exporter, owned by the caller until `fm_otlp_exporter_free`.
pub struct fm_otlp_exporter {
    inner: OtlpExporter,
}

fn seconds(what: &str, s: f64, default: Duration, zero_ok: bool) -> FfiResult<Duration> {
    if s == 0.0 && !zero_ok {
        return Ok(default);
    }
    if (0.0..1e9).contains(&s) {
        return Ok(Duration::from_secs_f64(s));
    }
    Err(err(
        fm_result::FM_ERR_OUT_OF_RANGE,
        format!("{what} must be a finite, non-negative number of seconds, got {s}"),
    ))
}

fn pairs(
    names: *const fm_str,
    values: *const fm_str,
    count: usize,
    what: &str,
) -> FfiResult<Vec<(String, String)>> {
    let pairs = pairs_arg(
        names,
        values,
        count,
        &format!("{what}_names"),
        &format!("{what}_values"),
    )?;
    Ok(pairs
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

/// Starts exporting `registry`; the caller owns `*out`. A collector that is down is not an
/// error here: exports retry, and what cannot be sent is counted.
#[no_mangle]
pub extern "C" fn fm_otlp_exporter_start(
    registry: *const fm_registry,
    options: *const fm_otlp_options,
    out: *mut *mut fm_otlp_exporter,
) -> fm_result {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        let registry = non_null(registry, "registry")?;
        let o = non_null(options, "options")?;
        let protocol = match o.protocol {
            0 => Protocol::HttpProtobuf,
            1 => Protocol::Grpc,
            p => {
                return Err(err(
                    fm_result::FM_ERR_OUT_OF_RANGE,
                    format!("protocol {p} is not an fm_otlp_protocol"),
                ))
            }
        };
        let mut config = Config::new(str_arg(&o.endpoint, "endpoint")?).protocol(protocol);
        config.interval = seconds(
            "interval_seconds",
            o.interval_seconds,
            config.interval,
            false,
        )?;
        config.timeout = seconds("timeout_seconds", o.timeout_seconds, config.timeout, false)?;
        if o.max_queue_batches > 0 {
            config.max_queue_batches = o.max_queue_batches as usize;
        }
        config.sdk_language = "go".into();
        for (k, v) in pairs(
            o.resource_names,
            o.resource_values,
            o.resource_count,
            "resource",
        )? {
            config = config.resource_attribute(k, v);
        }
        let service = str_arg(&o.service_name, "service_name")?;
        if !service.is_empty() {
            config = config.service_name(service);
        }
        config.headers = pairs(o.header_names, o.header_values, o.header_count, "header")?;
        let file = |f: &fm_str, what: &str| -> FfiResult<Option<footmetrics_otlp::Pem>> {
            let path = str_arg(f, what)?;
            Ok((!path.is_empty()).then(|| footmetrics_otlp::Pem::File(path.into())))
        };
        config.ca = file(&o.tls_ca_file, "tls_ca_file")?;
        config.client_cert = file(&o.tls_client_cert_file, "tls_client_cert_file")?;
        config.client_key = file(&o.tls_client_key_file, "tls_client_key_file")?;
        let inner = OtlpExporter::start(&registry.inner, config).map_err(|e| {
            let code = match e {
                footmetrics_otlp::Error::InvalidConfig(_) => fm_result::FM_ERR_INVALID_OPTION,
                footmetrics_otlp::Error::Registry(_) => fm_result::FM_ERR_ALREADY_REGISTERED,
                footmetrics_otlp::Error::Spawn(_) => fm_result::FM_ERR_SYSTEM,
            };
            err(code, e.to_string())
        })?;
        *out = into_handle(fm_otlp_exporter { inner });
        Ok(())
    })
}

/// Runs a waiting call (`force_flush`, `shutdown`) and writes whether data was delivered.
fn wait(
    exporter: *const fm_otlp_exporter,
    timeout_seconds: f64,
    delivered: *mut u8,
    call: fn(&OtlpExporter, Duration) -> bool,
) -> fm_result {
    boundary(|| {
        let delivered = out_ptr(delivered, "delivered")?;
        let e = non_null(exporter, "exporter")?;
        let t = seconds("timeout_seconds", timeout_seconds, Duration::ZERO, true)?;
        *delivered = u8::from(call(&e.inner, t));
        Ok(())
    })
}

/// Exports now and waits up to `timeout_seconds`; `*delivered` is 1 if the snapshot reached
/// the collector, else 0.
#[no_mangle]
pub extern "C" fn fm_otlp_exporter_force_flush(
    exporter: *const fm_otlp_exporter,
    timeout_seconds: f64,
    delivered: *mut u8,
) -> fm_result {
    wait(
        exporter,
        timeout_seconds,
        delivered,
        OtlpExporter::force_flush,
    )
}

/// Sends a final snapshot (waiting up to `timeout_seconds`) and stops; `*delivered` is 1 if
/// everything reached the collector. The handle stays valid (for stats) until freed.
#[no_mangle]
pub extern "C" fn fm_otlp_exporter_shutdown(
    exporter: *const fm_otlp_exporter,
    timeout_seconds: f64,
    delivered: *mut u8,
) -> fm_result {
    wait(exporter, timeout_seconds, delivered, OtlpExporter::shutdown)
}

/// The exporter's counters.
#[no_mangle]
pub extern "C" fn fm_otlp_exporter_stats(
    exporter: *const fm_otlp_exporter,
    out: *mut fm_otlp_stats,
) -> fm_result {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        let s = non_null(exporter, "exporter")?.inner.stats();
        *out = fm_otlp_stats {
            exported_requests: s.exported_requests,
            exported_points: s.exported_points,
            dropped_points: s.dropped_points,
            failed_requests: s.failed_requests,
            queued_batches: s.queued_batches,
        };
        Ok(())
    })
}

/// The last export failure's message into `buf` (`cap` bytes, NUL-terminated, truncated to
/// fit; `FM_ERR_BUFFER_TOO_SMALL` when cut); `*len` gets its full length, 0 when nothing has
/// failed.
#[no_mangle]
pub extern "C" fn fm_otlp_exporter_last_error(
    exporter: *const fm_otlp_exporter,
    buf: *mut std::ffi::c_char,
    cap: usize,
    len: *mut usize,
) -> fm_result {
    let mut msg = String::new();
    let r = boundary(|| {
        let len = out_ptr(len, "len")?;
        msg = non_null(exporter, "exporter")?
            .inner
            .stats()
            .last_error
            .unwrap_or_default();
        *len = msg.len();
        Ok(())
    });
    if r != fm_result::FM_OK {
        return r;
    }
    boundary_value(fm_result::FM_ERR_PANIC, || {
        crate::write_c_string(&msg, buf, cap)
    })
}

/// Shuts the exporter down (flushing for up to 5 s) and releases it; NULL is a no-op.
#[no_mangle]
pub extern "C" fn fm_otlp_exporter_free(exporter: *mut fm_otlp_exporter) {
    boundary_value((), || free_handle(exporter))
}
