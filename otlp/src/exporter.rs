//! The exporter: a collecting thread that snapshots the registry every interval (or on
//! demand) into a bounded queue, and a sending thread that drains it with retries.
//!
//! Neither thread ever waits on the instrumented program, and the program never waits on
//! them: recording is the core's lock-free hot path, and the queue's mutex is only shared by
//! the two exporter threads and callers of `force_flush`/`shutdown`/`stats`. Memory is bounded
//! by `max_queue_batches` snapshots plus the one in flight; when the queue is full the oldest
//! snapshot goes (cumulative data: a newer snapshot carries everything an older one did) and
//! its points are counted as dropped.

use crate::config::{Config, Protocol, Retry};
use crate::convert::{self, Source};
use crate::transport::{GrpcTransport, HttpTransport, SendError, Transport};
use crate::Error;
use footmetrics::{Counter, Family, Gauge, Opts, Registry};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Names of the exporter's self-metrics, registered in the exported registry.
pub const DROPPED_POINTS_METRIC: &str = "footmetrics_otlp_dropped_points_total";
pub const EXPORTED_POINTS_METRIC: &str = "footmetrics_otlp_exported_points_total";
pub const FAILED_REQUESTS_METRIC: &str = "footmetrics_otlp_failed_requests_total";
pub const QUEUE_METRIC: &str = "footmetrics_otlp_queue_batches";

/// Why points were dropped (the `reason` label of the drop counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The queue was full: the collector was down or slow for longer than the queue holds.
    QueueFull,
    /// Every attempt failed with a retryable error.
    RetriesExhausted,
    /// The collector refused the data for good (4xx, a non-retryable gRPC code, or a partial
    /// success that rejected points).
    Rejected,
    /// Still queued when shutdown's deadline passed.
    Shutdown,
}

impl DropReason {
    pub const ALL: [DropReason; 4] = [
        DropReason::QueueFull,
        DropReason::RetriesExhausted,
        DropReason::Rejected,
        DropReason::Shutdown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::RetriesExhausted => "retries_exhausted",
            DropReason::Rejected => "rejected",
            DropReason::Shutdown => "shutdown",
        }
    }
}

/// Counts since start, readable without the registry.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Requests the collector accepted.
    pub exported_requests: u64,
    pub exported_points: u64,
    /// Points dropped, for any reason.
    pub dropped_points: u64,
    /// Attempts that failed (each retry counts).
    pub failed_requests: u64,
    /// Snapshots waiting in the queue.
    pub queued_batches: u64,
    /// The last failure's message, for logs and error reports.
    pub last_error: Option<String>,
}

struct Batch {
    seq: u64,
    request: ExportMetricsServiceRequest,
    points: u64,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Batch>,
    next_seq: u64,
    /// On-demand collections asked for, and the last one the collecting thread served.
    flush_requested: u64,
    flush_served: u64,
    /// Sequence number of the batch made for the last served flush.
    flush_seq: u64,
    /// Highest sequence number the sender finished with (sent or dropped); batches finish
    /// in order, so everything at or below it is finished.
    done_seq: u64,
    delivered_seq: u64,
    stopping: bool,
    /// Set when stopping: the sender drops what is left after this instant.
    deadline: Option<Instant>,
    collector_exited: bool,
    last_error: Option<String>,
}

/// The self-metrics, when registered.
struct SelfMetrics {
    registry: Registry,
    dropped: Family<Counter>,
    exported: Counter,
    failed: Counter,
    queue: Gauge,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled on every state change anyone may wait for.
    changed: Condvar,
    exported_requests: AtomicU64,
    exported_points: AtomicU64,
    dropped_points: AtomicU64,
    failed_requests: AtomicU64,
    metrics: Option<SelfMetrics>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every update is one field
        // write), so poisoning is ignored.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a change (spurious wake-ups included: callers re-check their condition).
    fn wait<'a>(&self, st: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.changed.wait(st).unwrap_or_else(|e| e.into_inner())
    }

    /// As `wait`, for at most `left`.
    fn wait_at_most<'a>(&self, st: MutexGuard<'a, State>, left: Duration) -> MutexGuard<'a, State> {
        self.changed
            .wait_timeout(st, left)
            .unwrap_or_else(|e| e.into_inner())
            .0
    }

    fn dropped(&self, points: u64, reason: DropReason) {
        self.dropped_points.fetch_add(points, Ordering::Relaxed);
        if let Some(m) = &self.metrics {
            if let Ok(c) = m.dropped.with_label_values(&[reason.as_str()]) {
                c.inc_by_u64(points);
            }
        }
    }

    fn failed(&self, state: &mut State, message: String) {
        self.failed_requests.fetch_add(1, Ordering::Relaxed);
        if let Some(m) = &self.metrics {
            m.failed.inc();
        }
        state.last_error = Some(message);
    }

    fn queue_len(&self, state: &State) {
        if let Some(m) = &self.metrics {
            m.queue.set(state.queue.len() as f64);
        }
    }
}

