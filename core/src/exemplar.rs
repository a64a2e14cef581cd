//! Exemplars: a trace reference attached to one counter increment or histogram observation,
//! shown in OpenMetrics output.

use crate::error::{Error, Result};
use crate::fmt::escape_label_value;
use crate::validate;
use std::time::{SystemTime, UNIX_EPOCH};

/// One exemplar: its labels (rendered once, escaped), the observed value and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    /// The label pairs (a trace id, say), as given.
    pub labels: Vec<(String, String)>,
    /// The observed value, or the counter increment.
    pub value: f64,
    /// Seconds since the Unix epoch.
    pub timestamp: f64,
    pub(crate) rendered: String,
}

/// OpenMetrics caps the combined length of exemplar label names and values.
pub(crate) const MAX_EXEMPLAR_CHARS: usize = 128;

impl Exemplar {
    /// Validates labels (names valid, unique, at most 128 characters in all) and renders them.
    pub fn new<K: AsRef<str>, V: AsRef<str>>(labels: &[(K, V)], value: f64) -> Result<Self> {
        let mut chars = 0;
        let mut rendered = String::new();
        let mut owned = Vec::with_capacity(labels.len());
        for (i, (k, v)) in labels.iter().enumerate() {
            let (k, v) = (k.as_ref(), v.as_ref());
            validate::label_name(k)?;
            if owned.iter().any(|(seen, _): &(String, String)| seen == k) {
                return Err(Error::DuplicateLabelName(k.to_owned()));
            }
            chars += k.chars().count() + v.chars().count();
            if i > 0 {
                rendered.push(',');
            }
            rendered.push_str(k);
            rendered.push_str("=\"");
            escape_label_value(&mut rendered, v);
            rendered.push('"');
            owned.push((k.to_owned(), v.to_owned()));
        }
        if chars > MAX_EXEMPLAR_CHARS {
            return Err(Error::ExemplarTooLong(chars));
        }
        Ok(Exemplar {
            labels: owned,
            value,
            timestamp: now_seconds(),
            rendered,
        })
    }
}

/// A wall clock installed by a binding in place of the system's (see [`set_clock`]).
static CLOCK: std::sync::OnceLock<fn() -> f64> = std::sync::OnceLock::new();

/// Makes the core's wall clock (`_created` times, exemplar timestamps, `set_to_current_time`) read
/// `clock` instead of the system clock: the Python binding reads Python's `time.time()`, as
/// `prometheus_client` does, so programs and tests that patch it see their time. Once per
/// process; returns false when a clock was installed already.
pub fn set_clock(clock: fn() -> f64) -> bool {
    CLOCK.set(clock).is_ok()
}

/// Wall-clock seconds since the Unix epoch, as a float (the unit of `_created` and exemplars),
/// from the clock a binding installed if any.
pub(crate) fn now_seconds() -> f64 {
    match CLOCK.get() {
        Some(clock) => clock(),
        None => system_seconds(),
    }
}

/// The system's wall clock, in seconds since the Unix epoch.
pub fn system_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
