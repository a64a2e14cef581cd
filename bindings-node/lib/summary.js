'use strict';

const { ObservingMetric, ObservingChild, PAGE_MASK } = require('./metric');
const { native } = require('./native');
const { isObject, invalidNumber } = require('./validation');
const { fail } = require('./errors');

const DEFAULT_PERCENTILES = [0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999];

/**
 * Count and sum are cells `[count, sum]` written here; the observation also goes to the
 * series' quantile window in Rust (one N-API call: still far cheaper than a t-digest push).
 */
/** Count and sum into the cells, then the value into the series' quantile window. */
function observeAt(m, b, value) {
	const a = m._arr(b);
	const o = b & PAGE_MASK;
	a[o] += 1;
	a[o + 1] += value;
	native.observeQuantiles(m._fid, b, value);
}

class SummaryChild extends ObservingChild {
	observe(value) {
		if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidNumber(value);
		observeAt(this.m, this._cell(), value);
		if (this.m._sh) this._share(value);
	}
}

class Summary extends ObservingMetric {
	constructor(config) {
		super(config, { percentiles: DEFAULT_PERCENTILES });
		this.type = 'summary';
		for (const label of this.labelNames) {
			if (label === 'quantile') throw fail('ReservedLabelName', 'quantile is a reserved label keyword');
		}
		if (!Array.isArray(this.percentiles) || this.percentiles.some(p => typeof p !== 'number')) {
			throw fail('InvalidArgument', 'percentiles must be an array of numbers');
		}
		if (this.maxAgeSeconds !== undefined && !(typeof this.maxAgeSeconds === 'number' && this.maxAgeSeconds >= 0)) {
			throw fail('InvalidArgument', 'maxAgeSeconds must be a non-negative number');
		}
		if (this.ageBuckets !== undefined && !(Number.isInteger(this.ageBuckets) && this.ageBuckets >= 0)) {
			throw fail('InvalidArgument', 'ageBuckets must be a non-negative integer');
		}
		this._declare('summary', {
			percentiles: [...this.percentiles],
			maxAgeSeconds: this.maxAgeSeconds || 0,
			ageBuckets: this.maxAgeSeconds ? this.ageBuckets || 5 : 0,
		});
		if (this.labelNames.length === 0) this._base(undefined);
	}

	_makeChild(values, base, gen) {
		return new SummaryChild(this, values, base, gen);
	}

	observe(labels, value) {
		const b = this._base(labels);
		const v = isObject(labels) ? value : labels;
		if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidNumber(v);
		observeAt(this, b, v);
		if (this._sh) this._share(b, labels, v);
	}

	/** As prom-client: every series stays, with count, sum and window emptied. */
	reset() {
		for (const s of native.familyValues(this._fid)) native.zeroSeries(this._fid, s.labels);
	}

	async get() {
		await this._runCollect();
		const values = [];
		for (const s of native.familyValues(this._fid)) {
			const labels = this._labelsObject(s.labels);
			this.percentiles.forEach((q, i) => {
				values.push({ labels: { quantile: q, ...labels }, value: s.quantiles[i] });
			});
			values.push({ metricName: `${this.name}_sum`, labels, value: s.sum });
			values.push({ metricName: `${this.name}_count`, labels, value: s.count });
		}
		return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
	}
}

module.exports = Summary;