/// A running OTLP exporter. Dropping it shuts it down (flushing, up to the configured
/// shutdown timeout).
pub struct OtlpExporter {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    shutdown_timeout: Duration,
}

fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn register_self_metrics(registry: &Registry) -> Result<SelfMetrics, Error> {
    let in_use = |e: footmetrics::Error| {
        Error::Registry(format!(
            "cannot register the exporter's self-metrics ({e}); is another OTLP exporter \
             exporting this registry? Use one exporter per registry, or turn self-metrics off"
        ))
    };
    let dropped = registry
        .counter_vec(
            &Opts::new(
                DROPPED_POINTS_METRIC,
                "Data points the OTLP exporter could not deliver, by reason.",
            )
            .labels(&["reason"]),
        )
        .map_err(in_use)?;
    for r in DropReason::ALL {
        // Every reason shows from the start, so `rate()` sees the first drop.
        let _ = dropped.with_label_values(&[r.as_str()]);
    }
    let exported = registry
        .counter(&Opts::new(
            EXPORTED_POINTS_METRIC,
            "Data points the OTLP collector accepted.",
        ))
        .map_err(in_use)?;
    let failed = registry
        .counter(&Opts::new(
            FAILED_REQUESTS_METRIC,
            "OTLP export attempts that failed, retries included.",
        ))
        .map_err(in_use)?;
    let queue = registry
        .gauge(&Opts::new(
            QUEUE_METRIC,
            "Registry snapshots waiting to be sent to the OTLP collector.",
        ))
        .map_err(in_use)?;
    Ok(SelfMetrics {
        registry: registry.clone(),
        dropped,
        exported,
        failed,
        queue,
    })
}

