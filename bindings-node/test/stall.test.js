'use strict';
// A scrape of 100k series must not stall the event loop: a 1 ms timer measures the longest gap
// while `metrics()` runs, for prom-client and for footmetrics in the same run. The figure
// itself (and its ratio) is reported by `make bench`; here the ratio must hold by a margin.

const test = require('node:test');
const assert = require('node:assert/strict');
const prom = require('prom-client');
const ours = require('..');
const { longestStall, SERIES } = require('../bench/stall');

test('scraping 100k series stalls the event loop far less than prom-client does', async () => {
	const theirs = await longestStall(prom);
	const mine = await longestStall(ours);
	const lines = r => r.text.split('\n').filter(l => l.startsWith('stall_requests_total{')).length;
	assert.equal(lines(mine), SERIES);
	assert.equal(lines(theirs), SERIES);
	console.log(`longest stall: footmetrics ${mine.worst.toFixed(1)} ms, prom-client ${theirs.worst.toFixed(1)} ms`);
	assert.ok(mine.worst < theirs.worst * 0.5, `footmetrics ${mine.worst} ms vs prom-client ${theirs.worst} ms`);
});
