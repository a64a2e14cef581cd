//! Name validation shared by every metric type and the registry.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether metric and label names may be any non-empty UTF-8 text (Prometheus 3's rule, which
/// Python's `prometheus_client` 0.26 follows unless its legacy switch is on) instead of the
/// legacy character sets. Off unless a binding turns it on: the Python binding mirrors
/// `prometheus_client.validation`'s switch here; every other binding keeps the legacy sets.
static UTF8_NAMES: AtomicBool = AtomicBool::new(false);

/// Accept UTF-8 metric and label names (`true`) or only the legacy character sets (`false`,
/// the default). Process-wide; applies to metrics and exemplars created afterwards.
pub fn set_utf8_names(on: bool) {
    UTF8_NAMES.store(on, Ordering::Relaxed);
}

/// See [`set_utf8_names`].
pub(crate) fn utf8_names() -> bool {
    UTF8_NAMES.load(Ordering::Relaxed)
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*` (any non-empty name when [`set_utf8_names`] turned UTF-8 names
/// on).
pub fn metric_name(name: &str) -> Result<()> {
    metric_name_under(name, utf8_names())
}

fn metric_name_under(name: &str, utf8: bool) -> Result<()> {
    let ok = !name.is_empty()
        && (utf8
            || name.bytes().enumerate().all(|(i, b)| {
                b.is_ascii_alphabetic() || b == b'_' || b == b':' || (i > 0 && b.is_ascii_digit())
            }));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidMetricName(name.to_owned()))
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`: the label name syntax alone (prom-client accepts `__` names);
/// any non-empty name when [`utf8_names`] is on.
pub(crate) fn is_label_name(name: &str) -> bool {
    is_label_name_under(name, utf8_names())
}

fn is_label_name_under(name: &str, utf8: bool) -> bool {
    !name.is_empty()
        && (utf8
            || name.bytes().enumerate().all(|(i, b)| {
                b.is_ascii_alphabetic() || b == b'_' || (i > 0 && b.is_ascii_digit())
            }))
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, and not `__`-prefixed (reserved for Prometheus' own use).
pub(crate) fn label_name(name: &str) -> Result<()> {
    label_name_under(name, utf8_names())
}

/// [`label_name`] under the legacy character set whatever the switch says (Pushgateway
/// grouping keys, which travel in a URL path).
pub(crate) fn legacy_label_name(name: &str) -> Result<()> {
    label_name_under(name, false)
}

fn label_name_under(name: &str, utf8: bool) -> Result<()> {
    if !is_label_name_under(name, utf8) {
        return Err(Error::InvalidLabelName(name.to_owned()));
    }
    if name.starts_with("__") {
        return Err(Error::ReservedLabelName(name.to_owned()));
    }
    Ok(())
}

/// Checks a list of label names: each valid, none in `reserved`, no duplicates.
pub(crate) fn label_names<'a>(
    names: impl IntoIterator<Item = &'a str>,
    reserved: &[&str],
) -> Result<()> {
    label_names_with(names, reserved, false)
}

/// [`label_names`], the one check every family declaration goes through; `allow_dunder` takes
/// `__`-prefixed names, as prom-client does (the others reserve them).
pub(crate) fn label_names_with<'a>(
    names: impl IntoIterator<Item = &'a str>,
    reserved: &[&str],
    allow_dunder: bool,
) -> Result<()> {
    let mut seen: Vec<&str> = Vec::new();
    for name in names {
        if allow_dunder {
            if !is_label_name(name) {
                return Err(Error::InvalidLabelName(name.to_owned()));
            }
        } else {
            label_name(name)?;
        }
        if reserved.contains(&name) {
            return Err(Error::ReservedLabelName(name.to_owned()));
        }
        if seen.contains(&name) {
            return Err(Error::DuplicateLabelName(name.to_owned()));
        }
        seen.push(name);
    }
    Ok(())
}

/// Finite upper bounds, strictly increasing; none at all only if `allow_empty`.
pub(crate) fn bucket_bounds(bounds: &[f64], allow_empty: bool) -> Result<()> {
    if bounds.is_empty() && !allow_empty {
        return Err(Error::InvalidBuckets(
            "at least one finite bucket is required".into(),
        ));
    }
    for (i, b) in bounds.iter().enumerate() {
        if b.is_nan() || b.is_infinite() {
            return Err(Error::InvalidBuckets(format!("bucket {i} is {b}")));
        }
        if i > 0 && bounds[i - 1] >= *b {
            return Err(Error::InvalidBuckets(format!(
                "buckets must be strictly increasing: {} is followed by {}",
                bounds[i - 1],
                b
            )));
        }
    }
    Ok(())
}

/// Histogram buckets: non-empty after dropping a trailing `+Inf`, strictly increasing, no NaN.
/// Returns the finite upper bounds; `+Inf` is always implied.
pub(crate) fn buckets(bounds: &[f64]) -> Result<Vec<f64>> {
    let mut out: Vec<f64> = bounds.to_vec();
    if out.last() == Some(&f64::INFINITY) {
        out.pop();
    }
    bucket_bounds(&out, false)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names() {
        for ok in ["a", "_a", "a:b", "http_requests_total", "A9_:z"] {
            assert!(metric_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "9a", "a-b", "a b", "é", "a.b"] {
            assert_eq!(
                metric_name(bad),
                Err(Error::InvalidMetricName(bad.into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn utf8_names_switch() {
        // The rules under the switch, without flipping the process-wide switch itself (tests
        // run in parallel).
        assert!(!utf8_names());
        assert_eq!(metric_name_under("my.metric", true), Ok(()));
        assert_eq!(metric_name_under("bad-name", true), Ok(()));
        assert_eq!(label_name_under("le-dash", true), Ok(()));
        assert_eq!(label_name_under(":o)", true), Ok(()));
        assert_eq!(
            label_name_under("__r", true),
            Err(Error::ReservedLabelName("__r".into()))
        );
        assert_eq!(
            metric_name_under("", true),
            Err(Error::InvalidMetricName("".into()))
        );
        assert!(metric_name("my.metric").is_err());
    }

    #[test]
    fn label_names_rules() {
        assert!(label_names(["method", "route", "code"], &[]).is_ok());
        assert_eq!(
            label_name("a:b"),
            Err(Error::InvalidLabelName("a:b".into()))
        );
        assert_eq!(
            label_name("__name__"),
            Err(Error::ReservedLabelName("__name__".into()))
        );
        assert_eq!(
            label_names(["le"], &["le"]),
            Err(Error::ReservedLabelName("le".into()))
        );
        assert_eq!(
            label_names(["a", "a"], &[]),
            Err(Error::DuplicateLabelName("a".into()))
        );
    }

    #[test]
    fn bucket_rules() {
        assert_eq!(buckets(&[1.0, 2.0, f64::INFINITY]).unwrap(), vec![1.0, 2.0]);
        assert!(matches!(buckets(&[]), Err(Error::InvalidBuckets(_))));
        assert!(matches!(
            buckets(&[f64::INFINITY]),
            Err(Error::InvalidBuckets(_))
        ));
        assert!(matches!(
            buckets(&[2.0, 1.0]),
            Err(Error::InvalidBuckets(_))
        ));
        assert!(matches!(
            buckets(&[1.0, 1.0]),
            Err(Error::InvalidBuckets(_))
        ));
        assert!(matches!(
            buckets(&[1.0, f64::NAN]),
            Err(Error::InvalidBuckets(_))
        ));
    }
}
