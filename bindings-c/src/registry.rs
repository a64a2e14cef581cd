//! Registries: the families a `/metrics` endpoint exports, and their exposition.

use crate::family::{each_family, fm_family};
use crate::{
    boundary, err, fm_result, fm_str, free_handle, into_handle, non_null, out_ptr, pairs_arg,
    str_arg, FfiResult,
};
use fm::{Collector, Format, Registry};
use std::sync::Arc;

/// Exposition formats, passed as `uint32_t`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum fm_format {
    /// Prometheus text format 0.0.4.
    FM_FORMAT_TEXT = 0,
    /// OpenMetrics 1.0.0 text (ends with `# EOF`).
    FM_FORMAT_OPENMETRICS = 1,
    /// Delimited protobuf `MetricFamily` messages: the format of native histograms (binary).
    FM_FORMAT_PROTOBUF = 2,
}

fn format_from_u32(format: u32) -> FfiResult<Format> {
    match format {
        0 => Ok(Format::Text),
        1 => Ok(Format::OpenMetrics),
        2 => Ok(Format::Protobuf),
        _ => Err(err(
            fm_result::FM_ERR_OUT_OF_RANGE,
            format!("format {format} is not an fm_format"),
        )),
    }
}

/// A registry handle. Owned by the caller from `fm_registry_new` until `fm_registry_free`.
/// Thread-safe: registering, unregistering and rendering may run concurrently with each
/// other and with updates.
pub struct fm_registry {
    pub(crate) inner: Registry,
}

/// A library-owned buffer holding one exposition; read it with `fm_buffer_data`, release it
/// with `fm_buffer_free`. Immutable, so any thread may read it.
#[derive(Debug)]
pub struct fm_buffer {
    bytes: Vec<u8>,
}

/// Creates an empty registry; the caller owns `*out`.
#[no_mangle]
pub extern "C" fn fm_registry_new(out: *mut *mut fm_registry) -> fm_result {
    boundary(|| {
        // The output slot first: an assignment evaluates its right side before its left.
        let out = out_ptr(out, "out")?;
        *out = into_handle(fm_registry {
            inner: Registry::new(),
        });
        Ok(())
    })
}

/// Creates a registry whose every series carries these constant labels (`count` names and
/// as many values); the caller owns `*out`.
#[no_mangle]
pub extern "C" fn fm_registry_new_with_labels(
    names: *const fm_str,
    values: *const fm_str,
    count: usize,
    out: *mut *mut fm_registry,
) -> fm_result {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        let pairs = pairs_arg(names, values, count, "names", "values")?;
        *out = into_handle(fm_registry {
            inner: Registry::with_const_labels(&pairs)?,
        });
        Ok(())
    })
}

/// Releases a registry. Families registered in it stay valid (their handles are separate).
/// NULL is a no-op.
#[no_mangle]
pub extern "C" fn fm_registry_free(registry: *mut fm_registry) {
    crate::boundary_value((), || free_handle(registry))
}

/// Registers a family; the registry keeps its own reference. A second family with the same
/// name is `FM_ERR_ALREADY_REGISTERED`.
#[no_mangle]
pub extern "C" fn fm_registry_register(
    registry: *const fm_registry,
    family: *const fm_family,
) -> fm_result {
    boundary(|| {
        let r = &non_null(registry, "registry")?.inner;
        let f = non_null(family, "family")?;
        each_family!(&f.inner, fam => r.register_arc(Arc::new(fam.clone()) as Arc<dyn Collector>)?);
        Ok(())
    })
}

/// Unregisters a family (`FM_ERR_NOT_REGISTERED` if it was not registered here).
#[no_mangle]
pub extern "C" fn fm_registry_unregister(
    registry: *const fm_registry,
    family: *const fm_family,
) -> fm_result {
    boundary(|| {
        let r = &non_null(registry, "registry")?.inner;
        let f = non_null(family, "family")?;
        each_family!(&f.inner, fam => r.unregister(fam)?);
        Ok(())
    })
}

