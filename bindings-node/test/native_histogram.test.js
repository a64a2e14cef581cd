'use strict';
// Native (sparse, exponential) histograms: the `nativeHistogram*` options of client_golang's
// HistogramOpts in prom-client's style, served as protobuf when the Accept header asks for it.
// Checked against things footmetrics did not write: a real Prometheus 2.42 scraping a Node
// server (PromQL on the native histogram), and protobufjs decoding the protobuf exposition with
// client_model's message definitions (test/fixtures/metrics.proto).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const protobuf = require('protobufjs');
const client = require('..');
const { freePort, parseExposition, promtoolCheck, strictOpenMetrics } = require('./helpers');

const { Histogram, Registry } = client;
const { codes } = require('../lib/errors');

/** What Prometheus 2.42 sends with --enable-feature=native-histograms. */
const PROMETHEUS_ACCEPT =
	'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,' +
	'text/plain;version=0.0.4;q=0.3,*/*;q=0.2';

const root = protobuf.loadSync(path.join(__dirname, 'fixtures', 'metrics.proto'));
const MetricFamily = root.lookupType('io.prometheus.client.MetricFamily');

/** The delimited MetricFamily messages of a protobuf exposition, as plain objects. */
function decode(body) {
	const reader = protobuf.Reader.create(body);
	const out = [];
	while (reader.pos < reader.len) {
		const msg = MetricFamily.decodeDelimited(reader);
		out.push(MetricFamily.toObject(msg, { longs: Number, enums: String, arrays: true }));
	}
	return out;
}

/**
 * Spans and deltas (the protobuf encoding) back to `Map<key, count>` of the buckets that hold
 * something (an encoder may bridge a short gap between spans with empty buckets, as
 * client_golang does).
 */
function fromSpans(spans, deltas) {
	const out = new Map();
	let key = 0;
	let count = 0;
	let d = 0;
	for (const { offset = 0, length = 0 } of spans) {
		key += offset;
		for (let j = 0; j < length; j++) {
			count += deltas[d++];
			assert.ok(count >= 0, `bucket ${key}: count ${count}`);
			if (count > 0) out.set(key, count);
			key++;
		}
	}
	assert.equal(d, deltas.length, 'every delta belongs to a span');
	return out;
}

/**
 * Prometheus' bucket key of |v| at `schema`: bucket k holds (2^((k-1)/2^s), 2^(k/2^s)].
 * Computed here from the definition (a logarithm, checked against the bounds), not with the
 * core's code.
 */
function keyOf(v, schema) {
	const per = 2 ** schema;
	const bound = k => 2 ** (k / per);
	let k = Math.ceil(Math.log2(Math.abs(v)) * per);
	while (bound(k) < Math.abs(v)) k++;
	while (bound(k - 1) >= Math.abs(v)) k--;
	return k;
}

/** Expected positive and negative buckets and zero count of `values`. */
function expectedBuckets(values, schema, zeroThreshold) {
	const pos = new Map();
	const neg = new Map();
	let zero = 0;
	for (const v of values) {
		if (Math.abs(v) <= zeroThreshold) zero++;
		else {
			const m = v > 0 ? pos : neg;
			const k = keyOf(v, schema);
			m.set(k, (m.get(k) || 0) + 1);
		}
	}
	const sorted = m => new Map([...m].sort((a, b) => a[0] - b[0]));
	return { pos: sorted(pos), neg: sorted(neg), zero };
}

/** mulberry32: a small seeded generator, so the distribution is the same every run. */
function rng(seed) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/**
 * `n` log-normal latencies (median 50 ms), each rounded to a multiple of 2^-20 and below 2^10,
 * so any sum of them is exact in a double (< 2^45 units of 2^-20) whatever the order of the
 * additions: `histogram_sum` can be compared for equality.
 */
function latencies(n, seed) {
	const r = rng(seed);
	const out = [];
	while (out.length < n) {
		const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
		const v = Math.round(Math.exp(Math.log(0.05) + 0.8 * z) * 2 ** 20) / 2 ** 20;
		if (v > 0 && v < 1024) out.push(v);
	}
	return out;
}

