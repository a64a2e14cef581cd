//! State sets (OpenMetrics `stateset`) and enums: one sample per declared state, `1` when the
//! state is on. In the classic format they are gauges. The state label is named after the
//! metric, as `prometheus_client`'s `Enum` does.

use crate::error::{Error, Result};
use crate::fmt::escape_label_value;
use crate::metric::{ChildMeta, Metric, MetricType, PointValue, SeriesWriter};
use crate::opts::Opts;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// At most 64 states: the on/off bits live in one atomic word.
pub(crate) const MAX_STATES: usize = 64;

#[derive(Debug)]
pub struct StateSetConfig {
    label: String,
    states: Arc<[String]>,
    escaped: Box<[String]>,
}

#[derive(Debug)]
pub(crate) struct StateSetCore {
    bits: AtomicU64,
    states: Arc<[String]>,
    meta: ChildMeta,
}

/// A handle to one state set. Starts with the first state on (enum semantics).
#[derive(Debug, Clone)]
pub struct StateSet(Arc<StateSetCore>);

impl StateSet {
    fn index(&self, state: &str) -> Result<usize> {
        self.0
            .states
            .iter()
            .position(|s| s == state)
            .ok_or_else(|| {
                Error::InvalidState(format!("{state:?} is not one of {:?}", self.0.states))
            })
    }

    /// Enum semantics: turns `state` on and every other state off.
    pub fn state(&self, state: &str) -> Result<()> {
        let i = self.index(state)?;
        self.0.bits.store(1 << i, Ordering::Relaxed);
        Ok(())
    }

    /// State-set semantics: turns one state on or off, leaving the others.
    pub fn set(&self, state: &str, on: bool) -> Result<()> {
        let bit = 1u64 << self.index(state)?;
        if on {
            self.0.bits.fetch_or(bit, Ordering::Relaxed);
        } else {
            self.0.bits.fetch_and(!bit, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Every state with whether it is on.
    pub fn get(&self) -> Vec<(String, bool)> {
        let bits = self.0.bits.load(Ordering::Relaxed);
        self.0
            .states
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), bits & (1 << i) != 0))
            .collect()
    }
}

impl Metric for StateSet {
    fn into_raw(self) -> *const () {
        Arc::into_raw(self.0) as *const ()
    }

    unsafe fn from_raw(p: *const ()) -> Self {
        // SAFETY: the caller's contract: `p` is from `into_raw`, its reference not taken back.
        StateSet(unsafe { Arc::from_raw(p as *const StateSetCore) })
    }

    fn as_raw(&self) -> *const () {
        Arc::as_ptr(&self.0) as *const ()
    }

    const TYPE: MetricType = MetricType::StateSet;
    type Config = StateSetConfig;

    fn config(opts: &Opts) -> Result<StateSetConfig> {
        if opts.buckets.is_some() {
            return Err(Error::InvalidOption("state sets take no buckets".into()));
        }
        if opts.states.is_empty() || opts.states.len() > MAX_STATES {
            return Err(Error::InvalidState(format!(
                "a state set needs 1 to {MAX_STATES} states, got {}",
                opts.states.len()
            )));
        }
        for (i, s) in opts.states.iter().enumerate() {
            if opts.states[..i].contains(s) {
                return Err(Error::InvalidState(format!(
                    "state {s:?} is declared twice"
                )));
            }
        }
        let escaped = opts
            .states
            .iter()
            .map(|s| {
                let mut e = String::new();
                escape_label_value(&mut e, s);
                e
            })
            .collect();
        Ok(StateSetConfig {
            label: opts.fq_name(),
            states: opts.states.clone().into(),
            escaped,
        })
    }

    fn reserved_labels(config: &StateSetConfig, _: &str) -> Vec<String> {
        vec![config.label.clone()]
    }

    fn new_child(config: &StateSetConfig, meta: ChildMeta) -> Self {
        StateSet(Arc::new(StateSetCore {
            bits: AtomicU64::new(1),
            states: config.states.clone(),
            meta,
        }))
    }

    fn meta(&self) -> &ChildMeta {
        &self.0.meta
    }

    fn encode(&self, config: &StateSetConfig, w: &mut SeriesWriter<'_>) {
        let bits = self.0.bits.load(Ordering::Relaxed);
        for (i, state) in config.escaped.iter().enumerate() {
            w.start("", Some((&config.label, state)));
            w.out.push(if bits & (1 << i) != 0 { b'1' } else { b'0' });
            w.end();
        }
    }

    fn point(&self, _: &StateSetConfig) -> PointValue {
        PointValue::StateSet(self.get())
    }

    fn fingerprint(&self) -> u64 {
        self.0.bits.load(Ordering::Relaxed)
    }
}
