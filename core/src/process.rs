//! Process metrics, named as `client_golang` and `prometheus_client` name them. Read from
//! `/proc/self` at scrape time (Linux); elsewhere the collector produces nothing.

use crate::family::Desc;
use crate::metric::{MetricFamily, MetricType, PointValue};
use crate::registry::Collector;

/// Collects `process_*` metrics for the current process.
#[derive(Debug, Default)]
pub struct ProcessCollector {
    _private: (),
}

struct Spec {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    unit: Option<&'static str>,
}

const SPECS: &[Spec] = &[
    Spec {
        name: "process_cpu_seconds",
        help: "Total user and system CPU time spent in seconds.",
        kind: MetricType::Counter,
        unit: Some("seconds"),
    },
    Spec {
        name: "process_open_fds",
        help: "Number of open file descriptors.",
        kind: MetricType::Gauge,
        unit: None,
    },
    Spec {
        name: "process_max_fds",
        help: "Maximum number of open file descriptors.",
        kind: MetricType::Gauge,
        unit: None,
    },
    Spec {
        name: "process_virtual_memory_bytes",
        help: "Virtual memory size in bytes.",
        kind: MetricType::Gauge,
        unit: Some("bytes"),
    },
    Spec {
        name: "process_resident_memory_bytes",
        help: "Resident memory size in bytes.",
        kind: MetricType::Gauge,
        unit: Some("bytes"),
    },
    Spec {
        name: "process_start_time_seconds",
        help: "Start time of the process since unix epoch in seconds.",
        kind: MetricType::Gauge,
        unit: Some("seconds"),
    },
    Spec {
        name: "process_threads",
        help: "Number of OS threads in the process.",
        kind: MetricType::Gauge,
        unit: None,
    },
];

/// A reading of `/proc/self`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessStats {
    pub cpu_seconds: f64,
    pub open_fds: f64,
    pub max_fds: f64,
    pub virtual_memory_bytes: f64,
    pub resident_memory_bytes: f64,
    pub start_time_seconds: f64,
    pub threads: f64,
}

impl ProcessCollector {
    pub fn new() -> Self {
        ProcessCollector::default()
    }

    /// Reads the current process' stats; `None` where `/proc` is unavailable.
    pub fn read() -> Option<ProcessStats> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name, which is in parentheses and may contain spaces.
        let rest = &stat[stat.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        // Field numbers per proc(5), minus 3 for pid, comm and the offset of `rest`.
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        // Safety: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as f64;
        let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("btime ")
                    .and_then(|v| v.trim().parse::<f64>().ok())
            })
        })?;
        let open_fds = std::fs::read_dir("/proc/self/fd")
            .map(|d| d.count() as f64)
            .unwrap_or(0.0);
        let max_fds = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("Max open files"))
                    .and_then(|l| {
                        l.split_whitespace()
                            .nth(3)
                            .and_then(|v| v.parse::<f64>().ok())
                    })
            })
            .unwrap_or(0.0);
        Some(ProcessStats {
            cpu_seconds: (num(11) + num(12)) / ticks,
            threads: num(17),
            start_time_seconds: boot + num(19) / ticks,
            virtual_memory_bytes: num(20),
            resident_memory_bytes: num(21) * page,
            open_fds,
            max_fds,
        })
    }
}

impl Collector for ProcessCollector {
    fn descs(&self) -> Vec<Desc> {
        SPECS
            .iter()
            .map(|s| Desc {
                name: s.name.into(),
                help: s.help.into(),
                unit: s.unit.map(Into::into),
                kind: s.kind,
                label_names: Vec::new(),
                const_labels: Vec::new(),
            })
            .collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let Some(st) = Self::read() else {
            return Vec::new();
        };
        let values = [
            st.cpu_seconds,
            st.open_fds,
            st.max_fds,
            st.virtual_memory_bytes,
            st.resident_memory_bytes,
            st.start_time_seconds,
            st.threads,
        ];
        SPECS
            .iter()
            .zip(values)
            .map(|(s, v)| {
                let mut f = MetricFamily::new(s.name, s.help, s.kind);
                f.unit = s.unit.map(Into::into);
                let value = match s.kind {
                    MetricType::Counter => PointValue::Counter {
                        value: v,
                        created: None,
                        exemplar: None,
                    },
                    _ => PointValue::Gauge(v),
                };
                f.push(std::iter::empty::<(String, String)>(), value);
                f
            })
            .collect()
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn reads_plausible_values() {
        let st = ProcessCollector::read().unwrap();
        assert!(st.resident_memory_bytes > 1e5, "{st:?}");
        assert!(st.virtual_memory_bytes >= st.resident_memory_bytes);
        assert!(st.open_fds >= 3.0 && st.max_fds >= st.open_fds);
        assert!(st.threads >= 1.0);
        let now = crate::exemplar::now_seconds();
        assert!(
            st.start_time_seconds <= now + 1.0 && st.start_time_seconds > now - 86400.0 * 365.0
        );
        // Burn some CPU and see it counted.
        let before = st.cpu_seconds;
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while t.elapsed().as_millis() < 200 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        assert!(ProcessCollector::read().unwrap().cpu_seconds > before);
    }
}
