//! Process metrics, named as `client_golang` and `prometheus_client` name them. Read from
//! `/proc/self` at scrape time (Linux); elsewhere the collector produces nothing. [`read_at`]
//! reads any process of any `/proc` tree, for bindings whose collectors take a pid.

use crate::collector::{Collector, Desc};
use crate::metric::{MetricFamily, MetricType, PointValue};

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

/// A reading of one process from a `/proc` tree. A value is `None` where its file could not
/// be read: `stat` gives CPU, memory, start time and threads; `limits` with `fd/` gives the
/// file descriptors (both or neither, as prometheus_client reports them).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProcessStats {
    pub(crate) cpu_seconds: Option<f64>,
    pub(crate) open_fds: Option<f64>,
    pub(crate) max_fds: Option<f64>,
    pub(crate) virtual_memory_bytes: Option<f64>,
    pub(crate) resident_memory_bytes: Option<f64>,
    pub(crate) start_time_seconds: Option<f64>,
    pub(crate) threads: Option<f64>,
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`), the unit of `stat`'s CPU and start times.
pub fn clock_ticks() -> f64 {
    // Safety: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64
}

/// The page size (`sysconf(_SC_PAGESIZE)`), the unit of `stat`'s resident set size.
pub fn page_size() -> f64 {
    // Safety: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as f64
}

/// Reads process `pid` (a number, or `self`) under the `/proc` tree at `root`, with `stat`'s
/// units given (`ticks` per second, `page_size` bytes). `None` when `<root>/stat` has no boot
/// time: no usable `/proc` at all.
pub fn read_at(
    root: &std::path::Path,
    pid: &str,
    ticks: f64,
    page_size: f64,
) -> Option<ProcessStats> {
    let boot = std::fs::read_to_string(root.join("stat"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("btime ")
                    .and_then(|v| v.trim().parse::<f64>().ok())
            })
        })?;
    let dir = root.join(pid);
    let mut st = ProcessStats::default();
    if let Ok(stat) = std::fs::read_to_string(dir.join("stat")) {
        // The fields after the command name, which is in parentheses and may hold spaces and
        // parentheses itself: the last `)` ends it. `f[0]` is field 3 (state) of proc(5).
        if let Some(end) = stat.rfind(')') {
            let f: Vec<&str> = stat[end + 1..].split_whitespace().collect();
            let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
            if let (Some(utime), Some(stime), Some(start), Some(vsize), Some(rss)) =
                (num(11), num(12), num(19), num(20), num(21))
            {
                st.cpu_seconds = Some((utime + stime) / ticks);
                st.start_time_seconds = Some(boot + start / ticks);
                st.virtual_memory_bytes = Some(vsize);
                st.resident_memory_bytes = Some(rss * page_size);
                st.threads = num(17);
            }
        }
    }
    let max_fds = std::fs::read_to_string(dir.join("limits"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(3)
                        .and_then(|v| v.parse::<f64>().ok())
                })
        });
    let open_fds = std::fs::read_dir(dir.join("fd"))
        .ok()
        .map(|d| d.count() as f64);
    if let (Some(max), Some(open)) = (max_fds, open_fds) {
        st.max_fds = Some(max);
        st.open_fds = Some(open);
    }
    Some(st)
}

/// The families of `stats` (those with a value), each name prefixed with `prefix`.
pub fn families(stats: &ProcessStats, prefix: &str) -> Vec<MetricFamily> {
    let values = [
        stats.cpu_seconds,
        stats.open_fds,
        stats.max_fds,
        stats.virtual_memory_bytes,
        stats.resident_memory_bytes,
        stats.start_time_seconds,
        stats.threads,
    ];
    SPECS
        .iter()
        .zip(values)
        .filter_map(|(s, v)| {
            let v = v?;
            let name = format!("{prefix}{}", s.name);
            let mut f = MetricFamily::new(&name, s.help, s.kind);
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
            Some(f)
        })
        .collect()
}

/// The families [`families`] can produce, each name prefixed with `prefix`.
pub fn descs(prefix: &str) -> Vec<Desc> {
    SPECS
        .iter()
        .map(|s| Desc {
            name: format!("{prefix}{}", s.name),
            help: s.help.into(),
            unit: s.unit.map(Into::into),
            kind: s.kind,
            label_names: Vec::new(),
            const_labels: Vec::new(),
        })
        .collect()
}

impl ProcessCollector {
    /// A collector of the current process' CPU, memory, file descriptors, start time and threads,
    /// read from `/proc` at each scrape.
    pub fn new() -> Self {
        ProcessCollector::default()
    }

    /// Reads the current process' stats (`/proc/self`); `None` where `/proc` is unavailable.
    pub(crate) fn read() -> Option<ProcessStats> {
        read_at(
            std::path::Path::new("/proc"),
            "self",
            clock_ticks(),
            page_size(),
        )
    }
}

impl Collector for ProcessCollector {
    fn descs(&self) -> Vec<Desc> {
        descs("")
    }

    fn collect(&self) -> Vec<MetricFamily> {
        Self::read().map_or_else(Vec::new, |st| families(&st, ""))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn reads_plausible_values() {
        let st = ProcessCollector::read().unwrap();
        let v = |x: Option<f64>| x.unwrap();
        assert!(v(st.resident_memory_bytes) > 1e5, "{st:?}");
        assert!(v(st.virtual_memory_bytes) >= v(st.resident_memory_bytes));
        assert!(v(st.open_fds) >= 3.0 && v(st.max_fds) >= v(st.open_fds));
        assert!(v(st.threads) >= 1.0);
        let now = crate::exemplar::now_seconds();
        let start = v(st.start_time_seconds);
        assert!(start <= now + 1.0 && start > now - 86400.0 * 365.0);
        // Burn some CPU and see it counted.
        let before = v(st.cpu_seconds);
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while t.elapsed().as_millis() < 200 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        assert!(v(ProcessCollector::read().unwrap().cpu_seconds) > before);
        // The same process by number reads the same memory size.
        let by_pid = read_at(
            std::path::Path::new("/proc"),
            &std::process::id().to_string(),
            clock_ticks(),
            page_size(),
        )
        .unwrap();
        assert!(by_pid.virtual_memory_bytes.is_some() && by_pid.max_fds.is_some());
    }

    #[test]
    fn reads_a_fixture_tree() {
        let root = std::env::temp_dir().join(format!("footmetrics-proc-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("7/fd")).unwrap();
        std::fs::create_dir_all(root.join("8")).unwrap();
        std::fs::write(root.join("stat"), "cpu  1 2 3\nbtime 1000\n").unwrap();
        // A command name with spaces and parentheses; utime 150, stime 50 ticks; 3 threads;
        // started 500 ticks after boot; 4096 bytes virtual, 2 pages resident.
        let stat = "7 ((a b) c) R 1 1 1 0 1 0 0 0 0 0 150 50 0 0 20 0 3 0 500 4096 2 0\n";
        std::fs::write(root.join("7/stat"), stat).unwrap();
        std::fs::write(root.join("8/stat"), stat).unwrap();
        std::fs::write(
            root.join("7/limits"),
            "Limit                     Soft Limit           Hard Limit           Units\n\
             Max open files            2048                 4096                 files\n",
        )
        .unwrap();
        for fd in ["0", "1"] {
            std::fs::write(root.join("7/fd").join(fd), "").unwrap();
        }
        let st = read_at(&root, "7", 100.0, 4096.0).unwrap();
        assert_eq!(
            st,
            ProcessStats {
                cpu_seconds: Some(2.0),
                open_fds: Some(2.0),
                max_fds: Some(2048.0),
                virtual_memory_bytes: Some(4096.0),
                resident_memory_bytes: Some(8192.0),
                start_time_seconds: Some(1005.0),
                threads: Some(3.0),
            }
        );
        let names: Vec<_> = families(&st, "n_").into_iter().map(|f| f.name).collect();
        assert_eq!(names.len(), 7);
        assert!(
            names.iter().all(|n| n.starts_with("n_process_")),
            "{names:?}"
        );
        // No limits or fd/: no file descriptor families.
        let st = read_at(&root, "8", 100.0, 4096.0).unwrap();
        assert_eq!((st.open_fds, st.max_fds), (None, None));
        assert_eq!(st.cpu_seconds, Some(2.0));
        assert_eq!(families(&st, "").len(), 5);
        // No such process: nothing; no boot time: no /proc at all.
        assert_eq!(
            read_at(&root, "9", 100.0, 4096.0),
            Some(ProcessStats::default())
        );
        assert!(families(&ProcessStats::default(), "").is_empty());
        assert_eq!(read_at(&root.join("7"), "7", 100.0, 4096.0), None);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
