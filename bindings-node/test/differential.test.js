'use strict';
// The same calls through prom-client and footmetrics: the expositions must hold the same
// families, types, samples and label sets (summary quantile values excepted: prom-client uses a
// t-digest, footmetrics a relative-error sketch). Also the seed document's TypeScript snippet,
// type-checked against our definitions and run with only its import changed.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const ts = require('typescript');
const prom = require('prom-client');
const ours = require('..');
const { ROOT, parseExposition } = require('./helpers');

function workload(lib, reg) {
	const c = new lib.Counter({ name: 'http_requests_total', help: 'Requests "quoted" \\ back.', labelNames: ['method', 'code'], registers: [reg] });
	c.inc({ method: 'GET', code: 200 });
	c.inc({ method: 'GET', code: '200' }, 2);
	c.labels('POST', '500').inc(0.5);
	c.inc({ method: 'we"ird\nvalue\\', code: '1' });
	const plain = new lib.Counter({ name: 'events', help: 'No _total suffix.', registers: [reg] });
	plain.inc(3);
	const g = new lib.Gauge({ name: 'queue_length', help: 'Queue.', labelNames: ['q'], registers: [reg] });
	g.set({ q: 'a' }, 5);
	g.inc({ q: 'a' }, 2);
	g.dec({ q: 'b' });
	g.labels('c').set(-1.25e-7);
	const h = new lib.Histogram({ name: 'latency_seconds', help: 'Latency.', labelNames: ['route'], buckets: [0.01, 0.1, 1, 2.5], registers: [reg] });
	for (const v of [0.005, 0.01, 0.05, 0.5, 3, 100]) h.observe({ route: '/a' }, v);
	h.labels('/b').observe(1);
	h.zero({ route: '/zero' });
	const hu = new lib.Histogram({ name: 'unlabelled_seconds', help: 'U.', registers: [reg] });
	hu.observe(0.3);
	const s = new lib.Summary({ name: 'payload_bytes', help: 'Payload.', labelNames: ['kind'], percentiles: [0.5, 0.9], registers: [reg] });
	for (let i = 0; i < 100; i++) s.observe({ kind: 'x' }, i);
	const gone = new lib.Gauge({ name: 'removed', help: 'R.', labelNames: ['k'], registers: [reg] });
	gone.set({ k: 'stay' }, 1);
	gone.set({ k: 'go' }, 1);
	gone.remove('go');
	// prom-client exports a labelled series from its first update, not from labels(); a held
	// child re-creates its series after remove(); zero() exports a histogram series at once.
	const lazy = new lib.Counter({ name: 'lazy_total', help: 'L.', labelNames: ['k'], registers: [reg] });
	lazy.labels('never');
	const held = lazy.labels('held');
	held.inc();
	lazy.remove('held');
	held.inc(5);
	lazy.labels({ k: 'later' });
	lazy.inc({ k: 'later' }, 2);
	const lazyGauge = new lib.Gauge({ name: 'lazy_gauge', help: 'L.', labelNames: ['k'], registers: [reg] });
	lazyGauge.labels('never');
	lazyGauge.labels({ k: 'set' }).set(3);
	const lazyHist = new lib.Histogram({ name: 'lazy_seconds', help: 'L.', labelNames: ['k'], buckets: [1], registers: [reg] });
	lazyHist.labels('never');
	lazyHist.zero({ k: 'zeroed' });
	lazyHist.labels('later').observe(0.5);
	lazyHist.labels('timed').startTimer();
	const lazySummary = new lib.Summary({ name: 'lazy_summary', help: 'L.', labelNames: ['k'], percentiles: [0.5], registers: [reg] });
	lazySummary.labels('never');
	lazySummary.labels('seen').observe(1);
	reg.setDefaultLabels({ service: 'gateway', method: 'IGNORED' });
}

function withoutQuantiles(samples) {
	const out = new Map();
	for (const [k, v] of samples) out.set(k, k.includes('quantile=') ? 'q' : v);
	return out;
}

for (const contentType of [prom.Registry.PROMETHEUS_CONTENT_TYPE, prom.Registry.OPENMETRICS_CONTENT_TYPE]) {
	test(`same exposition as prom-client (${contentType.split(';')[0]})`, async () => {
		const theirs = new prom.Registry(contentType);
		const mine = new ours.Registry(contentType);
		workload(prom, theirs);
		workload(ours, mine);
		const a = parseExposition(await theirs.metrics());
		const b = parseExposition(await mine.metrics());
		assert.deepEqual(b.types, a.types);
		assert.deepEqual(withoutQuantiles(b.samples), withoutQuantiles(a.samples));
		// (prom-client renames counters in place when it renders OpenMetrics, so JSON is compared
		// in the text-format run only.)
		if (contentType !== prom.Registry.PROMETHEUS_CONTENT_TYPE) return;
		assert.deepEqual(await mine.getMetricsAsJSON().then(j => j.map(m => [m.name, m.type, m.values.length])),
			await theirs.getMetricsAsJSON().then(j => j.map(m => [m.name, m.type, m.values.length])));
	});
}

test('the seed document\'s TypeScript snippet type-checks and runs with only its import changed', async () => {
	// The platform document's snippet, kept verbatim after the fixture's provenance note.
	const fixture = fs.readFileSync(path.join(ROOT, 'examples', 'platform-snippets', 'business_metrics.ts'), 'utf8');
	const snippet = fixture.split('---- verbatim below ----\n')[1];
	assert.match(snippet, /from 'prom-client'/);
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-seed-'));
	const ourSource = snippet.replace("'prom-client'", "'footmetrics'") + '\nregister.metrics().then(t => process.stdout.write(t));\n';
	const theirSource = snippet + '\nregister.metrics().then(t => process.stdout.write(t));\n';
	// Type-check against our definitions, resolving `footmetrics` to this package.
	fs.writeFileSync(path.join(dir, 'seed.ts'), 'declare const process: { stdout: { write(s: string): void } };\n' + ourSource);
	const program = ts.createProgram([path.join(dir, 'seed.ts')], {
		strict: true,
		noEmit: true,
		module: ts.ModuleKind.CommonJS,
		target: ts.ScriptTarget.ES2020,
		baseUrl: dir,
		paths: { footmetrics: [path.join(__dirname, '..', 'index.d.ts')] },
		types: [],
	});
	const diags = ts.getPreEmitDiagnostics(program).map(d => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
	assert.deepEqual(diags, []);
	const run = (source, resolveTo) => {
		const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS } }).outputText;
		const file = path.join(dir, `run-${Math.random().toString(36).slice(2)}.js`);
		fs.writeFileSync(file, js.replace(/require\("(footmetrics|prom-client)"\)/, `require(${JSON.stringify(resolveTo)})`));
		const r = spawnSync(process.execPath, [file], { encoding: 'utf8' });
		assert.equal(r.status, 0, r.stderr);
		return parseExposition(r.stdout);
	};
	const mine = run(ourSource, path.join(__dirname, '..'));
	const theirs = run(theirSource, require.resolve('prom-client'));
	assert.deepEqual(mine.types, theirs.types);
	assert.deepEqual(mine.samples, theirs.samples);
	assert.equal(mine.samples.get('analytics_generation_duration_seconds_bucket{complexity="high",le="60",video_type="match"}'), 1);
	fs.rmSync(dir, { recursive: true });
});
