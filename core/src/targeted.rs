//! Targeted quantiles over a sliding time window: the estimator behind summaries with quantile
//! objectives, with client_golang's semantics (its `summary` type fed through
//! beorn7/perks' `quantile.NewTargeted`), so a Go program moved to footmetrics reports the
//! very same quantile values. (Node's prom-client semantics are [`crate::quantile`]'s.)
//!
//! # The stream ([`TargetedStream`])
//! The CKMS "biased quantiles" summary (Cormode, Korn, Muthukrishnan, Srivastava) with the
//! targeted invariant: for each objective `(q, ε)`, an entry at rank `r` of `n` may cover
//! `2εr/q` ranks when `qn ≤ r`, else `2ε(n-r)/(1-q)`; the invariant is the smallest over the
//! objectives. Inserts collect in a 500-value buffer that is sorted and merged into the sample
//! list when full or when queried; after each merge the list is compressed from the top.
//! Before the first merge, a query answers from the sorted buffer exactly (rank `⌈qn⌉`).
//! The arithmetic follows perks step by step (same `f64` operations in the same order), which
//! is what makes the outputs identical rather than merely within the error bound.
//!
//! # The window ([`TargetedQuantiles`])
//! `age_buckets` streams; every observation goes into each of them. Observations first
//! collect in a hot buffer of `buf_cap` values that is flushed into the streams when full,
//! when an observation arrives after the buffer's expiry, and on every read. A read answers
//! from the head stream, the oldest; each `max_age / age_buckets`, the head is reset and
//! the next stream becomes the head, so the head holds between `max_age·(n-1)/n` and
//! `max_age` of history. Time is passed in (`now`), so tests drive the clock.
//!
//! Not thread-safe by itself: the summary child wraps it in a mutex.

use crate::error::{Error, Result};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// client_golang's `DefMaxAge`.
pub(crate) const DEFAULT_MAX_AGE: Duration = Duration::from_secs(600);
/// client_golang's `DefAgeBuckets`.
pub(crate) const DEFAULT_AGE_BUCKETS: u32 = 5;
/// client_golang's `DefBufCap`.
pub(crate) const DEFAULT_BUF_CAP: u32 = 500;
/// perks' per-stream insert buffer (fixed, independent of `buf_cap`).
const STREAM_BUF: usize = 500;

/// The objectives and window of a summary: what [`TargetedQuantiles::new`] takes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Objectives {
    /// `(quantile, epsilon)` pairs, sorted by quantile.
    targets: Arc<[(f64, f64)]>,
    pub(crate) max_age: Duration,
    pub(crate) age_buckets: u32,
    pub(crate) buf_cap: u32,
}

impl Objectives {
    /// Validates `(quantile, epsilon)` pairs (`0 < q < 1`, `0 ≤ ε < 1`, no quantile twice) and
    /// the window; zero `max_age`, `age_buckets` or `buf_cap` take client_golang's defaults.
    pub(crate) fn new(
        targets: &[(f64, f64)],
        max_age: Duration,
        age_buckets: u32,
        buf_cap: u32,
    ) -> Result<Self> {
        if targets.is_empty() {
            return Err(Error::InvalidOption(
                "a summary with quantiles needs at least one objective".into(),
            ));
        }
        let mut sorted = targets.to_vec();
        for &(q, eps) in &sorted {
            if !(q > 0.0 && q < 1.0) {
                return Err(Error::InvalidOption(format!(
                    "summary objective quantile {q} is not between 0 and 1 (exclusive)"
                )));
            }
            if !(0.0..1.0).contains(&eps) {
                return Err(Error::InvalidOption(format!(
                    "summary objective {q} has error {eps}: it must be at least 0 and below 1"
                )));
            }
        }
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        if let Some(w) = sorted.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(Error::InvalidOption(format!(
                "summary objective quantile {} is given twice",
                w[0].0
            )));
        }
        let max_age = if max_age.is_zero() {
            DEFAULT_MAX_AGE
        } else {
            max_age
        };
        let age_buckets = if age_buckets == 0 {
            DEFAULT_AGE_BUCKETS
        } else {
            age_buckets
        };
        let buf_cap = if buf_cap == 0 {
            DEFAULT_BUF_CAP
        } else {
            buf_cap
        };
        if (max_age / age_buckets).is_zero() {
            return Err(Error::InvalidOption(format!(
                "summary max age {max_age:?} is shorter than its {age_buckets} age buckets"
            )));
        }
        Ok(Objectives {
            targets: sorted.into(),
            max_age,
            age_buckets,
            buf_cap,
        })
    }

    /// The objective quantiles, ascending.
    pub(crate) fn quantiles(&self) -> impl Iterator<Item = f64> + '_ {
        self.targets.iter().map(|t| t.0)
    }
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    value: f64,
    width: f64,
    delta: f64,
}

