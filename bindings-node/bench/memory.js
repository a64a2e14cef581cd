'use strict';
// Memory under series churn, footmetrics vs prom-client in the same run: each library and case
// runs in a child process of its own (so RSS is that library's), alternating which goes first.
// `make bench-node` runs it after bench.js. Cases (counters with one label):
//   churn: N distinct label values, each incremented then remove()d; RSS at the end
//   live:  N distinct label values kept; (RSS at the end - RSS before) / N
// Goals: churn RSS <= 1.2x prom-client's; live bytes per series <= prom-client's.

const path = require('path');
const { spawnSync } = require('child_process');

const N = Number(process.env.FOOTMETRICS_BENCH_SERIES || 1_000_000);
const ROUNDS = Number(process.env.FOOTMETRICS_BENCH_MEMORY_ROUNDS || 2);

function child(libName, kind) {
	const lib =
		libName === 'prom-client'
			? require(require.resolve('prom-client', { paths: [path.join(__dirname, '..')] }))
			: require('..');
	const reg = new lib.Registry();
	const opts = { name: 'mem_jobs_total', help: 'Jobs.', labelNames: ['id'], registers: [reg] };
	// Both libraries hold every live series: footmetrics' default limit would fold them.
	if (libName === 'footmetrics') opts.cardinalityLimit = Infinity;
	const c = new lib.Counter(opts);
	c.inc({ id: 'warm' });
	c.remove({ id: 'warm' });
	global.gc();
	const before = process.memoryUsage().rss;
	for (let i = 0; i < N; i++) {
		const labels = { id: `job-${i}` };
		c.inc(labels);
		if (kind === 'churn') c.remove(labels);
	}
	global.gc();
	const after = process.memoryUsage().rss;
	process.stdout.write(JSON.stringify({ before, after }));
}

function run(libName, kind) {
	const r = spawnSync(process.execPath, ['--expose-gc', __filename, 'child', libName, kind], {
		encoding: 'utf8',
		env: { ...process.env, FOOTMETRICS_BENCH_SERIES: String(N) },
	});
	if (r.status !== 0) throw new Error(`${libName} ${kind}: ${r.stderr}`);
	return JSON.parse(r.stdout);
}

function main() {
	const libs = ['prom-client', 'footmetrics'];
	const best = {};
	for (let round = 0; round < ROUNDS; round++) {
		const order = round % 2 === 0 ? libs : [...libs].reverse();
		for (const kind of ['churn', 'live']) {
			for (const lib of order) {
				const m = run(lib, kind);
				const key = `${lib} ${kind}`;
				// The smaller of the rounds: RSS only ever errs upwards (allocator slack).
				const value = kind === 'churn' ? m.after : (m.after - m.before) / N;
				best[key] = best[key] === undefined ? value : Math.min(best[key], value);
			}
		}
	}
	const mb = b => `${(b / 1e6).toFixed(1)} MB`;
	const churnRatio = best['footmetrics churn'] / best['prom-client churn'];
	const liveRatio = best['footmetrics live'] / best['prom-client live'];
	console.log(`\nmemory, ${N.toLocaleString('en')} distinct counter label values (best of ${ROUNDS} rounds, one process per library and case)`);
	console.log(
		`  RSS after each was removed:   prom-client ${mb(best['prom-client churn'])}   footmetrics ${mb(best['footmetrics churn'])}   ` +
			`ratio ${churnRatio.toFixed(2)} (goal <= 1.2) ${churnRatio <= 1.2 ? 'met' : 'NOT met'}`,
	);
	console.log(
		`  RSS per live series:          prom-client ${best['prom-client live'].toFixed(0)} B   footmetrics ${best['footmetrics live'].toFixed(0)} B   ` +
			`ratio ${liveRatio.toFixed(2)} (goal <= 1.0) ${liveRatio <= 1.0 ? 'met' : 'NOT met'}`,
	);
}

if (process.argv[2] === 'child') child(process.argv[3], process.argv[4]);
else main();
