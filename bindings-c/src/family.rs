//! Families: a metric name with label names, and the children (one per label-value tuple).

use crate::child::{fm_child, AnyChild};
use crate::{
    boundary, err, fm_result, fm_str, free_handle, into_handle, non_null, out_ptr, pairs_arg,
    slice_arg, str_arg, strs_arg, write_opt, FfiResult,
};
use fm::{Counter, Family, Gauge, Histogram, Opts, Summary};

/// Metric kinds, passed as `uint32_t`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum fm_kind {
    FM_KIND_COUNTER = 0,
    FM_KIND_GAUGE = 1,
    FM_KIND_HISTOGRAM = 2,
    FM_KIND_SUMMARY = 3,
}

impl fm_kind {
    pub(crate) fn from_u32(kind: u32) -> FfiResult<fm_kind> {
        Ok(match kind {
            0 => fm_kind::FM_KIND_COUNTER,
            1 => fm_kind::FM_KIND_GAUGE,
            2 => fm_kind::FM_KIND_HISTOGRAM,
            3 => fm_kind::FM_KIND_SUMMARY,
            _ => {
                return Err(err(
                    fm_result::FM_ERR_OUT_OF_RANGE,
                    format!("metric kind {kind} is not an fm_kind"),
                ))
            }
        })
    }
}

/// Options for `fm_family_new`. Zero-initialise it (`fm_opts o = {0};`), then fill in at
/// least `kind` and `name`. Every pointer is read only during the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct fm_opts {
    /// An `fm_kind`.
    pub kind: u32,
    /// Name, help, and the optional namespace/subsystem joined as `namespace_subsystem_name`.
    pub name: fm_str,
    pub help: fm_str,
    pub namespace_: fm_str,
    pub subsystem: fm_str,
    /// Optional unit; the name must end with `_<unit>`.
    pub unit: fm_str,
    /// Label names, in the order label values are later given.
    pub label_names: *const fm_str,
    pub label_count: usize,
    /// Constant labels: `const_label_count` names and as many values.
    pub const_label_names: *const fm_str,
    pub const_label_values: *const fm_str,
    pub const_label_count: usize,
    /// Histogram upper bounds, strictly increasing (`+Inf` implied). Count 0: the defaults.
    pub buckets: *const f64,
    pub bucket_count: usize,
    /// Label sets kept before new ones fold into one overflow series. 0: the default (10,000).
    pub cardinality_limit: usize,
    /// Non-zero: emit `_created` samples in OpenMetrics output.
    pub created: u8,
    /// Summaries only: `objective_count` quantile objectives, each a quantile
    /// (`0 < q < 1`, distinct) and its allowed rank error (`0 <= e < 1`), as client_golang's
    /// `SummaryOpts.Objectives`. Count 0: count and sum only. With objectives every child
    /// also estimates those quantiles over a sliding window (`fm_summary_quantiles`).
    pub objective_quantiles: *const f64,
    pub objective_errors: *const f64,
    pub objective_count: usize,
    /// The quantile window in nanoseconds. 0: the default (10 minutes).
    pub max_age_ns: u64,
    /// Streams the window is split into (one retires every `max_age_ns / age_buckets`).
    /// 0: the default (5).
    pub age_buckets: u32,
    /// Observations buffered before they are merged into the streams. 0: the default (500).
    pub buf_cap: u32,
    /// Non-zero: a counter whose name does not end in `_total` writes its sample under the
    /// name exactly (`requests 5`, as client_golang does) instead of appending `_total`.
    pub exact_name: u8,
    /// Histograms: native (sparse, exponential) buckets, as client_golang's
    /// `NativeHistogramBucketFactor`: the largest ratio between consecutive bucket
    /// boundaries, a finite number above 1 (1.1 gives schema 3). 0: no native buckets (a
    /// classic histogram). Any other value not above 1, NaN or an infinity is
    /// `FM_ERR_INVALID_OPTION`. With native buckets and `bucket_count` 0 the histogram has
    /// no classic buckets (only `+Inf`), as client_golang; with buckets it has both.
    pub native_bucket_factor: f64,
    /// Observations with `|v| <=` this go to the zero bucket, as client_golang's
    /// `NativeHistogramZeroThreshold`: 0 means the default 2^-128, a negative value a
    /// threshold of 0; NaN or an infinity is `FM_ERR_INVALID_OPTION`.
    pub native_zero_threshold: f64,
    /// The most native buckets (positive and negative together); 0: no limit. Past it the
    /// histogram resets (see `native_min_reset_ns`), else widens the zero bucket (see
    /// `native_max_zero_threshold`), else halves its resolution, as client_golang.
    pub native_max_buckets: u32,
    /// Past the bucket limit, reset when the last reset is at least this many nanoseconds
    /// old; 0: never reset.
    pub native_min_reset_ns: u64,
    /// Past the bucket limit, the zero bucket may widen up to this threshold; 0: never.
    /// Negative, NaN or an infinity is `FM_ERR_INVALID_OPTION`.
    pub native_max_zero_threshold: f64,
    /// Exemplars kept for the native buckets, as client_golang's
    /// `NativeHistogramMaxExemplars`: 0 means the default (10), a negative value none.
    pub native_max_exemplars: i32,
}

