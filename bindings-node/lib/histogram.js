'use strict';

const { ObservingMetric, ObservingChild, PAGE_MASK } = require('./metric');
const Registry = require('./registry');
const { native } = require('./native');
const { isObject, invalidNumber, validateLabel } = require('./validation');
const { fail } = require('./errors');
const sharing = require('./shared');

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

/** A child of a native histogram: each observation is one call into the core's buckets. */
class NativeHistogramChild extends ObservingChild {
	observe(value) {
		if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidNumber(value);
		native.observeNative(this.m._fid, this._cell(), value);
	}
}

// client_golang's `NativeHistogram*` options (HistogramOpts), in prom-client's spelling.
const NATIVE_OPTIONS = [
	'nativeHistogramBucketFactor',
	'nativeHistogramZeroThreshold',
	'nativeHistogramMaxBucketNumber',
	'nativeHistogramMinResetDuration',
	'nativeHistogramMaxZeroThreshold',
];

/**
 * The native options of a config, checked: `null` without `nativeHistogramBucketFactor` (a
 * classic histogram; the other native options are then refused rather than ignored). Every
 * mistake is an `InvalidArgument` (TypeError, ERR_FOOTMETRICS_INVALID_ARGUMENT), as the
 * package reports its other bad options (`cardinalityLimit`, `maxAgeSeconds`).
 */
function nativeOptions(config) {
	const factor = config.nativeHistogramBucketFactor;
	if (factor === undefined) {
		for (const name of NATIVE_OPTIONS) {
			if (config[name] !== undefined) {
				throw fail('InvalidArgument', `${name} needs nativeHistogramBucketFactor (native histograms are off without it)`);
			}
		}
		return null;
	}
	const number = (name, ok, what) => {
		const v = config[name];
		if (v === undefined) return undefined;
		if (typeof v !== 'number') throw fail('InvalidArgument', `${name} must be a number, got ${typeof v}`);
		if (!ok(v)) throw fail('InvalidArgument', `${name} must be ${what}, got ${v}`);
		return v;
	};
	const nonNegative = v => v >= 0 && Number.isFinite(v);
	return {
		nativeBucketFactor: number('nativeHistogramBucketFactor', v => v > 1 && Number.isFinite(v), 'a finite number greater than 1'),
		nativeZeroThreshold: number('nativeHistogramZeroThreshold', nonNegative, 'a finite number >= 0'),
		nativeMaxBucketNumber: number(
			'nativeHistogramMaxBucketNumber',
			v => Number.isInteger(v) && v >= 0 && v <= 0xffffffff,
			'an integer from 0 (no limit) to 4294967295',
		),
		nativeMinResetDuration: number('nativeHistogramMinResetDuration', nonNegative, 'a finite number of seconds >= 0'),
		nativeMaxZeroThreshold: number('nativeHistogramMaxZeroThreshold', nonNegative, 'a finite number >= 0'),
	};
}

class Histogram extends ObservingMetric {
	constructor(config) {
		const nativeOpts = config !== null && typeof config === 'object' ? nativeOptions(config) : null;
		// A native histogram without explicit buckets has no classic buckets (only +Inf), as
		// client_golang's.
		super(config, { buckets: nativeOpts ? [] : DEFAULT_BUCKETS });
		this.type = 'histogram';
		for (const label of this.labelNames) {
			if (label === 'le') throw fail('ReservedLabelName', 'le is a reserved label keyword');
		}
		if (!Array.isArray(this.buckets) || this.buckets.some(b => typeof b !== 'number')) {
			throw fail('InvalidArgument', 'buckets must be an array of numbers');
		}
		this.upperBounds = Object.freeze(this.buckets.filter(b => b !== Infinity));
		this._native = nativeOpts !== null;
		if (this._native && sharing.shouldShare(this, 'histogram')) {
			// The cluster's shared files hold cells; native buckets live in the core (as the
			// core's multi-process mode, which refuses them too).
			throw fail(
				'InvalidOption',
				`${this.name}: native histograms cannot be shared through the cluster's files; ` +
					'register it in a registry the AggregatorRegistry does not report, or use classic buckets',
			);
		}
		this._declare('histogram', { buckets: [...this.upperBounds], ...nativeOpts });
		if (this.labelNames.length === 0) this._base(undefined);
		if (this.enableExemplars) this.observe = this._observeWithExemplar;
		else if (this._native) this.observe = this._observeNative;
	}

	_makeChild(values, base, gen) {
		return this._native ? new NativeHistogramChild(this, values, base, gen) : new HistogramChild(this, values, base, gen);
	}

	/** `observe` of a native histogram: one call into the core per observation. */
	_observeNative(labels, value) {
		const b = this._base(labels);
		if (isObject(labels)) {
			if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidNumber(value);
			native.observeNative(this._fid, b, value);
		} else {
			if (typeof labels !== 'number' || !Number.isFinite(labels)) throw invalidNumber(labels);
			native.observeNative(this._fid, b, labels);
		}
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
		(this._native ? Histogram.prototype._observeNative : Histogram.prototype.observe).call(this, labels, value);
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
