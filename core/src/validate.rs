//! Name validation shared by every metric type and the registry.

use crate::error::{Error, Result};

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
pub fn metric_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.bytes().enumerate().all(|(i, b)| {
            b.is_ascii_alphabetic() || b == b'_' || b == b':' || (i > 0 && b.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidMetricName(name.to_owned()))
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`: the label name syntax alone (prom-client accepts `__` names).
pub fn is_label_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_alphabetic() || b == b'_' || (i > 0 && b.is_ascii_digit()))
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, and not `__`-prefixed (reserved for Prometheus' own use).
pub fn label_name(name: &str) -> Result<()> {
    if !is_label_name(name) {
        return Err(Error::InvalidLabelName(name.to_owned()));
    }
    if name.starts_with("__") {
        return Err(Error::ReservedLabelName(name.to_owned()));
    }
    Ok(())
}

/// Checks a list of label names: each valid, none in `reserved`, no duplicates.
pub fn label_names<'a>(names: impl IntoIterator<Item = &'a str>, reserved: &[&str]) -> Result<()> {
    let mut seen: Vec<&str> = Vec::new();
    for name in names {
        label_name(name)?;
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

/// Histogram buckets: non-empty after dropping a trailing `+Inf`, strictly increasing, no NaN.
/// Returns the finite upper bounds; `+Inf` is always implied.
pub fn buckets(bounds: &[f64]) -> Result<Vec<f64>> {
    let mut out: Vec<f64> = bounds.to_vec();
    if out.last() == Some(&f64::INFINITY) {
        out.pop();
    }
    if out.is_empty() {
        return Err(Error::InvalidBuckets(
            "at least one finite bucket is required".into(),
        ));
    }
    for (i, b) in out.iter().enumerate() {
        if b.is_nan() || b.is_infinite() {
            return Err(Error::InvalidBuckets(format!("bucket {i} is {b}")));
        }
        if i > 0 && out[i - 1] >= *b {
            return Err(Error::InvalidBuckets(format!(
                "buckets must be strictly increasing: {} is followed by {}",
                out[i - 1],
                b
            )));
        }
    }
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
