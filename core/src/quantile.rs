//! Quantiles over a sliding time window, for summaries that report percentiles (prom-client's
//! `maxAgeSeconds`/`ageBuckets`).
//!
//! Each age bucket is a log-bucketed sketch with a relative error bound: a value `v` lands in
//! bucket `ceil(log_γ |v|)` with `γ = (1+α)/(1-α)`, and a quantile is answered with the
//! bucket's midpoint, within `α` (1%) of a true sample value of that rank. Memory is bounded
//! by the value range, not the number of observations (about 2,000 buckets span 1e-9…1e9).
//! Observations go into the newest age bucket; a query merges all of them; rotation clears the
//! oldest, so a query sees between `max_age·(n-1)/n` and `max_age` of history.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Relative accuracy of a reported quantile.
pub(crate) const RELATIVE_ACCURACY: f64 = 0.01;

/// Values smaller than this in magnitude count as zero (keeps the bucket index bounded).
const MIN_MAGNITUDE: f64 = 1e-12;

#[derive(Debug, Clone, Default)]
struct Sketch {
    positive: BTreeMap<i32, u64>,
    negative: BTreeMap<i32, u64>,
    zero: u64,
}

impl Sketch {
    fn clear(&mut self) {
        self.positive.clear();
        self.negative.clear();
        self.zero = 0;
    }
}

#[derive(Debug, Clone)]
pub(crate) struct QuantileWindow {
    slices: Vec<Sketch>,
    newest: usize,
    /// Zero: one slice that is never rotated (quantiles over all time).
    slice_len: Duration,
    last_rotation: Instant,
    ln_gamma: f64,
}

impl QuantileWindow {
    /// `max_age` of zero (or `age_buckets` of zero) keeps every observation's bucket forever.
    pub(crate) fn new(max_age: Duration, age_buckets: usize) -> Self {
        let (n, slice_len) = if max_age.is_zero() || age_buckets == 0 {
            (1, Duration::ZERO)
        } else {
            (age_buckets, max_age / age_buckets as u32)
        };
        let gamma = (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY);
        QuantileWindow {
            slices: vec![Sketch::default(); n],
            newest: 0,
            slice_len,
            last_rotation: Instant::now(),
            ln_gamma: gamma.ln(),
        }
    }

    fn rotate(&mut self, now: Instant) {
        if self.slice_len.is_zero() {
            return;
        }
        let mut steps = 0;
        while now.duration_since(self.last_rotation) >= self.slice_len {
            self.last_rotation += self.slice_len;
            self.newest = (self.newest + 1) % self.slices.len();
            self.slices[self.newest].clear();
            steps += 1;
            if steps >= self.slices.len() {
                // Idle for longer than the window: everything is gone; catch the clock up.
                self.last_rotation = now;
                break;
            }
        }
    }

    /// Records `v`; NaN is ignored.
    pub(crate) fn observe(&mut self, v: f64) {
        if v.is_nan() {
            return;
        }
        self.rotate(Instant::now());
        let ln_gamma = self.ln_gamma;
        let s = &mut self.slices[self.newest];
        let m = v.abs();
        if m < MIN_MAGNITUDE {
            s.zero += 1;
            return;
        }
        let key = (m.min(f64::MAX).ln() / ln_gamma).ceil() as i32;
        let side = if v > 0.0 {
            &mut s.positive
        } else {
            &mut s.negative
        };
        *side.entry(key).or_insert(0) += 1;
    }

    /// Observations in the window.
    #[cfg(test)]
    pub(crate) fn len(&mut self) -> u64 {
        self.rotate(Instant::now());
        self.slices
            .iter()
            .map(|s| s.zero + s.positive.values().sum::<u64>() + s.negative.values().sum::<u64>())
            .sum()
    }

    /// Each of `qs` (in 0..=1) over the window, or `None` for all of them when it is empty.
    pub(crate) fn quantiles(&mut self, qs: &[f64]) -> Option<Vec<f64>> {
        self.rotate(Instant::now());
        let mut positive: BTreeMap<i32, u64> = BTreeMap::new();
        let mut negative: BTreeMap<i32, u64> = BTreeMap::new();
        let mut zero = 0;
        for s in &self.slices {
            for (k, c) in &s.positive {
                *positive.entry(*k).or_insert(0) += c;
            }
            for (k, c) in &s.negative {
                *negative.entry(*k).or_insert(0) += c;
            }
            zero += s.zero;
        }
        let total = zero + positive.values().sum::<u64>() + negative.values().sum::<u64>();
        if total == 0 {
            return None;
        }
        let gamma = self.ln_gamma.exp();
        let mid = |k: i32| 2.0 * gamma.powi(k) / (gamma + 1.0);
        // Ascending order: most negative first, then zero, then positives.
        let ordered: Vec<(f64, u64)> = negative
            .iter()
            .rev()
            .map(|(k, c)| (-mid(*k), *c))
            .chain((zero > 0).then_some((0.0, zero)))
            .chain(positive.iter().map(|(k, c)| (mid(*k), *c)))
            .collect();
        Some(
            qs.iter()
                .map(|q| {
                    let rank = (q.clamp(0.0, 1.0) * (total - 1) as f64).floor() as u64;
                    let mut seen = 0;
                    for (v, c) in &ordered {
                        seen += c;
                        if seen > rank {
                            return *v;
                        }
                    }
                    ordered.last().map_or(0.0, |(v, _)| *v)
                })
                .collect(),
        )
    }

    pub(crate) fn reset(&mut self) {
        for s in &mut self.slices {
            s.clear();
        }
        self.last_rotation = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_within_relative_error() {
        let mut w = QuantileWindow::new(Duration::ZERO, 0);
        for i in 1..=10_000 {
            w.observe(i as f64);
        }
        let got = w.quantiles(&[0.01, 0.5, 0.9, 0.99]).unwrap();
        for (g, want) in got.iter().zip([100.0, 5000.0, 9000.0, 9900.0]) {
            assert!((g - want).abs() / want <= 0.011, "{g} vs {want}");
        }
        assert_eq!(w.len(), 10_000);
    }

    #[test]
    fn negatives_and_zero_are_ordered() {
        let mut w = QuantileWindow::new(Duration::ZERO, 0);
        for v in [-5.0, -1.0, 0.0, 2.0, 8.0] {
            w.observe(v);
        }
        let got = w.quantiles(&[0.0, 0.5, 1.0]).unwrap();
        assert!((got[0] + 5.0).abs() < 0.06);
        assert_eq!(got[1], 0.0);
        assert!((got[2] - 8.0).abs() < 0.09);
    }

    #[test]
    fn old_observations_age_out() {
        let mut w = QuantileWindow::new(Duration::from_millis(40), 2);
        w.observe(1.0);
        assert_eq!(w.len(), 1);
        std::thread::sleep(Duration::from_millis(50));
        w.observe(3.0);
        assert_eq!(w.len(), 1, "the first observation has left the window");
        assert!(w.quantiles(&[0.5]).unwrap()[0] > 2.9);
        w.reset();
        assert_eq!(w.quantiles(&[0.5]), None);
    }
}
