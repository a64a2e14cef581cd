//! Children: one series of a family (counter, gauge, histogram or summary), and the updates.

use crate::family::fm_kind;
use crate::{
    boundary, err, fm_result, fm_str, free_handle, non_null, out_ptr, pairs_arg, FfiResult,
};
use fm::arena::HasCells;
use fm::{Counter, Gauge, Histogram, Summary};

#[derive(Debug, Clone)]
pub(crate) enum AnyChild {
    Counter(Counter),
    Gauge(Gauge),
    Histogram(Histogram),
    Summary(Summary),
}

/// A child handle: one series. Owned by the caller from `fm_family_child` until
/// `fm_child_free`. Its cells live as long as the handle, even if the series is removed from
/// the family or the family is freed. Thread-safe: any number of threads may update one child.
#[derive(Debug)]
pub struct fm_child {
    pub(crate) inner: AnyChild,
    pub(crate) overflow: bool,
    /// A histogram child's family, whose config a reading (`fm_child_histogram_read`) needs.
    pub(crate) histogram_family: Option<fm::Family<Histogram>>,
}

/// The version of the cell layout `fm_cells` describes (the core's `arena::LAYOUT_VERSION`).
/// A binding that writes cells checks it against the one it was written for.
pub const FM_ARENA_LAYOUT_VERSION: u32 = 1;
// A literal for cbindgen's `#define`; held equal to the core's at compile time.
const _: () = assert!(FM_ARENA_LAYOUT_VERSION == fm::arena::LAYOUT_VERSION);

/// Where a child's values live, for bindings that update them without calling into the
/// library (the Go package does, with `sync/atomic`). All words are little-endian 64-bit,
/// 8-byte aligned, and never move while the child handle is alive.
///
/// Cells are in the core's arena (layout version `FM_ARENA_LAYOUT_VERSION`): other series'
/// cells are next to them, so write only the words described here.
///
/// - counter: `shard_count` shards, `shard_stride` bytes apart from `cells` (a power of two:
///   a shard is in its own lane of the arena, so writers of different shards share no cache
///   line; read `shard_stride`, never assume it); each shard holds
///   a `uint64_t` integer word (atomic add) and then the bits of a `double` float word
///   (compare-and-swap). The value is the sum over shards of both words, the integer words
///   summed without wrapping (e.g. each converted to `double`). So that the integer word never
///   wraps around: add 1 (an increment) to it by atomic add; add any other whole amount below
///   2^32 to it only if a load of the word just before reads below 2^62; add every other
///   amount (fractions, 2^32 or more, or once the word has reached 2^62) to the float word.
/// - gauge: one word at `cells`, the bits of a `double` (atomic store; CAS to add).
/// - histogram (`native` zero): `bucket_count + 1` per-bucket (not cumulative) counts, the last one for
///   `+Inf`, then the bits of the `double` sum. Add 1 to the bucket of the first bound `>= v`,
///   then add `v` to the sum by CAS. Bounds come from `fm_family_buckets`.
/// - summary: the `uint64_t` count, then the bits of the `double` sum.
/// - native histogram (`native` non-zero): no cells to write (`cells` is NULL); record with
///   `fm_child_observe` and read with `fm_child_histogram_read`. `bucket_count` is still the
///   number of classic bounds.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct fm_cells {
    /// An `fm_kind`.
    pub kind: u32,
    /// Non-zero when the family was full and these label values share the overflow series.
    pub overflow: u8,
    pub cells: *mut u64,
    pub shard_count: usize,
    pub shard_stride: usize,
    pub bucket_count: usize,
    /// Non-zero for a histogram with native buckets (see above).
    pub native: u8,
}

impl AnyChild {
    fn kind_name(&self) -> &'static str {
        match self {
            AnyChild::Counter(_) => "counter",
            AnyChild::Gauge(_) => "gauge",
            AnyChild::Histogram(_) => "histogram",
            AnyChild::Summary(_) => "summary",
        }
    }
}

fn wrong_kind(child: &AnyChild, op: &str) -> crate::FfiError {
    err(
        fm_result::FM_ERR_WRONG_KIND,
        format!("{op} does not apply to a {}", child.kind_name()),
    )
}

