//! Native histograms (the core's `native` module): the lock-free observe protocol of
//! `footmetrics::native::raw` laid out for C, so that a binding (the Go package) records a
//! native observation without a call into the library, and the core's bucket keys.

use crate::child::{fm_child, AnyChild};
use crate::{boundary, err, fm_result, non_null, out_ptr, FfiResult};
use fm::native::raw;
use std::mem::{offset_of, size_of};

/// One buffer's shape, the core's `native::raw::Layout` (the same bytes): its contents
/// change only while the buffer is cold, so a writer reads it after its start (step 1 of
/// the protocol, see `fm_native_view`) and not after its completion.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct fm_native_layout {
    /// The resolution, -4..8.
    pub schema: i32,
    /// Keys `pos_base .. pos_base + pos_len` are counted in `pos_counts`.
    pub pos_base: i32,
    /// Cells of `pos_counts` (`pos_present` has `ceil(pos_len / 64)` words).
    pub pos_len: u32,
    /// The negative window's first key (keys of `|v|`).
    pub neg_base: i32,
    /// Cells of `neg_counts`.
    pub neg_len: u32,
    /// Unused.
    pub reserved: u32,
    /// `|v| <=` this goes to the zero bucket.
    pub zero_threshold: f64,
    /// For a positive schema, the `2^schema` fraction bounds `2^(i/2^schema - 1)`; else NULL.
    pub bounds: *const f64,
    /// For a positive schema, per cell `c` of `[0.5, 1)` cut in `2^(schema+1)` equal cells,
    /// how many `bounds` lie under the cell's start; else NULL.
    pub below: *const u16,
    /// Positive counts (atomic add).
    pub pos_counts: *mut u64,
    /// Positive touched bits (atomic or).
    pub pos_present: *mut u64,
    /// Negative counts.
    pub neg_counts: *mut u64,
    /// Negative touched bits.
    pub neg_present: *mut u64,
}

// The same bytes as the core's layout, checked at compile time (a pointer to one is cast to
// a pointer to the other).
const _: () = {
    assert!(size_of::<fm_native_layout>() == size_of::<raw::Layout>());
    assert!(align_of::<fm_native_layout>() == align_of::<raw::Layout>());
    assert!(offset_of!(fm_native_layout, schema) == offset_of!(raw::Layout, schema));
    assert!(offset_of!(fm_native_layout, pos_base) == offset_of!(raw::Layout, pos_base));
    assert!(offset_of!(fm_native_layout, pos_len) == offset_of!(raw::Layout, pos_len));
    assert!(offset_of!(fm_native_layout, neg_base) == offset_of!(raw::Layout, neg_base));
    assert!(offset_of!(fm_native_layout, neg_len) == offset_of!(raw::Layout, neg_len));
    assert!(offset_of!(fm_native_layout, reserved) == offset_of!(raw::Layout, reserved));
    assert!(
        offset_of!(fm_native_layout, zero_threshold) == offset_of!(raw::Layout, zero_threshold)
    );
    assert!(offset_of!(fm_native_layout, bounds) == offset_of!(raw::Layout, bounds));
    assert!(offset_of!(fm_native_layout, below) == offset_of!(raw::Layout, below));
    assert!(offset_of!(fm_native_layout, pos_counts) == offset_of!(raw::Layout, pos_counts));
    assert!(offset_of!(fm_native_layout, pos_present) == offset_of!(raw::Layout, pos_present));
    assert!(offset_of!(fm_native_layout, neg_counts) == offset_of!(raw::Layout, neg_counts));
    assert!(offset_of!(fm_native_layout, neg_present) == offset_of!(raw::Layout, neg_present));
};

/// One buffer's addresses (all stable while the child handle lives).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct fm_native_buffer {
    /// Its layout.
    pub layout: *const fm_native_layout,
    /// The zero bucket's count.
    pub zero: *mut u64,
    /// The bits of the `double` sum (compare-and-swap).
    pub sum: *mut u64,
    /// Completed starts that recorded nothing (step 3).
    pub skipped: *mut u64,
    /// Touched buckets (step 4).
    pub populated: *mut u32,
    /// Classic buckets (one per bound of `fm_family_buckets`, then `+Inf`), not cumulative;
    /// NULL without classic bounds.
    pub classic: *mut u64,
    /// Cells of `classic`.
    pub classic_len: usize,
}

/// A native histogram child's addresses, for observing without calling into the library.
/// Valid while the child handle lives. The protocol (what `fm_child_observe` does; every
/// access atomic on the words named, 64-bit words 8-byte aligned):
/// 1. A NaN is ignored. Otherwise add 1 to `*hot_and_started`; bit 63 of the value *before*
///    the add picks `buffers[i]`; read its layout.
/// 2. Unless `v > zero_threshold` or `v < -zero_threshold`: add `v` to `*sum` by
///    compare-and-swap, 1 to the classic bucket (if `classic`: the first bound `>= v`, else
///    the last cell), then 1 to `*zero`. Done.
/// 3. Otherwise the key of `|v|` (as `fm_native_bucket_key`; for a positive schema: with
///    `f` the frexp fraction of `|v|` (`+Inf`: of `DBL_MAX`, key + 1) and `m` its 52
///    mantissa bits, `i = below[m >> (51 - schema)]`, plus 1 if `i < 2^schema` and
///    `bounds[i] < f`; key `i + (exponent - 1) * 2^schema`) and the side (`pos_*` for
///    `v > 0`, else `neg_*`). `i = key - base`; if `i` is not in `0..len`: add 1 to
///    `*skipped`, then call `fm_child_native_observe_skipped`. Done.
/// 4. Add `v` to `*sum`, 1 to the classic bucket; then, *before* the count: if bit `i % 64`
///    of `present[i / 64]` is clear and an atomic OR sets it, add 1 to `*populated` (the new
///    value is `p`). Then add 1 to `counts[i]`: the observation is complete, and the layout
///    must not be read again.
/// 5. If the bit was set by this writer, `max_buckets > 0` and `p + *spilled > max_buckets`,
///    call `fm_child_native_bucket_created(child, p, v)`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct fm_native_view {
    /// Bit 63: the hot buffer; the rest: observations started.
    pub hot_and_started: *mut u64,
    /// Buckets counted outside the windows.
    pub spilled: *mut u32,
    /// The bucket limit (0: none).
    pub max_buckets: u32,
    /// The two buffers.
    pub buffers: [fm_native_buffer; 2],
}

