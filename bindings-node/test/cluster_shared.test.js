'use strict';
// cluster with a shared directory: workers write their series into lane files and the
// primary's AggregatorRegistry reads them without asking the workers, so a stopped worker's
// counts are still served at once, and a killed worker's counts stay in the totals.
//
// Each test runs a cluster primary as a child process; the primary prints one JSON line per
// event (`pids` first), the test asserts on them, and every process is stopped by PID in
// teardown (the primary's workers too, should the primary have died first).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const { parseExposition } = require('./helpers');

const PKG = path.join(__dirname, '..');

/** Runs `script` (a cluster program) to its end; returns its JSON lines, keyed by `event`. */
function runPrimary(t, script, env = {}) {
	const file = path.join(os.tmpdir(), `fm-cluster-shared-${process.pid}-${Date.now()}.js`);
	fs.writeFileSync(file, script);
	const pids = new Set();
	const child = spawn(process.execPath, [file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
	pids.add(child.pid);
	t.after(() => {
		for (const pid of pids) {
			try {
				process.kill(pid, 'SIGKILL');
			} catch {
				// Already gone.
			}
		}
		fs.rmSync(file, { force: true });
	});
	return new Promise((resolve, reject) => {
		const events = {};
		let out = '';
		let err = '';
		const timer = setTimeout(() => reject(new Error(`primary timed out; stderr: ${err}`)), 60000);
		child.stdout.on('data', d => {
			out += d;
			let nl;
			while ((nl = out.indexOf('\n')) >= 0) {
				const line = out.slice(0, nl);
				out = out.slice(nl + 1);
				const ev = JSON.parse(line);
				if (ev.event === 'pids') for (const p of ev.pids) pids.add(p);
				events[ev.event] = ev;
			}
		});
		child.stderr.on('data', d => (err += d));
		child.on('exit', code => {
			clearTimeout(timer);
			if (code !== 0) reject(new Error(`primary exited ${code}; stderr: ${err}`));
			else resolve(events);
		});
	});
}

// The worker: counts ID * 1000 events on route "a" and ID on route "b", observes ID
// histogram values, sets a gauge; with COLLECT set, also a gauge with a collect() callback
// (which only IPC carries). Then it says `ready` and waits.
const WORKER = `
	const id = Number(process.env.ID);
	const c = new client.Counter({ name: 'jobs_total', help: 'Jobs.', labelNames: ['route'] });
	const h = new client.Histogram({ name: 'job_seconds', help: 'J.', buckets: [1, 10] });
	const g = new client.Gauge({ name: 'queue_max', help: 'Q.', aggregator: 'max' });
	const child = c.labels('b');
	for (let i = 0; i < id * 1000; i++) c.inc({ route: 'a' });
	for (let i = 0; i < id; i++) { child.inc(); h.observe(id); }
	g.set(id * 10);
	if (process.env.COLLECT) {
		new client.Gauge({ name: 'worker_alive', help: 'A.', collect() { this.set(1); } });
	}
	process.send({ ready: process.pid });
	setInterval(() => {}, 1000);`;

function primary(body) {
	return `
		const cluster = require('cluster');
		const client = require(${JSON.stringify(PKG)});
		const emit = o => process.stdout.write(JSON.stringify(o) + '\\n');
		if (cluster.isWorker) {
			${WORKER}
		} else {
			const agg = new client.AggregatorRegistry(undefined, { ipcTimeout: Number(process.env.IPC_TIMEOUT || 250) });
			emit({ event: 'dir', dir: agg.sharedDirectory });
			const ready = new Map();
			const waiters = [];
			cluster.on('message', (w, m) => {
				if (m && m.ready) { ready.set(w.id, m.ready); waiters.splice(0).forEach(f => f()); }
			});
			const fork = id => cluster.fork({ ID: id });
			const untilReady = async ws => { while (!ws.every(w => ready.has(w.id))) await new Promise(r => waiters.push(r)); };
			const scrape = async () => {
				const t0 = performance.now();
				const text = await agg.clusterMetrics();
				return { text, ms: performance.now() - t0 };
			};
			(async () => {
				${body}
			})().then(() => process.exit(0), e => { console.error(e); process.exit(1); });
		}`;
}

test('cluster: 4 workers share their counts; a SIGSTOPped worker is read from its file at once; a SIGKILLed one stays counted', async t => {
	const events = await runPrimary(
		t,
		primary(`
			const workers = [1, 2, 3, 4].map(fork);
			emit({ event: 'pids', pids: workers.map(w => w.process.pid) });
			await untilReady(workers);
			emit({ event: 'all', ...(await scrape()) });
			const stopped = workers[3];
			process.kill(stopped.process.pid, 'SIGSTOP');
			const during = [];
			for (let i = 0; i < 5; i++) during.push(await scrape());
			emit({ event: 'stopped', scrapes: during });
			process.kill(stopped.process.pid, 'SIGCONT');
			const killed = workers[2];
			const exited = new Promise(r => killed.once('exit', r));
			process.kill(killed.process.pid, 'SIGKILL');
			await exited;
			emit({ event: 'killed', ...(await scrape()) });
			const replacement = fork(5);
			emit({ event: 'pids', pids: [replacement.process.pid] });
			await untilReady([replacement]);
			emit({ event: 'replaced', ...(await scrape()), files: require('fs').readdirSync(agg.sharedDirectory) });
			for (const w of [workers[0], workers[1], workers[3], replacement]) process.kill(w.process.pid, 'SIGKILL');
		`),
	);
	assert.match(events.dir.dir, /footmetrics-cluster-/, 'the primary made a directory under os.tmpdir()');
	const check = (text, ids, what) => {
		const s = parseExposition(text).samples;
		const sum = ids.reduce((a, b) => a + b, 0);
		assert.equal(s.get('jobs_total{route="a"}'), sum * 1000, `${what}: route a`);
		assert.equal(s.get('jobs_total{route="b"}'), sum, `${what}: route b (a labels() child)`);
		assert.equal(s.get('job_seconds_count{}'), sum, `${what}: histogram count`);
		assert.equal(s.get('job_seconds_sum{}'), ids.reduce((a, i) => a + i * i, 0), `${what}: histogram sum`);
		assert.equal(s.get('job_seconds_bucket{le="1"}'), 1, `${what}: worker 1's observations in le=1`);
		return s;
	};
	const all = check(events.all.text, [1, 2, 3, 4], 'every worker');
	assert.equal(all.get('queue_max{}'), 40, 'the max aggregator');
	assert.match(events.all.text, /# TYPE jobs_total counter/);
	for (const s of events.stopped.scrapes) {
		check(s.text, [1, 2, 3, 4], 'worker 4 stopped');
		assert.ok(s.ms < 100, `a scrape with a stopped worker took ${s.ms.toFixed(1)} ms`);
	}
	// Worker 3's counters stay (its lanes fold into the archive); its live gauge goes.
	const killed = check(events.killed.text, [1, 2, 3, 4], 'worker 3 killed');
	assert.equal(killed.get('queue_max{}'), 40);
	const replaced = check(events.replaced.text, [1, 2, 3, 4, 5], 'worker 5 forked');
	assert.equal(replaced.get('queue_max{}'), 50);
	assert.ok(events.replaced.files.includes('archive.db'), `the dead worker's lanes were folded: ${events.replaced.files}`);
});

test('cluster: metrics only IPC carries (collect callbacks) are waited for at most ipcTimeout, and a silent worker not again; shared counts are complete', async t => {
	const events = await runPrimary(
		t,
		primary(`
			const workers = [1, 2, 3, 4].map(fork);
			emit({ event: 'pids', pids: workers.map(w => w.process.pid) });
			await untilReady(workers);
			await new Promise(r => setTimeout(r, 100)); // the workers' notes that they have IPC metrics
			emit({ event: 'all', ...(await scrape()) });
			process.kill(workers[0].process.pid, 'SIGSTOP');
			emit({ event: 'stopped', ...(await scrape()) });
			emit({ event: 'stillStopped', ...(await scrape()) });
			process.kill(workers[0].process.pid, 'SIGCONT');
			// Its late answer to the first request marks it as answering again.
			await new Promise(r => setTimeout(r, 300));
			emit({ event: 'resumed', ...(await scrape()) });
			for (const w of workers) process.kill(w.process.pid, 'SIGKILL');
		`),
		{ COLLECT: '1', IPC_TIMEOUT: '200' },
	);
	const all = parseExposition(events.all.text).samples;
	assert.equal(all.get('worker_alive{}'), 4, 'every worker answered over IPC');
	assert.equal(all.get('jobs_total{route="a"}'), 10000);
	const stopped = parseExposition(events.stopped.text).samples;
	// ipcTimeout (200 ms) and the render: far from the 5 s a scrape without shared series waits.
	assert.ok(events.stopped.ms < 1000, `the scrape took ${events.stopped.ms.toFixed(1)} ms`);
	assert.ok(events.stopped.ms >= 195, 'it waited for the stopped worker up to ipcTimeout');
	assert.equal(stopped.get('worker_alive{}'), 3, 'the stopped worker\'s IPC metrics are missing');
	assert.equal(stopped.get('jobs_total{route="a"}'), 10000, 'its shared counts are not');
	// The next scrape does not wait for a worker that has not answered the last one.
	const still = parseExposition(events.stillStopped.text).samples;
	assert.ok(events.stillStopped.ms < 100, `the next scrape took ${events.stillStopped.ms.toFixed(1)} ms`);
	assert.equal(still.get('worker_alive{}'), 3);
	assert.equal(still.get('jobs_total{route="a"}'), 10000);
	assert.equal(parseExposition(events.resumed.text).samples.get('worker_alive{}'), 4);
});

test('cluster: shared gauges follow their aggregator over live workers; summaries and labelled series are summed; a worker\'s own registry is unchanged', async t => {
	const events = await runPrimary(
		t,
		`
		const cluster = require('cluster');
		const client = require(${JSON.stringify(PKG)});
		const emit = o => process.stdout.write(JSON.stringify(o) + '\\n');
		if (cluster.isWorker) {
			const id = Number(process.env.ID);
			const gauges = {};
			for (const a of ['sum', 'min', 'max', 'average', 'first']) {
				gauges[a] = new client.Gauge({ name: 'g_' + a, help: a, labelNames: ['k'], aggregator: a });
			}
			const s = new client.Summary({ name: 's_seconds', help: 'S.', labelNames: ['k'] });
			const omitted = new client.Counter({ name: 'omitted_total', help: 'O.', aggregator: 'omit' });
			omitted.inc();
			// The primary tells the workers to write in turn: worker 3's value is the most recent.
			process.on('message', async m => {
				if (m !== 'write') return;
				for (const a in gauges) { gauges[a].set({ k: 'x' }, id * 10); gauges[a].labels('y').inc(id); }
				gauges.sum.dec({ k: 'x' }, 1);
				s.observe({ k: 'x' }, id);
				process.send({ ready: true, own: await client.register.metrics(), shared: Boolean(gauges.sum._sh) });
			});
			process.send({ started: true });
			setInterval(() => {}, 1000);
		} else {
			const agg = new client.AggregatorRegistry();
			const workers = [1, 2, 3].map(id => cluster.fork({ ID: id }));
			emit({ event: 'pids', pids: workers.map(w => w.process.pid) });
			let started = 0;
			let ready = 0;
			cluster.on('message', async (w, m) => {
				if (m && m.started && ++started === workers.length) workers[0].send('write');
				if (!m || !m.ready) return;
				if (w === workers[0]) emit({ event: 'own', text: m.own, shared: m.shared });
				if (++ready < workers.length) {
					// 5 ms apart: the most recent write is told by its time.
					setTimeout(() => workers[ready].send('write'), 5);
					return;
				}
				emit({ event: 'all', text: await agg.clusterMetrics() });
				for (const x of workers) process.kill(x.process.pid, 'SIGKILL');
				process.exit(0);
			});
		}`,
	);
	assert.equal(events.own.shared, true, 'the workers\' gauges were shared');
	// A worker's own registry shows its own values, as without a shared directory.
	const own = parseExposition(events.own.text).samples;
	assert.equal(own.get('g_sum{k="x"}'), 9);
	assert.equal(own.get('s_seconds_count{k="x"}'), 1);
	const s = parseExposition(events.all.text).samples;
	assert.equal(s.get('g_sum{k="x"}'), 60 - 3);
	assert.equal(s.get('g_sum{k="y"}'), 6);
	assert.equal(s.get('g_min{k="x"}'), 10);
	assert.equal(s.get('g_max{k="x"}'), 30);
	assert.equal(s.get('g_average{k="x"}'), 20);
	assert.equal(s.get('g_average{k="y"}'), 2);
	assert.equal(s.get('g_first{k="x"}'), 30, 'the value written last');
	assert.equal(s.get('s_seconds_count{k="x"}'), 3);
	assert.equal(s.get('s_seconds_sum{k="x"}'), 6);
	assert.ok(![...s.keys()].some(k => k.startsWith('omitted_total')), 'the omit aggregator omits');
	assert.ok(![...s.keys()].some(k => k.includes('pid=')), 'no per-worker series');
});

test('cluster: a worker\'s worker_threads write the shared lanes too (to Node\'s cluster module they are primaries)', async t => {
	const events = await runPrimary(
		t,
		`
		const cluster = require('cluster');
		const client = require(${JSON.stringify(PKG)});
		const emit = o => process.stdout.write(JSON.stringify(o) + '\\n');
		if (cluster.isPrimary) {
			const agg = new client.AggregatorRegistry();
			const w = cluster.fork();
			emit({ event: 'pids', pids: [w.process.pid] });
			w.on('message', async m => {
				if (m !== 'done') return;
				emit({ event: 'all', text: await agg.clusterMetrics() });
				process.kill(w.process.pid, 'SIGKILL');
				process.exit(0);
			});
		} else {
			const { Worker } = require('worker_threads');
			const c = new client.Counter({ name: 't_total', help: 'T.', labelNames: ['who'] });
			c.inc({ who: 'main' }, 5);
			const thread = new Worker(\`const client = require(${JSON.stringify(PKG)});
				const c = new client.Counter({ name: 't_total', help: 'T.', labelNames: ['who'] });
				const h = new client.Histogram({ name: 't_seconds', help: 'T.', buckets: [1] });
				for (let i = 0; i < 1000; i++) { c.inc({ who: 'thread' }); c.inc({ who: 'main' }); h.observe(0.5); }\`, { eval: true });
			thread.on('exit', () => process.send('done'));
		}`,
	);
	const s = parseExposition(events.all.text).samples;
	assert.equal(s.get('t_total{who="main"}'), 1005);
	assert.equal(s.get('t_total{who="thread"}'), 1000);
	assert.equal(s.get('t_seconds_count{}'), 1000, 'a family declared only in the thread');
});

test('cluster: a directory that cannot be written is an ERR_FOOTMETRICS_STORAGE error when a metric or the AggregatorRegistry is made', async t => {
	// Not writable even by root; a file where a directory should be.
	const file = path.join(os.tmpdir(), `fm-not-a-dir-${process.pid}`);
	fs.writeFileSync(file, '');
	t.after(() => fs.rmSync(file, { force: true }));
	const events = await runPrimary(
		t,
		`
		const cluster = require('cluster');
		const client = require(${JSON.stringify(PKG)});
		const emit = o => process.stdout.write(JSON.stringify(o) + '\\n');
		const caught = f => { try { f(); return null; } catch (e) { return { code: e.code, name: e.name, message: e.message }; } };
		if (cluster.isWorker) {
			const e = caught(() => new client.Counter({ name: 'x_total', help: 'X.' }));
			process.send({ e, after: caught(() => new client.Gauge({ name: 'y', help: 'Y.', collect() {} })) }, () => process.exit(0));
		} else {
			emit({ event: 'primary', e: caught(() => new client.AggregatorRegistry()) });
			process.env.FOOTMETRICS_MULTIPROC_DIR = ${JSON.stringify(file)};
			emit({ event: 'file', e: caught(() => new client.AggregatorRegistry()) });
			// A worker given an unusable directory directly (the primary did not make it).
			const w = cluster.fork({ FOOTMETRICS_MULTIPROC_DIR: '/proc' });
			emit({ event: 'pids', pids: [w.process.pid] });
			w.on('message', m => { if (!m.type) emit({ event: 'worker', ...m }); });
			w.on('exit', () => process.exit(0));
		}`,
		{ FOOTMETRICS_MULTIPROC_DIR: '/proc/footmetrics-cannot-be-made' },
	);
	for (const what of ['primary', 'file']) {
		const e = events[what].e;
		assert.ok(e, `${what}: no error`);
		assert.equal(e.code, 'ERR_FOOTMETRICS_STORAGE', `${what}: ${e.message}`);
		assert.equal(e.name, 'Error');
	}
	assert.match(events.primary.e.message, /footmetrics-cannot-be-made/);
	assert.match(events.file.e.message, /not a directory/);
	const w = events.worker;
	assert.equal(w.e && w.e.code, 'ERR_FOOTMETRICS_STORAGE', JSON.stringify(w.e));
	assert.match(w.e.message, /\/proc/);
	assert.equal(w.after, null, 'a metric with a collect callback is not shared, so not refused');
});
