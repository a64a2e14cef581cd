'use strict';
// collectDefaultMetrics(): the metric names, types and labels prom-client exports, measured in
// JavaScript (event loop delay through perf_hooks, GC through a PerformanceObserver) and from
// /proc, refreshed by `collect` callbacks at scrape time.

const fs = require('fs');
const v8 = require('v8');
const perf_hooks = require('perf_hooks');
const Counter = require('./counter');
const Gauge = require('./gauge');
const Histogram = require('./histogram');
const { isObject } = require('./validation');
const { fail } = require('./errors');

const DEFAULT_GC_DURATION_BUCKETS = [0.001, 0.01, 0.1, 1, 2, 5];

function readProcStatus() {
	try {
		const out = {};
		for (const line of fs.readFileSync('/proc/self/status', 'utf8').split('\n')) {
			const m = /^(\w+):\s+(\d+) kB$/.exec(line);
			if (m) out[m[1]] = Number(m[2]) * 1024;
		}
		return out;
	} catch {
		return null;
	}
}

function countBy(items) {
	const out = new Map();
	for (const t of items) out.set(t, (out.get(t) || 0) + 1);
	return out;
}

const collectors = {
	processCpuTotal(m) {
		let last = process.cpuUsage();
		const user = m.counter('process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.');
		const system = m.counter('process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.');
		m.counter('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', function () {
			const now = process.cpuUsage();
			const u = (now.user - last.user) / 1e6;
			const s = (now.system - last.system) / 1e6;
			last = now;
			user.inc(m.labels, u);
			system.inc(m.labels, s);
			this.inc(m.labels, u + s);
		});
		user.inc(m.labels, last.user / 1e6);
		system.inc(m.labels, last.system / 1e6);
	},
	processStartTime(m) {
		const start = Math.round(Date.now() / 1000 - process.uptime());
		m.gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.').set(m.labels, start);
	},
	osMemoryHeap(m) {
		const vsz = m.gauge('process_virtual_memory_bytes', 'Virtual memory size in bytes.');
		const heap = m.gauge('process_heap_bytes', 'Process heap size in bytes.');
		m.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', function () {
			const st = readProcStatus();
			if (st && st.VmRSS !== undefined) {
				this.set(m.labels, st.VmRSS);
				vsz.set(m.labels, st.VmSize);
				heap.set(m.labels, st.VmData);
			} else {
				this.set(m.labels, process.memoryUsage().rss);
			}
		});
	},
	processOpenFileDescriptors(m) {
		if (process.platform !== 'linux') return;
		m.gauge('process_open_fds', 'Number of open file descriptors.', function () {
			try {
				this.set(m.labels, fs.readdirSync('/proc/self/fd').length - 1);
			} catch {
				// /proc not mounted: leave the last value
			}
		});
	},
	processMaxFileDescriptors(m) {
		if (process.platform !== 'linux') return;
		try {
			const limits = fs.readFileSync('/proc/self/limits', 'utf8');
			const line = limits.split('\n').find(l => l.startsWith('Max open files'));
			const max = Number(line.split(/\s+/)[3]);
			if (Number.isFinite(max)) m.gauge('process_max_fds', 'Maximum number of open file descriptors.').set(m.labels, max);
		} catch {
			// no /proc: not reported, as prom-client
		}
	},
	eventLoopLag(m) {
		const histogram = perf_hooks.monitorEventLoopDelay({ resolution: m.config.eventLoopMonitoringPrecision });
		histogram.enable();
		const g = (name, help) => m.gauge(name, help);
		const min = g('nodejs_eventloop_lag_min_seconds', 'The minimum recorded event loop delay.');
		const max = g('nodejs_eventloop_lag_max_seconds', 'The maximum recorded event loop delay.');
		const mean = g('nodejs_eventloop_lag_mean_seconds', 'The mean of the recorded event loop delays.');
		const stddev = g('nodejs_eventloop_lag_stddev_seconds', 'The standard deviation of the recorded event loop delays.');
		const p50 = g('nodejs_eventloop_lag_p50_seconds', 'The 50th percentile of the recorded event loop delays.');
		const p90 = g('nodejs_eventloop_lag_p90_seconds', 'The 90th percentile of the recorded event loop delays.');
		const p99 = g('nodejs_eventloop_lag_p99_seconds', 'The 99th percentile of the recorded event loop delays.');
		m.gauge('nodejs_eventloop_lag_seconds', 'Lag of event loop in seconds.', function () {
			const start = perf_hooks.performance.now();
			setImmediate(() => this.set(m.labels, (perf_hooks.performance.now() - start) / 1000));
			min.set(m.labels, histogram.min / 1e9);
			max.set(m.labels, histogram.max / 1e9);
			mean.set(m.labels, histogram.mean / 1e9);
			stddev.set(m.labels, histogram.stddev / 1e9);
			p50.set(m.labels, histogram.percentile(50) / 1e9);
			p90.set(m.labels, histogram.percentile(90) / 1e9);
			p99.set(m.labels, histogram.percentile(99) / 1e9);
			histogram.reset();
		}, 'average');
	},
	processResources(m) {
		if (typeof process.getActiveResourcesInfo !== 'function') return;
		m.byType('nodejs_active_resources', 'Number of active resources that are currently keeping the event loop alive, grouped by async resource type.',
			'nodejs_active_resources_total', 'Total number of active resources.', () => process.getActiveResourcesInfo());
	},
	processHandles(m) {
		if (typeof process._getActiveHandles !== 'function') return;
		m.byType('nodejs_active_handles', 'Number of active libuv handles grouped by handle type. Every handle type is C++ class name.',
			'nodejs_active_handles_total', 'Total number of active handles.',
			() => process._getActiveHandles().map(h => (h && h.constructor ? h.constructor.name : 'Unknown')));
	},
	processRequests(m) {
		if (typeof process._getActiveRequests !== 'function') return;
		m.byType('nodejs_active_requests', 'Number of active libuv requests grouped by request type. Every request type is C++ class name.',
			'nodejs_active_requests_total', 'Total number of active requests.',
			() => process._getActiveRequests().map(r => (r && r.constructor ? r.constructor.name : 'Unknown')));
	},
	heapSizeAndUsed(m) {
		const used = m.gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.');
		const external = m.gauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.');
		m.gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', function () {
			const mem = process.memoryUsage();
			this.set(m.labels, mem.heapTotal);
			used.set(m.labels, mem.heapUsed);
			if (mem.external !== undefined) external.set(m.labels, mem.external);
		});
	},
	heapSpacesSizeAndUsed(m) {
		const kinds = ['total', 'used', 'available'];
		const gauges = {};
		for (const k of kinds) {
			gauges[k] = m.gauge(`nodejs_heap_space_size_${k}_bytes`, `Process heap space size ${k} from Node.js in bytes.`, undefined, 'sum', ['space']);
		}
		const update = () => {
			for (const space of v8.getHeapSpaceStatistics()) {
				const name = space.space_name.replace('_space', '');
				const labels = { space: name, ...m.labels };
				gauges.total.set(labels, space.space_size);
				gauges.used.set(labels, space.space_used_size);
				gauges.available.set(labels, space.space_available_size);
			}
		};
		gauges.total.collect = update;
	},
	version(m) {
		const [major, minor, patch] = process.version.slice(1).split('.').map(Number);
		m.gauge('nodejs_version_info', 'Node.js version info.', undefined, 'first', ['version', 'major', 'minor', 'patch'])
			.set({ version: process.version, major, minor, patch, ...m.labels }, 1);
	},
	gc(m) {
		const kinds = [];
		const c = perf_hooks.constants;
		kinds[c.NODE_PERFORMANCE_GC_MAJOR] = 'major';
		kinds[c.NODE_PERFORMANCE_GC_MINOR] = 'minor';
		kinds[c.NODE_PERFORMANCE_GC_INCREMENTAL] = 'incremental';
		kinds[c.NODE_PERFORMANCE_GC_WEAKCB] = 'weakcb';
		const h = new Histogram({
			name: m.prefix + 'nodejs_gc_duration_seconds',
			help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
			labelNames: ['kind', ...m.labelNames],
			buckets: m.config.gcDurationBuckets || DEFAULT_GC_DURATION_BUCKETS,
			registers: m.registers,
		});
		const obs = new perf_hooks.PerformanceObserver(list => {
			for (const entry of list.getEntries()) {
				const kind = entry.detail ? kinds[entry.detail.kind] : kinds[entry.kind];
				h.observe({ kind, ...m.labels }, entry.duration / 1000);
			}
		});
		obs.observe({ entryTypes: ['gc'] });
	},
};