impl OtlpExporter {
    /// Validates `config`, registers the self-metrics in `registry` and starts the two
    /// threads. The collector is not contacted until the first export, so an absent one is
    /// not an error here.
    pub fn start(registry: &Registry, config: Config) -> Result<Self, Error> {
        let endpoint = config.validated_endpoint()?;
        let resource = config.resource_attributes();
        // Built here, on the caller's thread, so a bad endpoint or header is an error from
        // `start`; the sending thread takes it over.
        let transport: Box<dyn Transport> = match config.protocol {
            Protocol::HttpProtobuf => Box::new(
                HttpTransport::new(endpoint, config.client_options(), config.timeout)
                    .map_err(Error::InvalidConfig)?,
            ),
            Protocol::Grpc => Box::new(
                GrpcTransport::new(
                    &endpoint,
                    &config.headers,
                    config.timeout,
                    &config.client_options(),
                )
                .map_err(Error::InvalidConfig)?,
            ),
        };
        let metrics = if config.self_metrics {
            Some(register_self_metrics(registry)?)
        } else {
            None
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            exported_requests: AtomicU64::new(0),
            exported_points: AtomicU64::new(0),
            dropped_points: AtomicU64::new(0),
            failed_requests: AtomicU64::new(0),
            metrics,
        });
        let source = Source {
            resource,
            start_time_unix_nano: unix_nanos(),
            default_labels: config.default_labels.clone(),
        };
        let collecting = {
            let (shared, registry, config) = (shared.clone(), registry.clone(), config.clone());
            std::thread::Builder::new()
                .name("footmetrics-otlp-collect".into())
                .spawn(move || collect_loop(&shared, &registry, &source, &config))
                .map_err(|e| Error::Spawn(e.to_string()))?
        };
        let sending = {
            let (shared, retry) = (shared.clone(), config.retry.clone());
            std::thread::Builder::new()
                .name("footmetrics-otlp-send".into())
                .spawn(move || send_loop(&shared, transport, &retry))
        };
        let exporter = OtlpExporter {
            shared,
            threads: Mutex::new(vec![collecting]),
            shutdown_timeout: config.shutdown_timeout,
        };
        match sending {
            Ok(t) => exporter
                .threads
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(t),
            Err(e) => {
                exporter.shutdown(Duration::ZERO);
                return Err(Error::Spawn(e.to_string()));
            }
        }
        Ok(exporter)
    }

    /// Asks for a collection now and returns at once (the snapshot is queued and sent as
    /// usual). For callers that schedule collections themselves.
    pub fn collect_now(&self) {
        let mut st = self.shared.lock();
        if !st.stopping {
            st.flush_requested += 1;
            self.shared.changed.notify_all();
        }
    }

    /// Collects now and waits up to `timeout` for that snapshot to reach the collector.
    /// Returns whether it did. The periodic schedule is unchanged.
    pub fn force_flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        if st.stopping {
            return false;
        }
        st.flush_requested += 1;
        let ticket = st.flush_requested;
        self.shared.changed.notify_all();
        let Some(mut st) = self.wait(st, deadline, |s| {
            s.flush_served >= ticket || s.collector_exited
        }) else {
            return false;
        };
        if st.flush_served < ticket {
            return false;
        }
        let seq = st.flush_seq;
        st = match self.wait(st, deadline, |s| s.done_seq >= seq) {
            Some(st) => st,
            None => return false,
        };
        st.delivered_seq >= seq
    }

    /// Waits for `done` or the deadline; `None` on timeout.
    fn wait<'a>(
        &self,
        mut st: MutexGuard<'a, State>,
        deadline: Instant,
        done: impl Fn(&State) -> bool,
    ) -> Option<MutexGuard<'a, State>> {
        while !done(&st) {
            let left = deadline.checked_duration_since(Instant::now())?;
            st = self.shared.wait_at_most(st, left);
        }
        Some(st)
    }

    /// Takes a final snapshot, sends what is queued for up to `timeout` (plus at most one
    /// request timeout for an attempt under way), drops the rest (counted), stops both
    /// threads and unregisters the self-metrics. Returns whether everything was delivered.
    /// Later calls return at once.
    pub fn shutdown(&self, timeout: Duration) -> bool {
        {
            let mut st = self.shared.lock();
            if !st.stopping {
                st.stopping = true;
                st.deadline = Some(Instant::now() + timeout);
                self.shared.changed.notify_all();
            }
        }
        let threads: Vec<_> =
            std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        let joined = !threads.is_empty();
        for t in threads {
            let _ = t.join();
        }
        if joined {
            if let Some(m) = &self.shared.metrics {
                for name in [
                    DROPPED_POINTS_METRIC,
                    EXPORTED_POINTS_METRIC,
                    FAILED_REQUESTS_METRIC,
                    QUEUE_METRIC,
                ] {
                    let _ = m.registry.unregister_name(name);
                }
            }
        }
        let st = self.shared.lock();
        st.queue.is_empty() && st.delivered_seq == st.next_seq
    }

    pub fn stats(&self) -> Stats {
        let st = self.shared.lock();
        Stats {
            exported_requests: self.shared.exported_requests.load(Ordering::Relaxed),
            exported_points: self.shared.exported_points.load(Ordering::Relaxed),
            dropped_points: self.shared.dropped_points.load(Ordering::Relaxed),
            failed_requests: self.shared.failed_requests.load(Ordering::Relaxed),
            queued_batches: st.queue.len() as u64,
            last_error: st.last_error.clone(),
        }
    }
}

impl Drop for OtlpExporter {
    fn drop(&mut self) {
        self.shutdown(self.shutdown_timeout);
    }
}

fn collect_loop(shared: &Shared, registry: &Registry, source: &Source, config: &Config) {
    let mut next_tick = Instant::now() + config.interval;
    loop {
        let mut st = shared.lock();
        // Sleep until the tick, an on-demand flush or shutdown.
        while !st.stopping && st.flush_requested == st.flush_served {
            if !config.periodic {
                st = shared.wait(st);
                continue;
            }
            let Some(left) = next_tick.checked_duration_since(Instant::now()) else {
                break;
            };
            st = shared.wait_at_most(st, left);
        }
        let (stopping, flush) = (st.stopping, st.flush_requested);
        drop(st);
        if Instant::now() >= next_tick {
            next_tick += config.interval;
            // After a long stall, don't fire a burst of catch-up collections.
            if next_tick < Instant::now() {
                next_tick = Instant::now() + config.interval;
            }
        }
        // Gathering may call user collectors: a panic there skips one snapshot, not the
        // exporter.
        let families = catch_unwind(AssertUnwindSafe(|| registry.gather()));
        let mut st = shared.lock();
        match families {
            Ok(families) => {
                let snap = convert::request(&families, source, unix_nanos());
                st.next_seq += 1;
                let seq = st.next_seq;
                if st.queue.len() >= config.max_queue_batches {
                    if let Some(old) = st.queue.pop_front() {
                        shared.dropped(old.points, DropReason::QueueFull);
                    }
                }
                st.queue.push_back(Batch {
                    seq,
                    request: snap.request,
                    points: snap.points,
                });
                if flush > st.flush_served {
                    st.flush_served = flush;
                    st.flush_seq = seq;
                }
            }
            Err(_) => {
                st.last_error = Some("a collector panicked while gathering".into());
                // A flush waiting on this collection gets the previous batch's fate.
                if flush > st.flush_served {
                    st.flush_served = flush;
                    st.flush_seq = st.next_seq;
                }
            }
        }
        shared.queue_len(&st);
        if stopping {
            st.collector_exited = true;
        }
        shared.changed.notify_all();
        if stopping {
            return;
        }
    }
}

