'use strict';
// Series churn: removed series give their cells back, a handle held past its series' removal
// never writes cells another series reuses, and the per-family cardinality limit folds new
// label sets into the `__overflow__` series. Bounds are asserted on the core's cell counts.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const { Worker } = require('worker_threads');
const client = require('..');
const { native } = require('../lib/native');
const { parseExposition } = require('./helpers');

const PKG = path.join(__dirname, '..');
const laned = () => native.cellStats()[0];
const shared = () => native.cellStats()[1];

async function samples(reg) {
	return parseExposition(await reg.metrics()).samples;
}

test('1M distinct counter label values, each incremented then removed: no error, cells bounded', () => {
	const reg = new client.Registry();
	const c = new client.Counter({ name: 'churn_jobs_total', help: 'J.', labelNames: ['id'], registers: [reg] });
	const before = laned();
	const rss0 = process.memoryUsage().rss;
	for (let i = 0; i < 1_000_000; i++) {
		c.inc({ id: `job-${i}` });
		c.remove({ id: `job-${i}` });
	}
	const after = laned();
	assert.equal(c._cardinality().live, 0);
	assert.equal(c._cardinality().overflowed, 0);
	// The family's overflow series, reserved when it was declared, and at most a handful of
	// blocks waiting to be reused.
	assert.ok(after.liveCells - before.liveCells <= 1, JSON.stringify({ before, after }));
	assert.ok(after.reservedCells - before.reservedCells <= 8, JSON.stringify({ before, after }));
	// Loosely: without reuse the cells alone would not grow much, but the core's series did.
	assert.ok(process.memoryUsage().rss - rss0 < 200e6, `RSS grew by ${(process.memoryUsage().rss - rss0) / 1e6} MB`);
	c.inc({ id: 'last' }, 3);
	return samples(reg).then(s => {
		assert.equal(s.get('churn_jobs_total{id="last"}'), 3);
		assert.equal(s.size, 1);
	});
});

test('a 4,000-bucket histogram keeps working past 16,384 removed label values, and other metrics take new series', async () => {
	const reg = new client.Registry();
	const buckets = Array.from({ length: 4000 }, (_, i) => i + 1);
	const h = new client.Histogram({ name: 'churn_wide_seconds', help: 'W.', labelNames: ['v'], buckets, registers: [reg] });
	const before = laned();
	for (let i = 0; i < 17_000; i++) {
		h.observe({ v: `v${i}` }, i % 5000);
		h.remove({ v: `v${i}` });
	}
	const after = laned();
	// Two 4,002-cell blocks fit a page; without reuse this churn needed 8,500 pages.
	assert.ok(after.reservedCells - before.reservedCells <= 4 * 4002, JSON.stringify({ before, after }));
	h.observe({ v: 'kept' }, 2.5);
	const other = new client.Counter({ name: 'churn_other_total', help: 'O.', labelNames: ['k'], registers: [reg] });
	for (let i = 0; i < 100; i++) other.inc({ k: `k${i}` });
	const s = await samples(reg);
	assert.equal(s.get('churn_wide_seconds_count{v="kept"}'), 1);
	assert.equal(s.get('churn_wide_seconds_bucket{le="2",v="kept"}'), 0);
	assert.equal(s.get('churn_wide_seconds_bucket{le="3",v="kept"}'), 1);
	assert.equal(s.get('churn_other_total{k="k99"}'), 1);
});

test('reset() gives cells back too', () => {
	const reg = new client.Registry();
	const buckets = Array.from({ length: 1000 }, (_, i) => i + 1);
	const h = new client.Histogram({ name: 'churn_reset_seconds', help: 'R.', labelNames: ['v'], buckets, registers: [reg] });
	const g = new client.Gauge({ name: 'churn_reset_gauge', help: 'G.', labelNames: ['v'], registers: [reg] });
	const before = [laned(), shared()];
	for (let round = 0; round < 300; round++) {
		for (let i = 0; i < 20; i++) {
			h.observe({ v: `r${round}-${i}` }, 1);
			g.set({ v: `r${round}-${i}` }, i);
		}
		h.reset();
		g.reset();
	}
	const after = [laned(), shared()];
	// Laned and shared series are blocks of one arena: both views report its cells.
	assert.equal(after[0].reservedCells, after[1].reservedCells);
	assert.ok(after[0].reservedCells - before[0].reservedCells <= 50 * 1002 + 50, JSON.stringify({ before, after }));
	assert.equal(h._cardinality().live, 0);
});

for (const kind of ['counter', 'gauge', 'histogram']) {
	test(`a held ${kind} handle written after its series' removal does not change the series reusing its cells`, async () => {
		const reg = new client.Registry();
		const opts = { name: `churn_held_${kind}`, help: 'H.', labelNames: ['v'], registers: [reg] };
		const m =
			kind === 'counter'
				? new client.Counter(opts)
				: kind === 'gauge'
					? new client.Gauge(opts)
					: new client.Histogram({ ...opts, buckets: [1, 2] });
		const write = (target, v) => (kind === 'histogram' ? target.observe(v) : target.inc(v));
		const held = m.labels({ v: 'old' });
		write(held, 5);
		const oldBase = held.b;
		m.remove({ v: 'old' });
		const fresh = m.labels({ v: 'new' });
		write(fresh, 1);
		assert.equal(fresh.b, oldBase, 'precondition: the new series reuses the removed one\'s cells');
		write(held, 1.5);
		const s = await samples(reg);
		if (kind === 'histogram') {
			assert.equal(s.get(`churn_held_${kind}_count{v="new"}`), 1);
			assert.equal(s.get(`churn_held_${kind}_sum{v="new"}`), 1);
			assert.equal(s.get(`churn_held_${kind}_sum{v="old"}`), 1.5, 'as prom-client: the handle re-creates its series');
			assert.equal(s.get(`churn_held_${kind}_bucket{le="1",v="old"}`), 0);
		} else {
			assert.equal(s.get(`churn_held_${kind}{v="new"}`), 1);
			assert.equal(s.get(`churn_held_${kind}{v="old"}`), 1.5, 'as prom-client: the handle re-creates its series');
		}
	});
}

