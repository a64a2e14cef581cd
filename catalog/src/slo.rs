//! SLOs and alerts as the catalog declares them, and the rules they obey.

use crate::{Catalog, Kind};
use serde::Deserialize;

/// How an SLO measures good events.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SliKind {
    /// `good / total`, two PromQL expressions over catalog counters with `$window` for the range.
    Ratio,
    /// The share of a histogram's observations at or under a bucket bound.
    Latency,
    /// The share of time a gauge's 5-minute average stays at or above a threshold.
    Threshold,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SloDef {
    pub name: String,
    pub description: String,
    /// The alert names' prefix (`PlatformAvailability` + `FastBurn`); the name in CamelCase
    /// when absent.
    #[serde(default)]
    pub alert_prefix: Option<String>,
    pub sli: SliKind,
    #[serde(default)]
    pub good: Option<String>,
    #[serde(default)]
    pub total: Option<String>,
    #[serde(default)]
    pub metric: Option<String>,
    /// Label matchers without braces (`job="ml-pipeline"`), applied to `metric`.
    #[serde(default)]
    pub selector: Option<String>,
    #[serde(default)]
    pub threshold_seconds: Option<f64>,
    #[serde(default)]
    pub quantile: Option<f64>,
    #[serde(default)]
    pub threshold: Option<f64>,
    /// The objective, a ratio in (0, 1).
    pub target: f64,
    /// The compliance window, a Prometheus duration (`30d`).
    pub window: String,
    pub service: String,
    pub team: String,
    pub runbook: String,
    /// Not in the file: set when the catalog is parsed, true when `metric` is a native
    /// histogram (its rules then use native PromQL).
    #[serde(skip)]
    pub native: bool,
}

impl SloDef {
    pub fn alert_prefix(&self) -> String {
        self.alert_prefix
            .clone()
            .unwrap_or_else(|| crate::camel(&self.name))
    }

    /// `good` with `$window` replaced.
    pub fn good_over(&self, window: &str) -> String {
        self.good
            .as_deref()
            .unwrap_or("")
            .replace("$window", window)
    }

    /// `total` with `$window` replaced.
    pub fn total_over(&self, window: &str) -> String {
        self.total
            .as_deref()
            .unwrap_or("")
            .replace("$window", window)
    }

    /// The SLO's allowed error ratio, `1 - target`, as PromQL (`(1 - 0.999)`): Prometheus does
    /// the subtraction, so the rule shows the target as declared.
    pub fn budget_expr(&self) -> String {
        format!("(1 - {})", self.target)
    }
}

/// An alert the platform document specifies, beyond the generated burn-rate alerts.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertDef {
    pub name: String,
    /// The rule group it belongs to (`platform.critical`).
    pub group: String,
    pub expr: String,
    #[serde(rename = "for")]
    pub for_duration: String,
    pub severity: String,
    pub service: String,
    pub team: String,
    pub runbook: String,
    pub summary: String,
    pub description: String,
}

/// One multi-window, multi-burn-rate alert tier (Google SRE workbook, chapter 5): the alert
/// fires when both windows burn the budget faster than `factor`. The long window makes it
/// significant, the short one makes it stop soon after the burn does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnTier {
    pub factor: f64,
    pub long: &'static str,
    pub short: &'static str,
    /// The long window in hours, to say how much budget the tier stands for.
    pub long_hours: f64,
    pub severity: &'static str,
    /// `fast`, ...: the `burn_rate` label and the alert name's middle (`FastBurn`).
    pub speed: &'static str,
    /// How long the condition must hold: pages wait the seed's 2m against scrape glitches;
    /// tickets rely on their long windows.
    pub for_duration: Option<&'static str>,
}

pub const BURN_TIERS: [BurnTier; 4] = [
    BurnTier {
        factor: 14.4,
        long: "1h",
        short: "5m",
        long_hours: 1.0,
        severity: "critical",
        speed: "fast",
        for_duration: Some("2m"),
    },
    BurnTier {
        factor: 6.0,
        long: "6h",
        short: "30m",
        long_hours: 6.0,
        severity: "critical",
        speed: "medium",
        for_duration: Some("2m"),
    },
    BurnTier {
        factor: 3.0,
        long: "1d",
        short: "2h",
        long_hours: 24.0,
        severity: "warning",
        speed: "slow",
        for_duration: None,
    },
    BurnTier {
        factor: 1.0,
        long: "3d",
        short: "6h",
        long_hours: 72.0,
        severity: "warning",
        speed: "gradual",
        for_duration: None,
    },
];

/// Every window an error ratio is recorded over, shortest first.
pub const ERROR_RATIO_WINDOWS: [&str; 7] = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];

/// A Prometheus duration (`30d`, `1h30m`) in hours.
pub fn duration_hours(d: &str) -> Option<f64> {
    let mut hours = 0.0;
    let mut digits = String::new();
    let mut chars = d.chars().peekable();
    if d.is_empty() {
        return None;
    }
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = if c == 'm' && chars.peek() == Some(&'s') {
            chars.next();
            "ms"
        } else {
            match c {
                'y' => "y",
                'w' => "w",
                'd' => "d",
                'h' => "h",
                'm' => "m",
                's' => "s",
                _ => return None,
            }
        };
        let n: f64 = std::mem::take(&mut digits).parse().ok()?;
        hours += n * match unit {
            "y" => 365.0 * 24.0,
            "w" => 7.0 * 24.0,
            "d" => 24.0,
            "h" => 1.0,
            "m" => 1.0 / 60.0,
            "s" => 1.0 / 3600.0,
            _ => 1.0 / 3_600_000.0,
        };
    }
    digits.is_empty().then_some(hours)
}