/// Backoff before attempt `attempt + 1`: exponential from `initial`, capped, with ±50%
/// jitter so many processes restarted together do not retry in step.
fn backoff(retry: &Retry, attempt: u32, seed: &mut u64) -> Duration {
    let base = retry
        .initial_backoff
        .saturating_mul(1u32 << attempt.min(16))
        .min(retry.max_backoff);
    // xorshift64: jitter needs no more than this.
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    let factor = 0.5 + (*seed % 1000) as f64 / 1000.0;
    base.mul_f64(factor)
}

fn send_loop(shared: &Shared, mut transport: Box<dyn Transport>, retry: &Retry) {
    let mut seed = unix_nanos() | 1;
    loop {
        let mut st = shared.lock();
        // Wait for work, or for the collecting thread's final snapshot when stopping.
        while st.queue.is_empty() && !st.collector_exited {
            st = shared.wait(st);
        }
        let Some(batch) = st.queue.pop_front() else {
            return; // stopped and drained
        };
        shared.queue_len(&st);
        if st.deadline.is_some_and(|d| Instant::now() >= d) {
            shared.dropped(batch.points, DropReason::Shutdown);
            while let Some(b) = st.queue.pop_front() {
                shared.dropped(b.points, DropReason::Shutdown);
            }
            st.done_seq = st.next_seq;
            shared.queue_len(&st);
            shared.changed.notify_all();
            return;
        }
        drop(st);
        let delivered = send_with_retries(shared, transport.as_mut(), &batch, retry, &mut seed);
        let mut st = shared.lock();
        st.done_seq = batch.seq;
        if delivered {
            st.delivered_seq = batch.seq;
        }
        shared.changed.notify_all();
    }
}

fn send_with_retries(
    shared: &Shared,
    transport: &mut dyn Transport,
    batch: &Batch,
    retry: &Retry,
    seed: &mut u64,
) -> bool {
    let mut attempt = 0;
    loop {
        let err: SendError = match catch_unwind(AssertUnwindSafe(|| transport.send(&batch.request)))
        {
            Ok(Ok(accepted)) => {
                let rejected = accepted.rejected_points.min(batch.points);
                shared.exported_requests.fetch_add(1, Ordering::Relaxed);
                shared
                    .exported_points
                    .fetch_add(batch.points - rejected, Ordering::Relaxed);
                if let Some(m) = &shared.metrics {
                    m.exported.inc_by_u64(batch.points - rejected);
                }
                if rejected > 0 {
                    shared.dropped(rejected, DropReason::Rejected);
                }
                return true;
            }
            Ok(Err(e)) => e,
            Err(_) => SendError {
                message: "the transport panicked".into(),
                retryable: false,
                retry_after: None,
            },
        };
        attempt += 1;
        let mut st = shared.lock();
        shared.failed(&mut st, err.message.clone());
        if !err.retryable {
            shared.dropped(batch.points, DropReason::Rejected);
            return false;
        }
        if attempt >= retry.max_attempts {
            shared.dropped(batch.points, DropReason::RetriesExhausted);
            return false;
        }
        let wait = err
            .retry_after
            .map(|d| d.min(retry.max_backoff))
            .unwrap_or_else(|| backoff(retry, attempt - 1, seed));
        let mut until = Instant::now() + wait;
        // Shutdown cuts the wait to its deadline; past it, the batch is dropped.
        loop {
            if let Some(d) = st.deadline {
                if Instant::now() >= d {
                    shared.dropped(batch.points, DropReason::Shutdown);
                    return false;
                }
                until = until.min(d);
            }
            let Some(left) = until.checked_duration_since(Instant::now()) else {
                break;
            };
            st = shared.wait_at_most(st, left);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let retry = Retry {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            max_attempts: 10,
        };
        let mut seed = 12345;
        for attempt in 0..10 {
            let base = Duration::from_millis(100 * (1 << attempt)).min(Duration::from_secs(1));
            let d = backoff(&retry, attempt, &mut seed);
            assert!(d >= base / 2 && d <= base.mul_f64(1.5), "{attempt}: {d:?}");
        }
    }
}
