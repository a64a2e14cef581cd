'use strict';
// prom-client's Registry over a registry in Rust. `metrics()` runs the metrics' `collect`
// callbacks here, then renders on the libuv thread pool: the event loop only waits.

const { native } = require('./native');
const { fail } = require('./errors');

const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
const PROTOBUF_CONTENT_TYPE = native.protobufContentType();

function flatten(labels) {
	const out = [];
	for (const k of Object.keys(labels)) {
		const v = labels[k];
		if (v !== undefined && v !== null) out.push(k, `${v}`);
	}
	return out;
}

class Registry {
	static get PROMETHEUS_CONTENT_TYPE() {
		return PROMETHEUS_CONTENT_TYPE;
	}

	static get OPENMETRICS_CONTENT_TYPE() {
		return OPENMETRICS_CONTENT_TYPE;
	}

	/** The protobuf exposition's content type (delimited io.prometheus.client.MetricFamily). */
	static get PROTOBUF_CONTENT_TYPE() {
		return PROTOBUF_CONTENT_TYPE;
	}

	constructor(regContentType = PROMETHEUS_CONTENT_TYPE, nativeId) {
		if (regContentType !== PROMETHEUS_CONTENT_TYPE && regContentType !== OPENMETRICS_CONTENT_TYPE) {
			throw fail('InvalidArgument', `Content type ${regContentType} is unsupported`);
		}
		this._metrics = {};
		this._defaultLabels = {};
		this._contentType = regContentType;
		this._id = nativeId === undefined ? native.newRegistry() : nativeId;
	}

	getMetricsAsArray() {
		return Object.values(this._metrics);
	}

	_openMetrics() {
		return this._contentType === OPENMETRICS_CONTENT_TYPE;
	}

	async _collectAll() {
		const pending = [];
		for (const m of this.getMetricsAsArray()) {
			if (m.collect) pending.push(m._runCollect());
		}
		if (pending.length) await Promise.all(pending);
	}

	/** The exposition of every metric (those other worker threads declared included). */
	async metrics() {
		await this._collectAll();
		return native.renderRegistry(this._id, this._openMetrics(), flatten(this._defaultLabels));
	}

	/**
	 * What to answer a scrape whose Accept header is `accept`: `{ body, contentType }`. The
	 * protobuf exposition (a Buffer) when the header prefers it, as Prometheus' does with
	 * `--enable-feature=native-histograms` (the only exposition that carries native buckets);
	 * otherwise what `metrics()` serves, in the registry's `contentType`. Rendered on the libuv
	 * thread pool, as `metrics()`.
	 */
	async scrape(accept) {
		if (accept !== undefined && accept !== null && typeof accept !== 'string') {
			throw fail('InvalidArgument', 'accept must be a string (the Accept header) or undefined');
		}
		if (accept && native.prefersProtobuf(accept)) {
			await this._collectAll();
			const body = await native.renderRegistryProtobuf(this._id, flatten(this._defaultLabels));
			return { body, contentType: PROTOBUF_CONTENT_TYPE };
		}
		return { body: await this.metrics(), contentType: this._contentType };
	}

	registerMetric(metric) {
		if (this._metrics[metric.name] && this._metrics[metric.name] !== metric) {
			throw fail('AlreadyRegistered', `A metric with the name ${metric.name} has already been registered.`);
		}
		this._metrics[metric.name] = metric;
		native.registryAdd(this._id, metric._fid);
		if (Registry._onRegister) Registry._onRegister(this, metric);
	}

	clear() {
		this._metrics = {};
		this._defaultLabels = {};
		native.registryClear(this._id);
	}

	async getMetricsAsJSON() {
		return this._json(this.getMetricsAsArray());
	}

	/** `getMetricsAsJSON()` of some of the metrics (a cluster worker's, those not shared). */
	async _json(metrics) {
		const defaultLabelNames = Object.keys(this._defaultLabels);
		const items = await Promise.all(metrics.map(m => m.get()));
		for (const item of items) {
			if (item.values && defaultLabelNames.length > 0) {
				for (const val of item.values) {
					val.labels = Object.assign({}, val.labels);
					for (const name of defaultLabelNames) {
						val.labels[name] = val.labels[name] || this._defaultLabels[name];
					}
				}
			}
		}
		return items;
	}

	removeSingleMetric(name) {
		const metric = this._metrics[name];
		if (metric) native.registryRemove(this._id, metric._fid);
		delete this._metrics[name];
	}

	async getSingleMetricAsString(name) {
		const metric = this._metrics[name];
		// prom-client fails here with a TypeError too (reading a property of undefined).
		if (metric === undefined) throw fail('NotRegistered', `No metric named ${name} is registered`);
		await metric._runCollect();
		const text = native.renderFamily(metric._fid, this._openMetrics(), flatten(this._defaultLabels));
		return text.endsWith('\n') ? text.slice(0, -1) : text;
	}

	getSingleMetric(name) {
		return this._metrics[name];
	}

	setDefaultLabels(labels) {
		this._defaultLabels = labels;
	}

	resetMetrics() {
		for (const name in this._metrics) this._metrics[name].reset();
	}

	get contentType() {
		return this._contentType;
	}

	setContentType(metricsContentType) {
		if (metricsContentType === OPENMETRICS_CONTENT_TYPE || metricsContentType === PROMETHEUS_CONTENT_TYPE) {
			this._contentType = metricsContentType;
		} else {
			throw fail('InvalidOption', `Content type ${metricsContentType} is unsupported`);
		}
	}

	static merge(registers) {
		const regType = registers[0].contentType;
		for (const reg of registers) {
			if (reg.contentType !== regType) {
				throw fail('InvalidOption', 'Registers can only be merged if they have the same content type');
			}
		}
		const merged = new Registry(regType);
		for (const reg of registers) {
			for (const m of reg.getMetricsAsArray()) merged.registerMetric(m);
		}
		return merged;
	}
}

Registry._flatten = flatten;
module.exports = Registry;
// Native registry 0 is process-wide: every worker thread's `register` renders the same one.
module.exports.globalRegistry = new Registry(PROMETHEUS_CONTENT_TYPE, 0);
