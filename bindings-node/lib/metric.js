'use strict';
// What every metric type shares: prom-client's config handling, registration, and label
// resolution. Label values resolve through a tree of Maps (one level per label name) to the
// series' first cell index in this thread's typed arrays over the cell pages: a hit hashes only
// the (usually interned) value strings and crosses no N-API boundary. A miss asks Rust for the
// series. Cached indices are dropped whenever the family's generation moves (see `_fresh`).

const { performance } = require('perf_hooks');
const Registry = require('./registry');
const { native, sharedCell, lanePage, sharedPage, lanePages, sharedPages, PAGE_SHIFT } = require('./native');
const { activeSpanLabels } = require('./tracing');
const { validateMetricName, validateLabelName, validateLabel, isObject, getLabels } = require('./validation');
const { fail } = require('./errors');
const sharing = require('./shared');

/** A cell index's offset in its page. */
const PAGE_MASK = (1 << PAGE_SHIFT) - 1;

/** The label value of every label of a family's overflow series (as in the core). */
const OVERFLOW = '__overflow__';

/** A label value as prom-client keys it: `${value}`; a missing label is the empty value. */
function labelText(v) {
	return typeof v === 'string' ? v : v === undefined ? '' : `${v}`;
}

class Metric {
	constructor(config, defaults = {}) {
		if (!isObject(config)) {
			throw fail('InvalidArgument', 'constructor expected a config object');
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
		if (!this.help) throw fail('MissingOption', 'Missing mandatory help parameter');
		if (!this.name) throw fail('MissingOption', 'Missing mandatory name parameter');
		if (!validateMetricName(this.name)) throw fail('InvalidMetricName', 'Invalid metric name');
		if (!Array.isArray(this.labelNames)) throw fail('InvalidArgument', 'labelNames must be an array of strings');
		if (!validateLabelName(this.labelNames)) throw fail('InvalidLabelName', 'Invalid label name');
		if (this.collect && typeof this.collect !== 'function') {
			throw fail('InvalidOption', 'Optional "collect" parameter must be a function');
		}
		const limit = this.cardinalityLimit;
		if (limit !== undefined && !(limit === Infinity || (Number.isInteger(limit) && limit >= 1))) {
			throw fail('InvalidArgument', 'cardinalityLimit must be a positive integer or Infinity');
		}
		this.labelNames = [...this.labelNames];
	}

	/** Declares the family in Rust and registers it; called by subclasses once typed. */
	_declare(kind, extra = {}) {
		for (const register of this.registers) {
			const existing = register._metrics[this.name];
			if (existing && existing !== this) {
				throw fail('AlreadyRegistered', `A metric with the name ${this.name} has already been registered.`);
			}
		}
		this._fid = native.declareFamily({
			kind,
			name: `${this.name}`,
			help: `${this.help}`,
			labelNames: this.labelNames.map(String),
			global: this.registers.some(r => r._id === 0),
			cardinalityLimit: this.cardinalityLimit,
			...extra,
		});
		// The family's generation cell, shared by every thread: Rust bumps it on every removal
		// before the removed series' cells can be reused (core/src/cells.rs, quarantine).
		[this._ga, this._go] = sharedCell(native.familyGenerationCell(this._fid));
		const shared = kind === 'gauge';
		this._pages = shared ? sharedPages : lanePages;
		this._fetchPage = shared ? sharedPage : lanePage;
		this._nLabels = this.labelNames.length;
		// The overflow series' first cell: fixed for the family's life (it is never freed).
		this._overflowBase = native.familyOverflowCell(this._fid);
		this._tg = this._ga[this._go];
		this._tree = new Map();
		this._ub = -1;
		// In a cluster worker with a shared directory: every write is also written into this
		// process' lane file (lib/shared.js), for the primary to read without asking. `_sh`
		// maps a cell index to its shared series' number, cleared with `_tree`.
		this._sh = null;
		if (sharing.shouldShare(this, kind)) {
			native.shareFamily(sharing.workerDir(), this._fid, `${this.aggregator}`);
			this._sh = new Map();
		}
		for (const register of this.registers) register.registerMetric(this);
	}

	/** The typed array (this thread's page) holding cell `base`; the cell is `base & PAGE_MASK`. */
	_arr(base) {
		return this._pages[base >>> PAGE_SHIFT] || this._fetchPage(base >>> PAGE_SHIFT);
	}

	/**
	 * Drops every cached cell index if a series of this family was removed since they were
	 * resolved, in any thread. Invariant (with core/src/cells.rs): `_tg` is read before any index
	 * in `_tree`/`_ub` was resolved, and every write compares it with the generation cell first,
	 * with no call into Rust between that check and the write; so no write reaches cells Rust has
	 * freed and may have given to another series.
	 */
	_fresh() {
		const g = this._ga[this._go];
		if (g !== this._tg) {
			this._tree = new Map();
			this._ub = -1;
			this._tg = g;
			if (this._sh) this._sh.clear();
		}
	}

	/** The cached cell index for a labels object, or undefined for a miss (see `_resolve`). */
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
	 * Validates, asks Rust for the series' first cell, and caches it (a tree of Maps, one level
	 * per label, leaves are cell indices: a live series costs one Map entry here). Callers have
	 * called `_fresh()` first. A `hidden` series (prom-client's `labels()`) is not exported until
	 * its first write and is not cached, so that write resolves it again, which shows it. A label
	 * set past the family's cardinality limit gets the overflow series, not cached under its own
	 * values either (the tree stays bounded by the limit).
	 */
	_resolve(labels, hidden = false) {
		validateLabel(this.labelNames, labels);
		const values = this._values(labels);
		const base = (hidden ? native.resolveSeriesHidden : native.resolveSeries)(this._fid, values);
		if (hidden || (base === this._overflowBase && this._nLabels > 0 && !values.every(v => v === OVERFLOW))) {
			return base;
		}
		if (values.length === 0) return (this._ub = base);
		let node = this._tree;
		for (let i = 0; i < values.length - 1; i++) {
			let next = node.get(values[i]);
			if (next === undefined) node.set(values[i], (next = new Map()));
			node = next;
		}
		node.set(values[values.length - 1], base);
		return base;
	}

	/**
	 * The first cell a write goes to, checked fresh: `labelsOrValue` is a labels object, or
	 * (prom-client's `inc(value)`, `observe(value)`) not one, which means the series without
	 * labels. Nothing may call into Rust between this and the write but a page fetch.
	 */
	_base(labelsOrValue) {
		this._fresh();
		if (!isObject(labelsOrValue)) {
			if (this._nLabels === 0) return this._ub >= 0 ? this._ub : this._resolve({});
			const b = this._lookup({});
			return b !== undefined ? b : this._resolve({});
		}
		if (this._nLabels === 0) {
			validateLabel(this.labelNames, labelsOrValue);
			return this._ub >= 0 ? this._ub : this._resolve({});
		}
		const b = this._lookup(labelsOrValue);
		return b !== undefined ? b : this._resolve(labelsOrValue);
	}

	/** Label values given as arguments or as one object (prom-client's `labels`/`remove`). */
	_labelArgs(args) {
		const labels = getLabels(this.labelNames, args) || {};
		validateLabel(this.labelNames, labels);
		return labels;
	}

	/**
	 * As prom-client: the series is exported from its first update, not from `labels()`. The
	 * child holds the label values and a cell index checked against the generation (see `Child`).
	 */
	labels(...args) {
		const labels = this._labelArgs(args);
		this._fresh();
		const values = this._values(labels);
		const cached = this._nLabels === 0 ? (this._ub >= 0 ? this._ub : undefined) : this._lookup(labels);
		if (cached !== undefined) return this._makeChild(values, cached, this._tg);
		const base = this._resolve(labels, true);
		// Past the cardinality limit: the child is the overflow series' (counted once, here).
		const own = base !== this._overflowBase || this._nLabels === 0;
		return this._makeChild(own ? values : this.labelNames.map(() => OVERFLOW), base, -1);
	}

	remove(...args) {
		native.removeSeries(this._fid, this._values(this._labelArgs(args)));
		this._forget();
	}

	/** Empties every series; a metric without labels keeps its zero series (prom-client). */
	reset() {
		native.resetFamily(this._fid);
		this._forget();
		if (this.labelNames.length === 0) this._base(undefined);
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
	 * Forgets cached cell indices after remove/reset (Rust freed those series). Held children
	 * see the generation change and re-create their series on their next write, as
	 * prom-client's `labels()` objects re-create theirs.
	 */
	_forget() {
		this._tree = new Map();
		this._ub = -1;
		this._tg = this._ga[this._go];
		if (this._sh) this._sh.clear();
	}

	/**
	 * Shared mode: the number of the shared series of cell `b`, the first cell `_base(labels)`
	 * returned (its label values are the overflow series' when `b` is that series').
	 */
	_shared(b, labels) {
		let s = this._sh.get(b);
		if (s === undefined) {
			const values =
				b === this._overflowBase && this._nLabels > 0
					? this.labelNames.map(() => OVERFLOW)
					: this._values(isObject(labels) ? labels : {});
			s = native.sharedSeries(this._fid, values);
			this._sh.set(b, s);
		}
		return s;
	}

	/** Shared mode: writes `value` (an increment, a gauge's new value, an observation). */
	_share(b, labels, value) {
		native.sharedWrite(this._fid, this._shared(b, labels), value);
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
			if (all === undefined) this.observe(v);
			else this.observe(all, v);
			if (this.type === 'histogram') this._traced(this._values(isObject(all) ? all : {}), v);
			return v;
		};
	}

	/** Attaches the active OpenTelemetry span to the bucket of `v` in series `values` (histograms). */
	_traced(values, v) {
		const labels = activeSpanLabels();
		if (labels !== null) native.cellExemplar(this._fid, values, v, labels);
	}
}

/**
 * A series a caller holds (prom-client's `labels()` result): its label values `v`, its first
 * cell `b`, and `g`, the family's generation read before `b` was resolved (-1: resolve at the
 * first write, which also shows a series `labels()` created hidden). Every write takes its
 * cell from `_cell()`, which re-resolves when a removal happened since (in any thread), so a
 * held child never writes cells Rust has freed and may have given to another series.
 */
class Child {
	constructor(metric, values, base, gen) {
		this.m = metric;
		this.v = values;
		this.b = base;
		this.g = gen;
		// Shared mode: the shared series' number (a label set keeps it for the process' life).
		this.s = -1;
	}

	/** Shared mode: writes `value` into the shared series of these label values. */
	_share(value) {
		if (this.s < 0) this.s = native.sharedSeries(this.m._fid, this.v);
		native.sharedWrite(this.m._fid, this.s, value);
	}

	/** The first cell, checked fresh; nothing may call into Rust between this and the write. */
	_cell() {
		const m = this.m;
		const g = m._ga[m._go];
		if (this.g !== g) {
			this.b = native.resolveSeries(m._fid, this.v);
			this.g = g;
		}
		return this.b;
	}
}

/** A child of a histogram or summary: its `startTimer()` end observes the seconds elapsed. */
class ObservingChild extends Child {
	startTimer() {
		const start = performance.now();
		return () => {
			const v = (performance.now() - start) / 1000;
			this.observe(v);
			if (this.m.type === 'histogram') this.m._traced(this.v, v);
			return v;
		};
	}
}

module.exports = { Metric, ObservingMetric, Child, ObservingChild, labelText, OVERFLOW, PAGE_MASK };