/// One CKMS stream with targeted objectives (perks' `Stream` from `NewTargeted`).
#[derive(Debug, Clone)]
pub(crate) struct TargetedStream {
    targets: Arc<[(f64, f64)]>,
    /// Observations merged into `list` (a float, as perks keeps it).
    n: f64,
    list: Vec<Sample>,
    buf: Vec<f64>,
    sorted: bool,
}

impl TargetedStream {
    fn new(targets: Arc<[(f64, f64)]>) -> Self {
        TargetedStream {
            targets,
            n: 0.0,
            list: Vec::new(),
            buf: Vec::with_capacity(STREAM_BUF),
            sorted: true,
        }
    }

    /// The number of ranks an entry at rank `r` may span: the tightest objective's bound.
    fn invariant(&self, r: f64) -> f64 {
        let n = self.n;
        let mut m = f64::MAX;
        for &(q, eps) in self.targets.iter() {
            let f = if q * n <= r {
                (2.0 * eps * r) / q
            } else {
                (2.0 * eps * (n - r)) / (1.0 - q)
            };
            if f < m {
                m = f;
            }
        }
        m
    }

    pub(crate) fn insert(&mut self, v: f64) {
        self.buf.push(v);
        self.sorted = false;
        if self.buf.len() == STREAM_BUF {
            self.flush();
        }
    }

    /// Observations in the stream, buffered ones included.
    pub(crate) fn count(&self) -> u64 {
        self.buf.len() as u64 + self.n as u64
    }

    pub(crate) fn reset(&mut self) {
        self.list.clear();
        self.n = 0.0;
        self.buf.clear();
    }

    /// The `q` quantile; 0 when empty (callers report NaN for an empty stream first).
    pub(crate) fn query(&mut self, q: f64) -> f64 {
        if self.list.is_empty() {
            // Nothing merged yet: exact, from the buffer.
            let l = self.buf.len();
            if l == 0 {
                return 0.0;
            }
            let i = ((l as f64) * q).ceil() as usize;
            let i = i.saturating_sub(1).min(l - 1);
            self.sort_buf();
            return self.buf[i];
        }
        self.flush();
        let mut t = (q * self.n).ceil();
        t += (self.invariant(t) / 2.0).ceil();
        let mut p = self.list[0];
        let mut r = 0.0;
        for c in &self.list[1..] {
            r += p.width;
            if r + c.width + c.delta > t {
                return p.value;
            }
            p = *c;
        }
        p.value
    }

    fn sort_buf(&mut self) {
        if !self.sorted {
            self.sorted = true;
            // NaN never gets here (summaries drop it before the estimator).
            self.buf
                .sort_unstable_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        }
    }

    fn flush(&mut self) {
        self.sort_buf();
        let buf = std::mem::take(&mut self.buf);
        self.merge(&buf);
        self.buf = buf;
        self.buf.clear();
    }

    /// Merges sorted values (each of width 1) into the sample list, then compresses.
    fn merge(&mut self, values: &[f64]) {
        let mut r = 0.0;
        let mut i = 0;
        for &v in values {
            let mut inserted = false;
            while i < self.list.len() {
                let c = self.list[i];
                if c.value > v {
                    let delta = f64::max(0.0, self.invariant(r).floor() - 1.0);
                    self.list.insert(
                        i,
                        Sample {
                            value: v,
                            width: 1.0,
                            delta,
                        },
                    );
                    i += 1;
                    inserted = true;
                    break;
                }
                r += c.width;
                i += 1;
            }
            if !inserted {
                self.list.push(Sample {
                    value: v,
                    width: 1.0,
                    delta: 0.0,
                });
                i += 1;
            }
            self.n += 1.0;
            r += 1.0;
        }
        self.compress();
    }

    /// Folds each entry into its upper neighbour while the invariant allows, top down.
    fn compress(&mut self) {
        if self.list.len() < 2 {
            return;
        }
        let mut xi = self.list.len() - 1;
        let mut x = self.list[xi];
        let mut r = self.n - 1.0 - x.width;
        for i in (0..self.list.len() - 1).rev() {
            let c = self.list[i];
            if c.width + x.width + x.delta <= self.invariant(r) {
                x.width += c.width;
                self.list[xi] = x;
                self.list.remove(i);
                xi -= 1;
            } else {
                x = c;
                xi = i;
            }
            r -= c.width;
        }
    }
}

/// A sliding window of [`TargetedStream`]s fed through a hot buffer (client_golang's summary
/// with objectives). See the module documentation.
#[derive(Debug, Clone)]
pub(crate) struct TargetedQuantiles {
    objectives: Objectives,
    streams: Vec<TargetedStream>,
    head: usize,
    stream_duration: Duration,
    /// When the head stream is due for reset.
    head_exp: Instant,
    /// When the hot buffer is due for a flush; always `head_exp` plus whole stream durations.
    hot_exp: Instant,
    hot: Vec<f64>,
}

