'use strict';
// OTLP export to an OpenTelemetry collector. The event loop only runs the registry's JS
// `collect` callbacks and queues a snapshot; gathering, encoding and sending (with retries)
// run on the core exporter's threads, and waiting for a flush runs on the thread pool.

const Registry = require('./registry');
const { native } = require('./native');
const { fail } = require('./errors');

const live = new Set();
let exitHookInstalled = false;

function installExitHook() {
	if (exitHookInstalled) return;
	exitHookInstalled = true;
	// `beforeExit` allows async work: the last snapshot of every exporter still running is sent.
	process.once('beforeExit', async () => {
		await Promise.allSettled([...live].map((e) => e.shutdown(5000)));
	});
}

function pairs(obj, what) {
	if (obj === undefined || obj === null) return [];
	if (typeof obj !== 'object' || Array.isArray(obj)) {
		throw fail('InvalidArgument', `${what} must be an object of string values`);
	}
	return Registry._flatten(obj);
}

/** `ca`, `cert`, `key` (PEM text, as Node's `tls` options) for an `https://` endpoint. */
function otlpTls(options) {
	const { _pem: pem } = require('./pushgateway');
	const cert = pem(options.cert, 'options.cert');
	const key = pem(options.key, 'options.key');
	if ((cert === undefined) !== (key === undefined)) {
		throw fail('InvalidArgument', 'options.cert and options.key go together: give both or neither');
	}
	return [pem(options.ca, 'options.ca'), cert, key];
}

class OtlpExporter {
	constructor(endpoint, intervalMs = 60000, options = {}) {
		if (typeof endpoint !== 'string') throw fail('InvalidArgument', 'endpoint must be a string');
		if (typeof intervalMs !== 'number' || !(intervalMs > 0) || !Number.isFinite(intervalMs)) {
			throw fail('InvalidArgument', `intervalMs must be a positive number, got ${intervalMs}`);
		}
		if (options === null || typeof options !== 'object') throw fail('InvalidArgument', 'options must be an object');
		const registry = options.registry || Registry.globalRegistry;
		if (!(registry instanceof Registry)) throw fail('InvalidArgument', 'options.registry must be a Registry');
		const resource = Object.assign({}, options.resourceAttributes);
		if (options.serviceName !== undefined) resource['service.name'] = `${options.serviceName}`;
		this.registry = registry;
		this._id = native.otlpStart(
			registry._id,
			endpoint,
			options.protocol || 'http/protobuf',
			intervalMs,
			options.timeoutMs === undefined ? 10000 : options.timeoutMs,
			pairs(resource, 'options.resourceAttributes'),
			pairs(options.headers, 'options.headers'),
			Registry._flatten(registry._defaultLabels),
			options.maxQueueBatches === undefined ? 8 : options.maxQueueBatches,
			...otlpTls(options),
		);
		this._stopped = false;
		// Unref'd: an exporter never keeps the process alive on its own.
		this._timer = setInterval(() => this._collect().catch(() => {}), intervalMs);
		this._timer.unref();
		live.add(this);
		installExitHook();
	}

	async _collect() {
		try {
			await this.registry._collectAll();
		} catch (_) {
			// A failing `collect` callback leaves its metric at its last value; export anyway.
		}
		if (!this._stopped) native.otlpCollectNow(this._id);
	}

	/** Exports now; resolves to whether the snapshot reached the collector within `timeoutMs`. */
	async forceFlush(timeoutMs = 10000) {
		if (this._stopped) return false;
		await this.registry._collectAll();
		return native.otlpForceFlush(this._id, timeoutMs);
	}

	/** Sends a final snapshot and stops; resolves to whether everything was delivered. */
	async shutdown(timeoutMs = 5000) {
		if (this._stopped) return false;
		this._stopped = true;
		clearInterval(this._timer);
		live.delete(this);
		try {
			await this.registry._collectAll();
		} catch (_) {
			// As in _collect.
		}
		return native.otlpShutdown(this._id, timeoutMs);
	}

	/** Counters since start: exported and dropped points, failed requests, queued snapshots. */
	stats() {
		if (this._stopped) throw fail('ShutDown', 'the OTLP exporter is shut down');
		return native.otlpStats(this._id);
	}
}

/** Starts exporting `options.registry` (default: the global one) to `endpoint`. */
function startOtlpExporter(endpoint, intervalMs, options) {
	return new OtlpExporter(endpoint, intervalMs, options);
}

module.exports = { OtlpExporter, startOtlpExporter };
