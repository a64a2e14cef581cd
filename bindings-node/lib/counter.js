'use strict';

const { Metric, Child, PAGE_MASK } = require('./metric');
const { isObject, invalidNumber } = require('./validation');
const { fail } = require('./errors');

function checkIncrement(value) {
	if (value === undefined || value === null) return 1;
	if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidNumber(value);
	if (value < 0) throw fail('CounterDecrement', 'It is not possible to decrease a counter');
	return value;
}

class CounterChild extends Child {
	inc(value) {
		value = value === undefined ? 1 : checkIncrement(value);
		const b = this._cell();
		this.m._arr(b)[b & PAGE_MASK] += value;
		if (this.m._sh) this._share(value);
	}
}

class Counter extends Metric {
	constructor(config) {
		super(config);
		this.type = 'counter';
		this._declare('counter');
		if (this.labelNames.length === 0) this._base(undefined);
		if (this.enableExemplars) this.inc = this._incWithExemplar;
	}

	_makeChild(values, base, gen) {
		return new CounterChild(this, values, base, gen);
	}

	/** inc(), inc(value), inc(labels), inc(labels, value): as prom-client. */
	inc(labels, value) {
		const b = this._base(labels);
		if (!isObject(labels)) value = labels;
		value = value === undefined ? 1 : checkIncrement(value);
		this._arr(b)[b & PAGE_MASK] += value;
		if (this._sh) this._share(b, labels, value);
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
