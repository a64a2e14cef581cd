//! The metric names a PromQL expression reads, from its syntax tree: the check that keeps every
//! generated rule and dashboard on names the catalog declares.

use crate::{Catalog, Kind};
use promql_parser::label::{MatchOp, METRIC_NAME};
use promql_parser::parser::{self, Expr, VectorSelector};
use promql_parser::util::{walk_expr, ExprVisitor};
use std::collections::BTreeSet;

struct Names(BTreeSet<String>);

impl Names {
    fn selector(&mut self, vs: &VectorSelector) -> Result<(), String> {
        if let Some(n) = &vs.name {
            self.0.insert(n.clone());
            return Ok(());
        }
        let by_name = vs
            .matchers
            .matchers
            .iter()
            .chain(vs.matchers.or_matchers.iter().flatten())
            .filter(|m| m.name == METRIC_NAME);
        let mut any = false;
        for m in by_name {
            match m.op {
                MatchOp::Equal => {
                    self.0.insert(m.value.clone());
                    any = true;
                }
                _ => {
                    return Err(format!(
                        "selects {METRIC_NAME} by {}: names must be exact",
                        m.op
                    ))
                }
            }
        }
        if any {
            Ok(())
        } else {
            Err("a selector without a metric name".into())
        }
    }
}

impl ExprVisitor for Names {
    type Error = String;

    fn pre_visit(&mut self, e: &Expr) -> Result<bool, String> {
        match e {
            Expr::VectorSelector(vs) => self.selector(vs)?,
            Expr::MatrixSelector(ms) => self.selector(&ms.vs)?,
            _ => {}
        }
        Ok(true)
    }
}

/// Every metric name `expr` selects. An error when it does not parse, or selects series by
/// anything but an exact name.
pub fn referenced_names(expr: &str) -> Result<BTreeSet<String>, String> {
    let ast = parser::parse(expr).map_err(|e| format!("{e} in {expr:?}"))?;
    let mut names = Names(BTreeSet::new());
    walk_expr(&mut names, &ast).map_err(|e| format!("{e} in {expr:?}"))?;
    Ok(names.0)
}

/// The series names the catalog's metrics expose, in either exposition format.
pub fn known_series(c: &Catalog) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for m in &c.metrics {
        let n = m.name.as_str();
        let suffixes: &[&str] = match m.kind {
            Kind::Counter => &[""],
            Kind::Gauge => &[""],
            Kind::Histogram => &["_bucket", "_count", "_sum", "_created"],
            Kind::Summary => &["", "_count", "_sum", "_created"],
            Kind::Info => &["_info"],
        };
        for s in suffixes {
            out.insert(format!("{n}{s}"));
        }
        if m.native {
            // The native histogram's own series (the classic ones stay for text scrapes).
            out.insert(n.to_owned());
        }
        if let Some(base) = n.strip_suffix("_total") {
            out.insert(format!("{base}_created"));
        }
    }
    out
}

/// Parses `expr` and checks that every name it selects is in `known`.
pub fn check_expr(expr: &str, known: &BTreeSet<String>) -> Result<(), String> {
    let unknown: Vec<String> = referenced_names(expr)?
        .into_iter()
        .filter(|n| !known.contains(n))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{expr:?} uses {}, which neither the catalog nor a generated recording rule declares",
            unknown.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_names_in_every_position() {
        let names = referenced_names(
            r#"histogram_quantile(0.9, sum by (le) (rate(a_bucket{job="x"}[5m])))
               / on() group_left b + avg_over_time(c[1h:1m]) and {__name__="d"} or -e offset 5m"#,
        )
        .unwrap();
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            ["a_bucket", "b", "c", "d", "e"]
        );
    }

    #[test]
    fn rejects_what_cannot_be_checked() {
        assert!(referenced_names("rate(x[5m]")
            .unwrap_err()
            .contains("rate(x[5m]"));
        assert!(referenced_names(r#"{__name__=~"http_.*"}"#)
            .unwrap_err()
            .contains("names must be exact"));
        assert!(referenced_names(r#"{job="x"}"#).is_err());
        let known: BTreeSet<String> = ["a".to_string()].into();
        assert!(check_expr("a + b", &known).unwrap_err().contains("uses b"));
        assert!(check_expr("sum(a)", &known).is_ok());
    }
}