const metricsList = Object.keys(collectors);

function collectDefaultMetrics(config) {
	if (config !== null && config !== undefined && !isObject(config)) {
		throw fail('InvalidArgument', 'config must be null, undefined, or an object');
	}
	config = { eventLoopMonitoringPrecision: 10, ...config };
	const prefix = config.prefix ? config.prefix : '';
	const labels = config.labels ? config.labels : {};
	const labelNames = Object.keys(labels);
	const registers = config.register ? [config.register] : undefined;
	const m = {
		config,
		prefix,
		labels,
		labelNames,
		registers,
		counter(name, help, collect) {
			return new Counter({ name: prefix + name, help, labelNames, registers, collect });
		},
		gauge(name, help, collect, aggregator = 'sum', extra = []) {
			return new Gauge({ name: prefix + name, help, labelNames: [...extra, ...labelNames], registers, collect, aggregator });
		},
		byType(name, help, totalName, totalHelp, list) {
			const total = m.gauge(totalName, totalHelp);
			m.gauge(name, help, function () {
				const items = list();
				this.reset();
				for (const [type, n] of countBy(items)) this.set({ type, ...labels }, n);
				total.set(labels, items.length);
			}, 'sum', ['type']);
		},
	};
	for (const collector of Object.values(collectors)) collector(m);
}

module.exports = collectDefaultMetrics;
module.exports.metricsList = metricsList;