function serve(registry) {
	const server = http.createServer(async (req, res) => {
		const { body, contentType } = await registry.scrape(req.headers.accept);
		res.setHeader('Content-Type', contentType);
		res.end(body);
	});
	return new Promise(resolve => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function get(url, accept) {
	const r = await fetch(url, { headers: accept ? { accept } : {} });
	return { contentType: r.headers.get('content-type'), body: Buffer.from(await r.arrayBuffer()) };
}

const sleep = ms => new Promise(r => setTimeout(r, ms));

/** A real Prometheus with native histograms on, scraping `target` every second; stopped by PID. */
async function startPrometheus(t, target) {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'footmetrics-prometheus-'));
	const port = await freePort();
	fs.writeFileSync(
		path.join(dir, 'prometheus.yml'),
		'global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n' +
			`  - job_name: node\n    static_configs:\n      - targets: ['${target}']\n`,
	);
	const log = fs.openSync(path.join(dir, 'prometheus.log'), 'w');
	const proc = spawn(
		'prometheus',
		[
			`--config.file=${dir}/prometheus.yml`,
			`--storage.tsdb.path=${dir}/data`,
			`--web.listen-address=127.0.0.1:${port}`,
			'--enable-feature=native-histograms',
		],
		{ stdio: ['ignore', log, log] },
	);
	t.after(async () => {
		try {
			process.kill(proc.pid, 'SIGTERM');
		} catch {
			// Already gone.
		}
		await new Promise(r => (proc.exitCode !== null ? r() : proc.once('exit', r)));
		fs.closeSync(log);
		fs.rmSync(dir, { recursive: true, force: true });
	});
	const url = `http://127.0.0.1:${port}`;
	for (let i = 0; ; i++) {
		try {
			if ((await fetch(`${url}/-/ready`)).ok) break;
		} catch {
			// Not up yet.
		}
		if (i > 300 || proc.exitCode !== null) {
			throw new Error(`prometheus did not start: ${fs.readFileSync(path.join(dir, 'prometheus.log'), 'utf8')}`);
		}
		await sleep(100);
	}
	const query = async expr => {
		const r = await (await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`)).json();
		assert.equal(r.status, 'success', JSON.stringify(r));
		return r.data.result;
	};
	/** Polls `expr` until `ok(result)`; returns the result. */
	const waitFor = async (expr, ok, seconds = 30) => {
		let last;
		for (const end = Date.now() + seconds * 1000; Date.now() < end; await sleep(250)) {
			last = await query(expr);
			if (ok(last)) return last;
		}
		const targets = await (await fetch(`${url}/api/v1/targets`)).text();
		throw new Error(`${expr}: ${JSON.stringify(last)} after ${seconds}s; targets: ${targets}`);
	};
	return { query, waitFor };
}

test('Prometheus 2.42 scrapes a native histogram: count and sum exact, p99 within the schema error', async t => {
	const registry = new Registry();
	registry.setDefaultLabels({ service: 'gateway' });
	const latency = new Histogram({
		name: 'fm_native_request_seconds',
		help: 'Request latency.',
		labelNames: ['route'],
		nativeHistogramBucketFactor: 1.1,
		registers: [registry],
	});
	// A classic histogram beside it, scraped in the same protobuf exposition.
	const classic = new Histogram({ name: 'fm_classic_request_seconds', help: 'Classic.', buckets: [0.05, 0.5], registers: [registry] });
	latency.zero({ route: '/matches' });
	const server = await serve(registry);
	t.after(() => server.close());
	const prom = await startPrometheus(t, `127.0.0.1:${server.address().port}`);
	const sel = 'fm_native_request_seconds{route="/matches",service="gateway"}';

	// The series at zero first, so rate() over the window sees every observation as new.
	await prom.waitFor(`histogram_count(${sel})`, r => r.length === 1 && r[0].value[1] === '0');
	// 0.99 * N is not an integer, so no bucket boundary can sit exactly at the rank.
	const N = 20011;
	const values = latencies(N, 24);
	let sum = 0;
	for (const v of values) {
		latency.observe({ route: '/matches' }, v);
		sum += v;
	}
	classic.observe(0.2);
	classic.observe(2);

	const count = await prom.waitFor(`histogram_count(${sel})`, r => r.length === 1 && r[0].value[1] !== '0');
	assert.equal(Number(count[0].value[1]), N);
	const summed = await prom.query(`histogram_sum(${sel})`);
	assert.equal(Number(summed[0].value[1]), sum);

	// The true 0.99 quantile: the ceil(0.99 N)-th smallest observation. Prometheus finds the
	// bucket holding that rank and interpolates inside it, so its estimate and the true value
	// lie in the same bucket (l, u] with u / l = 2^(2^-schema): schema 3 (factor 1.1) gives a
	// relative error below 2^(1/8) - 1 (9.05%). rate() scales every bucket alike, so the
	// bucket of the rank does not change.
	const sorted = [...values].sort((a, b) => a - b);
	const truth = sorted[Math.ceil(0.99 * N) - 1];
	const p99 = await prom.query(`histogram_quantile(0.99, rate(${sel}[1m]))`);
	assert.equal(p99.length, 1, JSON.stringify(p99));
	const estimate = Number(p99[0].value[1]);
	const bound = 2 ** (1 / 8) - 1;
	assert.ok(Math.abs(estimate - truth) / truth <= bound, `p99 ${estimate} vs true ${truth}: more than ${bound} apart`);
	// The bound can fail: an estimate from the classic buckets alone (0.05, 0.5, +Inf) could not
	// come this close to a p99 near 0.19 s.
	assert.ok(truth > 0.1 && truth < 0.4, `p99 ${truth}`);

	// The classic histogram beside it arrives as classic buckets.
	const classicCount = await prom.waitFor('fm_classic_request_seconds_count', r => r.length === 1 && r[0].value[1] === '2');
	assert.equal(classicCount[0].metric.service, 'gateway');
	const le = await prom.query('fm_classic_request_seconds_bucket{le="0.5"}');
	assert.equal(le[0].value[1], '1');
});

test('the protobuf exposition decodes with client_model definitions to the buckets observed', async t => {
	const registry = new Registry();
	registry.setDefaultLabels({ service: 'gateway' });
	const h = new Histogram({
		name: 'fm_payload_bytes',
		help: 'Payload sizes.',
		labelNames: ['route'],
		nativeHistogramBucketFactor: 1.5, // schema 1
		nativeHistogramZeroThreshold: 0.001,
		registers: [registry],
	});
	const both = new Histogram({
		name: 'fm_both_seconds',
		help: 'Classic and native.',
		buckets: [0.1, 1],
		nativeHistogramBucketFactor: 1.1,
		registers: [registry],
	});
	const classic = new Histogram({ name: 'fm_classic_seconds', help: 'Classic.', buckets: [1, 10], registers: [registry] });
	const r = rng(7);
	const values = Array.from({ length: 5000 }, () => Math.round((r() - 0.25) * 4e6) / 1000);
	values.push(0, 0.0005, -0.0005, 1e-9);
	const child = h.labels('/upload');
	for (const v of values) child.observe(v);
	for (const v of [0.05, 0.5, 5]) both.observe(v);
	classic.observe(3);

	const server = await serve(registry);
	t.after(() => server.close());
	const url = `http://127.0.0.1:${server.address().port}/metrics`;
	const res = await get(url, PROMETHEUS_ACCEPT);
	assert.equal(res.contentType, Registry.PROTOBUF_CONTENT_TYPE);
	assert.match(res.contentType, /^application\/vnd\.google\.protobuf; ?proto=io\.prometheus\.client\.MetricFamily; ?encoding=delimited/);
	const families = Object.fromEntries(decode(res.body).map(f => [f.name, f]));

	const payload = families.fm_payload_bytes;
	assert.equal(payload.type, 'HISTOGRAM');
	assert.equal(payload.help, 'Payload sizes.');
	assert.equal(payload.metric.length, 1);
	const m = payload.metric[0];
	assert.deepEqual(m.label.map(l => [l.name, l.value]).sort(), [['route', '/upload'], ['service', 'gateway']]);
	const ph = m.histogram;
	assert.equal(ph.schema, 1);
	assert.equal(ph.zeroThreshold, 0.001);
	assert.equal(ph.sampleCount, values.length);
	assert.equal(ph.sampleSum, values.reduce((a, b) => a + b, 0));
	const want = expectedBuckets(values, 1, 0.001);
	assert.equal(ph.zeroCount, want.zero);
	assert.equal(want.zero, 4);
	assert.deepEqual(fromSpans(ph.positiveSpan, ph.positiveDelta), want.pos);
	assert.deepEqual(fromSpans(ph.negativeSpan, ph.negativeDelta), want.neg);
	assert.ok(want.neg.size > 5 && want.pos.size > 5);
	// Native only: no classic buckets in the protobuf.
	assert.deepEqual(ph.bucket, []);

	// Classic bounds and native buckets together, from one reading.
	const bh = families.fm_both_seconds.metric[0].histogram;
	assert.deepEqual(bh.bucket.map(b => [b.upperBound, b.cumulativeCount]), [[0.1, 1], [1, 2]].concat(bh.bucket.length === 3 ? [[Infinity, 3]] : []));
	assert.equal(bh.sampleCount, 3);
	assert.equal(bh.schema, 3);
	assert.deepEqual(fromSpans(bh.positiveSpan, bh.positiveDelta), expectedBuckets([0.05, 0.5, 5], 3, 2 ** -128).pos);
	// The classic histogram: classic buckets, no native fields.
	const ch = families.fm_classic_seconds.metric[0].histogram;
	assert.deepEqual(ch.bucket.slice(0, 2).map(b => [b.upperBound, b.cumulativeCount]), [[1, 0], [10, 1]]);
	assert.equal(ch.schema, undefined);
	assert.deepEqual(ch.positiveSpan, []);

	// Without the protobuf Accept: the registry's text, native histograms as +Inf only.
	for (const accept of [undefined, 'text/plain;version=0.0.4', '*/*']) {
		const text = await get(url, accept);
		assert.equal(text.contentType, Registry.PROMETHEUS_CONTENT_TYPE);
		const { samples } = parseExposition(text.body.toString());
		assert.equal(samples.get('fm_payload_bytes_bucket{le="Infinity",route="/upload",service="gateway"}'), values.length);
		assert.equal(samples.get('fm_payload_bytes_count{route="/upload",service="gateway"}'), values.length);
		assert.equal([...samples.keys()].filter(k => k.startsWith('fm_payload_bytes_bucket')).length, 1);
		assert.equal(samples.get('fm_both_seconds_bucket{le="1",service="gateway"}'), 2);
		assert.equal(text.body.toString(), await registry.metrics());
	}
	// An OpenMetrics registry keeps its own content type for a text scrape.
	const om = new Registry(Registry.OPENMETRICS_CONTENT_TYPE);
	new Histogram({ name: 'fm_om_seconds', help: 'OM.', nativeHistogramBucketFactor: 2, registers: [om] }).observe(1);
	const omScrape = await om.scrape('text/plain');
	assert.equal(omScrape.contentType, Registry.OPENMETRICS_CONTENT_TYPE);
	assert.match(omScrape.body, /fm_om_seconds_count 1\n[\s\S]*# EOF\n$/);
	assert.equal((await om.scrape(PROMETHEUS_ACCEPT)).contentType, Registry.PROTOBUF_CONTENT_TYPE);
	await assert.rejects(om.scrape(42), { code: codes.InvalidArgument, name: 'TypeError' });
});

test('text and OpenMetrics of native histograms pass promtool and the strict OpenMetrics parser', async () => {
	const make = reg => {
		const only = new Histogram({ name: 'fm_only_seconds', help: 'Only native.', labelNames: ['r'], nativeHistogramBucketFactor: 1.1, registers: [reg] });
		const both = new Histogram({ name: 'fm_both_seconds', help: 'Both.', buckets: [0.5], nativeHistogramBucketFactor: 1.1, registers: [reg] });
		for (const v of [0.1, 0.7, 3]) {
			only.observe({ r: 'x' }, v);
			both.observe(v);
		}
	};
	const text = new Registry();
	make(text);
	const lint = promtoolCheck(await text.metrics());
	assert.equal(lint.status, 0, lint.output);
	const om = new Registry(Registry.OPENMETRICS_CONTENT_TYPE);
	make(om);
	const body = await om.metrics();
	assert.deepEqual(strictOpenMetrics(body).sort(), ['fm_both_seconds', 'fm_only_seconds']);
	assert.match(body, /^fm_both_seconds_bucket\{le="0\.5"\} 1$/m);
	assert.match(body, /^fm_only_seconds_bucket\{r="x",le="\+Inf"\} 3$/m);
});

test('the bucket limit options reach the core: halve the resolution, widen the zero bucket, reset', async () => {
	const registry = new Registry();
	const make = (name, opts) =>
		new Histogram({ name, help: 'L.', nativeHistogramBucketFactor: 1.1, nativeHistogramMaxBucketNumber: 4, registers: [registry], ...opts });
	const halve = make('fm_halve_seconds', {});
	const widen = make('fm_widen_seconds', { nativeHistogramMaxZeroThreshold: 100 });
	const reset = make('fm_reset_seconds', { nativeHistogramMinResetDuration: 1e-9 });
	const values = Array.from({ length: 100 }, (_, i) => i + 1);
	for (const v of values) {
		halve.observe(v);
		widen.observe(v);
		reset.observe(v);
	}
	const pb = Object.fromEntries(decode((await registry.scrape(PROMETHEUS_ACCEPT)).body).map(f => [f.name, f.metric[0].histogram]));
	const buckets = h => fromSpans(h.positiveSpan, h.positiveDelta);

	// Halved until at most 4 buckets hold 1..100: every observation kept, at a coarser schema.
	const h = pb.fm_halve_seconds;
	assert.equal(h.sampleCount, 100);
	assert.ok(h.schema < 3, `schema ${h.schema}`);
	assert.ok(buckets(h).size <= 4, `${buckets(h).size} buckets`);
	assert.deepEqual(buckets(h), expectedBuckets(values, h.schema, 2 ** -128).pos);

	// Widened: the zero bucket took the smallest buckets (its threshold a bucket bound <= 100).
	const w = pb.fm_widen_seconds;
	assert.equal(w.sampleCount, 100);
	assert.equal(w.schema, 3);
	assert.ok(w.zeroThreshold > 1 && w.zeroThreshold <= 100, `threshold ${w.zeroThreshold}`);
	assert.equal(w.zeroCount, values.filter(v => v <= w.zeroThreshold).length);
	assert.ok(buckets(w).size <= 4);

	// Reset (its minimum duration always past): earlier observations dropped, schema kept.
	const r = pb.fm_reset_seconds;
	assert.equal(r.schema, 3);
	assert.ok(r.sampleCount < 100 && r.sampleCount >= 1, `count ${r.sampleCount}`);
	assert.ok(buckets(r).size <= 4);
	assert.deepEqual(buckets(r), expectedBuckets(values.slice(100 - r.sampleCount), 3, 2 ** -128).pos);
});

test('bad native options throw TypeErrors at construction and register nothing', () => {
	const registry = new Registry();
	const base = { name: 'fm_bad_seconds', help: 'Bad.', registers: [registry] };
	const bad = [
		{ nativeHistogramBucketFactor: 1 },
		{ nativeHistogramBucketFactor: 0.5 },
		{ nativeHistogramBucketFactor: NaN },
		{ nativeHistogramBucketFactor: Infinity },
		{ nativeHistogramBucketFactor: '1.1' },
		{ nativeHistogramBucketFactor: null },
		{ nativeHistogramBucketFactor: 1.1, nativeHistogramZeroThreshold: -1 },
		{ nativeHistogramBucketFactor: 1.1, nativeHistogramZeroThreshold: NaN },
		{ nativeHistogramBucketFactor: 1.1, nativeHistogramZeroThreshold: '0' },
		{ nativeHistogramBucketFactor: 1.1, nativeHistogramMaxZeroThreshold: -0.5 },
		{ nativeHistogramBucketFactor: 1.1, nativeHistogramMaxBucketNumber: 1.5 },
		{ nativeHistogramBucketFactor: 1.1, nativeHistogramMaxBucketNumber: -1 },
		{ nativeHistogramBucketFactor: 1.1, nativeHistogramMinResetDuration: -1 },
		{ nativeHistogramBucketFactor: 1.1, nativeHistogramMinResetDuration: Infinity },
		// The other native options do nothing without the factor: refused, not ignored.
		{ nativeHistogramZeroThreshold: 0.1 },
	];
	for (const opts of bad) {
		assert.throws(
			() => new Histogram({ ...base, ...opts }),
			e => e instanceof TypeError && e.code === codes.InvalidArgument && /nativeHistogram/.test(e.message),
			JSON.stringify(opts),
		);
	}
	assert.deepEqual(registry.getMetricsAsArray(), []);
	// The name is still free: a good declaration after the bad ones works.
	const h = new Histogram({
		...base,
		nativeHistogramBucketFactor: 1.1,
		nativeHistogramZeroThreshold: 0,
		nativeHistogramMaxBucketNumber: 160,
		nativeHistogramMinResetDuration: 3600,
		nativeHistogramMaxZeroThreshold: 0.001,
	});
	h.observe(0);
	assert.equal(registry.getSingleMetric('fm_bad_seconds'), h);
});

test('a classic histogram beside a native one keeps its buckets and its hot path', async () => {
	const registry = new Registry();
	const classic = new Histogram({ name: 'fm_c_seconds', help: 'C.', labelNames: ['r'], buckets: [1, 2], registers: [registry] });
	const nat = new Histogram({ name: 'fm_n_seconds', help: 'N.', labelNames: ['r'], nativeHistogramBucketFactor: 1.1, registers: [registry] });
	assert.equal(classic.observe, Histogram.prototype.observe, 'classic observe is the unchanged prototype method');
	assert.notEqual(nat.observe, Histogram.prototype.observe);
	for (const v of [0.5, 1.5, 3]) {
		classic.observe({ r: 'a' }, v);
		nat.observe({ r: 'a' }, v);
	}
	classic.labels('b').observe(1);
	nat.labels('b').observe(1);
	const end = nat.startTimer({ r: 'a' });
	end();
	const { samples } = parseExposition(await registry.metrics());
	assert.equal(samples.get('fm_c_seconds_bucket{le="1",r="a"}'), 1);
	assert.equal(samples.get('fm_c_seconds_bucket{le="2",r="a"}'), 2);
	assert.equal(samples.get('fm_c_seconds_count{r="a"}'), 3);
	assert.equal(samples.get('fm_n_seconds_count{r="a"}'), 4);
	assert.equal(samples.get('fm_n_seconds_count{r="b"}'), 1);
	assert.equal(samples.get('fm_c_seconds_count{r="b"}'), 1);
	const got = await nat.get();
	assert.deepEqual(
		got.values.filter(v => v.labels.r === 'b').map(v => [v.metricName, v.value]),
		[['fm_n_seconds_bucket', 1], ['fm_n_seconds_sum', 1], ['fm_n_seconds_count', 1]],
	);
	assert.throws(() => nat.observe({ r: 'a' }, NaN), { code: codes.InvalidValue });
	assert.throws(() => nat.labels('a').observe('x'), { code: codes.InvalidValue });
	// Exemplars on a native histogram.
	const ex = new Histogram({ name: 'fm_ex_seconds', help: 'E.', enableExemplars: true, nativeHistogramBucketFactor: 1.1, registers: [registry] });
	ex.observe({ value: 0.3, exemplarLabels: { trace_id: 'abc' } });
	const pb = decode((await registry.scrape(PROMETHEUS_ACCEPT)).body);
	const exh = pb.find(f => f.name === 'fm_ex_seconds').metric[0].histogram;
	assert.equal(exh.sampleCount, 1);
	assert.deepEqual(exh.exemplars.map(e => [e.label[0].value, e.value]), [['abc', 0.3]]);
});

test('removing, zeroing and resetting native series', async () => {
	const registry = new Registry();
	const h = new Histogram({ name: 'fm_rm_seconds', help: 'R.', labelNames: ['r'], nativeHistogramBucketFactor: 1.1, registers: [registry] });
	const held = h.labels('x');
	held.observe(1);
	held.observe(2);
	h.observe({ r: 'y' }, 4);
	const series = async () => {
		const f = decode((await registry.scrape(PROMETHEUS_ACCEPT)).body).find(x => x.name === 'fm_rm_seconds');
		return Object.fromEntries((f ? f.metric : []).map(m => [m.label[0].value, m.histogram]));
	};
	assert.deepEqual(Object.keys(await series()).sort(), ['x', 'y']);
	h.remove('x');
	let s = await series();
	assert.deepEqual(Object.keys(s), ['y']);
	assert.equal(s.y.sampleCount, 1);
	// A held child re-creates its series from zero, as prom-client's.
	held.observe(8);
	s = await series();
	assert.equal(s.x.sampleCount, 1);
	assert.deepEqual(fromSpans(s.x.positiveSpan, s.x.positiveDelta), new Map([[keyOf(8, 3), 1]]));
	h.zero({ r: 'y' });
	s = await series();
	assert.equal(s.y.sampleCount, 0);
	assert.deepEqual(s.y.positiveSpan, []);
	h.reset();
	assert.deepEqual(await series(), {});
	h.observe({ r: 'z' }, 1);
	assert.equal((await series()).z.sampleCount, 1);
});

test('worker threads observe into the same native buckets, exactly, while scrapes run', async () => {
	const { Worker } = require('worker_threads');
	const THREADS = 3;
	const N = 30000;
	const opts = { name: 'fm_wt_native_seconds', help: 'W.', labelNames: ['k'], nativeHistogramBucketFactor: 1.1 };
	const decl = JSON.stringify(opts);
	const h = new Histogram(opts);
	h.observe({ k: 'a' }, 0.25);
	const src = `
		const { workerData, parentPort } = require('worker_threads');
		const client = require(${JSON.stringify(path.join(__dirname, '..'))});
		const h = new client.Histogram(${decl});
		let clash = null;
		try {
			new client.Histogram({ ...${decl}, nativeHistogramBucketFactor: 2 });
		} catch (e) {
			clash = e.code;
		}
		const child = h.labels('a');
		for (let i = 0; i < workerData.n; i++) child.observe(((i % 100) + 1) / 64);
		parentPort.postMessage(clash);`;
	const scrapes = [];
	let running = true;
	const scraping = (async () => {
		while (running) {
			scrapes.push(decode((await client.register.scrape(PROMETHEUS_ACCEPT)).body).length);
			await sleep(1);
		}
	})();
	const clashes = await Promise.all(
		Array.from({ length: THREADS }, () =>
			new Promise((resolve, reject) => {
				const w = new Worker(src, { eval: true, workerData: { n: N } });
				let msg;
				w.on('message', m => (msg = m));
				w.on('error', reject);
				w.on('exit', code => (code === 0 ? resolve(msg) : reject(new Error(`exit ${code}`))));
			}),
		),
	);
	running = false;
	await scraping;
	assert.ok(scrapes.length > 0);
	assert.deepEqual(clashes, Array(THREADS).fill(codes.AlreadyRegistered), 'another factor is another shape');
	const f = decode((await client.register.scrape(PROMETHEUS_ACCEPT)).body).find(x => x.name === 'fm_wt_native_seconds');
	const hh = f.metric[0].histogram;
	const values = [0.25];
	for (let t = 0; t < THREADS; t++) for (let i = 0; i < N; i++) values.push(((i % 100) + 1) / 64);
	assert.equal(hh.sampleCount, values.length);
	assert.equal(hh.sampleSum, values.reduce((a, b) => a + b, 0));
	assert.deepEqual(fromSpans(hh.positiveSpan, hh.positiveDelta), expectedBuckets(values, 3, 2 ** -128).pos);
});

test('a cluster worker sharing through files refuses a native histogram with a clear error', async t => {
	const script = `
const cluster = require('node:cluster');
const client = require(${JSON.stringify(path.join(__dirname, '..'))});
if (cluster.isPrimary) {
	new client.AggregatorRegistry();
	const w = cluster.fork();
	w.on('message', m => { console.log(JSON.stringify(m)); w.kill(); });
	w.on('exit', () => process.exit(0));
} else {
	const out = {};
	try {
		new client.Histogram({ name: 'fm_cluster_seconds', help: 'C.', nativeHistogramBucketFactor: 1.1 });
		out.shared = 'created';
	} catch (e) {
		out.shared = e.code;
		out.message = e.message;
	}
	// In a registry the AggregatorRegistry does not report, it works (served by the worker).
	const own = new client.Registry();
	new client.Histogram({ name: 'fm_cluster_seconds', help: 'C.', nativeHistogramBucketFactor: 1.1, registers: [own] }).observe(1);
	own.scrape(${JSON.stringify(PROMETHEUS_ACCEPT)}).then(r => {
		out.own = r.contentType;
		process.send(out);
	});
}`;
	const file = path.join(os.tmpdir(), `fm-native-cluster-${process.pid}.js`);
	fs.writeFileSync(file, script);
	const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
	t.after(() => {
		try {
			process.kill(child.pid, 'SIGKILL');
		} catch {
			// Already gone.
		}
		fs.rmSync(file, { force: true });
	});
	let out = '';
	let err = '';
	child.stdout.on('data', d => (out += d));
	child.stderr.on('data', d => (err += d));
	const code = await new Promise(r => child.on('exit', r));
	assert.equal(code, 0, err);
	const res = JSON.parse(out.trim());
	assert.equal(res.shared, codes.InvalidOption, JSON.stringify(res));
	assert.match(res.message, /native histograms cannot be shared through the cluster's files/);
	assert.equal(res.own, Registry.PROTOBUF_CONTENT_TYPE);
});
