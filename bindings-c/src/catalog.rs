//! The FootAnalytics standard catalog (generated into the core from catalog/catalog.toml),
//! as descriptors. `footmetrics_catalog.h` names each index (`FM_CATALOG_*`), generated from
//! the same file.

use crate::family::{fm_family, fm_kind, AnyFamily};
use crate::{boundary, err, fm_result, fm_str, into_handle, out_ptr, FfiResult};
use fm::catalog::{MetricSpec, ALL};
use fm::MetricType;
use std::sync::OnceLock;

/// One catalog metric. Every pointer is static: valid for the life of the process.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct fm_catalog_spec {
    pub name: fm_str,
    pub help: fm_str,
    /// An `fm_kind`.
    pub kind: u32,
    /// Empty when the metric has no unit.
    pub unit: fm_str,
    pub label_names: *const fm_str,
    pub label_count: usize,
    /// Histogram bounds (`+Inf` implied); none for other kinds.
    pub buckets: *const f64,
    pub bucket_count: usize,
    /// The owning service and team.
    pub service: fm_str,
    pub team: fm_str,
}

/// Label-name arrays as `fm_str`, built once. The pointers are to `'static` strings.
struct LabelTables(Vec<Box<[fm_str]>>);
// SAFETY: the raw pointers point to immutable 'static string data.
unsafe impl Sync for LabelTables {}
unsafe impl Send for LabelTables {}

fn label_tables() -> &'static LabelTables {
    static TABLES: OnceLock<LabelTables> = OnceLock::new();
    TABLES.get_or_init(|| {
        LabelTables(
            ALL.iter()
                .map(|m| m.labels.iter().map(|l| fm_str::from_static(l)).collect())
                .collect(),
        )
    })
}

fn spec(index: usize) -> FfiResult<&'static MetricSpec> {
    ALL.get(index).ok_or_else(|| {
        err(
            fm_result::FM_ERR_OUT_OF_RANGE,
            format!(
                "catalog index {index} is out of range (the catalog has {})",
                ALL.len()
            ),
        )
    })
}

fn kind_of(t: MetricType) -> FfiResult<fm_kind> {
    Ok(match t {
        MetricType::Counter => fm_kind::FM_KIND_COUNTER,
        MetricType::Gauge => fm_kind::FM_KIND_GAUGE,
        MetricType::Histogram => fm_kind::FM_KIND_HISTOGRAM,
        MetricType::Summary => fm_kind::FM_KIND_SUMMARY,
        other => {
            return Err(err(
                fm_result::FM_ERR_WRONG_KIND,
                format!("catalog metrics of type {other:?} have no C family"),
            ))
        }
    })
}

/// Number of metrics in the catalog (`FM_CATALOG_COUNT` in `footmetrics_catalog.h`).
#[no_mangle]
pub extern "C" fn fm_catalog_count() -> usize {
    ALL.len()
}

/// The descriptor of catalog metric `index` (an `FM_CATALOG_*` value).
#[no_mangle]
pub extern "C" fn fm_catalog_get(index: usize, out: *mut fm_catalog_spec) -> fm_result {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        let m = spec(index)?;
        let labels = &label_tables().0[index];
        *out = fm_catalog_spec {
            name: fm_str::from_static(m.name),
            help: fm_str::from_static(m.help),
            kind: kind_of(m.kind)? as u32,
            unit: m.unit.map(fm_str::from_static).unwrap_or(fm_str::EMPTY),
            label_names: labels.as_ptr(),
            label_count: labels.len(),
            buckets: m.buckets.as_ptr(),
            bucket_count: m.buckets.len(),
            service: fm_str::from_static(m.service),
            team: fm_str::from_static(m.team),
        };
        Ok(())
    })
}

/// Creates the family of catalog metric `index` with the platform's name, help, unit, labels
/// and buckets (not registered; the caller owns `*out`).
#[no_mangle]
pub extern "C" fn fm_catalog_family_new(index: usize, out: *mut *mut fm_family) -> fm_result {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        let m = spec(index)?;
        let family = AnyFamily::new(kind_of(m.kind)?, &m.opts())?;
        *out = into_handle(fm_family { inner: family });
        Ok(())
    })
}