impl TargetedQuantiles {
    pub(crate) fn new(objectives: &Objectives, now: Instant) -> Self {
        let stream_duration = objectives.max_age / objectives.age_buckets;
        let streams = (0..objectives.age_buckets)
            .map(|_| TargetedStream::new(objectives.targets.clone()))
            .collect();
        TargetedQuantiles {
            objectives: objectives.clone(),
            streams,
            head: 0,
            stream_duration,
            head_exp: now + stream_duration,
            hot_exp: now + stream_duration,
            hot: Vec::with_capacity(objectives.buf_cap as usize),
        }
    }

    /// Records `v` at time `now`. Callers drop NaN first (its order is undefined).
    pub(crate) fn observe(&mut self, v: f64, now: Instant) {
        if now > self.hot_exp {
            self.flush(now);
        }
        self.hot.push(v);
        if self.hot.len() >= self.objectives.buf_cap as usize {
            self.flush(now);
        }
    }

    /// Moves the hot buffer into every stream and retires streams older than the window.
    pub(crate) fn flush(&mut self, now: Instant) {
        if now > self.hot_exp {
            // Advance by whole stream durations to the first expiry at or after `now`.
            let behind = (now - self.hot_exp).as_nanos();
            let step = self.stream_duration.as_nanos();
            let advance = behind.div_ceil(step) * step;
            self.hot_exp += Duration::new(
                (advance / 1_000_000_000) as u64,
                (advance % 1_000_000_000) as u32,
            );
            debug_assert!(now <= self.hot_exp && self.hot_exp - now < self.stream_duration);
        }
        let hot = std::mem::take(&mut self.hot);
        for &v in &hot {
            for s in &mut self.streams {
                s.insert(v);
            }
        }
        self.hot = hot;
        self.hot.clear();
        // Rotate until the head expires with the hot buffer; each passing head is reset.
        let behind = (self.hot_exp - self.head_exp).as_nanos() / self.stream_duration.as_nanos();
        let len = self.streams.len();
        let resets = behind.min(len as u128) as usize;
        for k in 0..resets {
            self.streams[(self.head + k) % len].reset();
        }
        self.head = ((self.head as u128 + behind) % len as u128) as usize;
        self.head_exp = self.hot_exp;
    }

    /// `(quantile, value)` for each objective, ascending; NaN values when the window is empty.
    pub(crate) fn quantiles(&mut self, now: Instant) -> Vec<(f64, f64)> {
        self.flush(now);
        let Self {
            objectives,
            streams,
            head,
            ..
        } = self;
        let head = &mut streams[*head];
        objectives
            .quantiles()
            .map(|q| {
                let v = if head.count() == 0 {
                    f64::NAN
                } else {
                    head.query(q)
                };
                (q, v)
            })
            .collect()
    }

