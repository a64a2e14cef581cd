'use strict';
// What every metric type shares: prom-client's config handling, registration, and label
// resolution. Label values resolve through a tree of Maps (one level per label name) to a
// child holding a typed array over its cells and an offset: a hit hashes only the (usually
// interned) value strings and crosses no N-API boundary. A miss asks Rust for the series.

const { performance } = require('perf_hooks');
const Registry = require('./registry');
const { native } = require('./native');
const { activeSpanLabels } = require('./tracing');
const { validateMetricName, validateLabelName, validateLabel, isObject, getLabels } = require('./validation');

/** A label value as prom-client keys it: `${value}`; a missing label is the empty value. */
function labelText(v) {
	return typeof v === 'string' ? v : v === undefined ? '' : `${v}`;
}

class Metric {
	constructor(config, defaults = {}) {
		if (!isObject(config)) {
			throw new TypeError('constructor expected a config object');
		}
		Object.assign(
			this,
			{
				labelNames: [],
				registers: [Registry.globalRegistry],
				aggregator: 'sum',
				enableExemplars: false,
			},
			defaults,
			config,
		);
		if (!this.registers) this.registers = [Registry.globalRegistry];
		if (!this.help) throw new Error('Missing mandatory help parameter');
		if (!this.name) throw new Error('Missing mandatory name parameter');
		if (!validateMetricName(this.name)) throw new Error('Invalid metric name');
		if (!validateLabelName(this.labelNames)) throw new Error('Invalid label name');
		if (this.collect && typeof this.collect !== 'function') {
			throw new Error('Optional "collect" parameter must be a function');
		}
		this.labelNames = [...this.labelNames];
	}

	/** Declares the family in Rust and registers it; called by subclasses once typed. */
	_declare(kind, extra = {}) {
		for (const register of this.registers) {
			const existing = register._metrics[this.name];
			if (existing && existing !== this) {
				throw new Error(`A metric with the name ${this.name} has already been registered.`);
			}
		}
		this._fid = native.declareFamily({
			kind,
			name: this.name,
			help: this.help,
			labelNames: this.labelNames,
			global: this.registers.some(r => r._id === 0),
			...extra,
		});
		this._tree = new Map();
		this._gen = 0;
		this._nLabels = this.labelNames.length;
		for (const register of this.registers) register.registerMetric(this);
	}

	/** The child for a labels object, or undefined for a miss (see `_resolve`). */
	_lookup(labels) {
		const names = this.labelNames;
		const n = this._nLabels;
		let node = this._tree;
		let matched = 0;
		for (let i = 0; i < n; i++) {
			const v = labels[names[i]];
			if (v !== undefined) matched++;
			node = node.get(typeof v === 'string' ? v : labelText(v));
			if (node === undefined) return undefined;
		}
		// Unknown label names make the counts differ; the slow path throws for them.
		let keys = 0;
		for (const _ in labels) keys++;
		return keys === matched ? node : undefined;
	}

	/**
	 * Validates, asks Rust for the series, and caches the child. A `hidden` series (prom-client's
	 * `labels()`) is not exported until its first write: the child starts stale (generation -1),
	 * so that write re-resolves it, which shows it.
	 */
	_resolve(labels, hidden = false) {
		validateLabel(this.labelNames, labels);
		const values = this.labelNames.map(n => labelText(labels[n]));
		const base = (hidden ? native.resolveSeriesHidden : native.resolveSeries)(this._fid, values);
		const child = this._makeChild(base, values);
		if (hidden) child.g = -1;
		let node = this._tree;
		for (let i = 0; i < values.length - 1; i++) {
			let next = node.get(values[i]);
			if (next === undefined) node.set(values[i], (next = new Map()));
			node = next;
		}
		if (values.length > 0) node.set(values[values.length - 1], child);
		return child;
	}

	/** The child for `labels` (an object, or undefined for none). */
	_child(labels) {
		if (labels === undefined) {
			return this._unlabelled || (this._unlabelled = this._resolve({}));
		}
		if (this._nLabels === 0) {
			validateLabel(this.labelNames, labels);
			return this._unlabelled || (this._unlabelled = this._resolve({}));
		}
		return this._lookup(labels) || this._resolve(labels);
	}

