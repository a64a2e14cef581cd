'use strict';
// The event loop's longest stall while a registry of 100k counter series is scraped: a 1 ms
// timer records the largest gap between its ticks during each `metrics()` call. Shared by the
// stall test and the benchmark so both measure the same thing.

const SERIES = 100000;

function median(xs) {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.floor(s.length / 2)];
}

/** Median over `scrapes` scrapes (after one warm-up) of the longest stall in ms, and the last text. */
async function longestStall(lib, scrapes = 1) {
	const reg = new lib.Registry();
	// footmetrics' default cardinality limit (10,000) would fold most of these; prom-client has
	// none and ignores the option.
	const c = new lib.Counter({
		name: 'stall_requests_total',
		help: 'R.',
		labelNames: ['a', 'b'],
		registers: [reg],
		cardinalityLimit: Infinity,
	});
	for (let i = 0; i < SERIES; i++) c.inc({ a: `a${i % 1000}`, b: `b${Math.floor(i / 1000)}` });
	await reg.metrics();
	let worst = 0;
	let last = performance.now();
	const timer = setInterval(() => {
		const now = performance.now();
		worst = Math.max(worst, now - last);
		last = now;
	}, 1);
	await new Promise(r => setTimeout(r, 20));
	const stalls = [];
	let text = '';
	for (let r = 0; r < scrapes; r++) {
		worst = 0;
		last = performance.now();
		text = await reg.metrics();
		await new Promise(res => setTimeout(res, 5));
		stalls.push(worst);
	}
	clearInterval(timer);
	return { worst: median(stalls), text };
}

module.exports = { longestStall, median, SERIES };