fn not_nan(v: f64, what: &str) -> FfiResult<()> {
    if v.is_nan() {
        Err(err(
            fm_result::FM_ERR_INVALID_VALUE,
            format!("{what}: NaN is not a value"),
        ))
    } else {
        Ok(())
    }
}

/// Releases a child handle. NULL is a no-op.
#[no_mangle]
pub extern "C" fn fm_child_free(child: *mut fm_child) {
    crate::boundary_value((), || free_handle(child))
}

/// Adds 1 to a counter or gauge.
#[no_mangle]
pub extern "C" fn fm_child_inc(child: *const fm_child) -> fm_result {
    boundary(|| match &non_null(child, "child")?.inner {
        AnyChild::Counter(c) => {
            c.inc();
            Ok(())
        }
        AnyChild::Gauge(g) => {
            g.inc();
            Ok(())
        }
        other => Err(wrong_kind(other, "fm_child_inc")),
    })
}

/// Subtracts 1 from a gauge.
#[no_mangle]
pub extern "C" fn fm_child_dec(child: *const fm_child) -> fm_result {
    boundary(|| match &non_null(child, "child")?.inner {
        AnyChild::Gauge(g) => {
            g.dec();
            Ok(())
        }
        other => Err(wrong_kind(other, "fm_child_dec")),
    })
}

/// Adds `v` to a counter (`v >= 0`) or a gauge (any sign). NaN, and a negative amount for a
/// counter, are `FM_ERR_INVALID_VALUE` and change nothing.
#[no_mangle]
pub extern "C" fn fm_child_add(child: *const fm_child, v: f64) -> fm_result {
    boundary(|| match &non_null(child, "child")?.inner {
        AnyChild::Counter(c) => Ok(c.inc_by(v)?),
        AnyChild::Gauge(g) => {
            not_nan(v, "gauge add")?;
            g.add(v);
            Ok(())
        }
        other => Err(wrong_kind(other, "fm_child_add")),
    })
}

/// Sets a gauge. NaN is `FM_ERR_INVALID_VALUE` and changes nothing.
#[no_mangle]
pub extern "C" fn fm_child_set(child: *const fm_child, v: f64) -> fm_result {
    boundary(|| match &non_null(child, "child")?.inner {
        AnyChild::Gauge(g) => Ok(g.try_set(v)?),
        other => Err(wrong_kind(other, "fm_child_set")),
    })
}

/// Records an observation in a histogram or summary (a summary with quantile objectives also
/// feeds it to its quantile window). NaN is `FM_ERR_INVALID_VALUE` and records nothing.
#[no_mangle]
pub extern "C" fn fm_child_observe(child: *const fm_child, v: f64) -> fm_result {
    boundary(|| match &non_null(child, "child")?.inner {
        AnyChild::Histogram(h) => Ok(h.try_observe(v)?),
        AnyChild::Summary(s) => Ok(s.try_observe(v)?),
        other => Err(wrong_kind(other, "fm_child_observe")),
    })
}

/// Records an observation in a histogram with an exemplar (`count` label names and values,
/// e.g. `trace_id` and `span_id`) on its bucket. Invalid exemplar labels (bad names, more
/// than 128 characters in all) are `FM_ERR_INVALID_LABEL`/`FM_ERR_INVALID_OPTION` and record
/// nothing, so the caller can fall back to `fm_child_observe`.
#[no_mangle]
pub extern "C" fn fm_child_observe_with_exemplar(
    child: *const fm_child,
    v: f64,
    names: *const fm_str,
    values: *const fm_str,
    count: usize,
) -> fm_result {
    boundary(|| {
        let child = non_null(child, "child")?;
        let labels = pairs_arg(names, values, count, "names", "values")?;
        match &child.inner {
            AnyChild::Histogram(h) => Ok(h.observe_with_exemplar(v, &labels)?),
            other => Err(wrong_kind(other, "fm_child_observe_with_exemplar")),
        }
    })
}

/// The summary behind a child that must have quantile objectives.
fn quantile_summary<'a>(child: &'a fm_child, op: &str) -> FfiResult<&'a Summary> {
    match &child.inner {
        AnyChild::Summary(s) if s.has_objectives() => Ok(s),
        AnyChild::Summary(_) => Err(err(
            fm_result::FM_ERR_WRONG_KIND,
            format!("{op} needs a summary with quantile objectives (opts.objective_count > 0)"),
        )),
        other => Err(wrong_kind(other, op)),
    }
}

