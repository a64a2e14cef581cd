'use strict';

const { Metric, Child } = require('./metric');
const { laneCell, native } = require('./native');
const { isObject, invalidNumber, getLabels, validateLabel } = require('./validation');

function checkIncrement(value) {
	if (value === undefined || value === null) return 1;
	if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidNumber(value);
	if (value < 0) throw new Error('It is not possible to decrease a counter');
	return value;
}

class CounterChild extends Child {
	inc(value) {
		value = value === undefined ? 1 : checkIncrement(value);
		if (this.g !== this.m._gen) this._refresh();
		this.a[this.o] += value;
	}
}

class Counter extends Metric {
	constructor(config) {
		super(config);
		this.type = 'counter';
		this._declare('counter');
		if (this.labelNames.length === 0) this._child(undefined);
		if (this.enableExemplars) this.inc = this._incWithExemplar;
	}

	_makeChild(base, values) {
		const [arr, off] = laneCell(base);
		return new CounterChild(this, arr, off, values);
	}

	/** inc(), inc(value), inc(labels), inc(labels, value): as prom-client. */
	inc(labels, value) {
		let child;
		if (isObject(labels)) {
			child = this._nLabels === 0 ? this._child(labels) : this._lookup(labels) || this._resolve(labels);
		} else {
			value = labels;
			child = this._unlabelled || this._child(undefined);
		}
		value = value === undefined ? 1 : checkIncrement(value);
		if (child.g !== this._gen) child._refresh();
		child.a[child.o] += value;
	}

	/** prom-client's exemplar form `inc({labels, value, exemplarLabels})`; exemplars are not kept. */
	_incWithExemplar({ labels = {}, value = 1 } = {}) {
		Counter.prototype.inc.call(this, labels, value);
	}

	labels(...args) {
		const labels = getLabels(this.labelNames, args) || {};
		validateLabel(this.labelNames, labels);
		return this._child(labels);
	}

	remove(...args) {
		const labels = getLabels(this.labelNames, args) || {};
		validateLabel(this.labelNames, labels);
		native.removeSeries(this._fid, this._values(labels));
		this._forget();
	}

	reset() {
		native.resetFamily(this._fid);
		this._forget();
		if (this.labelNames.length === 0) this._child(undefined);
	}

	async get() {
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
}

module.exports = Counter;
