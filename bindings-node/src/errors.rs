//! Every error the package throws, in one table: its kind, its stable `code` (what a `catch`
//! block tests) and its class, the one prom-client throws for the same mistake (`TypeError` for
//! a value of the wrong type, `RangeError` for an exemplar over the length limit, `Error` for the
//! rest). The core's errors are mapped here, kind by kind and by name; the JavaScript wrapper
//! (`lib/errors.js`) throws through the same table, read once with `errorKinds()`, so no code is
//! spelled twice. docs/node.md shows the table.

use napi::bindgen_prelude::*;
use napi::{JsError, JsRangeError, JsTypeError};
use napi_derive::napi;

/// The JavaScript class an error is thrown as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    Error,
    TypeError,
    RangeError,
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Class::Error => "Error",
            Class::TypeError => "TypeError",
            Class::RangeError => "RangeError",
        }
    }
}

/// Declares [`Kind`] from two lists: `core`, one row per kind of the core's
/// `footmetrics::Error`, named as the core names it (a row naming no core kind does not
/// compile); `own`, the binding's own kinds. Each row gives the code and the class.
macro_rules! kinds {
    (
        core { $($(#[$cdoc:meta])* $core:ident => $ccode:literal, $cclass:ident;)* }
        own { $($(#[$odoc:meta])* $own:ident => $ocode:literal, $oclass:ident;)* }
    ) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Kind {
            $($(#[$cdoc])* $core,)*
            $($(#[$odoc])* $own,)*
        }

        impl Kind {
            /// Every kind, the core's first.
            pub(crate) const ALL: &'static [Kind] = &[$(Kind::$core,)* $(Kind::$own,)*];

            /// The kind's name: for a core kind, the core's variant name.
            pub(crate) fn name(self) -> &'static str {
                match self {
                    $(Kind::$core => stringify!($core),)*
                    $(Kind::$own => stringify!($own),)*
                }
            }

            /// The `code` property of the thrown error.
            pub(crate) fn code(self) -> &'static str {
                match self {
                    $(Kind::$core => $ccode,)*
                    $(Kind::$own => $ocode,)*
                }
            }

            pub(crate) fn class(self) -> Class {
                match self {
                    $(Kind::$core => Class::$cclass,)*
                    $(Kind::$own => Class::$oclass,)*
                }
            }

            /// Whether the kind is one of the core's.
            fn is_core(self) -> bool {
                matches!(self, $(Kind::$core)|*)
            }
        }

        impl From<&footmetrics::Error> for Kind {
            /// The core's kind of the same name. The core's `Error` is `#[non_exhaustive]`: a
            /// kind it adds later is thrown as [`Kind::CoreOther`] (a plain `Error`, code
            /// `ERR_FOOTMETRICS_OTHER`, the core's message) until it is given a row above; the
            /// Node tests compare the rows with the variants in core/src/error.rs, so such an
            /// addition fails them until it has one.
            fn from(e: &footmetrics::Error) -> Kind {
                match e {
                    $(footmetrics::Error::$core { .. } => Kind::$core,)*
                    _ => Kind::CoreOther,
                }
            }
        }
    };
}

kinds! {
    core {
        InvalidMetricName => "ERR_FOOTMETRICS_INVALID_METRIC_NAME", Error;
        InvalidLabelName => "ERR_FOOTMETRICS_INVALID_LABEL_NAME", Error;
        /// `le` on a histogram, `quantile` on a summary.
        ReservedLabelName => "ERR_FOOTMETRICS_RESERVED_LABEL_NAME", Error;
        DuplicateLabelName => "ERR_FOOTMETRICS_DUPLICATE_LABEL_NAME", Error;
        /// prom-client's "Invalid number of arguments" of `labels()`/`remove()`.
        LabelCount => "ERR_FOOTMETRICS_LABEL_COUNT", Error;
        /// prom-client's "Added label ... is not included in initial labelset".
        UnknownLabel => "ERR_FOOTMETRICS_UNKNOWN_LABEL", Error;
        /// Buckets not strictly increasing or not finite; the bucket generators' bad arguments.
        InvalidBuckets => "ERR_FOOTMETRICS_INVALID_BUCKETS", Error;
        CounterDecrement => "ERR_FOOTMETRICS_COUNTER_DECREMENT", Error;
        /// prom-client's "Value is not a valid number" and "Delta is not a valid number".
        InvalidValue => "ERR_FOOTMETRICS_INVALID_VALUE", TypeError;
        InvalidUnit => "ERR_FOOTMETRICS_INVALID_UNIT", Error;
        InvalidState => "ERR_FOOTMETRICS_INVALID_STATE", Error;
        /// Exemplar labels over 128 characters: prom-client throws a `RangeError`.
        ExemplarTooLong => "ERR_FOOTMETRICS_EXEMPLAR_TOO_LONG", RangeError;
        AlreadyRegistered => "ERR_FOOTMETRICS_ALREADY_REGISTERED", Error;
        /// `getSingleMetricAsString` of a name the registry does not hold (prom-client fails
        /// there with a `TypeError`, reading a property of `undefined`).
        NotRegistered => "ERR_FOOTMETRICS_NOT_REGISTERED", TypeError;
        /// An option value that does not fit (percentiles outside [0, 1], an unknown content
        /// type or cluster aggregator, a `collect` that is not a function).
        InvalidOption => "ERR_FOOTMETRICS_INVALID_OPTION", Error;
        Parse => "ERR_FOOTMETRICS_PARSE", Error;
        /// The cluster's shared directory cannot be created, written or grown (a full disk).
        Storage => "ERR_FOOTMETRICS_STORAGE", Error;
    }
    own {
        /// The fallback for a kind the core adds later (see `From<&footmetrics::Error>`).
        CoreOther => "ERR_FOOTMETRICS_OTHER", Error;
        /// An argument or option of the wrong type (prom-client's `TypeError`s: a config that
        /// is not an object, an unsupported content type given to `new Registry`, ...).
        InvalidArgument => "ERR_FOOTMETRICS_INVALID_ARGUMENT", TypeError;
        /// A mandatory option missing: `name`, `help`, `jobName` (prom-client throws `Error`).
        MissingOption => "ERR_FOOTMETRICS_MISSING_OPTION", Error;
        NotInCatalog => "ERR_FOOTMETRICS_NOT_IN_CATALOG", Error;
        /// The Pushgateway could not be reached, did not answer in time, or answered an error.
        Push => "ERR_FOOTMETRICS_PUSH", Error;
        /// A failed TLS handshake (a wrong CA, a refused client certificate).
        Tls => "ERR_FOOTMETRICS_TLS", Error;
        /// `clusterMetrics()` waited too long for the workers.
        Timeout => "ERR_FOOTMETRICS_TIMEOUT", Error;
        /// A cluster worker failed to report its metrics (its error's message).
        ClusterWorker => "ERR_FOOTMETRICS_CLUSTER_WORKER", Error;
        /// An OTLP exporter used after `shutdown()`.
        ShutDown => "ERR_FOOTMETRICS_SHUT_DOWN", Error;
        /// The operating system refused a resource (a thread).
        System => "ERR_FOOTMETRICS_SYSTEM", Error;
        /// The addon does not load; thrown by lib/loader.js before there is an addon to ask,
        /// so the code is spelled there too (a test compares them).
        Load => "ERR_FOOTMETRICS_LOAD", Error;
        /// A bug in footmetrics: a panic caught, an id that names nothing.
        Internal => "ERR_FOOTMETRICS_INTERNAL", Error;
    }
}

/// An error on its way to JavaScript: its kind and its message.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) kind: Kind,
    pub(crate) message: String,
}

/// What the binding's fallible functions return; the exports turn a [`Failure`] into the
/// JavaScript error with [`Failure::into_js`].
pub(crate) type Fallible<T> = std::result::Result<T, Failure>;

impl Failure {
    pub(crate) fn new(kind: Kind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
        }
    }

    /// The JavaScript error (its class and `code` from the table) as a `napi::Error` that
    /// napi-rs throws, or rejects a promise with, as it is. Call it on the JavaScript thread.
    pub(crate) fn into_js(self, env: &Env) -> Error {
        let e = Error::new(self.kind.code(), self.message);
        let value = match self.kind.class() {
            Class::Error => JsError::from(e).into_unknown(*env),
            Class::TypeError => JsTypeError::from(e).into_unknown(*env),
            Class::RangeError => JsRangeError::from(e).into_unknown(*env),
        };
        Error::from(value)
    }
}

impl From<footmetrics::Error> for Failure {
    fn from(e: footmetrics::Error) -> Self {
        Failure::new(Kind::from(&e), e.to_string())
    }
}

/// A napi-rs error inside the binding (an environment slot, a string it could not create).
impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::new(Kind::Internal, e.reason)
    }
}

/// One row of the table, for JavaScript.
#[napi(object)]
pub struct ErrorKind {
    /// The kind's name; for the core's kinds, the variant name of `footmetrics::Error`.
    pub name: String,
    /// The `code` property, `ERR_FOOTMETRICS_…`.
    pub code: String,
    /// `Error`, `TypeError` or `RangeError`.
    pub class: String,
    /// Whether the kind is one of the core's.
    pub core: bool,
}

/// The table, every kind once: lib/errors.js throws through it, and the tests compare it with
/// the core's kinds and docs/node.md.
#[napi(catch_unwind)]
pub fn error_kinds() -> Vec<ErrorKind> {
    Kind::ALL
        .iter()
        .map(|&k| ErrorKind {
            name: k.name().to_owned(),
            code: k.code().to_owned(),
            class: k.class().name().to_owned(),
            core: k.is_core(),
        })
        .collect()
}