/// Feeds `count` values to a summary child's quantile window only: the count and sum are not
/// touched (a binding that updates the cells itself, as the Go package does, calls this; C
/// callers normally use `fm_child_observe`, which does both). One call takes the child's
/// window lock once for the whole batch. A NaN anywhere is `FM_ERR_INVALID_VALUE` and records
/// nothing; a summary without objectives (or another kind) is `FM_ERR_WRONG_KIND`.
#[no_mangle]
pub extern "C" fn fm_summary_observe_many(
    child: *const fm_child,
    values: *const f64,
    count: usize,
) -> fm_result {
    boundary(|| {
        let s = quantile_summary(non_null(child, "child")?, "fm_summary_observe_many")?;
        let values = crate::slice_arg(values, count, "values")?;
        Ok(s.observe_quantiles(values)?)
    })
}

/// `fm_summary_observe_many` for one value (no array, so a binding need not place the value
/// in memory it can hand over): feeds `v` to the quantile window only.
#[no_mangle]
pub extern "C" fn fm_summary_observe_one(child: *const fm_child, v: f64) -> fm_result {
    boundary(|| {
        let s = quantile_summary(non_null(child, "child")?, "fm_summary_observe_one")?;
        Ok(s.observe_quantiles(&[v])?)
    })
}

/// Reads a summary child's quantiles over its window: the objectives' quantiles in ascending
/// order into `quantiles_out` and their estimates into `values_out` (NaN while the window
/// holds no observation), and their number into `count_out`. With `cap` below the number of
/// objectives (or an output NULL), writes the number needed and returns
/// `FM_ERR_BUFFER_TOO_SMALL`. A read merges the buffered observations first. A summary
/// without objectives has none (`*count_out` = 0); other kinds are `FM_ERR_WRONG_KIND`.
#[no_mangle]
pub extern "C" fn fm_summary_quantiles(
    child: *const fm_child,
    quantiles_out: *mut f64,
    values_out: *mut f64,
    cap: usize,
    count_out: *mut usize,
) -> fm_result {
    boundary(|| {
        let child = non_null(child, "child")?;
        let count_out = out_ptr(count_out, "count_out")?;
        let AnyChild::Summary(s) = &child.inner else {
            return Err(wrong_kind(&child.inner, "fm_summary_quantiles"));
        };
        let qs = s.quantiles();
        *count_out = qs.len();
        if qs.is_empty() {
            return Ok(());
        }
        if quantiles_out.is_null() || values_out.is_null() || cap < qs.len() {
            return Err(err(
                fm_result::FM_ERR_BUFFER_TOO_SMALL,
                format!(
                    "{} quantiles need two buffers of {} doubles, got {cap}",
                    qs.len(),
                    qs.len()
                ),
            ));
        }
        if !quantiles_out.is_aligned() || !values_out.is_aligned() {
            return Err(err(
                fm_result::FM_ERR_OUT_OF_RANGE,
                "an output is misaligned",
            ));
        }
        for (i, (q, v)) in qs.into_iter().enumerate() {
            // SAFETY: non-NULL, aligned, and the caller promises `cap` writable doubles in
            // each; `i < len <= cap`.
            unsafe {
                *quantiles_out.add(i) = q;
                *values_out.add(i) = v;
            }
        }
        Ok(())
    })
}

/// Adds `v` to a counter with an exemplar (`count` label names and values, e.g. `trace_id`
/// and `span_id`), shown in OpenMetrics output. Invalid exemplar labels (bad names, more than
/// 128 characters in all), NaN and a negative `v` are errors and change nothing, so the
/// caller can fall back to `fm_child_add`.
#[no_mangle]
pub extern "C" fn fm_child_add_with_exemplar(
    child: *const fm_child,
    v: f64,
    names: *const fm_str,
    values: *const fm_str,
    count: usize,
) -> fm_result {
    boundary(|| {
        let child = non_null(child, "child")?;
        let labels = pairs_arg(names, values, count, "names", "values")?;
        match &child.inner {
            AnyChild::Counter(c) => {
                not_nan(v, "counter add")?;
                Ok(c.inc_by_with_exemplar(v, &labels)?)
            }
            other => Err(wrong_kind(other, "fm_child_add_with_exemplar")),
        }
    })
}

