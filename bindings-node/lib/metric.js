'use strict';
// What every metric type shares: prom-client's config handling, registration, and label
// resolution. Label values resolve through a tree of Maps (one level per label name) to a
// child holding a typed array over its cells and an offset: a hit hashes only the (usually
// interned) value strings and crosses no N-API boundary. A miss asks Rust for the series.

const { performance } = require('perf_hooks');
const Registry = require('./registry');
const { native, laneCell, sharedCell } = require('./native');
const { activeSpanLabels } = require('./tracing');
const { validateMetricName, validateLabelName, validateLabel, isObject, getLabels } = require('./validation');

/** The label value of every label of a family's overflow series (as in the core). */
const OVERFLOW = '__overflow__';

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
		const limit = this.cardinalityLimit;
		if (limit !== undefined && !(limit === Infinity || (Number.isInteger(limit) && limit >= 1))) {
			throw new TypeError('cardinalityLimit must be a positive integer or Infinity');
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
			cardinalityLimit: this.cardinalityLimit,
			...extra,
		});
		// The family's generation cell, shared by every thread: Rust bumps it on every removal
		// before the removed series' cells can be reused. See `_resolve` and `Child`.
		[this._ga, this._go] = sharedCell(native.familyGenerationCell(this._fid));
		this._tree = new Map();
		this._nLabels = this.labelNames.length;
		this._overflowValues = this.labelNames.map(() => OVERFLOW);
		// The overflow series' first cell: fixed for the family's life (it is never freed).
		this._overflowBase = native.familyOverflowCell(this._fid);
		this._overflowChild = undefined;
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
	 *
	 * The generation is read *before* the call that returns the series' first cell: a removal
	 * after that call then always shows as a changed generation at the child's next write, so
	 * the child never writes cells Rust has freed and may have given to another series (the
	 * invariant in core/src/cells.rs). A label set past the family's cardinality limit gets
	 * the overflow series, which is not cached under its own values (the tree stays bounded).
	 */
	_resolve(labels, hidden = false) {
		validateLabel(this.labelNames, labels);
		const values = this.labelNames.map(n => labelText(labels[n]));
		const g = this._ga[this._go];
		const base = (hidden ? native.resolveSeriesHidden : native.resolveSeries)(this._fid, values);
		if (this._nLabels > 0 && base === this._overflowBase && !values.every(v => v === OVERFLOW)) {
			let child = this._overflowChild;
			if (child === undefined || child.g !== this._ga[this._go]) {
				child = this._overflowChild = this._makeChild(base, this._overflowValues);
				child.g = hidden ? -1 : g;
			}
			return child;
		}
		const child = this._makeChild(base, values);
		child.g = hidden ? -1 : g;
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
	 * Forgets cached children after remove/reset (Rust freed those series). Held children see
	 * the generation change and re-create their series on their next write, as prom-client's
	 * `labels()` objects re-create theirs.
	 */
	_forget() {
		this._tree = new Map();
		this._unlabelled = undefined;
		this._overflowChild = undefined;
	}

	/** Points a child at the cells of `base` (its series was re-resolved). */
	_rebind(child, base) {
		const [arr, off] = this.type === 'gauge' ? sharedCell(base) : laneCell(base);
		child.a = arr;
		child.o = off;
		child.b = base;
	}

	/** `{ live, overflowed, limit }`: live label sets, label sets folded into the overflow series. */
	_cardinality() {
		const [live, overflowed, limit] = native.familyStats(this._fid);
		return { live, overflowed, limit };
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
 * A resolved series: `a[o]` is its first cell (index `b`) in this thread's typed array. `g` is
 * the family's generation read before the series was resolved; every write first compares it
 * with the generation cell (`m._ga[m._go]`) and, if a removal happened since, re-resolves the
 * series (new cells) instead of writing the old ones, which may belong to another series by
 * then. Nothing between that check and the write calls into Rust.
 */
class Child {
	constructor(metric, arr, off, values, base) {
		this.m = metric;
		this.a = arr;
		this.o = off;
		this.g = -1;
		this.v = values;
		this.b = base;
	}

	_refresh() {
		const m = this.m;
		const g = m._ga[m._go];
		m._rebind(this, native.resolveSeries(m._fid, this.v));
		this.g = g;
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

module.exports = { Metric, ObservingMetric, Child, ObservingChild, labelText, OVERFLOW };
