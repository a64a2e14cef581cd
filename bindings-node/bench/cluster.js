'use strict';
// Per-update cost in a cluster worker: normal metrics (JavaScript writes the cell arrays only)
// side by side with shared ones (the same, plus one N-API call writing the lane file), and
// the primary's scrape of 4 workers' shared series. `node bindings-node/bench/cluster.js`.
//
// A worker with no shared directory makes normal metrics; one with FOOTMETRICS_MULTIPROC_DIR
// makes shared ones. Each times N updates per operation, best of ROUNDS, and reports ns/op.

const cluster = require('cluster');
const path = require('path');
const client = require(path.join(__dirname, '..'));

const N = 1_000_000;
const ROUNDS = 5;

function time(f) {
	let best = Infinity;
	for (let r = 0; r < ROUNDS; r++) {
		const t0 = process.hrtime.bigint();
		f();
		best = Math.min(best, Number(process.hrtime.bigint() - t0) / N);
	}
	return best;
}

function worker() {
	const c = new client.Counter({ name: 'b_requests_total', help: 'R.', labelNames: ['route', 'code'] });
	const g = new client.Gauge({ name: 'b_in_flight', help: 'F.', labelNames: ['route'] });
	const h = new client.Histogram({ name: 'b_latency_seconds', help: 'L.', labelNames: ['route'] });
	const child = c.labels('/a', '200');
	const labels = { route: '/a', code: '200' };
	const route = { route: '/a' };
	const ops = {
		'counter.inc()  (labels() child)': () => { for (let i = 0; i < N; i++) child.inc(); },
		'counter.inc(labels)': () => { for (let i = 0; i < N; i++) c.inc(labels); },
		'gauge.inc(labels)': () => { for (let i = 0; i < N; i++) g.inc(route); },
		'histogram.observe(labels, v)': () => { for (let i = 0; i < N; i++) h.observe(route, 0.042); },
	};
	const out = {};
	for (const [name, f] of Object.entries(ops)) out[name] = time(f);
	process.send({ shared: Boolean(c._sh), ns: out });
}

async function primary() {
	const agg = new client.AggregatorRegistry();
	const dir = agg.sharedDirectory;
	const run = env =>
		new Promise((resolve, reject) => {
			const w = cluster.fork(env);
			w.on('message', m => {
				if (!m.ns) return; // the worker's note that it has metrics only IPC carries
				resolve(m);
				w.kill();
			});
			w.on('error', reject);
		});
	// One worker at a time, so the two modes do not share the CPU.
	const normal = await run({ FOOTMETRICS_MULTIPROC_DIR: '' });
	const shared = await run({ FOOTMETRICS_MULTIPROC_DIR: dir });
	if (normal.shared || !shared.shared) throw new Error('the workers did not run in the expected modes');
	console.log(`per update, ns (best of ${ROUNDS} x ${N.toLocaleString()}), node ${process.version}`);
	console.log(`${'operation'.padEnd(34)}${'normal'.padStart(10)}${'shared'.padStart(10)}${'ratio'.padStart(8)}`);
	for (const name of Object.keys(normal.ns)) {
		const a = normal.ns[name];
		const b = shared.ns[name];
		console.log(`${name.padEnd(34)}${a.toFixed(1).padStart(10)}${b.toFixed(1).padStart(10)}${(b / a).toFixed(1).padStart(7)}x`);
	}
	const t0 = performance.now();
	const scrapes = 20;
	for (let i = 0; i < scrapes; i++) await agg.clusterMetrics();
	console.log(`clusterMetrics() of the shared directory: ${((performance.now() - t0) / scrapes).toFixed(2)} ms`);
}

if (cluster.isWorker) worker();
else primary().catch(e => {
	console.error(e);
	process.exit(1);
});
