'use strict';

const util = require('util');
const { performance } = require('perf_hooks');
const { Metric, Child, PAGE_MASK } = require('./metric');
const { isObject, invalidNumber } = require('./validation');
const { fail } = require('./errors');

function checkDelta(delta) {
	if (typeof delta !== 'number') {
		throw fail('InvalidValue', `Delta is not a valid number: ${util.format(delta)}`);
	}
	return delta;
}

class GaugeChild extends Child {
	set(value) {
		if (typeof value !== 'number') throw invalidNumber(value);
		const b = this._cell();
		this.m._arr(b)[b & PAGE_MASK] = value;
		if (this.m._sh) this._share(value);
	}
	inc(value) {
		value = value === undefined ? 1 : checkDelta(value);
		const b = this._cell();
		const a = this.m._arr(b);
		a[b & PAGE_MASK] += value;
		if (this.m._sh) this._share(a[b & PAGE_MASK]);
	}
	dec(value) {
		value = value === undefined ? 1 : checkDelta(value);
		const b = this._cell();
		const a = this.m._arr(b);
		a[b & PAGE_MASK] -= value;
		if (this.m._sh) this._share(a[b & PAGE_MASK]);
	}
	setToCurrentTime() {
		this.set(Date.now() / 1000);
	}
	startTimer() {
		const start = performance.now();
		return () => {
			const v = (performance.now() - start) / 1000;
			this.set(v);
			return v;
		};
	}
}

class Gauge extends Metric {
	constructor(config) {
		super(config);
		this.type = 'gauge';
		this._declare('gauge');
		if (this.labelNames.length === 0) this._base(undefined);
	}

	_makeChild(values, base, gen) {
		return new GaugeChild(this, values, base, gen);
	}

	set(labels, value) {
		if (!isObject(labels)) value = labels;
		if (typeof value !== 'number') throw invalidNumber(value);
		const b = this._base(labels);
		this._arr(b)[b & PAGE_MASK] = value;
		if (this._sh) this._share(b, labels, value);
	}

	inc(labels, value) {
		if (!isObject(labels)) value = labels;
		value = value === undefined ? 1 : checkDelta(value);
		const b = this._base(labels);
		const a = this._arr(b);
		a[b & PAGE_MASK] += value;
		if (this._sh) this._share(b, labels, a[b & PAGE_MASK]);
	}

	dec(labels, value) {
		if (!isObject(labels)) value = labels;
		value = value === undefined ? 1 : checkDelta(value);
		const b = this._base(labels);
		const a = this._arr(b);
		a[b & PAGE_MASK] -= value;
		if (this._sh) this._share(b, labels, a[b & PAGE_MASK]);
	}

	setToCurrentTime(labels) {
		const now = Date.now() / 1000;
		if (labels === undefined) this.set(now);
		else this.set(labels, now);
	}

	startTimer(labels) {
		const start = performance.now();
		return endLabels => {
			const v = (performance.now() - start) / 1000;
			this.set(Object.assign({}, labels, endLabels), v);
			return v;
		};
	}

	get() {
		return this._scalarGet();
	}
}

module.exports = Gauge;