test('a handle held in another thread: cells it may still write are not reused until it has caught up', async () => {
	const c = new client.Counter({ name: 'churn_xthread_total', help: 'X.', labelNames: ['v'] });
	const sab = new SharedArrayBuffer(16);
	const flag = new Int32Array(sab, 0, 1);
	const base = new Float64Array(sab, 8, 1);
	const src = `
		const { workerData } = require('worker_threads');
		const client = require(${JSON.stringify(PKG)});
		const flag = new Int32Array(workerData, 0, 1);
		const c = new client.Counter({ name: 'churn_xthread_total', help: 'X.', labelNames: ['v'] });
		const held = c.labels('old');
		held.inc(1);
		new Float64Array(workerData, 8, 1)[0] = held.b;
		Atomics.store(flag, 0, 1);
		Atomics.notify(flag, 0);
		Atomics.wait(flag, 0, 1); // idle, holding the handle: no call into footmetrics
		held.inc(100);`;
	const w = new Worker(src, { eval: true, workerData: sab });
	const exited = new Promise((resolve, reject) => {
		w.on('error', reject);
		w.on('exit', code => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
	});
	while (Atomics.load(flag, 0) !== 1) await new Promise(r => setTimeout(r, 5));
	c.remove('old');
	const fresh = c.labels('new');
	fresh.inc(1);
	assert.notEqual(fresh.b, base[0], 'quarantined while the worker may still write it');
	Atomics.store(flag, 0, 2);
	Atomics.notify(flag, 0);
	await exited;
	const s = await samples(client.register);
	assert.equal(s.get('churn_xthread_total{v="new"}'), 1);
	assert.equal(s.get('churn_xthread_total{v="old"}'), 100);
	client.register.removeSingleMetric('churn_xthread_total');
});

test('past the default 10,000 label sets, new ones fold into __overflow__ and are counted', async () => {
	const reg = new client.Registry();
	const c = new client.Counter({ name: 'churn_limit_total', help: 'L.', labelNames: ['user', 'op'], registers: [reg] });
	for (let i = 0; i < 10_000; i++) c.inc({ user: `u${i}`, op: 'get' });
	assert.equal(c._cardinality().overflowed, 0);
	for (let i = 0; i < 5; i++) c.inc({ user: `late${i}`, op: 'get' }, 2);
	c.labels({ user: 'late0', op: 'get' }).inc();
	const s = await samples(reg);
	assert.equal(s.get('churn_limit_total{op="__overflow__",user="__overflow__"}'), 11);
	assert.equal(s.get('footmetrics_cardinality_overflow_total{metric="churn_limit"}'), 6);
	assert.equal(s.get('churn_limit_total{op="get",user="late0"}'), undefined);
	assert.deepEqual(c._cardinality(), { live: 10_000, overflowed: 6, limit: 10_000 });
	// A removal makes room again.
	c.remove({ user: 'u0', op: 'get' });
	c.inc({ user: 'again', op: 'get' });
	assert.equal((await samples(reg)).get('churn_limit_total{op="get",user="again"}'), 1);
});

test('cardinalityLimit is set per metric; a bad one is a TypeError', async () => {
	const reg = new client.Registry();
	const g = new client.Gauge({ name: 'churn_small', help: 'S.', labelNames: ['k'], cardinalityLimit: 2, registers: [reg] });
	const h = new client.Histogram({ name: 'churn_small_seconds', help: 'S.', labelNames: ['k'], buckets: [1], cardinalityLimit: 1, registers: [reg] });
	for (const k of ['a', 'b', 'c', 'd']) {
		g.set({ k }, 1);
		h.observe({ k }, 0.5);
	}
	const s = await samples(reg);
	assert.equal(s.get('churn_small{k="b"}'), 1);
	assert.equal(s.get('churn_small{k="__overflow__"}'), 1);
	assert.equal(s.get('churn_small_seconds_count{k="a"}'), 1);
	assert.equal(s.get('churn_small_seconds_count{k="__overflow__"}'), 3);
	assert.equal(s.get('footmetrics_cardinality_overflow_total{metric="churn_small_seconds"}'), 3);
	const unlimited = new client.Counter({ name: 'churn_unlimited_total', help: 'U.', labelNames: ['k'], cardinalityLimit: Infinity, registers: [reg] });
	for (let i = 0; i < 10_050; i++) unlimited.inc({ k: `${i}` });
	assert.equal(unlimited._cardinality().overflowed, 0);
	for (const bad of [0, -1, 1.5, NaN, '10']) {
		assert.throws(
			() => new client.Counter({ name: 'churn_bad_total', help: 'B.', labelNames: ['k'], cardinalityLimit: bad, registers: [] }),
			TypeError,
		);
	}
});
