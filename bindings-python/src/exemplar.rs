//! Label dicts (exemplars, info values, sample lookups) arriving from Python.

use pyo3::prelude::*;
use pyo3::types::PyDict;

pub(crate) fn exemplar_labels(e: &Bound<'_, PyDict>) -> PyResult<Vec<(String, String)>> {
    string_pairs(e)
}

/// A dict's items as (key, str(value)) pairs; keys must be str.
pub(crate) fn string_pairs(d: &Bound<'_, PyDict>) -> PyResult<Vec<(String, String)>> {
    d.iter()
        .map(|(k, v)| {
            let k = crate::family::utf8_str(&k, "label name")?;
            let v = crate::family::utf8_str(v.str()?.as_any(), "label value")?;
            Ok((k, v))
        })
        .collect()
}

/// `trace_id`/`span_id` exemplar labels of the active OpenTelemetry span, when the program
/// uses OpenTelemetry (its `opentelemetry.trace` module is imported) and a sampled span is
/// current. Never imports OpenTelemetry itself, and any failure is just "no span": a timer
/// must time even when tracing is misconfigured.
pub(crate) fn active_span_labels(py: Python<'_>) -> Option<[(&'static str, String); 2]> {
    use pyo3::sync::PyOnceLock;
    static MODULES: PyOnceLock<Py<PyDict>> = PyOnceLock::new();
    let modules = MODULES
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(
                py.import("sys")?
                    .getattr("modules")?
                    .cast_into::<PyDict>()?
                    .unbind(),
            )
        })
        .ok()?
        .bind(py);
    let trace = modules.get_item("opentelemetry.trace").ok()??;
    let ctx = trace
        .call_method0("get_current_span")
        .and_then(|s| s.call_method0("get_span_context"))
        .ok()?;
    let attr_true = |name: &str| {
        ctx.getattr(name)
            .and_then(|v| v.is_truthy())
            .unwrap_or(false)
    };
    let sampled = ctx
        .getattr("trace_flags")
        .and_then(|f| f.getattr("sampled"))
        .and_then(|v| v.is_truthy())
        .unwrap_or(false);
    if !attr_true("is_valid") || !sampled {
        return None;
    }
    let trace_id: u128 = ctx.getattr("trace_id").ok()?.extract().ok()?;
    let span_id: u64 = ctx.getattr("span_id").ok()?.extract().ok()?;
    Some([
        ("trace_id", format!("{trace_id:032x}")),
        ("span_id", format!("{span_id:016x}")),
    ])
}
