'use strict';
// The prom-client API case by case, bad input included, against fresh registries.

const test = require('node:test');
const assert = require('node:assert/strict');
const client = require('..');
const { parseExposition } = require('./helpers');

const { Counter, Gauge, Histogram, Summary, Registry } = client;

function fresh() {
	return new Registry();
}

async function samples(reg) {
	return parseExposition(await reg.metrics()).samples;
}

test('Counter: inc forms, labels(), remove, reset, get', async () => {
	const r = fresh();
	const c = new Counter({ name: 'jobs_total', help: 'Jobs.', labelNames: ['kind', 'code'], registers: [r] });
	c.inc({ kind: 'a', code: 200 });
	c.inc({ kind: 'a', code: '200' }, 2.5);
	const held = c.labels('b', '500');
	held.inc();
	held.inc(4);
	c.labels({ kind: 'c', code: '1' }).inc();
	let s = await samples(r);
	assert.equal(s.get('jobs_total{code="200",kind="a"}'), 3.5);
	assert.equal(s.get('jobs_total{code="500",kind="b"}'), 5);
	c.remove('b', '500');
	s = await samples(r);
	assert.equal(s.has('jobs_total{code="500",kind="b"}'), false);
	held.inc(); // a held child re-creates its series, as prom-client's does
	s = await samples(r);
	assert.equal(s.get('jobs_total{code="500",kind="b"}'), 1);
	const got = await c.get();
	assert.equal(got.name, 'jobs_total');
	assert.equal(got.type, 'counter');
	assert.equal(got.aggregator, 'sum');
	assert.deepEqual(
		got.values.find(v => v.labels.kind === 'a'),
		{ value: 3.5, labels: { kind: 'a', code: '200' } },
	);
	c.reset();
	assert.equal((await c.get()).values.length, 0);
	const u = new Counter({ name: 'plain_total', help: 'Plain.', registers: [r] });
	u.inc();
	u.inc(2);
	assert.equal((await samples(r)).get('plain_total{}'), 3);
	u.reset();
	assert.deepEqual((await u.get()).values, [{ value: 0, labels: {} }]);
});

test('Counter: bad input throws as prom-client does, and loses nothing', async () => {
	const r = fresh();
	const c = new Counter({ name: 'c_total', help: 'C.', labelNames: ['a'], registers: [r] });
	c.inc({ a: 'x' }, 2);
	assert.throws(() => c.inc({ a: 'x' }, -1), { message: 'It is not possible to decrease a counter' });
	assert.throws(() => c.inc({ a: 'x' }, 'five'), TypeError);
	assert.throws(() => c.inc({ a: 'x' }, NaN), TypeError);
	assert.throws(() => c.inc({ a: 'x' }, Infinity), TypeError);
	assert.throws(() => c.inc({ b: 'x' }), /Added label "b" is not included in initial labelset/);
	assert.throws(() => c.inc({ a: 'x', b: 'y' }), /Added label "b"/);
	assert.throws(() => c.labels('x', 'y'), /Invalid number of arguments/);
	assert.equal((await samples(r)).get('c_total{a="x"}'), 2);
	assert.throws(() => new Counter({ name: 'x', registers: [r] }), /Missing mandatory help parameter/);
	assert.throws(() => new Counter({ help: 'x', registers: [r] }), /Missing mandatory name parameter/);
	assert.throws(() => new Counter({ name: '1x', help: 'x', registers: [r] }), /Invalid metric name/);
	assert.throws(() => new Counter({ name: 'x', help: 'x', labelNames: ['a-b'], registers: [r] }), /Invalid label name/);
	assert.throws(() => new Counter('x'), TypeError);
	assert.throws(() => new Counter({ name: 'c_total', help: 'C.', registers: [r] }), /already been registered/);
	assert.throws(() => new Counter({ name: 'y', help: 'y', collect: 5, registers: [r] }), /collect/);
});

