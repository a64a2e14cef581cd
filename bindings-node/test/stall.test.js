'use strict';
// A scrape of 100k series must not stall the event loop: a 1 ms timer measures the longest gap
// while `metrics()` runs, for prom-client and for footmetrics in the same run. The figure
// itself (and its ratio) is reported by `make bench`; here the ratio must hold by a margin.

const test = require('node:test');
const assert = require('node:assert/strict');
const prom = require('prom-client');
const ours = require('..');

async function longestStall(lib) {
	const reg = new lib.Registry();
	const c = new lib.Counter({ name: 'stall_requests_total', help: 'R.', labelNames: ['a', 'b'], registers: [reg] });
	for (let i = 0; i < 100000; i++) c.inc({ a: `a${i % 1000}`, b: `b${Math.floor(i / 1000)}` });
	let worst = 0;
	let last = performance.now();
	const timer = setInterval(() => {
		const now = performance.now();
		worst = Math.max(worst, now - last);
		last = now;
	}, 1);
	await new Promise(r => setTimeout(r, 20));
	worst = 0;
	last = performance.now();
	const text = await reg.metrics();
	await new Promise(r => setTimeout(r, 5));
	clearInterval(timer);
	return { worst, lines: text.split('\n').filter(l => l.startsWith('stall_requests_total{')).length };
}

test('scraping 100k series stalls the event loop far less than prom-client does', async () => {
	const theirs = await longestStall(prom);
	const mine = await longestStall(ours);
	assert.equal(mine.lines, 100000);
	assert.equal(theirs.lines, 100000);
	console.log(`longest stall: footmetrics ${mine.worst.toFixed(1)} ms, prom-client ${theirs.worst.toFixed(1)} ms`);
	assert.ok(mine.worst < theirs.worst * 0.5, `footmetrics ${mine.worst} ms vs prom-client ${theirs.worst} ms`);
});
