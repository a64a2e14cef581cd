'use strict';

const { ObservingMetric, ObservingChild, PAGE_MASK } = require('./metric');
const Registry = require('./registry');
const { native } = require('./native');
const { isObject, invalidNumber, validateLabel } = require('./validation');
const { fail } = require('./errors');

const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Cells `[bucket 0 … bucket n-1, +Inf, sum]`, counts not cumulative (Rust accumulates at
 * render), so an observation is two adds.
 */
function observeAt(m, b, value) {
	const bounds = m.upperBounds;
	const n = bounds.length;
	let i = 0;
	while (i < n && value > bounds[i]) i++;
	const a = m._arr(b);
	const o = b & PAGE_MASK;
	a[o + i] += 1;
	a[o + n + 1] += value;
}

class HistogramChild extends ObservingChild {
	observe(value) {
		if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidNumber(value);
		observeAt(this.m, this._cell(), value);
		if (this.m._sh) this._share(value);
	}
}

class Histogram extends ObservingMetric {
	constructor(config) {
		super(config, { buckets: DEFAULT_BUCKETS });
		this.type = 'histogram';
		for (const label of this.labelNames) {
			if (label === 'le') throw fail('ReservedLabelName', 'le is a reserved label keyword');
		}
		if (!Array.isArray(this.buckets) || this.buckets.some(b => typeof b !== 'number')) {
			throw fail('InvalidArgument', 'buckets must be an array of numbers');
		}
		this.upperBounds = Object.freeze(this.buckets.filter(b => b !== Infinity));
		this._declare('histogram', { buckets: [...this.upperBounds] });
		if (this.labelNames.length === 0) this._base(undefined);
		if (this.enableExemplars) this.observe = this._observeWithExemplar;
	}

	_makeChild(values, base, gen) {
		return new HistogramChild(this, values, base, gen);
	}

	/** observe(value) or observe(labels, value). */
	observe(labels, value) {
		const b = this._base(labels);
		if (isObject(labels)) {
			if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidNumber(value);
			observeAt(this, b, value);
			if (this._sh) this._share(b, labels, value);
		} else {
			if (typeof labels !== 'number' || !Number.isFinite(labels)) throw invalidNumber(labels);
			observeAt(this, b, labels);
			if (this._sh) this._share(b, undefined, labels);
		}
	}

	/** prom-client's exemplar form: `observe({ labels, value, exemplarLabels })`. */
	_observeWithExemplar({ labels = {}, value, exemplarLabels } = {}) {
		Histogram.prototype.observe.call(this, labels, value);
		const flat = isObject(exemplarLabels) ? Registry._flatten(exemplarLabels) : [];
		if (flat.length > 0) native.cellExemplar(this._fid, this._values(labels), value, flat);
	}

	zero(labels) {
		validateLabel(this.labelNames, labels || {});
		native.zeroSeries(this._fid, this._values(labels || {}));
		// Shared: the series shows (its counts in the cluster's view are not zeroed).
		if (this._sh) native.sharedSeries(this._fid, this._values(labels || {}));
	}

	reset() {
		native.resetFamily(this._fid);
		this._forget();
	}

	async get() {
		await this._runCollect();
		const values = [];
		const bucketName = `${this.name}_bucket`;
		for (const s of native.familyValues(this._fid)) {
			const labels = this._labelsObject(s.labels);
			let acc = 0;
			for (let i = 0; i < this.upperBounds.length; i++) {
				acc += s.buckets[i];
				values.push({ labels: { le: this.upperBounds[i], ...labels }, value: acc, metricName: bucketName });
			}
			values.push({ labels: { le: '+Inf', ...labels }, value: s.count, metricName: bucketName });
			values.push({ labels: { ...labels }, value: s.sum, metricName: `${this.name}_sum` });
			values.push({ labels: { ...labels }, value: s.count, metricName: `${this.name}_count` });
		}
		return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
	}
}

module.exports = Histogram;