/// Reads a child: for a counter or gauge its value (`count_out` gets 0); for a histogram or
/// summary the sum of observations and their count. Either output may be NULL.
#[no_mangle]
pub extern "C" fn fm_child_value(
    child: *const fm_child,
    value_out: *mut f64,
    count_out: *mut u64,
) -> fm_result {
    boundary(|| {
        let (value, count) = match &non_null(child, "child")?.inner {
            AnyChild::Counter(c) => (c.get(), 0),
            AnyChild::Gauge(g) => (g.get(), 0),
            AnyChild::Histogram(h) => {
                let s = h.snapshot();
                (s.sum, s.count)
            }
            AnyChild::Summary(s) => {
                let (count, sum) = s.get();
                (sum, count)
            }
        };
        crate::write_opt(value_out, value);
        crate::write_opt(count_out, count);
        Ok(())
    })
}

/// Describes where the child's values live (see `fm_cells`).
#[no_mangle]
pub extern "C" fn fm_child_cells(child: *const fm_child, out: *mut fm_cells) -> fm_result {
    boundary(|| {
        let child = non_null(child, "child")?;
        let out = out_ptr(out, "out")?;
        let (kind, cells, bucket_count) = match &child.inner {
            AnyChild::Counter(c) => (fm_kind::FM_KIND_COUNTER, c.series_cells(), 0),
            AnyChild::Gauge(g) => (fm_kind::FM_KIND_GAUGE, g.series_cells(), 0),
            AnyChild::Histogram(h) => (
                fm_kind::FM_KIND_HISTOGRAM,
                h.series_cells(),
                h.bucket_count(),
            ),
            AnyChild::Summary(s) => (fm_kind::FM_KIND_SUMMARY, s.series_cells(), 0),
        };
        // One lane: no stride to follow (and the C contract has always said 8 then).
        let (shard_count, shard_stride) = match cells.lanes {
            1 => (1, 8),
            n => (n, cells.lane_stride),
        };
        let native = matches!(&child.inner, AnyChild::Histogram(h) if h.is_native());
        let cells = if native {
            std::ptr::null_mut()
        } else {
            cells.ptr as *mut u64
        };
        *out = fm_cells {
            native: native as u8,
            kind: kind as u32,
            overflow: child.overflow as u8,
            cells,
            shard_count,
            shard_stride,
            bucket_count,
        };
        Ok(())
    })
}

/// One span of native buckets: `length` consecutive bucket keys starting `offset` keys after
/// the end of the previous span (after key 0 for the first), as in Prometheus' `BucketSpan`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct fm_native_span {
    pub offset: i32,
    pub length: u32,
}

/// A histogram child's values from one consistent reading (`fm_histogram_reading_data`).
/// Every pointer points into the reading and stays valid until `fm_histogram_reading_free`;
/// an empty array's pointer is NULL.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct fm_histogram_data {
    /// Observations, and their sum.
    pub count: u64,
    pub sum: f64,
    /// Classic buckets: cumulative counts, one per bound of `fm_family_buckets` and then
    /// `+Inf` (for a native histogram without classic buckets, only `+Inf`).
    pub cumulative: *const u64,
    pub cumulative_count: usize,
    /// Non-zero when the histogram has native buckets; the fields below are then set.
    pub native: u8,
    /// The resolution: bucket `k` holds `|v|` in `(2^((k-1)/2^schema), 2^(k/2^schema)]`.
    pub schema: i32,
    /// Observations with `|v| <= zero_threshold` are in the zero bucket, `zero_count` of them.
    pub zero_threshold: f64,
    pub zero_count: u64,
    /// Positive and negative buckets as Prometheus' protobuf carries them: spans of keys and,
    /// per bucket in those spans, the difference of its count from the previous bucket's.
    pub positive_spans: *const fm_native_span,
    pub positive_span_count: usize,
    pub positive_deltas: *const i64,
    pub positive_delta_count: usize,
    pub negative_spans: *const fm_native_span,
    pub negative_span_count: usize,
    pub negative_deltas: *const i64,
    pub negative_delta_count: usize,
}