	/**
	 * The child a write goes to: `labelsOrValue` is a labels object, or (prom-client's
	 * `inc(value)`, `observe(value)`) not one, which means the series without labels.
	 */
	_target(labelsOrValue) {
		if (!isObject(labelsOrValue)) return this._unlabelled || this._child(undefined);
		if (this._nLabels === 0) return this._child(labelsOrValue);
		return this._lookup(labelsOrValue) || this._resolve(labelsOrValue);
	}

	/** Label values given as arguments or as one object (prom-client's `labels`/`remove`). */
	_labelArgs(args) {
		const labels = getLabels(this.labelNames, args) || {};
		validateLabel(this.labelNames, labels);
		return labels;
	}

	/** As prom-client: the series is exported from its first update, not from `labels()`. */
	labels(...args) {
		const labels = this._labelArgs(args);
		if (this._nLabels === 0) return this._child(undefined);
		return this._lookup(labels) || this._resolve(labels, true);
	}

	remove(...args) {
		native.removeSeries(this._fid, this._values(this._labelArgs(args)));
		this._forget();
	}

	/** Empties every series; a metric without labels keeps its zero series (prom-client). */
	reset() {
		native.resetFamily(this._fid);
		this._forget();
		if (this.labelNames.length === 0) this._child(undefined);
	}

	/** `get()` for one-cell metrics (counters, gauges). */
	async _scalarGet() {
		await this._runCollect();
		return {
			help: this.help,
			name: this.name,
			type: this.type,
			values: native.familyValues(this._fid).map(s => ({
				value: s.value,
				labels: this._labelsObject(s.labels),
			})),
			aggregator: this.aggregator,
		};
	}

	/**
	 * Forgets cached children after remove/reset (Rust zeroed and hid those series). Held
	 * children see the generation change and re-show their series on their next write, as
	 * prom-client's `labels()` objects re-create theirs.
	 */
	_forget() {
		this._tree = new Map();
		this._unlabelled = undefined;
		this._gen++;
	}

	_values(labels) {
		return this.labelNames.map(n => labelText(labels[n]));
	}

	async _runCollect() {
		if (this.collect) {
			const v = this.collect();
			if (v instanceof Promise) await v;
		}
	}

	/** Label values from Rust back into prom-client's labels object (empty means absent). */
	_labelsObject(values) {
		const out = {};
		for (let i = 0; i < values.length; i++) {
			if (values[i] !== '') out[this.labelNames[i]] = values[i];
		}
		return out;
	}
}

/**
 * Histograms and summaries: `startTimer(labels?)` returns `end(labels?)`, which observes; a
 * histogram timer that ends inside an active OpenTelemetry span links to it by an exemplar.
 */
class ObservingMetric extends Metric {
	startTimer(labels) {
		const start = performance.now();
		return endLabels => {
			const v = (performance.now() - start) / 1000;
			const all = endLabels === undefined ? labels : Object.assign({}, labels, endLabels);
			const child = this._target(all);
			child.observe(v);
			if (this.type === 'histogram') child._traced(v);
			return v;
		};
	}
}

/**
 * A resolved series: `a[o]` is its first cell in this thread's typed array. `g` is the
 * metric's generation when resolved; a stale child re-shows its series before writing.
 */
class Child {
	constructor(metric, arr, off, values) {
		this.m = metric;
		this.a = arr;
		this.o = off;
		this.g = metric._gen;
		this.v = values;
	}

	_refresh() {
		native.resolveSeries(this.m._fid, this.v);
		this.g = this.m._gen;
	}

	/** Attaches the active OpenTelemetry span to the bucket of `v` (histograms). */
	_traced(v) {
		const labels = activeSpanLabels();
		if (labels !== null) native.cellExemplar(this.m._fid, this.v, v, labels);
	}
}

/** A child of a histogram or summary: its `startTimer()` end observes the seconds elapsed. */
class ObservingChild extends Child {
	startTimer() {
		const start = performance.now();
		return () => {
			const v = (performance.now() - start) / 1000;
			this.observe(v);
			if (this.m.type === 'histogram') this._traced(v);
			return v;
		};
	}
}

module.exports = { Metric, ObservingMetric, Child, ObservingChild, labelText };
