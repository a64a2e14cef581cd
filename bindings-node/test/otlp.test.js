'use strict';
// OTLP export against the decoding test sink: exact values over HTTP and gRPC, JS collect
// callbacks and default labels, a collector that is down then back, errors, bad input.

const test = require('node:test');
const assert = require('node:assert/strict');
const client = require('..');
const { isDeepStrictEqual } = require('node:util');
const { startOtlpSink, freePort } = require('./helpers');

function point(received, name, attributes) {
	const p = received.points.findLast(
		(p) => p.name === name && isDeepStrictEqual(p.attributes, attributes),
	);
	assert.ok(p, `no ${name} ${JSON.stringify(attributes)} in ${JSON.stringify(received.points)}`);
	return p;
}

async function waitFor(pred, timeoutMs = 30000) {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (await pred()) return true;
		await new Promise((r) => setTimeout(r, 50));
	}
	return false;
}

for (const protocol of ['http/protobuf', 'grpc']) {
	test(`OTLP ${protocol}: names, values, buckets and attributes arrive exactly`, async () => {
		const sink = await startOtlpSink();
		try {
			const reg = new client.Registry();
			reg.setDefaultLabels({ region: 'eu' });
			const req = new client.Counter({ name: 'api_requests_total', help: 'Requests.', labelNames: ['route'], registers: [reg] });
			req.inc({ route: '/a' }, 41);
			req.inc({ route: '/a' });
			let polled = 0;
			new client.Gauge({
				name: 'pool_size',
				help: 'Pool.',
				registers: [reg],
				collect() {
					polled += 1;
					this.set(9);
				},
			});
			const h = new client.Histogram({ name: 'upload_seconds', help: 'Uploads.', buckets: [0.5, 2], registers: [reg] });
			for (const v of [0.1, 1, 1.5, 4]) h.observe(v);
			const e = client.startOtlpExporter(sink.endpoint(protocol), 3600000, {
				registry: reg,
				protocol,
				serviceName: 'api-gateway',
			});
			assert.equal(await e.forceFlush(10000), true, JSON.stringify(e.stats()));
			const got = await sink.received();
			const r = point(got, 'api_requests', { route: '/a', region: 'eu' });
			assert.deepEqual([r.type, r.monotonic, r.temporality, r.value], ['sum', true, 'cumulative', 42]);
			assert.equal(r.resource['service.name'], 'api-gateway');
			assert.equal(r.resource['telemetry.sdk.language'], 'nodejs');
			assert.equal(polled, 1, 'the collect callback ran before the snapshot');
			assert.equal(point(got, 'pool_size', { region: 'eu' }).value, 9);
			const u = point(got, 'upload_seconds', { region: 'eu' });
			assert.deepEqual([u.bounds, u.bucket_counts, u.count, u.sum], [[0.5, 2], [1, 2, 1], 4, 6.6]);
			assert.ok(e.stats().exportedPoints > 0);
			assert.equal(await e.shutdown(), true);
			assert.equal(await e.forceFlush(), false);
		} finally {
			sink.stop();
		}
	});
}

test('the interval schedules exports without keeping the process alive', async () => {
	const sink = await startOtlpSink();
	try {
		const reg = new client.Registry();
		const c = new client.Counter({ name: 'ticks_total', help: 'Ticks.', registers: [reg] });
		c.inc(5);
		const e = client.startOtlpExporter(sink.endpoint('http'), 100, { registry: reg });
		assert.ok(await waitFor(async () => (await sink.received()).requests >= 2, 10000));
		await e.shutdown();
	} finally {
		sink.stop();
	}
});

