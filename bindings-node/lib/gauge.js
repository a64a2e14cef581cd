'use strict';

const util = require('util');
const { performance } = require('perf_hooks');
const { Metric, Child } = require('./metric');
const { sharedCell } = require('./native');
const { isObject, invalidNumber } = require('./validation');

function checkDelta(delta) {
	if (typeof delta !== 'number') {
		throw new TypeError(`Delta is not a valid number: ${util.format(delta)}`);
	}
	return delta;
}

class GaugeChild extends Child {
	set(value) {
		if (typeof value !== 'number') throw invalidNumber(value);
		if (this.g !== this.m._ga[this.m._go]) this._refresh();
		this.a[this.o] = value;
	}
	inc(value) {
		value = value === undefined ? 1 : checkDelta(value);
		if (this.g !== this.m._ga[this.m._go]) this._refresh();
		this.a[this.o] += value;
	}
	dec(value) {
		value = value === undefined ? 1 : checkDelta(value);
		if (this.g !== this.m._ga[this.m._go]) this._refresh();
		this.a[this.o] -= value;
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
		if (this.labelNames.length === 0) this._child(undefined);
	}

	_makeChild(base, values) {
		const [arr, off] = sharedCell(base);
		return new GaugeChild(this, arr, off, values, base);
	}

	set(labels, value) {
		if (!isObject(labels)) value = labels;
		if (typeof value !== 'number') throw invalidNumber(value);
		const child = this._target(labels);
		if (child.g !== this._ga[this._go]) child._refresh();
		child.a[child.o] = value;
	}

	inc(labels, value) {
		if (!isObject(labels)) value = labels;
		value = value === undefined ? 1 : checkDelta(value);
		const child = this._target(labels);
		if (child.g !== this._ga[this._go]) child._refresh();
		child.a[child.o] += value;
	}

	dec(labels, value) {
		if (!isObject(labels)) value = labels;
		value = value === undefined ? 1 : checkDelta(value);
		const child = this._target(labels);
		if (child.g !== this._ga[this._go]) child._refresh();
		child.a[child.o] -= value;
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
