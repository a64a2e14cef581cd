'use strict';
// Counters never wrap around: large increments read as prom-client's float counters read them,
// exactly below 2^53, rendered as the core renders every float, and no reading goes down, also
// while worker threads add.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const { Worker } = require('worker_threads');
const prom = require('prom-client');
const client = require('..');
const { parseExposition } = require('./helpers');

const PKG = path.join(__dirname, '..');

/** The same counter in footmetrics and in prom-client, each in a registry of its own. */
function pair(name) {
	const ours = new client.Counter({ name, help: 'C.', registers: [new client.Registry()] });
	const theirs = new prom.Counter({ name, help: 'C.', registers: [new prom.Registry()] });
	return { ours, theirs };
}

async function value(c) {
	return (await c.get()).values[0].value;
}

for (const [amounts, expected] of [
	[[1e19, 1e19], 2e19],
	[[2 ** 64, 1], 18446744073709552000],
	[[2 ** 64 - 1, 2 ** 64 - 1, undefined], 2 * 2 ** 64],
	[[2 ** 63, 2 ** 63, 2 ** 63], 3 * 2 ** 63],
	[[2 ** 53 - 2, undefined, 1], 2 ** 53],
	// One float, as prom-client's: past 2^53 an increment of 1 rounds away.
	[[2 ** 53, undefined, 1], 2 ** 53],
]) {
	test(`Counter: inc(${amounts.join(', ')}) reads ${expected}, as prom-client`, async () => {
		const { ours, theirs } = pair('big_total');
		for (const a of amounts) {
			ours.inc(a);
			theirs.inc(a);
		}
		assert.equal(await value(ours), expected);
		assert.equal(await value(theirs), expected);
	});
}

test('Counter: 2e19 renders as the core renders floats, and parses as prom-client\'s', async () => {
	const r = new client.Registry();
	const c = new client.Counter({ name: 'issue_total', help: 'I.', registers: [r] });
	c.inc(1e19);
	c.inc(1e19);
	const text = await r.metrics();
	assert.match(text, /^issue_total 2e\+19$/m);
	const pr = new prom.Registry();
	const p = new prom.Counter({ name: 'issue_total', help: 'I.', registers: [pr] });
	p.inc(1e19);
	p.inc(1e19);
	assert.equal(
		parseExposition(text).samples.get('issue_total{}'),
		parseExposition(await pr.metrics()).samples.get('issue_total{}'),
	);
});

/** A deterministic generator (xorshift32), so a failure replays. */
function rng(seed) {
	let s = seed >>> 0 || 1;
	return () => {
		s ^= s << 13;
		s >>>= 0;
		s ^= s >>> 17;
		s ^= s << 5;
		s >>>= 0;
		return s / 2 ** 32;
	};
}

const EDGES = [2 ** 32, 2 ** 53, 2 ** 62, 2 ** 63, 2 ** 64];

/** A multiple of 1/1024: near an edge, large, small, or a fraction. */
function amount(rand) {
	switch (Math.floor(rand() * 6)) {
		case 0:
			return 1;
		case 1:
			return Math.floor(rand() * 10000);
		case 2:
			return Math.max(0, EDGES[Math.floor(rand() * EDGES.length)] + Math.floor(rand() * 8193) - 4096);
		case 3:
			return Math.floor(rand() * 4 * 2 ** 64);
		case 4:
			return Math.floor(rand() * 1e6) / 1024;
		default:
			return Math.floor(rand() * 4096);
	}
}

test('Counter: random adds around 2^53, 2^63 and 2^64 never go down and read as the sum', async () => {
	const rand = rng(53);
	for (let run = 0; run < 200; run++) {
		const { ours, theirs } = pair('edge_total');
		let exact = 0n; // in 1/1024ths
		let allWhole = true;
		let prev = 0;
		const n = 1 + Math.floor(rand() * 40);
		for (let i = 0; i < n; i++) {
			const a = amount(rand);
			ours.inc(a);
			theirs.inc(a);
			exact += BigInt(a * 1024);
			allWhole = allWhole && Number.isInteger(a);
			const got = await value(ours);
			assert.ok(got >= prev, `run ${run}: went down after inc(${a}): ${prev} -> ${got}`);
			prev = got;
			const want = Number(exact) / 1024;
			if (allWhole && want < 2 ** 53) {
				assert.equal(got, want, `run ${run}: whole amounts below 2^53 are exact`);
				assert.equal(await value(theirs), want);
			} else {
				const tolerance = want * (i + 5) * Number.EPSILON;
				assert.ok(Math.abs(got - want) <= tolerance, `run ${run}: read ${got}, exact sum ${want}`);
				assert.ok(Math.abs(got - (await value(theirs))) <= 2 * tolerance);
			}
		}
	}
});

test('Counter: readings never go down while worker threads add large amounts', async () => {
	const name = 'wrap_workers_total';
	const c = new client.Counter({ name, help: 'W.' });
	const THREADS = 3;
	const N = 20000;
	const src = `
		const { workerData } = require('worker_threads');
		const client = require(${JSON.stringify(PKG)});
		const c = new client.Counter({ name: ${JSON.stringify(name)}, help: 'W.' });
		for (let i = 0; i < workerData.n; i++) {
			switch (i % 4) {
				case 0: c.inc(); break;
				case 1: c.inc(2 ** 31 + i); break;
				case 2: c.inc(0.25); break;
				default: c.inc(2 ** 64);
			}
		}`;
	const done = Promise.all(
		Array.from(
			{ length: THREADS },
			() =>
				new Promise((resolve, reject) => {
					const w = new Worker(src, { eval: true, workerData: { n: N } });
					w.on('error', reject);
					w.on('exit', code => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
				}),
		),
	);
	let finished = false;
	done.then(() => (finished = true));
	let prev = 0;
	let reads = 0;
	while (!finished) {
		const v = await value(c);
		assert.ok(v >= prev, `went down: ${prev} -> ${v}`);
		prev = v;
		reads++;
		await new Promise(resolve => setImmediate(resolve));
	}
	await done;
	assert.ok(reads > 0);
	const each = (THREADS * N) / 4;
	const want = each * (1 + 2 ** 31 + 0.25 + 2 ** 64);
	assert.ok(Math.abs((await value(c)) - want) <= want * 1e-9);
});