fn render(registry: *const fm_registry, format: u32) -> FfiResult<Vec<u8>> {
    let r = &non_null(registry, "registry")?.inner;
    let format = format_from_u32(format)?;
    let mut out = Vec::with_capacity(4096);
    r.encode(format, &mut out);
    Ok(out)
}

/// Renders the registry in `format` (an `fm_format`) into the caller's buffer and writes the
/// length to `len_out` (no NUL is added). If `cap` is too small (or `buf` is NULL) returns
/// `FM_ERR_BUFFER_TOO_SMALL` after writing the length needed; nothing is written to `buf`.
#[no_mangle]
pub extern "C" fn fm_registry_render(
    registry: *const fm_registry,
    format: u32,
    buf: *mut u8,
    cap: usize,
    len_out: *mut usize,
) -> fm_result {
    boundary(|| {
        let len_out = out_ptr(len_out, "len_out")?;
        let bytes = render(registry, format)?;
        *len_out = bytes.len();
        if buf.is_null() || cap < bytes.len() {
            return Err(err(
                fm_result::FM_ERR_BUFFER_TOO_SMALL,
                format!(
                    "the exposition needs {} bytes, the buffer has {cap}",
                    bytes.len()
                ),
            ));
        }
        // SAFETY: the caller promises `cap >= bytes.len()` writable bytes at `buf`.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf, bytes.len()) };
        Ok(())
    })
}

/// Renders the registry in `format` into a new library-owned buffer; the caller owns `*out`.
#[no_mangle]
pub extern "C" fn fm_registry_render_buffer(
    registry: *const fm_registry,
    format: u32,
    out: *mut *mut fm_buffer,
) -> fm_result {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        *out = into_handle(fm_buffer {
            bytes: render(registry, format)?,
        });
        Ok(())
    })
}

/// The bytes of a buffer: valid until `fm_buffer_free`.
#[no_mangle]
pub extern "C" fn fm_buffer_data(
    buffer: *const fm_buffer,
    data_out: *mut *const u8,
    len_out: *mut usize,
) -> fm_result {
    boundary(|| {
        let b = non_null(buffer, "buffer")?;
        let (data_out, len_out) = (out_ptr(data_out, "data_out")?, out_ptr(len_out, "len_out")?);
        *data_out = b.bytes.as_ptr();
        *len_out = b.bytes.len();
        Ok(())
    })
}

/// Releases a buffer. NULL is a no-op.
#[no_mangle]
pub extern "C" fn fm_buffer_free(buffer: *mut fm_buffer) {
    crate::boundary_value((), || free_handle(buffer))
}

/// Picks the format for an HTTP `Accept` header: protobuf when the scraper prefers it (what
/// Prometheus asks for first with native histograms on), OpenMetrics when it asks for it,
/// else the text format; an empty header means text.
#[no_mangle]
pub extern "C" fn fm_format_negotiate(accept: fm_str, format_out: *mut u32) -> fm_result {
    boundary(|| {
        let out = out_ptr(format_out, "format_out")?;
        let accept = str_arg(&accept, "accept")?;
        let format = Format::negotiate(Some(accept).filter(|a| !a.is_empty()));
        *out = match format {
            Format::Text => fm_format::FM_FORMAT_TEXT,
            Format::OpenMetrics => fm_format::FM_FORMAT_OPENMETRICS,
            Format::Protobuf => fm_format::FM_FORMAT_PROTOBUF,
        } as u32;
        Ok(())
    })
}

/// The `Content-Type` header value for `format` (a static string).
#[no_mangle]
pub extern "C" fn fm_format_content_type(format: u32, out: *mut fm_str) -> fm_result {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        *out = fm_str::from_static(format_from_u32(format)?.content_type());
        Ok(())
    })
}
