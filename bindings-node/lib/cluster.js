'use strict';
// AggregatorRegistry: the cluster primary serves the workers' metrics, aggregated.
//
// Shared series (docs/node.md, "cluster"): constructed in the primary, the AggregatorRegistry
// makes the cluster's shared directory (FOOTMETRICS_MULTIPROC_DIR, or a new one under
// os.tmpdir()) and puts it in the environment the workers inherit. Workers write their metrics'
// values into lane files there (lib/shared.js), and `clusterMetrics()` reads them in Rust, on
// the thread pool, without asking the workers: a stopped or hung worker's values are served.
//
// IPC, for what files cannot carry (metrics with `collect` callbacks, the `omit` aggregator,
// workers forked before the directory existed): the primary asks the workers that said they
// have such metrics; each answers with one JSON string (cheap for the IPC channel to carry).
// With a shared directory it waits at most `ipcTimeout` ms, then serves the shared series
// plus whatever answered (a worker that missed the deadline is not waited for again until it
// answers); without one it waits as prom-client does (5 s, then rejects).

const cluster = require('cluster');
const { isMainThread } = require('worker_threads');
const fs = require('fs');
const os = require('os');
const path = require('path');
const Registry = require('./registry');
const { native } = require('./native');
const { fail } = require('./errors');
const shared = require('./shared');

const GET_METRICS_REQ = 'footmetrics:getMetricsReq';
const GET_METRICS_RES = 'footmetrics:getMetricsRes';
const TIMEOUT_MS = 5000;
const DEFAULT_IPC_TIMEOUT_MS = 250;

let requestCtr = 0;
let listenersAdded = false;
const requests = new Map();
/** Workers that said they have metrics only IPC carries. */
const ipcWorkers = new WeakSet();
/**
 * With a shared directory: workers asked and not answered yet. A worker that missed a scrape's
 * deadline is not asked (nor waited for) again until it answers, so only the first scrape after
 * a worker hangs waits `ipcTimeout`.
 */
const unanswered = new WeakSet();
/** The primary's shared directory, once made (one per primary process). */
let primaryDir = null;

/**
 * The primary's shared directory: FOOTMETRICS_MULTIPROC_DIR if set (created if missing, kept
 * at exit), else a new directory under os.tmpdir() (removed at exit), put in the environment
 * so that workers forked from now on inherit it. An ERR_FOOTMETRICS_STORAGE error if it cannot
 * be made or written.
 */
function makePrimaryDir() {
	if (primaryDir !== null) return primaryDir;
	let dir = process.env[shared.ENV];
	let owned = false;
	if (!dir) {
		try {
			dir = fs.mkdtempSync(path.join(os.tmpdir(), `footmetrics-cluster-${process.pid}-`));
		} catch (e) {
			const err = fail('Storage', `cannot create the cluster's shared directory in ${os.tmpdir()}: ${e.message}`);
			err.cause = e;
			throw err;
		}
		owned = true;
	}
	// Made if missing (in Rust: Node's recursive mkdir never returns for a path under /proc),
	// then the core's check that a file can be created in it.
	native.prepareSharedDir(dir);
	process.env[shared.ENV] = dir;
	if (owned) {
		process.once('exit', () => {
			try {
				fs.rmSync(dir, { recursive: true, force: true });
			} catch {
				// Best effort: the directory is under os.tmpdir().
			}
		});
	}
	primaryDir = dir;
	return dir;
}

class AggregatorRegistry extends Registry {
	/**
	 * `options.ipcTimeout`: how long (ms) a scrape waits for the workers' IPC answers when the
	 * cluster has a shared directory (default 250). In the primary, the shared directory is
	 * made here: construct the AggregatorRegistry before `cluster.fork()`.
	 */
	constructor(regContentType = Registry.PROMETHEUS_CONTENT_TYPE, options = {}) {
		super(regContentType);
		const ipcTimeout = options && options.ipcTimeout !== undefined ? options.ipcTimeout : DEFAULT_IPC_TIMEOUT_MS;
		if (typeof ipcTimeout !== 'number' || !(ipcTimeout >= 0) || !Number.isFinite(ipcTimeout)) {
			throw fail('InvalidArgument', 'ipcTimeout must be a non-negative number of milliseconds');
		}
		this._ipcTimeout = ipcTimeout;
		// A worker thread is a primary to `cluster` (even in a cluster worker): not ours to set up.
		this._dir = cluster.isPrimary && isMainThread ? makePrimaryDir() : null;
		addListeners();
	}

