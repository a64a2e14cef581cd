'use strict';
// AggregatorRegistry: the cluster primary asks every worker for its metrics and serves the
// aggregate. Workers answer with one JSON string each (cheap for the IPC channel to carry);
// the primary hands the strings to Rust, which parses, aggregates (per metric `aggregator`)
// and renders on the thread pool, so the primary's event loop never walks the samples.

const cluster = require('cluster');
const Registry = require('./registry');
const { native } = require('./native');
const { fail } = require('./errors');

const GET_METRICS_REQ = 'footmetrics:getMetricsReq';
const GET_METRICS_RES = 'footmetrics:getMetricsRes';
const TIMEOUT_MS = 5000;

let registries = [Registry.globalRegistry];
let requestCtr = 0;
let listenersAdded = false;
const requests = new Map();

class AggregatorRegistry extends Registry {
	constructor(regContentType = Registry.PROMETHEUS_CONTENT_TYPE) {
		super(regContentType);
		addListeners();
	}

	/** The aggregated metrics of every live cluster worker, as a Promise of the exposition. */
	clusterMetrics() {
		const requestId = requestCtr++;
		return new Promise((resolve, reject) => {
			let settled = false;
			const done = (err, result) => {
				if (settled) return;
				settled = true;
				if (err) reject(err);
				else resolve(result);
			};
			const request = { responses: [], pending: 0, done, errorTimeout: null };
			request.errorTimeout = setTimeout(() => {
				requests.delete(requestId);
				done(fail('Timeout', 'Operation timed out.'));
			}, TIMEOUT_MS);
			requests.set(requestId, request);
			const message = { type: GET_METRICS_REQ, requestId };
			for (const id in cluster.workers) {
				if (cluster.workers[id].isConnected()) {
					cluster.workers[id].send(message);
					request.pending++;
				}
			}
			if (request.pending === 0) {
				clearTimeout(request.errorTimeout);
				requests.delete(requestId);
				native
					.aggregateWorkers([], this.contentType === Registry.OPENMETRICS_CONTENT_TYPE)
					.then(text => done(null, text), done);
			}
			request.openMetrics = this.contentType === Registry.OPENMETRICS_CONTENT_TYPE;
		});
	}

	/** Registries the workers report (default: the global one). */
	static setRegistries(regs) {
		if (!Array.isArray(regs)) regs = [regs];
		for (const reg of regs) {
			if (!(reg instanceof Registry)) throw fail('InvalidArgument', `Expected Registry, got ${typeof reg}`);
		}
		registries = regs;
	}
}

function addListeners() {
	if (listenersAdded || !cluster.isPrimary) return;
	listenersAdded = true;
	cluster.on('message', (worker, message) => {
		if (!message || message.type !== GET_METRICS_RES) return;
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
			native.aggregateWorkers(request.responses, request.openMetrics).then(
				text => request.done(null, text),
				err => request.done(err),
			);
		}
	});
}

if (cluster.isWorker) {
	process.on('message', message => {
		if (!message || message.type !== GET_METRICS_REQ) return;
		Promise.all(registries.map(r => r.getMetricsAsJSON()))
			.then(all => {
				process.send({ type: GET_METRICS_RES, requestId: message.requestId, metrics: JSON.stringify(all.flat()) });
			})
			.catch(error => {
				process.send({ type: GET_METRICS_RES, requestId: message.requestId, error: error.message });
			});
	});
}

module.exports = AggregatorRegistry;