/// The typed family behind a handle.
#[derive(Debug, Clone)]
pub(crate) enum AnyFamily {
    Counter(Family<Counter>),
    Gauge(Family<Gauge>),
    Histogram(Family<Histogram>),
    Summary(Family<Summary>),
}

/// A family handle. Owned by the caller from `fm_family_new` until `fm_family_free`; a
/// registry that holds the family keeps its own reference, so freeing the handle does not
/// unregister it, and children stay valid after the family handle is freed. Thread-safe.
#[derive(Debug)]
pub struct fm_family {
    pub(crate) inner: AnyFamily,
}

macro_rules! each_family {
    ($fam:expr, $f:ident => $body:expr) => {
        match $fam {
            $crate::family::AnyFamily::Counter($f) => $body,
            $crate::family::AnyFamily::Gauge($f) => $body,
            $crate::family::AnyFamily::Histogram($f) => $body,
            $crate::family::AnyFamily::Summary($f) => $body,
        }
    };
}
pub(crate) use each_family;

impl AnyFamily {
    pub(crate) fn new(kind: fm_kind, opts: &Opts) -> FfiResult<AnyFamily> {
        Ok(match kind {
            fm_kind::FM_KIND_COUNTER => AnyFamily::Counter(Family::new(opts)?),
            fm_kind::FM_KIND_GAUGE => AnyFamily::Gauge(Family::new(opts)?),
            fm_kind::FM_KIND_HISTOGRAM => AnyFamily::Histogram(Family::new(opts)?),
            fm_kind::FM_KIND_SUMMARY => AnyFamily::Summary(Family::new(opts)?),
        })
    }

    fn kind(&self) -> fm_kind {
        match self {
            AnyFamily::Counter(_) => fm_kind::FM_KIND_COUNTER,
            AnyFamily::Gauge(_) => fm_kind::FM_KIND_GAUGE,
            AnyFamily::Histogram(_) => fm_kind::FM_KIND_HISTOGRAM,
            AnyFamily::Summary(_) => fm_kind::FM_KIND_SUMMARY,
        }
    }

    /// The child for `values`, and whether the family was full so the values were folded
    /// into the overflow series.
    fn child(&self, values: &[&str]) -> FfiResult<(AnyChild, bool)> {
        fn resolve<M: fm::Metric>(f: &Family<M>, values: &[&str]) -> FfiResult<(M, bool)> {
            let child = f.with_label_values(values)?;
            let overflow =
                !values.is_empty() && child.meta().label_values().ne(values.iter().copied());
            Ok((child, overflow))
        }
        Ok(match self {
            AnyFamily::Counter(f) => resolve(f, values).map(|(c, o)| (AnyChild::Counter(c), o))?,
            AnyFamily::Gauge(f) => resolve(f, values).map(|(c, o)| (AnyChild::Gauge(c), o))?,
            AnyFamily::Histogram(f) => {
                resolve(f, values).map(|(c, o)| (AnyChild::Histogram(c), o))?
            }
            AnyFamily::Summary(f) => resolve(f, values).map(|(c, o)| (AnyChild::Summary(c), o))?,
        })
    }
}