fn native_histogram<'a>(child: *const fm_child, op: &str) -> FfiResult<&'a fm::Histogram> {
    match &non_null(child, "child")?.inner {
        AnyChild::Histogram(h) if h.is_native() => Ok(h),
        AnyChild::Histogram(_) => Err(err(
            fm_result::FM_ERR_WRONG_KIND,
            format!("{op} applies to a native histogram, not a classic one"),
        )),
        _ => Err(err(
            fm_result::FM_ERR_WRONG_KIND,
            format!("{op} applies to a native histogram only"),
        )),
    }
}

/// Writes a native histogram child's addresses to `*out` (see `fm_native_view`). Other
/// children (classic histograms included) are `FM_ERR_WRONG_KIND`.
#[no_mangle]
pub extern "C" fn fm_child_native_view(
    child: *const fm_child,
    out: *mut fm_native_view,
) -> fm_result {
    boundary(|| {
        let h = native_histogram(child, "fm_child_native_view")?;
        let out = out_ptr(out, "out")?;
        let v = h
            .native_view()
            .ok_or_else(|| err(fm_result::FM_ERR_WRONG_KIND, "not a native histogram"))?;
        let buffer = |b: &raw::Buffer| fm_native_buffer {
            layout: b.layout.cast(),
            zero: b.zero as *mut u64,
            sum: b.sum as *mut u64,
            skipped: b.skipped as *mut u64,
            populated: b.populated as *mut u32,
            classic: b.classic as *mut u64,
            classic_len: b.classic_len,
        };
        *out = fm_native_view {
            hot_and_started: v.hot_and_started as *mut u64,
            spilled: v.spilled as *mut u32,
            max_buckets: v.max_buckets,
            buffers: [buffer(&v.buffers[0]), buffer(&v.buffers[1])],
        };
        Ok(())
    })
}

/// Step 3 of the protocol (see `fm_native_view`): the key of `v` was outside the window and
/// the start was counted in `skipped`; records `v` under the series' lock.
#[no_mangle]
pub extern "C" fn fm_child_native_observe_skipped(child: *const fm_child, v: f64) -> fm_result {
    boundary(|| {
        native_histogram(child, "fm_child_native_observe_skipped")?.native_observe_skipped(v);
        Ok(())
    })
}

/// Step 5 of the protocol (see `fm_native_view`): this writer made a new bucket,
/// `populated` touched buckets now; applies the bucket limit.
#[no_mangle]
pub extern "C" fn fm_child_native_bucket_created(
    child: *const fm_child,
    populated: u32,
    v: f64,
) -> fm_result {
    boundary(|| {
        native_histogram(child, "fm_child_native_bucket_created")?
            .native_bucket_created(populated, v);
        Ok(())
    })
}

fn schema_arg(schema: i32) -> FfiResult<i8> {
    match schema {
        -4..=8 => Ok(schema as i8),
        _ => Err(err(
            fm_result::FM_ERR_OUT_OF_RANGE,
            format!("native schema must be -4..8, got {schema}"),
        )),
    }
}

/// The bucket key of `|v|` at `schema` (-4..8), as the core and client_golang compute it:
/// bucket `k` holds `|v|` in `(2^((k-1)/2^schema), 2^(k/2^schema)]`, infinities get the key
/// after `DBL_MAX`'s. NaN and zero (which have no key) are `FM_ERR_INVALID_VALUE`, a schema
/// out of range `FM_ERR_OUT_OF_RANGE`.
#[no_mangle]
pub extern "C" fn fm_native_bucket_key(v: f64, schema: i32, out: *mut i32) -> fm_result {
    boundary(|| {
        let schema = schema_arg(schema)?;
        let out = out_ptr(out, "out")?;
        if v.is_nan() || v == 0.0 {
            return Err(err(
                fm_result::FM_ERR_INVALID_VALUE,
                format!("{v} has no native bucket key"),
            ));
        }
        *out = fm::native::bucket_key(v, schema);
        Ok(())
    })
}

/// The upper bound of native bucket `key` at `schema` (-4..8); the last finite bucket's is
/// `DBL_MAX`, the infinities' `+Inf`. A schema out of range, or a key below the smallest
/// subnormal's bucket (minus one) or above the infinities', is `FM_ERR_OUT_OF_RANGE`.
#[no_mangle]
pub extern "C" fn fm_native_upper_bound(key: i32, schema: i32, out: *mut f64) -> fm_result {
    boundary(|| {
        let schema = schema_arg(schema)?;
        let out = out_ptr(out, "out")?;
        let lowest = fm::native::bucket_key(f64::from_bits(1), schema) - 1;
        let highest = fm::native::bucket_key(f64::INFINITY, schema);
        if !(lowest..=highest).contains(&key) {
            return Err(err(
                fm_result::FM_ERR_OUT_OF_RANGE,
                format!("no native bucket {key} at schema {schema} (keys {lowest}..{highest})"),
            ));
        }
        *out = fm::native::upper_bound(key, schema);
        Ok(())
    })
}