test('Gauge: set, inc, dec, setToCurrentTime, startTimer, labels', async () => {
	const r = fresh();
	const g = new Gauge({ name: 'queue', help: 'Q.', labelNames: ['q'], registers: [r] });
	g.set({ q: 'a' }, 10);
	g.inc({ q: 'a' });
	g.inc({ q: 'a' }, 5);
	g.dec({ q: 'a' }, 2);
	g.dec({ q: 'a' });
	g.labels('b').set(-3.5);
	g.labels('b').inc(0.5);
	g.setToCurrentTime({ q: 't' });
	const end = g.startTimer({ q: 'timer' });
	const took = end();
	const s = await samples(r);
	assert.equal(s.get('queue{q="a"}'), 13);
	assert.equal(s.get('queue{q="b"}'), -3);
	assert.ok(Math.abs(s.get('queue{q="t"}') - Date.now() / 1000) < 5);
	assert.equal(s.get('queue{q="timer"}'), took);
	assert.ok(took >= 0 && took < 1);
	assert.throws(() => g.set({ q: 'a' }, 'x'), /Value is not a valid number/);
	assert.throws(() => g.inc({ q: 'a' }, 'x'), /Delta is not a valid number/);
	assert.equal((await samples(r)).get('queue{q="a"}'), 13);
	const u = new Gauge({ name: 'u', help: 'U.', registers: [r] });
	u.set(7);
	u.reset();
	assert.deepEqual((await u.get()).values, [{ value: 0, labels: {} }]);
});

