'use strict';
// The cluster's shared directory (docs/node.md, "cluster"). In a cluster worker whose
// environment names one (FOOTMETRICS_MULTIPROC_DIR, set by the primary's AggregatorRegistry
// before it forks, or by the user), each metric the worker reports to the primary also writes
// its values into this process' lane files there (bindings-node/src/shared.rs), and the primary
// reads them without asking the worker. Metrics that cannot be shared (a `collect` callback, an
// aggregator with no file mode) still go over IPC, and the worker tells the primary once that
// it has some, so the primary asks only the workers that have something to say.

const cluster = require('cluster');
const Registry = require('./registry');
const { native } = require('./native');

const ENV = 'FOOTMETRICS_MULTIPROC_DIR';
const IPC_METRICS = 'footmetrics:ipcMetrics';

/** The registries a worker reports (`AggregatorRegistry.setRegistries`). */
const state = { registries: [Registry.globalRegistry], announced: false };

/**
 * In a cluster worker: the shared directory, or null (not a worker, or none given). The main
 * thread names it for the whole process (in Rust): Node's `cluster` module sees a worker
 * thread as a primary, but its metrics join the process' families and share with them.
 */
function workerDir() {
	const dir = native.processSharedDir();
	return dir ? dir : null;
}

if (cluster.isWorker && process.env[ENV]) native.setProcessSharedDir(process.env[ENV]);

function reported(metric) {
	return metric.registers.some(r => state.registries.includes(r));
}

/** Whether the metric's values can be combined from files as its `aggregator` asks. */
function shareable(metric, kind) {
	if (metric.collect) return false; // its values are made in the worker at scrape time
	const a = metric.aggregator;
	if (kind === 'gauge') return a === 'sum' || a === 'min' || a === 'max' || a === 'first' || a === 'average';
	return a === 'sum';
}

/** In a cluster worker with a shared directory: whether to share a metric being declared. */
function shouldShare(metric, kind) {
	return workerDir() !== null && shareable(metric, kind) && reported(metric);
}

/** A worker has metrics only IPC can carry: tell the primary once. */
function announceIpc() {
	if (state.announced || !cluster.isWorker || typeof process.send !== 'function' || !process.connected) return;
	state.announced = true;
	process.send({ type: IPC_METRICS });
}

/** Called when `registry` gains `metric`: a reported metric not shared needs IPC. */
function noteRegistered(registry, metric) {
	// The primary renders nothing of an `omit` metric: no need to be asked for it.
	if (!metric._sh && metric.aggregator !== 'omit' && cluster.isWorker && state.registries.includes(registry)) announceIpc();
}

Registry._onRegister = noteRegistered;

module.exports = { ENV, IPC_METRICS, state, workerDir, shouldShare, announceIpc, noteRegistered };