fn opts_from_c(o: &fm_opts) -> FfiResult<(fm_kind, Opts)> {
    let kind = fm_kind::from_u32(o.kind)?;
    let mut opts = Opts::new(
        str_arg(&o.name, "opts.name")?,
        str_arg(&o.help, "opts.help")?,
    )
    .namespace(str_arg(&o.namespace_, "opts.namespace_")?)
    .subsystem(str_arg(&o.subsystem, "opts.subsystem")?)
    .labels(&strs_arg(o.label_names, o.label_count, "opts.label_names")?)
    .created(o.created != 0)
    .exact_name(o.exact_name != 0);
    let unit = str_arg(&o.unit, "opts.unit")?;
    if !unit.is_empty() {
        opts = opts.unit(unit);
    }
    for (k, v) in pairs_arg(
        o.const_label_names,
        o.const_label_values,
        o.const_label_count,
        "opts.const_label_names",
        "opts.const_label_values",
    )? {
        opts = opts.const_label(k, v);
    }
    let buckets = slice_arg(o.buckets, o.bucket_count, "opts.buckets")?;
    if !buckets.is_empty() {
        if kind != fm_kind::FM_KIND_HISTOGRAM {
            return Err(err(
                fm_result::FM_ERR_INVALID_OPTION,
                "buckets are only for histograms",
            ));
        }
        opts = opts.buckets(buckets);
    }
    if o.native_bucket_factor != 0.0 {
        if kind != fm_kind::FM_KIND_HISTOGRAM {
            return Err(err(
                fm_result::FM_ERR_INVALID_OPTION,
                "native buckets are only for histograms",
            ));
        }
        opts = opts.native_histogram(native_from_c(o));
    }
    let quantiles = slice_arg(
        o.objective_quantiles,
        o.objective_count,
        "opts.objective_quantiles",
    )?;
    let errors = slice_arg(
        o.objective_errors,
        o.objective_count,
        "opts.objective_errors",
    )?;
    if !quantiles.is_empty() {
        if kind != fm_kind::FM_KIND_SUMMARY {
            return Err(err(
                fm_result::FM_ERR_INVALID_OPTION,
                "quantile objectives are only for summaries",
            ));
        }
        opts = opts
            .objectives(
                quantiles
                    .iter()
                    .copied()
                    .zip(errors.iter().copied())
                    .collect::<Vec<_>>(),
            )
            .quantile_window(
                std::time::Duration::from_nanos(o.max_age_ns),
                o.age_buckets,
                o.buf_cap,
            );
    }
    if o.cardinality_limit != 0 {
        opts = opts.cardinality_limit(o.cardinality_limit);
    }
    Ok((kind, opts))
}

/// The core's native options for `o`: client_golang's sentinels mapped to real values (the
/// core validates the rest when the family is created).
fn native_from_c(o: &fm_opts) -> fm::NativeOpts {
    let t = o.native_zero_threshold;
    let zero_threshold = if t == 0.0 {
        fm::native::DEFAULT_ZERO_THRESHOLD
    } else if t < 0.0 && t.is_finite() {
        0.0
    } else {
        t // positive, or NaN/infinite for the core to refuse
    };
    let mut native = fm::NativeOpts::new(o.native_bucket_factor)
        .zero_threshold(zero_threshold)
        .max_buckets(o.native_max_buckets)
        .min_reset_duration(std::time::Duration::from_nanos(o.native_min_reset_ns))
        .max_zero_threshold(o.native_max_zero_threshold);
    native.max_exemplars = match o.native_max_exemplars {
        0 => native.max_exemplars,
        n => n.max(0) as u32,
    };
    native
}

/// Creates a family (not registered anywhere; see `fm_registry_register`). On success the
/// caller owns `*out` and releases it with `fm_family_free`.
#[no_mangle]
pub extern "C" fn fm_family_new(opts: *const fm_opts, out: *mut *mut fm_family) -> fm_result {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        let (kind, opts) = opts_from_c(non_null(opts, "opts")?)?;
        *out = into_handle(fm_family {
            inner: AnyFamily::new(kind, &opts)?,
        });
        Ok(())
    })
}

/// Process-wide name rule for families created from now on: non-zero accepts any non-empty
/// UTF-8 metric and label name (Prometheus 3's rule, and client_golang's default), zero only
/// the legacy character sets (the default). Families already created keep their names.
/// Rendering a family whose names are not legacy names is the caller's business: the core's
/// text writers do not escape them.
#[no_mangle]
pub extern "C" fn fm_set_utf8_names(on: u8) -> fm_result {
    boundary(|| {
        fm::validate::set_utf8_names(on != 0);
        Ok(())
    })
}

/// Releases a family handle. Registries holding the family, and children resolved from it,
/// keep working. NULL is a no-op.
#[no_mangle]
pub extern "C" fn fm_family_free(family: *mut fm_family) {
    crate::boundary_value((), || free_handle(family))
}