	/** The cluster's shared directory (in the primary), or null. */
	get sharedDirectory() {
		return this._dir;
	}

	/** The aggregated metrics of every cluster worker, as a Promise of the exposition. */
	clusterMetrics() {
		const requestId = requestCtr++;
		const openMetrics = this.contentType === Registry.OPENMETRICS_CONTENT_TYPE;
		const dir = this._dir;
		return new Promise((resolve, reject) => {
			let settled = false;
			const done = (err, result) => {
				if (settled) return;
				settled = true;
				if (err) reject(err);
				else resolve(result);
			};
			const render = responses => native.clusterScrape(dir, responses, openMetrics).then(text => done(null, text), done);
			const request = { responses: [], pending: 0, done, render, errorTimeout: null };
			request.errorTimeout = setTimeout(
				() => {
					requests.delete(requestId);
					// With shared series: serve them and the answers in time; else prom-client's error.
					if (dir !== null) render(request.responses);
					else done(fail('Timeout', 'Operation timed out.'));
				},
				dir !== null ? this._ipcTimeout : TIMEOUT_MS,
			);
			requests.set(requestId, request);
			const message = { type: GET_METRICS_REQ, requestId };
			for (const id in cluster.workers) {
				const w = cluster.workers[id];
				// With a shared directory, only the workers with IPC-only metrics are asked, and
				// not those still silent since an earlier scrape.
				if (!w.isConnected()) continue;
				if (dir !== null) {
					if (!ipcWorkers.has(w) || unanswered.has(w)) continue;
					unanswered.add(w);
				}
				w.send(message);
				request.pending++;
			}
			if (request.pending === 0) {
				clearTimeout(request.errorTimeout);
				requests.delete(requestId);
				render([]);
			}
		});
	}

	/** Registries the workers report (default: the global one). */
	static setRegistries(regs) {
		if (!Array.isArray(regs)) regs = [regs];
		for (const reg of regs) {
			if (!(reg instanceof Registry)) throw fail('InvalidArgument', `Expected Registry, got ${typeof reg}`);
		}
		shared.state.registries = regs;
		// Metrics they hold that are not shared go over IPC.
		if (regs.some(r => r.getMetricsAsArray().some(m => !m._sh))) shared.announceIpc();
	}
}

function addListeners() {
	if (listenersAdded || !cluster.isPrimary) return;
	listenersAdded = true;
	cluster.on('message', (worker, message) => {
		if (!message || message.type !== GET_METRICS_RES) return;
		unanswered.delete(worker);
		const request = requests.get(message.requestId);
		if (!request) return;
		if (message.error) {
			clearTimeout(request.errorTimeout);
			requests.delete(message.requestId);
			request.done(fail('ClusterWorker', message.error));
			return;
		}
		request.responses.push(message.metrics);
		request.pending--;
		if (request.pending === 0) {
			clearTimeout(request.errorTimeout);
			requests.delete(message.requestId);
			request.render(request.responses);
		}
	});
}

// A worker's note that it has metrics only IPC carries, heard from module load on (a worker
// may declare them before the primary constructs its AggregatorRegistry).
if (cluster.isPrimary) {
	cluster.on('message', (worker, message) => {
		if (message && message.type === shared.IPC_METRICS) ipcWorkers.add(worker);
	});
}

if (cluster.isWorker) {
	process.on('message', message => {
		if (!message || message.type !== GET_METRICS_REQ) return;
		// Shared metrics are read from their files by the primary: only the others go here.
		Promise.all(shared.state.registries.map(r => r._json(r.getMetricsAsArray().filter(m => !m._sh))))
			.then(all => {
				process.send({ type: GET_METRICS_RES, requestId: message.requestId, metrics: JSON.stringify(all.flat()) });
			})
			.catch(error => {
				process.send({ type: GET_METRICS_RES, requestId: message.requestId, error: error.message });
			});
	});
}

module.exports = AggregatorRegistry;