/// A reading of a histogram child, owned by the caller from `fm_child_histogram_read` until
/// `fm_histogram_reading_free`. Immutable, so any thread may read it.
#[derive(Debug)]
pub struct fm_histogram_reading {
    data: fm_histogram_data,
    _cumulative: Vec<u64>,
    _spans: [Vec<fm_native_span>; 2],
    _deltas: [Vec<i64>; 2],
}

fn spans_of(buckets: &[(i32, u64)]) -> (Vec<fm_native_span>, Vec<i64>) {
    let (spans, deltas) = fm::NativeBuckets::spans_and_deltas(buckets);
    let spans = spans
        .into_iter()
        .map(|(offset, length)| fm_native_span { offset, length })
        .collect();
    (spans, deltas)
}

/// Reads a histogram child once: count, sum, classic buckets and (for a native histogram)
/// the native buckets, all from the same consistent reading. The caller owns `*out` and
/// releases it with `fm_histogram_reading_free`; other kinds are `FM_ERR_WRONG_KIND`.
#[no_mangle]
pub extern "C" fn fm_child_histogram_read(
    child: *const fm_child,
    out: *mut *mut fm_histogram_reading,
) -> fm_result {
    boundary(|| {
        let child = non_null(child, "child")?;
        let out = out_ptr(out, "out")?;
        let (AnyChild::Histogram(h), Some(family)) = (&child.inner, &child.histogram_family) else {
            return Err(wrong_kind(&child.inner, "fm_child_histogram_read"));
        };
        let fm::PointValue::Histogram {
            buckets,
            count,
            sum,
            native,
            ..
        } = fm::Metric::point(h, family.config())
        else {
            return Err(err(
                fm_result::FM_ERR_PANIC,
                "a histogram read as another kind",
            ));
        };
        let cumulative: Vec<u64> = buckets.iter().map(|b| b.1).collect();
        // NULL for an empty array, never a dangling pointer.
        fn ptr<T>(v: &[T]) -> *const T {
            if v.is_empty() {
                std::ptr::null()
            } else {
                v.as_ptr()
            }
        }
        let empty = (Vec::new(), Vec::new());
        let (pos, neg, schema, zero_threshold, zero_count) = match &native {
            Some(n) => (
                spans_of(&n.positive),
                spans_of(&n.negative),
                n.schema as i32,
                n.zero_threshold,
                n.zero_count,
            ),
            None => (empty.clone(), empty, 0, 0.0, 0),
        };
        let data = fm_histogram_data {
            count,
            sum,
            cumulative: ptr(&cumulative),
            cumulative_count: cumulative.len(),
            native: native.is_some() as u8,
            schema,
            zero_threshold,
            zero_count,
            positive_spans: ptr(&pos.0),
            positive_span_count: pos.0.len(),
            positive_deltas: ptr(&pos.1),
            positive_delta_count: pos.1.len(),
            negative_spans: ptr(&neg.0),
            negative_span_count: neg.0.len(),
            negative_deltas: ptr(&neg.1),
            negative_delta_count: neg.1.len(),
        };
        // The vectors' heap buffers do not move when the vectors move into the reading.
        *out = crate::into_handle(fm_histogram_reading {
            data,
            _cumulative: cumulative,
            _spans: [pos.0, neg.0],
            _deltas: [pos.1, neg.1],
        });
        Ok(())
    })
}

/// The values of a reading (see `fm_histogram_data`), written to `*out`.
#[no_mangle]
pub extern "C" fn fm_histogram_reading_data(
    reading: *const fm_histogram_reading,
    out: *mut fm_histogram_data,
) -> fm_result {
    boundary(|| {
        let r = non_null(reading, "reading")?;
        *out_ptr(out, "out")? = r.data;
        Ok(())
    })
}

/// Releases a reading. NULL is a no-op.
#[no_mangle]
pub extern "C" fn fm_histogram_reading_free(reading: *mut fm_histogram_reading) {
    crate::boundary_value((), || free_handle(reading))
}