/// The family's `fm_kind`.
#[no_mangle]
pub extern "C" fn fm_family_kind(family: *const fm_family, kind_out: *mut u32) -> fm_result {
    boundary(|| {
        let f = non_null(family, "family")?;
        *out_ptr(kind_out, "kind_out")? = f.inner.kind() as u32;
        Ok(())
    })
}

/// Resolves label values (in label-name order, `count` of them) to a child, creating the
/// series on first use. The caller owns `*out` (release with `fm_child_free`); resolve once
/// and keep the child for hot paths. When the family is at its cardinality limit, new label
/// sets resolve to the shared overflow series (see `fm_child_cells`' `overflow`).
#[no_mangle]
pub extern "C" fn fm_family_child(
    family: *const fm_family,
    values: *const fm_str,
    count: usize,
    out: *mut *mut fm_child,
) -> fm_result {
    boundary(|| {
        let f = non_null(family, "family")?;
        let out = out_ptr(out, "out")?;
        let values = strs_arg(values, count, "values")?;
        let (inner, overflow) = f.inner.child(&values)?;
        let histogram_family = match &f.inner {
            AnyFamily::Histogram(h) => Some(h.clone()),
            _ => None,
        };
        *out = into_handle(fm_child {
            inner,
            overflow,
            histogram_family,
        });
        Ok(())
    })
}

/// Removes the series with these label values; `removed_out` (may be NULL) tells whether it
/// existed. Children already resolved for it keep working but are no longer exported.
#[no_mangle]
pub extern "C" fn fm_family_remove(
    family: *const fm_family,
    values: *const fm_str,
    count: usize,
    removed_out: *mut u8,
) -> fm_result {
    boundary(|| {
        let f = non_null(family, "family")?;
        let values = strs_arg(values, count, "values")?;
        let removed = each_family!(&f.inner, fam => fam.remove(&values)?);
        write_opt(removed_out, removed as u8);
        Ok(())
    })
}

/// Removes every series of the family.
#[no_mangle]
pub extern "C" fn fm_family_clear(family: *const fm_family) -> fm_result {
    boundary(|| {
        each_family!(&non_null(family, "family")?.inner, fam => fam.clear());
        Ok(())
    })
}

/// Number of series exported (the overflow series included), and how many lookups were
/// folded into the overflow series; either output may be NULL.
#[no_mangle]
pub extern "C" fn fm_family_stats(
    family: *const fm_family,
    series_out: *mut usize,
    overflowed_out: *mut u64,
) -> fm_result {
    boundary(|| {
        let f = non_null(family, "family")?;
        let (len, overflowed) = each_family!(&f.inner, fam => (fam.len(), fam.overflowed()));
        write_opt(series_out, len);
        write_opt(overflowed_out, overflowed);
        Ok(())
    })
}

/// Copies a histogram family's bucket upper bounds (without `+Inf`) into `buf` and writes
/// their number to `count_out`. With `cap` too small (or `buf` NULL) returns
/// `FM_ERR_BUFFER_TOO_SMALL` after writing the number needed.
#[no_mangle]
pub extern "C" fn fm_family_buckets(
    family: *const fm_family,
    buf: *mut f64,
    cap: usize,
    count_out: *mut usize,
) -> fm_result {
    boundary(|| {
        let f = non_null(family, "family")?;
        let count_out = out_ptr(count_out, "count_out")?;
        let AnyFamily::Histogram(h) = &f.inner else {
            return Err(err(
                fm_result::FM_ERR_WRONG_KIND,
                "only histograms have buckets",
            ));
        };
        let bounds = h.config().bounds();
        *count_out = bounds.len();
        if buf.is_null() || cap < bounds.len() {
            return Err(err(
                fm_result::FM_ERR_BUFFER_TOO_SMALL,
                format!(
                    "{} buckets need a buffer of {} doubles, got {cap}",
                    bounds.len(),
                    bounds.len()
                ),
            ));
        }
        if !buf.is_aligned() {
            return Err(err(fm_result::FM_ERR_OUT_OF_RANGE, "buf is misaligned"));
        }
        // SAFETY: non-NULL, aligned, and the caller promises `cap >= len` writable doubles.
        unsafe { std::ptr::copy_nonoverlapping(bounds.as_ptr(), buf, bounds.len()) };
        Ok(())
    })
}