test('Histogram: observe, buckets, startTimer, zero, remove, reset, get', async () => {
	const r = fresh();
	const h = new Histogram({ name: 'lat_seconds', help: 'L.', labelNames: ['route'], buckets: [0.1, 1, 10], registers: [r] });
	h.observe({ route: '/' }, 0.05);
	h.observe({ route: '/' }, 0.1);
	h.observe({ route: '/' }, 5);
	h.observe({ route: '/' }, 50);
	h.labels('/x').observe(2);
	const end = h.startTimer({ route: '/t' });
	end();
	h.zero({ route: '/z' });
	let s = await samples(r);
	assert.equal(s.get('lat_seconds_bucket{le="0.1",route="/"}'), 2);
	assert.equal(s.get('lat_seconds_bucket{le="1",route="/"}'), 2);
	assert.equal(s.get('lat_seconds_bucket{le="10",route="/"}'), 3);
	assert.equal(s.get('lat_seconds_bucket{le="Infinity",route="/"}'), 4);
	assert.equal(s.get('lat_seconds_sum{route="/"}'), 55.15);
	assert.equal(s.get('lat_seconds_count{route="/"}'), 4);
	assert.equal(s.get('lat_seconds_count{route="/t"}'), 1);
	assert.equal(s.get('lat_seconds_count{route="/z"}'), 0);
	const got = await h.get();
	assert.deepEqual(got.values.slice(0, 1), [
		{ labels: { le: 0.1, route: '/' }, value: 2, metricName: 'lat_seconds_bucket' },
	]);
	assert.throws(() => h.observe({ route: '/' }, NaN), TypeError);
	assert.throws(() => new Histogram({ name: 'h2', help: 'h', labelNames: ['le'], registers: [r] }), /le is a reserved label keyword/);
	assert.throws(() => new Histogram({ name: 'h3', help: 'h', buckets: [2, 1], registers: [r] }), /bounds|bucket/);
	h.remove('/x');
	s = await samples(r);
	assert.equal(s.has('lat_seconds_count{route="/x"}'), false);
	h.reset();
	assert.equal((await h.get()).values.length, 0);
	const d = new Histogram({ name: 'default_buckets', help: 'D.', registers: [r] });
	d.observe(0.3);
	assert.deepEqual(d.upperBounds, [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
	assert.equal((await samples(r)).get('default_buckets_bucket{le="0.5"}'), 1);
});

test('Summary: percentiles over a sliding window, reset keeps series', async () => {
	const r = fresh();
	const s = new Summary({
		name: 'size_bytes',
		help: 'S.',
		labelNames: ['k'],
		percentiles: [0.5, 0.9, 0.99],
		maxAgeSeconds: 0.3,
		ageBuckets: 3,
		registers: [r],
	});
	for (let i = 1; i <= 1000; i++) s.observe({ k: 'a' }, i);
	let m = await samples(r);
	assert.ok(Math.abs(m.get('size_bytes{k="a",quantile="0.5"}') - 500) <= 10);
	assert.ok(Math.abs(m.get('size_bytes{k="a",quantile="0.9"}') - 900) <= 18);
	assert.equal(m.get('size_bytes_count{k="a"}'), 1000);
	assert.equal(m.get('size_bytes_sum{k="a"}'), 500500);
	await new Promise(res => setTimeout(res, 450));
	m = await samples(r);
	assert.equal(m.get('size_bytes{k="a",quantile="0.5"}'), 0, 'the window has moved past every observation');
	assert.equal(m.get('size_bytes_count{k="a"}'), 1000, 'count and sum are not windowed');
	s.reset();
	m = await samples(r);
	assert.equal(m.get('size_bytes_count{k="a"}'), 0);
	assert.throws(() => s.observe({ k: 'a' }, Infinity), TypeError);
	assert.throws(() => new Summary({ name: 's2', help: 's', labelNames: ['quantile'], registers: [r] }), /quantile is a reserved/);
	const end = s.labels('t').startTimer();
	assert.ok(end() >= 0);
});

test('Registry: content types, default labels, single metric, JSON, merge, clear', async () => {
	const r = fresh();
	assert.equal(r.contentType, Registry.PROMETHEUS_CONTENT_TYPE);
	const c = new Counter({ name: 'req_total', help: 'R.', labelNames: ['env'], registers: [r] });
	c.inc({ env: 'own' });
	c.inc({});
	r.setDefaultLabels({ env: 'prod', svc: 'gw' });
	const s = await samples(r);
	assert.equal(s.get('req_total{env="own",svc="gw"}'), 1, 'series labels win over default labels');
	assert.equal(s.get('req_total{env="",svc="gw"}'), 1);
	const json = await r.getMetricsAsJSON();
	assert.deepEqual(json[0].values.map(v => v.labels.svc), ['gw', 'gw']);
	assert.equal(r.getSingleMetric('req_total'), c);
	const one = await r.getSingleMetricAsString('req_total');
	assert.match(one, /^# HELP req_total R\.\n# TYPE req_total counter\n/);
	assert.ok(!one.endsWith('\n'));
	r.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
	const om = await r.metrics();
	assert.match(om, /# TYPE req counter\n/);
	assert.match(om, /req_total\{env="own",svc="gw"\} 1\n/);
	assert.ok(om.endsWith('# EOF\n'));
	assert.throws(() => r.setContentType('text/html'), /unsupported/);
	assert.throws(() => new Registry('text/html'), TypeError);
	const r2 = fresh();
	const g = new Gauge({ name: 'g', help: 'G.', registers: [r2] });
	g.set(3);
	assert.throws(() => Registry.merge([r, r2]), /same content type/);
	r.setContentType(Registry.PROMETHEUS_CONTENT_TYPE);
	r.setDefaultLabels({});
	const merged = Registry.merge([r, r2]);
	const ms = await samples(merged);
	assert.equal(ms.get('g{}'), 3);
	assert.equal(ms.get('req_total{env="own"}'), 1);
	const dup = new Registry();
	new Gauge({ name: 'g', help: 'other', registers: [dup] });
	assert.throws(() => Registry.merge([r2, dup]), /already been registered/);
	r.resetMetrics();
	assert.equal((await c.get()).values.length, 0);
	r.removeSingleMetric('req_total');
	assert.equal(r.getSingleMetric('req_total'), undefined);
	assert.ok(!(await r.metrics()).includes('req_total'));
	r2.clear();
	assert.equal((await r2.metrics()).trim(), '');
	assert.deepEqual(r2.getMetricsAsArray(), []);
});

test('collect callbacks (sync and async) run before each scrape', async () => {
	const r = fresh();
	let n = 0;
	new Gauge({
		name: 'collected',
		help: 'C.',
		registers: [r],
		collect() {
			this.set(++n);
		},
	});
	new Gauge({
		name: 'collected_async',
		help: 'C.',
		registers: [r],
		async collect() {
			await new Promise(res => setTimeout(res, 5));
			this.set(42);
		},
	});
	await r.metrics();
	const s = await samples(r);
	assert.equal(s.get('collected{}'), 2);
	assert.equal(s.get('collected_async{}'), 42);
});

test('bucket generators', () => {
	assert.deepEqual(client.linearBuckets(0, 10, 4), [0, 10, 20, 30]);
	assert.deepEqual(client.exponentialBuckets(1, 2, 4), [1, 2, 4, 8]);
	assert.throws(() => client.linearBuckets(0, 1, 0), /positive count/);
	assert.throws(() => client.exponentialBuckets(0, 2, 3), /positive start/);
	assert.throws(() => client.exponentialBuckets(1, 1, 3), /factor greater than 1/);
});

test('collectDefaultMetrics exports prom-client\'s names', async () => {
	const r = fresh();
	client.collectDefaultMetrics({ register: r, prefix: 'app_', labels: { svc: 'gw' } });
	global.gc && global.gc();
	const text = await r.metrics();
	const { types } = parseExposition(text);
	for (const name of [
		'app_process_cpu_user_seconds_total',
		'app_process_cpu_seconds_total',
		'app_process_start_time_seconds',
		'app_process_resident_memory_bytes',
		'app_process_open_fds',
		'app_process_max_fds',
		'app_nodejs_eventloop_lag_seconds',
		'app_nodejs_eventloop_lag_p99_seconds',
		'app_nodejs_active_handles_total',
		'app_nodejs_heap_size_used_bytes',
		'app_nodejs_heap_space_size_used_bytes',
		'app_nodejs_version_info',
		'app_nodejs_gc_duration_seconds',
	]) {
		assert.ok(types.has(name), `${name} in ${[...types.keys()]}`);
	}
	assert.equal(types.get('app_nodejs_gc_duration_seconds'), 'histogram');
	assert.match(text, /app_nodejs_version_info\{version="v\d+\.\d+\.\d+",major="\d+",minor="\d+",patch="\d+",svc="gw"\} 1/);
	assert.ok(client.collectDefaultMetrics.metricsList.includes('eventLoopLag'));
	assert.throws(() => client.collectDefaultMetrics('x'), TypeError);
});

test('the generated catalog makes typed standard metrics', async () => {
	const r = fresh();
	const inference = client.catalog.ml_inference_duration_seconds([r]);
	assert.ok(inference instanceof Histogram);
	assert.deepEqual([...inference.labelNames], [...client.catalog.specs.ml_inference_duration_seconds.labelNames]);
	assert.deepEqual([...inference.upperBounds], [...client.catalog.specs.ml_inference_duration_seconds.buckets]);
	inference.observe({ model_version: 'v2', batch_size: '32', device: 'cuda' }, 0.4);
	assert.equal(parseExposition(await r.metrics()).samples.get('ml_inference_duration_seconds_count{batch_size="32",device="cuda",model_version="v2"}'), 1);
	assert.throws(() => client.catalog.create('nope'), /not in the FootAnalytics catalog/);
});

test('ES module import gives the same objects', async () => {
	const esm = await import('../index.mjs');
	assert.equal(esm.Counter, client.Counter);
	assert.equal(esm.register, client.register);
	assert.equal(esm.default.Histogram, client.Histogram);
});
