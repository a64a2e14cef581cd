'use strict';

const { Metric, Child } = require('./metric');
const { laneCell } = require('./native');
const { isObject, invalidNumber } = require('./validation');

function checkIncrement(value) {
	if (value === undefined || value === null) return 1;
	if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidNumber(value);
	if (value < 0) throw new Error('It is not possible to decrease a counter');
	return value;
}

class CounterChild extends Child {
	inc(value) {
		value = value === undefined ? 1 : checkIncrement(value);
		if (this.g !== this.m._ga[this.m._go]) this._refresh();
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
		return new CounterChild(this, arr, off, values, base);
	}

	/** inc(), inc(value), inc(labels), inc(labels, value): as prom-client. */
	inc(labels, value) {
		const child = this._target(labels);
		if (!isObject(labels)) value = labels;
		value = value === undefined ? 1 : checkIncrement(value);
		if (child.g !== this._ga[this._go]) child._refresh();
		child.a[child.o] += value;
	}

	/** prom-client's exemplar form `inc({labels, value, exemplarLabels})`; exemplars are not kept. */
	_incWithExemplar({ labels = {}, value = 1 } = {}) {
		Counter.prototype.inc.call(this, labels, value);
	}

	get() {
		return this._scalarGet();
	}
}

module.exports = Counter;