test('a collector that is down costs bounded queue, counts drops, and gets the data when back', async () => {
	const [httpPort, grpcPort] = [await freePort(), await freePort()];
	const reg = new client.Registry();
	const work = new client.Counter({ name: 'work_total', help: 'Work.', registers: [reg] });
	const e = client.startOtlpExporter(`127.0.0.1:${httpPort}`, 50, { registry: reg, timeoutMs: 300, maxQueueBatches: 2 });
	const t0 = Date.now();
	assert.equal(await e.forceFlush(300), false);
	assert.ok(Date.now() - t0 < 2000);
	// The event loop stays free: timers keep firing while exports fail.
	let ticks = 0;
	const iv = setInterval(() => {
		ticks += 1;
		work.inc(10);
	}, 10);
	assert.ok(await waitFor(() => e.stats().droppedPoints > 0, 15000), JSON.stringify(e.stats()));
	await new Promise((r) => setTimeout(r, 500));
	clearInterval(iv);
	assert.ok(ticks > 20, `${ticks} ticks`);
	assert.ok(e.stats().queuedBatches <= 2);
	assert.match(await reg.metrics(), /footmetrics_otlp_dropped_points_total\{reason="queue_full"\} [1-9]/);
	const total = (await work.get()).values[0].value;
	const back = await startOtlpSink({ http: httpPort, grpc: grpcPort });
	try {
		assert.ok(
			await waitFor(async () => (await back.received()).points.some((p) => p.name === 'work' && p.value === total), 30000),
			JSON.stringify(e.stats()),
		);
	} finally {
		await e.shutdown(1000);
		back.stop();
	}
});

test('an erroring collector: 400 is dropped at once as rejected, then recovery', async () => {
	const sink = await startOtlpSink();
	try {
		await sink.behave(400);
		const reg = new client.Registry();
		new client.Gauge({ name: 'temp_celsius', help: 'T.', registers: [reg] }).set(21.5);
		const e = client.startOtlpExporter(sink.endpoint('http'), 3600000, { registry: reg });
		assert.equal(await e.forceFlush(10000), false);
		assert.equal((await sink.received()).refused, 1);
		assert.match(e.stats().lastError, /400/);
		assert.match(await reg.metrics(), /footmetrics_otlp_dropped_points_total\{reason="rejected"\} 8\n/);
		await sink.behave(0);
		assert.equal(await e.forceFlush(10000), true);
		assert.equal(point(await sink.received(), 'temp_celsius', {}).value, 21.5);
		await e.shutdown();
	} finally {
		sink.stop();
	}
});

test('bad arguments are TypeErrors or Errors naming the problem', () => {
	const reg = new client.Registry();
	assert.throws(() => client.startOtlpExporter(42), TypeError);
	assert.throws(() => client.startOtlpExporter('127.0.0.1:4318', -1), /intervalMs/);
	assert.throws(() => client.startOtlpExporter('127.0.0.1:4318', 1000, { registry: {} }), TypeError);
	assert.throws(() => client.startOtlpExporter('127.0.0.1:4318', 1000, { registry: reg, protocol: 'udp' }), /protocol/);
	assert.throws(() => client.startOtlpExporter('ftp://c:4318', 1000, { registry: reg }), /https:\/\//);
	assert.throws(() => client.startOtlpExporter('https://c:4318', 1000, { registry: reg, ca: 7 }), TypeError);
	assert.throws(() => client.startOtlpExporter('c:4318', 1000, { registry: reg, headers: 'x' }), TypeError);
});

test('a process that ends on its own sends the final snapshot (beforeExit)', async () => {
	const sink = await startOtlpSink();
	try {
		const script = `
			const client = require(${JSON.stringify(require.resolve('..'))});
			const reg = new client.Registry();
			const c = new client.Counter({ name: 'exit_jobs_total', help: 'Jobs.', registers: [reg] });
			client.startOtlpExporter(${JSON.stringify(sink.endpoint('http'))}, 3600000, { registry: reg });
			c.inc(7);
		`;
		const { spawnSync } = require('node:child_process');
		const r = spawnSync(process.execPath, ['-e', script], { timeout: 30000, encoding: 'utf8' });
		assert.equal(r.status, 0, r.stderr);
		assert.equal(point(await sink.received(), 'exit_jobs', {}).value, 7);
	} finally {
		sink.stop();
	}
});
