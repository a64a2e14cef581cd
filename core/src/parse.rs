//! Reading an exposition back: the samples of a classic text (or OpenMetrics) scrape, and
//! `histogram_quantile` over its buckets. Used by the demo's summary, tests and the linter.
//! Comments, `# TYPE`/`# HELP` lines, exemplars and timestamps are skipped.

use crate::error::{Error, Result};

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The sample name, suffix included (`requests_total`).
    pub name: String,
    /// In exposition order.
    pub labels: Vec<(String, String)>,
    /// The sample value.
    pub value: f64,
}

impl Sample {
    /// The value of label `name`, if present.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses every sample line of `text`.
pub fn parse_text(text: &str) -> Result<Vec<Sample>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(parse_line(line).map_err(|message| Error::Parse {
            line: i + 1,
            message,
        })?);
    }
    Ok(out)
}

fn parse_line(line: &str) -> std::result::Result<Sample, String> {
    let name_end = line
        .find(['{', ' '])
        .ok_or_else(|| format!("no value in {line:?}"))?;
    let name = &line[..name_end];
    if name.is_empty() {
        return Err(format!("no metric name in {line:?}"));
    }
    let mut labels = Vec::new();
    let mut rest = &line[name_end..];
    if let Some(body) = rest.strip_prefix('{') {
        let mut chars = body.char_indices();
        let mut key = String::new();
        let end = loop {
            let (i, c) = chars
                .next()
                .ok_or_else(|| format!("unterminated label set in {line:?}"))?;
            match c {
                '}' => break i + 1,
                ',' | ' ' if key.is_empty() => {}
                '=' => {
                    if chars.next().map(|x| x.1) != Some('"') {
                        return Err(format!("label value without quotes in {line:?}"));
                    }
                    let mut value = String::new();
                    loop {
                        let (_, c) = chars
                            .next()
                            .ok_or_else(|| format!("unterminated label value in {line:?}"))?;
                        match c {
                            '\\' => match chars.next().map(|x| x.1) {
                                Some('n') => value.push('\n'),
                                Some(c @ ('\\' | '"')) => value.push(c),
                                other => return Err(format!("bad escape {other:?} in {line:?}")),
                            },
                            '"' => break,
                            c => value.push(c),
                        }
                    }
                    labels.push((std::mem::take(&mut key), value));
                }
                c => key.push(c),
            }
        };
        rest = &body[end..];
    }
    let value = rest
        .split_whitespace()
        .next()
        .ok_or_else(|| format!("no value in {line:?}"))?;
    let value = match value {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v
            .parse()
            .map_err(|_| format!("bad value {v:?} in {line:?}"))?,
    };
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// Prometheus' `histogram_quantile`: `buckets` are `(upper bound, cumulative count)` in
/// increasing bound order ending with `+Inf`; linear interpolation inside the bucket that
/// holds the rank, the highest finite bound when the rank falls in `+Inf`. `None` with no
/// observations.
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let rank = q * total;
    let i = buckets.iter().position(|(_, c)| *c >= rank)?;
    if buckets[i].0.is_infinite() {
        return Some(if i == 0 { 0.0 } else { buckets[i - 1].0 });
    }
    let (lower, below) = if i == 0 {
        (0.0, 0.0)
    } else {
        (buckets[i - 1].0, buckets[i - 1].1)
    };
    let (upper, count) = buckets[i];
    if count == below {
        return Some(upper);
    }
    Some(lower + (upper - lower) * (rank - below) / (count - below))
}

/// The buckets of histogram `name` summed over every series that `keep` accepts, as
/// `sum(...) by (le)` does: `(upper bound, cumulative count)` sorted by bound.
pub fn merged_buckets(
    samples: &[Sample],
    name: &str,
    keep: impl Fn(&Sample) -> bool,
) -> Vec<(f64, f64)> {
    let bucket = format!("{name}_bucket");
    let mut merged: Vec<(f64, f64)> = Vec::new();
    for s in samples.iter().filter(|s| s.name == bucket && keep(s)) {
        let Some(le) = s.label("le").and_then(|le| match le {
            "+Inf" => Some(f64::INFINITY),
            v => v.parse().ok(),
        }) else {
            continue;
        };
        match merged.iter_mut().find(|(b, _)| *b == le) {
            Some(m) => m.1 += s.value,
            None => merged.push((le, s.value)),
        }
    }
    merged.sort_by(|a, b| a.0.total_cmp(&b.0));
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_labels_escapes_exemplars_and_special_values() {
        let s = parse_text(
            "# HELP x y\nx_total{a=\"1\",b=\"q\\\"\\\\\\n\"} 3\nup 1 1700000000\n\
             h_bucket{le=\"+Inf\"} 2 # {trace_id=\"t\"} 0.5 1.0\ng NaN\n",
        )
        .unwrap();
        assert_eq!(s.len(), 4);
        assert_eq!(s[0].label("b"), Some("q\"\\\n"));
        assert_eq!(s[0].value, 3.0);
        assert_eq!(s[1].value, 1.0);
        assert_eq!(s[2].label("le"), Some("+Inf"));
        assert!(s[3].value.is_nan());
    }

    #[test]
    fn bad_lines_are_errors_with_line_numbers() {
        for bad in [
            "x{a=\"1\" 3",
            "x{a=1} 3",
            "x",
            "x abc",
            "x{a=\"\\q\"} 1",
            "{a=\"1\"} 1",
        ] {
            match parse_text(&format!("# ok\n{bad}\n")) {
                Err(Error::Parse { line: 2, .. }) => {}
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn quantiles_interpolate_like_prometheus() {
        let b = [
            (0.1, 50.0),
            (0.5, 90.0),
            (1.0, 100.0),
            (f64::INFINITY, 100.0),
        ];
        assert_eq!(histogram_quantile(0.5, &b), Some(0.1));
        // rank 70 lies 20/40 of the way through (0.1, 0.5].
        assert!((histogram_quantile(0.7, &b).unwrap() - 0.3).abs() < 1e-12);
        assert_eq!(histogram_quantile(0.95, &b), Some(0.75));
        let inf = [(0.1, 0.0), (f64::INFINITY, 10.0)];
        assert_eq!(histogram_quantile(0.9, &inf), Some(0.1));
        assert_eq!(histogram_quantile(0.9, &[(f64::INFINITY, 0.0)]), None);
    }

    #[test]
    fn merges_buckets_across_series() {
        let s = parse_text(
            "h_bucket{r=\"a\",le=\"1\"} 1\nh_bucket{r=\"a\",le=\"+Inf\"} 2\n\
             h_bucket{r=\"b\",le=\"1\"} 3\nh_bucket{r=\"b\",le=\"+Inf\"} 3\nh_count 5\n",
        )
        .unwrap();
        assert_eq!(
            merged_buckets(&s, "h", |_| true),
            vec![(1.0, 4.0), (f64::INFINITY, 5.0)]
        );
        assert_eq!(
            merged_buckets(&s, "h", |s| s.label("r") == Some("b")),
            vec![(1.0, 3.0), (f64::INFINITY, 3.0)]
        );
    }
}
