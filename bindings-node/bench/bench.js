'use strict';
// footmetrics vs prom-client, same process, same run: each operation is timed alternately for
// both libraries over several rounds and the median ns/op is compared (the machines are
// shared and noisy, so only ratios are meaningful). `make bench-node` runs it.

const path = require('path');
const prom = require(require.resolve('prom-client', { paths: [path.join(__dirname, '..')] }));
const ours = require('..');
const { longestStall, median } = require('./stall');

const ROUNDS = 7;

function time(fn, iters) {
	const t0 = process.hrtime.bigint();
	fn(iters);
	return Number(process.hrtime.bigint() - t0) / iters;
}

function setup(lib) {
	const reg = new lib.Registry();
	const plain = new lib.Counter({ name: 'b_plain_total', help: 'b', registers: [reg] });
	const labelled = new lib.Counter({ name: 'b_labelled_total', help: 'b', labelNames: ['method', 'route', 'code'], registers: [reg] });
	const hist = new lib.Histogram({ name: 'b_latency_seconds', help: 'b', labelNames: ['method', 'route'], registers: [reg] });
	const child = labelled.labels('GET', '/api/matches', '200');
	const methods = ['GET', 'POST', 'PUT', 'DELETE'];
	const routes = ['/api/matches', '/api/players', '/api/videos', '/api/stats', '/health'];
	const labelSets = [];
	for (const m of methods) for (const r of routes) labelSets.push({ method: m, route: r, code: '200' });
	const histLabels = labelSets.map(({ method, route }) => ({ method, route }));
	// prom-client has no native histograms: its side of the native rows is its classic
	// histogram, what a user moving to native buckets compares with.
	const native = lib === ours
		? new lib.Histogram({ name: 'b_native_seconds', help: 'b', labelNames: ['method', 'route'], nativeHistogramBucketFactor: 1.1, registers: [reg] })
		: hist;
	const nativeChild = native.labels('GET', '/api/matches');
	return { reg, plain, labelled, hist, child, labelSets, histLabels, native, nativeChild };
}

const ops = {
	'inc()': (s, n) => {
		const c = s.plain;
		for (let i = 0; i < n; i++) c.inc();
	},
	'inc({labels})': (s, n) => {
		const c = s.labelled;
		const ls = s.labelSets;
		for (let i = 0; i < n; i++) c.inc(ls[i % 20]);
	},
	'cached child inc()': (s, n) => {
		const c = s.child;
		for (let i = 0; i < n; i++) c.inc();
	},
	'observe({labels}, v)': (s, n) => {
		const h = s.hist;
		const ls = s.histLabels;
		for (let i = 0; i < n; i++) h.observe(ls[i % 20], (i % 1000) / 1000);
	},
	'startTimer()+end()': (s, n) => {
		const h = s.hist;
		const l = s.histLabels[0];
		for (let i = 0; i < n; i++) h.startTimer(l)();
	},
	'native observe({labels}, v)': (s, n) => {
		const h = s.native;
		const ls = s.histLabels;
		for (let i = 0; i < n; i++) h.observe(ls[i % 20], (i % 1000) / 1000);
	},
	'native child observe(v)': (s, n) => {
		const c = s.nativeChild;
		for (let i = 0; i < n; i++) c.observe((i % 1000) / 1000);
	},
};

const goals = {
	'inc()': 1.5,
	'inc({labels})': 0.5,
	'cached child inc()': 0.1,
	'observe({labels}, v)': 0.4,
	'startTimer()+end()': 0.6,
	'native observe({labels}, v)': 0.5,
	'native child observe(v)': 0.5,
	'metrics() 10k series': 0.2,
	'longest stall, 100k-series scrape': 0.1,
};

async function metricsTime(lib) {
	const reg = new lib.Registry();
	const c = new lib.Counter({ name: 'm_requests_total', help: 'R.', labelNames: ['a', 'b'], registers: [reg] });
	const h = new lib.Histogram({ name: 'm_latency_seconds', help: 'L.', labelNames: ['a'], registers: [reg] });
	for (let i = 0; i < 10000; i++) c.inc({ a: `a${i % 100}`, b: `b${Math.floor(i / 100)}` });
	for (let i = 0; i < 100; i++) h.observe({ a: `a${i}` }, i / 100);
	await reg.metrics();
	const xs = [];
	for (let r = 0; r < ROUNDS; r++) {
		const t0 = process.hrtime.bigint();
		await reg.metrics();
		xs.push(Number(process.hrtime.bigint() - t0) / 1e6);
	}
	return median(xs);
}

function row(name, theirs, mine, unit) {
	const ratio = mine / theirs;
	const goal = goals[name];
	const verdict = ratio <= goal ? 'ok' : 'MISSED';
	console.log(
		`${name.padEnd(36)} prom-client ${theirs.toFixed(1).padStart(9)} ${unit}  footmetrics ${mine.toFixed(1).padStart(9)} ${unit}  ratio ${ratio.toFixed(3).padStart(6)}  goal <= ${goal}  ${verdict}`,
	);
}

async function main() {
	const a = setup(prom);
	const b = setup(ours);
	for (const [name, fn] of Object.entries(ops)) {
		const n = name.startsWith('startTimer') ? 200000 : 2000000;
		fn(a, n / 10);
		fn(b, n / 10);
		const ta = [];
		const tb = [];
		for (let r = 0; r < ROUNDS; r++) {
			ta.push(time(i => fn(a, i), n));
			tb.push(time(i => fn(b, i), n));
		}
		row(name, median(ta), median(tb), 'ns/op');
	}
	row('metrics() 10k series', await metricsTime(prom), await metricsTime(ours), 'ms   ');
	const sa = (await longestStall(prom, 3)).worst;
	const sb = (await longestStall(ours, 3)).worst;
	row('longest stall, 100k-series scrape', sa, sb, 'ms   ');
	console.log(`(stall goal also: footmetrics <= 10 ms; measured ${sb.toFixed(1)} ms)`);
}

main();
