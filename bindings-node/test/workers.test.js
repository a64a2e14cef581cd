'use strict';
// Threads and processes: every worker thread's increments land in the one global registry,
// exactly; cluster workers' metrics are aggregated in the primary off its event loop.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Worker } = require('worker_threads');
const { spawnSync } = require('child_process');
const client = require('..');
const { parseExposition } = require('./helpers');

const PKG = path.join(__dirname, '..');

test('worker_threads: exact counts from every thread in one registry', async () => {
	const THREADS = 4;
	const N = 50000;
	const c = new client.Counter({ name: 'wt_jobs_total', help: 'Jobs.', labelNames: ['kind'] });
	const h = new client.Histogram({ name: 'wt_latency_seconds', help: 'L.', buckets: [1, 2] });
	c.inc({ kind: 'main' }, 7);
	const src = `
		const { workerData } = require('worker_threads');
		const client = require(${JSON.stringify(PKG)});
		const c = new client.Counter({ name: 'wt_jobs_total', help: 'Jobs.', labelNames: ['kind'] });
		const h = new client.Histogram({ name: 'wt_latency_seconds', help: 'L.', buckets: [1, 2] });
		const own = c.labels('worker');
		for (let i = 0; i < workerData.n; i++) { own.inc(); c.inc({ kind: 'w' + workerData.id }); h.observe(1.5); }
		new client.Gauge({ name: 'wt_only_in_worker', help: 'W.' }).set(1);`;
	await Promise.all(
		Array.from({ length: THREADS }, (_, id) =>
			new Promise((resolve, reject) => {
				const w = new Worker(src, { eval: true, workerData: { id, n: N } });
				w.on('error', reject);
				w.on('exit', code => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
			}),
		),
	);
	const s = parseExposition(await client.register.metrics()).samples;
	assert.equal(s.get('wt_jobs_total{kind="worker"}'), THREADS * N);
	for (let id = 0; id < THREADS; id++) assert.equal(s.get(`wt_jobs_total{kind="w${id}"}`), N);
	assert.equal(s.get('wt_jobs_total{kind="main"}'), 7);
	assert.equal(s.get('wt_latency_seconds_count{}'), THREADS * N);
	assert.equal(s.get('wt_latency_seconds_bucket{le="1"}'), 0);
	assert.equal(s.get('wt_latency_seconds_sum{}'), THREADS * N * 1.5);
	assert.equal(s.get('wt_only_in_worker{}'), 1, 'a metric declared only in a worker is in the registry');
	// A later worker reuses a finished one's cells and keeps adding to the same sums.
	await new Promise((resolve, reject) => {
		const w = new Worker(`const client = require(${JSON.stringify(PKG)});
			new client.Counter({ name: 'wt_jobs_total', help: 'Jobs.', labelNames: ['kind'] }).inc({ kind: 'worker' }, 5);`, { eval: true });
		w.on('error', reject);
		w.on('exit', resolve);
	});
	const after = parseExposition(await client.register.metrics()).samples;
	assert.equal(after.get('wt_jobs_total{kind="worker"}'), THREADS * N + 5);
	// Declaring the same name with another shape in a worker is an error there.
	const err = await new Promise(resolve => {
		const w = new Worker(`const client = require(${JSON.stringify(PKG)});
			new client.Gauge({ name: 'wt_jobs_total', help: 'Jobs.', labelNames: ['kind'] });`, { eval: true });
		w.on('error', resolve);
		w.on('exit', () => resolve(null));
	});
	assert.match(String(err && err.message), /already been registered/);
});

test('cluster: the primary serves every worker\'s metrics, aggregated', () => {
	const script = `
		const cluster = require('cluster');
		const client = require(${JSON.stringify(PKG)});
		if (cluster.isPrimary) {
			const agg = new client.AggregatorRegistry();
			const workers = [cluster.fork({ ID: 1 }), cluster.fork({ ID: 2 }), cluster.fork({ ID: 3 })];
			let ready = 0;
			cluster.on('message', async (w, m) => {
				if (m !== 'ready' || ++ready < workers.length) return;
				let lagMax = 0, last = performance.now();
				const timer = setInterval(() => { const now = performance.now(); lagMax = Math.max(lagMax, now - last - 1); last = now; }, 1);
				const text = await agg.clusterMetrics();
				clearInterval(timer);
				process.stdout.write(JSON.stringify({ text, lagMax }));
				for (const w of workers) w.kill();
			});
		} else {
			const c = new client.Counter({ name: 'cl_requests_total', help: 'R.', labelNames: ['route'] });
			const g = new client.Gauge({ name: 'cl_queue', help: 'Q.', aggregator: 'max' });
			for (let i = 0; i < 2000; i++) c.inc({ route: '/r' + (i % 500) }, Number(process.env.ID));
			g.set(Number(process.env.ID) * 10);
			process.send('ready');
		}`;
	const file = path.join(os.tmpdir(), `fm-cluster-${process.pid}.js`);
	fs.writeFileSync(file, script);
	const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60000 });
	fs.rmSync(file);
	assert.equal(r.status, 0, r.stderr);
	const { text } = JSON.parse(r.stdout);
	const s = parseExposition(text).samples;
	// Each route got 4 increments of ID in each worker: 4 * (1 + 2 + 3).
	assert.equal(s.get('cl_requests_total{route="/r0"}'), 24);
	assert.equal(s.get('cl_requests_total{route="/r499"}'), 24);
	assert.equal(s.get('cl_queue{}'), 30, 'the max aggregator');
	assert.match(text, /# TYPE cl_requests_total counter/);
});
