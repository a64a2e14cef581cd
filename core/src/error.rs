//! Typed errors. Every fallible operation of the core returns [`Error`]; bindings map each
//! variant to their language's idiom (Python `ValueError`, JS `TypeError`, a C result code).

use std::fmt;

/// What went wrong. Variants carry enough context for a one-line message.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A metric name does not match `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    InvalidMetricName(String),
    /// A label name does not match `[a-zA-Z_][a-zA-Z0-9_]*`.
    InvalidLabelName(String),
    /// A label name is reserved: `__`-prefixed, `le` on histograms, `quantile` on summaries,
    /// or the metric's own name on a state set.
    ReservedLabelName(String),
    /// The same label name appears twice (in label names, const labels or exemplar labels).
    DuplicateLabelName(String),
    /// A child was resolved with the wrong number of label values.
    LabelCount {
        /// The family's number of label names.
        expected: usize,
        /// The number of values given.
        got: usize,
    },
    /// Labels given by name do not match the family's label names.
    UnknownLabel(String),
    /// Histogram buckets are empty, not strictly increasing, or contain NaN.
    InvalidBuckets(String),
    /// A counter was asked to go down (negative or NaN increment).
    CounterDecrement(f64),
    /// A value that must be a number was NaN (or infinite where that is not allowed).
    InvalidValue(&'static str, f64),
    /// The unit is not a valid name part or the metric name does not end with it.
    InvalidUnit(String),
    /// A state set was given a state it does not declare, or too many states.
    InvalidState(String),
    /// Exemplar labels exceed the OpenMetrics limit of 128 UTF-8 characters.
    ExemplarTooLong(usize),
    /// A collector with this metric name is already registered.
    AlreadyRegistered(String),
    /// Unregistering something the registry does not hold.
    NotRegistered(String),
    /// Options that do not fit the metric type (e.g. buckets on a counter).
    InvalidOption(String),
    /// A file of multi-process mode cannot be created, grown or read (the path and why).
    Storage(String),
    /// An exposition line that cannot be read (1-based line number, reason).
    Parse {
        /// The line number, from 1.
        line: usize,
        /// Why the line cannot be read.
        message: String,
    },
}

impl Error {
    /// The kind's stable name in SCREAMING_SNAKE_CASE (`LABEL_COUNT`), the same in every
    /// language: Python sets it as the exception's `code`, Node's codes and C's result codes
    /// are named after it. Matched exhaustively here, so a new kind cannot miss its name.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidMetricName(_) => "INVALID_METRIC_NAME",
            Error::InvalidLabelName(_) => "INVALID_LABEL_NAME",
            Error::ReservedLabelName(_) => "RESERVED_LABEL_NAME",
            Error::DuplicateLabelName(_) => "DUPLICATE_LABEL_NAME",
            Error::LabelCount { .. } => "LABEL_COUNT",
            Error::UnknownLabel(_) => "UNKNOWN_LABEL",
            Error::InvalidBuckets(_) => "INVALID_BUCKETS",
            Error::CounterDecrement(_) => "COUNTER_DECREMENT",
            Error::InvalidValue(..) => "INVALID_VALUE",
            Error::InvalidUnit(_) => "INVALID_UNIT",
            Error::InvalidState(_) => "INVALID_STATE",
            Error::ExemplarTooLong(_) => "EXEMPLAR_TOO_LONG",
            Error::AlreadyRegistered(_) => "ALREADY_REGISTERED",
            Error::NotRegistered(_) => "NOT_REGISTERED",
            Error::InvalidOption(_) => "INVALID_OPTION",
            Error::Storage(_) => "STORAGE",
            Error::Parse { .. } => "PARSE",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidMetricName(n) => write!(f, "invalid metric name: {n:?}"),
            Error::InvalidLabelName(n) => write!(f, "invalid label name: {n:?}"),
            Error::ReservedLabelName(n) => write!(f, "reserved label name: {n:?}"),
            Error::DuplicateLabelName(n) => write!(f, "duplicate label name: {n:?}"),
            Error::LabelCount { expected, got } => {
                write!(
                    f,
                    "incorrect label count: expected {expected} label values, got {got}"
                )
            }
            Error::UnknownLabel(n) => write!(f, "label names do not match: {n}"),
            Error::InvalidBuckets(why) => write!(f, "invalid histogram buckets: {why}"),
            Error::CounterDecrement(v) => {
                write!(
                    f,
                    "counters can only be incremented by non-negative amounts, got {v}"
                )
            }
            Error::InvalidValue(what, v) => write!(f, "invalid value for {what}: {v}"),
            Error::InvalidUnit(why) => write!(f, "invalid unit: {why}"),
            Error::InvalidState(why) => write!(f, "invalid state: {why}"),
            Error::ExemplarTooLong(n) => write!(
                f,
                "exemplar labels have {n} characters, more than the OpenMetrics limit of 128"
            ),
            Error::AlreadyRegistered(n) => {
                write!(
                    f,
                    "duplicated timeseries in registry: {n:?} is already registered"
                )
            }
            Error::NotRegistered(n) => write!(f, "not registered: {n:?}"),
            Error::InvalidOption(why) => write!(f, "invalid option: {why}"),
            Error::Storage(why) => write!(f, "multi-process storage: {why}"),
            Error::Parse { line, message } => write!(f, "exposition line {line}: {message}"),
        }
    }
}

impl std::error::Error for Error {}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