    /// Forgets every observation (the window's timing is kept).
    pub(crate) fn reset(&mut self) {
        self.hot.clear();
        self.streams.iter_mut().for_each(TargetedStream::reset);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*: reproducible data without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next_f64(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn objectives(t: &[(f64, f64)]) -> Objectives {
        Objectives::new(t, Duration::ZERO, 0, 0).unwrap()
    }

    #[test]
    fn rank_error_within_epsilon_on_random_data() {
        let targets = [(0.5, 0.05), (0.9, 0.01), (0.99, 0.001)];
        for (seed, n) in [(1u64, 10_000usize), (7, 2_345), (99, 50_000)] {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let start = Instant::now();
            let mut w = TargetedQuantiles::new(&objectives(&targets), start);
            let mut all = Vec::with_capacity(n);
            for _ in 0..n {
                let v = rng.next_f64() * 1000.0 - 200.0;
                all.push(v);
                w.observe(v, start);
            }
            all.sort_by(f64::total_cmp);
            for (q, got) in w.quantiles(start) {
                let eps = targets.iter().find(|t| t.0 == q).unwrap().1;
                // The rank range of `got` among the exact data.
                let lo = all.partition_point(|x| *x < got) as f64;
                let hi = all.partition_point(|x| *x <= got) as f64;
                let want = q * n as f64;
                let slack = eps * n as f64 + 1.0;
                assert!(
                    hi >= want - slack && lo <= want + slack,
                    "seed {seed}: q={q} got {got} at ranks {lo}..{hi}, want {want}±{slack}"
                );
            }
        }
    }

    #[test]
    fn small_sets_are_exact_and_empty_is_nan() {
        let start = Instant::now();
        let mut w = TargetedQuantiles::new(&objectives(&[(0.5, 0.05), (0.9, 0.01)]), start);
        assert!(w.quantiles(start).iter().all(|(_, v)| v.is_nan()));
        w.observe(10.0, start);
        w.observe(20.0, start);
        assert_eq!(w.quantiles(start), vec![(0.5, 10.0), (0.9, 20.0)]);
        w.reset();
        assert!(w.quantiles(start).iter().all(|(_, v)| v.is_nan()));
    }

    #[test]
    fn hot_buffer_is_flushed_on_read_and_when_full() {
        let start = Instant::now();
        let o = Objectives::new(&[(0.5, 0.05)], Duration::ZERO, 0, 4).unwrap();
        let mut w = TargetedQuantiles::new(&o, start);
        for v in [1.0, 2.0, 3.0] {
            w.observe(v, start);
        }
        assert_eq!(w.hot.len(), 3);
        assert_eq!(w.streams[0].count(), 0, "still in the hot buffer");
        assert_eq!(w.quantiles(start), vec![(0.5, 2.0)], "a read flushes");
        assert!(w.hot.is_empty());
        assert!(w.streams.iter().all(|s| s.count() == 3));
        for v in [4.0, 5.0, 6.0, 7.0] {
            w.observe(v, start);
        }
        assert!(w.hot.is_empty(), "a full buffer flushes");
        assert!(w.streams.iter().all(|s| s.count() == 7));
    }

    #[test]
    fn window_rotates_with_the_clock() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        // 40 s in 4 streams of 10 s each.
        let o = Objectives::new(&[(0.5, 0.01)], s(40), 4, 0).unwrap();
        let mut w = TargetedQuantiles::new(&o, t0);
        w.observe(1.0, t0);
        assert_eq!(w.quantiles(t0 + s(5)), vec![(0.5, 1.0)]);
        // 15 s: the first head (due at 10 s) was reset, but 1 is in every other stream.
        w.observe(100.0, t0 + s(15));
        w.observe(100.0, t0 + s(15));
        assert_eq!(w.head, 1);
        assert_eq!(w.quantiles(t0 + s(15)), vec![(0.5, 100.0)]);
        assert_eq!(w.streams[1].count(), 3);
        // Exactly at an expiry nothing rotates (expiry is strictly after).
        let _ = w.quantiles(t0 + s(20));
        assert_eq!(w.head, 1);
        let _ = w.quantiles(t0 + s(20) + Duration::from_nanos(1));
        assert_eq!(w.head, 2);
        // After the whole window plus a stream, nothing is left.
        assert!(w.quantiles(t0 + s(65)).iter().all(|(_, v)| v.is_nan()));
        // A long idle period rotates arithmetically and keeps the phase.
        w.observe(5.0, t0 + s(3600 * 24 + 3));
        assert_eq!(w.head_exp, t0 + s(3600 * 24 + 10));
        assert_eq!(w.quantiles(t0 + s(3600 * 24 + 4)), vec![(0.5, 5.0)]);
    }

    #[test]
    fn observations_of_a_past_period_reach_later_streams_only() {
        // client_golang inserts the buffered values before it retires the head.
        let t0 = Instant::now();
        let o = Objectives::new(&[(0.5, 0.01)], Duration::from_secs(20), 2, 0).unwrap();
        let mut w = TargetedQuantiles::new(&o, t0);
        w.observe(7.0, t0);
        assert_eq!(w.quantiles(t0 + Duration::from_secs(11)), vec![(0.5, 7.0)]);
        assert!(w.quantiles(t0 + Duration::from_secs(21))[0].1.is_nan());
    }

    #[test]
    fn validation() {
        let bad = |t: &[(f64, f64)]| Objectives::new(t, Duration::ZERO, 0, 0).unwrap_err();
        for t in [
            vec![],
            vec![(0.0, 0.01)],
            vec![(1.0, 0.01)],
            vec![(f64::NAN, 0.01)],
            vec![(0.5, -0.1)],
            vec![(0.5, 1.0)],
            vec![(0.5, f64::NAN)],
            vec![(0.5, 0.1), (0.5, 0.01)],
        ] {
            assert!(matches!(bad(&t), Error::InvalidOption(_)), "{t:?}");
        }
        assert!(Objectives::new(&[(0.5, 0.0)], Duration::from_nanos(3), 5, 0).is_err());
        let o = Objectives::new(&[(0.9, 0.01), (0.5, 0.05)], Duration::ZERO, 0, 0).unwrap();
        assert_eq!(o.quantiles().collect::<Vec<_>>(), vec![0.5, 0.9]);
        assert_eq!(
            (o.max_age, o.age_buckets, o.buf_cap),
            (DEFAULT_MAX_AGE, 5, 500)
        );
    }
}