/// `0.99` -> `p99`, `0.995` -> `p99_5`: the percentile's name in recording rules.
pub fn percentile_name(q: f64) -> String {
    let p = format!("{}", (q * 1000.0).round() / 10.0);
    format!("p{}", p.replace('.', "_"))
}

pub(crate) fn validate(c: &Catalog) -> Result<(), String> {
    let mut names = std::collections::HashSet::new();
    for s in &c.slos {
        let fail = |why: &str| Err(format!("slo {:?}: {why}", s.name));
        if !crate::valid_name(&s.name, false) {
            return fail("the name must be a valid label name (it goes into rule names)");
        }
        if !names.insert(s.name.clone()) {
            return fail("declared twice");
        }
        if !(s.target > 0.0 && s.target < 1.0) {
            return fail("target must be a ratio in (0, 1)");
        }
        match duration_hours(&s.window) {
            Some(h) if h >= BURN_TIERS[3].long_hours => {}
            _ => return fail("window must be a Prometheus duration of at least 3d"),
        }
        let metric = s
            .metric
            .as_ref()
            .map(|n| c.metrics.iter().find(|m| &m.name == n).ok_or(n));
        match (s.sli, metric) {
            (SliKind::Ratio, None) => {
                for (key, e) in [("good", &s.good), ("total", &s.total)] {
                    match e {
                        Some(e) if e.contains("$window") => {}
                        _ => {
                            return fail(&format!(
                                "a ratio SLI needs `{key}`, a PromQL expression using $window"
                            ))
                        }
                    }
                }
            }
            (SliKind::Ratio, Some(_)) => return fail("a ratio SLI takes good/total, not metric"),
            (_, None) => return fail("needs `metric`, a catalog metric"),
            (_, Some(Err(name))) => return fail(&format!("metric {name:?} is not in the catalog")),
            (SliKind::Latency, Some(Ok(m))) => {
                if m.kind != Kind::Histogram {
                    return fail("a latency SLI needs a histogram");
                }
                match s.threshold_seconds {
                    // Native buckets have no bound to match: histogram_fraction interpolates
                    // within the bucket holding the threshold (at most 2^(2^-schema) wide).
                    Some(t) if m.native && t > 0.0 && t.is_finite() => {}
                    Some(t) if m.buckets.contains(&t) => {}
                    _ => {
                        return fail(&format!(
                            "threshold_seconds must be one of {}'s bucket bounds {:?}, so the \
                             share under it is exact",
                            m.name, m.buckets
                        ))
                    }
                }
                if !matches!(s.quantile, Some(q) if q > 0.0 && q < 1.0) {
                    return fail("quantile must be in (0, 1)");
                }
            }
            (SliKind::Threshold, Some(Ok(m))) => {
                if m.kind != Kind::Gauge {
                    return fail("a threshold SLI needs a gauge");
                }
                if !s.threshold.is_some_and(f64::is_finite) {
                    return fail("needs a finite `threshold`");
                }
            }
        }
        if s.sli != SliKind::Ratio && (s.good.is_some() || s.total.is_some()) {
            return fail("good/total belong to ratio SLIs");
        }
    }
    let mut alerts = std::collections::HashSet::new();
    for a in &c.alerts {
        let fail = |why: &str| Err(format!("alert {:?}: {why}", a.name));
        if !crate::valid_name(&a.name, false) {
            return fail("invalid alert name");
        }
        if !alerts.insert(a.name.clone()) {
            return fail("declared twice");
        }
        if duration_hours(&a.for_duration).is_none() {
            return fail("`for` must be a Prometheus duration");
        }
        for (k, v) in [
            ("severity", &a.severity),
            ("team", &a.team),
            ("runbook", &a.runbook),
            ("summary", &a.summary),
            ("description", &a.description),
        ] {
            if v.trim().is_empty() {
                return fail(&format!("{k} is empty"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_percentiles() {
        assert_eq!(duration_hours("30d"), Some(720.0));
        assert_eq!(duration_hours("1h30m"), Some(1.5));
        assert_eq!(duration_hours("5m"), Some(5.0 / 60.0));
        assert_eq!(duration_hours("5"), None);
        assert_eq!(duration_hours("5x"), None);
        assert_eq!(duration_hours(""), None);
        assert_eq!(percentile_name(0.99), "p99");
        assert_eq!(percentile_name(0.995), "p99_5");
        assert_eq!(percentile_name(0.5), "p50");
    }

    #[test]
    fn budget_shares_of_the_tiers_follow_the_workbook() {
        // 2% of a 30-day budget in 1 hour, 5% in 6 hours, 10% in 1 and in 3 days.
        let shares: Vec<f64> = BURN_TIERS
            .iter()
            .map(|t| (t.factor * t.long_hours / 720.0 * 1000.0).round() / 10.0)
            .collect();
        assert_eq!(shares, vec![2.0, 5.0, 10.0, 10.0]);
    }
}
