'use strict';
// Errors keep their kind (issue 22): every mistake is made through prom-client and footmetrics
// alike, and footmetrics must throw prom-client's class (and message, where prom-client words
// one on purpose) with its own stable `code`. The table of kinds in the addon is held to the
// core's error kinds, docs/node.md, index.d.ts and the loader, and no error in the package is
// thrown without a code.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const prom = require('prom-client');
const ours = require('..');
const { kinds, codes, coded, fail } = require('../lib/errors');
const { native } = require('../lib/native');
const { loadNative, LOAD_ERROR } = require('../lib/loader');
const { ROOT, freePort } = require('./helpers');

const PKG = path.join(__dirname, '..');

/** The error `f()` throws or rejects with, or null if it does neither. */
async function caught(f) {
	try {
		await f();
	} catch (e) {
		return e;
	}
	return null;
}

/** A histogram with exemplars, which prom-client allows on OpenMetrics registries only. */
function exemplarHistogram(lib) {
	const reg = new lib.Registry(lib.Registry.OPENMETRICS_CONTENT_TYPE);
	return new lib.Histogram({ name: 'ex_seconds', help: 'h', enableExemplars: true, registers: [reg] });
}

// [what, the call (made on `lib`, prom-client or footmetrics, with a fresh registry `r`), the
// kind footmetrics throws, how prom-client compares: 'same' (class and message), 'class' (class
// only: its message is not worded on purpose, or the core's says more), 'accepts' (prom-client
// lets the mistake through: listed in the README's deliberate differences)].
const CASES = [
	['a config that is not an object', (lib) => new lib.Counter('x'), 'InvalidArgument', 'same'],
	['no help', (lib, r) => new lib.Counter({ name: 'a', registers: [r] }), 'MissingOption', 'same'],
	['no name', (lib, r) => new lib.Gauge({ help: 'a', registers: [r] }), 'MissingOption', 'same'],
	['a bad metric name', (lib, r) => new lib.Counter({ name: '1a', help: 'a', registers: [r] }), 'InvalidMetricName', 'same'],
	['a bad label name', (lib, r) => new lib.Counter({ name: 'a', help: 'a', labelNames: ['a-b'], registers: [r] }), 'InvalidLabelName', 'same'],
	['labelNames not an array', (lib, r) => new lib.Counter({ name: 'a', help: 'a', labelNames: 'ab', registers: [r] }), 'InvalidArgument', 'class'],
	['a collect that is not a function', (lib, r) => new lib.Counter({ name: 'a', help: 'a', collect: 5, registers: [r] }), 'InvalidOption', 'same'],
	['le on a histogram', (lib, r) => new lib.Histogram({ name: 'a', help: 'a', labelNames: ['le'], registers: [r] }), 'ReservedLabelName', 'same'],
	['quantile on a summary', (lib, r) => new lib.Summary({ name: 'a', help: 'a', labelNames: ['quantile'], registers: [r] }), 'ReservedLabelName', 'same'],
	['a label name twice', (lib, r) => new lib.Counter({ name: 'a', help: 'a', labelNames: ['x', 'x'], registers: [r] }), 'DuplicateLabelName', 'accepts'],
	['buckets not increasing', (lib, r) => new lib.Histogram({ name: 'a', help: 'a', buckets: [2, 1], registers: [r] }), 'InvalidBuckets', 'accepts'],
	['a percentile above 1', (lib, r) => new lib.Summary({ name: 'a', help: 'a', percentiles: [1.5], registers: [r] }), 'InvalidOption', 'accepts'],
	[
		'two metrics of one name',
		(lib, r) => {
			new lib.Counter({ name: 'a', help: 'a', registers: [r] });
			new lib.Gauge({ name: 'a', help: 'a', registers: [r] });
		},
		'AlreadyRegistered',
		'same',
	],
	['merging registries of two content types', (lib, r) => lib.Registry.merge([r, new lib.Registry(lib.Registry.OPENMETRICS_CONTENT_TYPE)]), 'InvalidOption', 'same'],
	['a label not declared', (lib, r) => new lib.Counter({ name: 'a', help: 'a', labelNames: ['x'], registers: [r] }).inc({ y: '1' }), 'UnknownLabel', 'same'],
	['too many label values to labels()', (lib, r) => new lib.Counter({ name: 'a', help: 'a', labelNames: ['x'], registers: [r] }).labels('1', '2'), 'LabelCount', 'same'],
	['too many label values to remove()', (lib, r) => new lib.Gauge({ name: 'a', help: 'a', labelNames: ['x'], registers: [r] }).remove('1', '2'), 'LabelCount', 'same'],
	['a counter decreased', (lib, r) => new lib.Counter({ name: 'a', help: 'a', registers: [r] }).inc(-1), 'CounterDecrement', 'same'],
	['a labelled counter decreased', (lib, r) => new lib.Counter({ name: 'a', help: 'a', labelNames: ['x'], registers: [r] }).labels('1').inc(-2), 'CounterDecrement', 'same'],
	['a counter increased by a string', (lib, r) => new lib.Counter({ name: 'a', help: 'a', registers: [r] }).inc('5'), 'InvalidValue', 'same'],
	['a counter increased by NaN', (lib, r) => new lib.Counter({ name: 'a', help: 'a', registers: [r] }).inc(NaN), 'InvalidValue', 'accepts'],
	['a gauge set to a string', (lib, r) => new lib.Gauge({ name: 'a', help: 'a', registers: [r] }).set('5'), 'InvalidValue', 'same'],
	['a gauge increased by a string', (lib, r) => new lib.Gauge({ name: 'a', help: 'a', registers: [r] }).inc('5'), 'InvalidValue', 'same'],
	['a histogram observing NaN', (lib, r) => new lib.Histogram({ name: 'a', help: 'a', registers: [r] }).observe(NaN), 'InvalidValue', 'class'],
	['a summary observing Infinity', (lib, r) => new lib.Summary({ name: 'a', help: 'a', registers: [r] }).observe(Infinity), 'InvalidValue', 'same'],
	['exemplar labels over 128 characters', (lib) => exemplarHistogram(lib).observe({ value: 1, exemplarLabels: { trace_id: 'x'.repeat(200) } }), 'ExemplarTooLong', 'class'],
	['new Registry of an unknown content type', (lib) => new lib.Registry('text/html'), 'InvalidArgument', 'same'],
	['setContentType of an unknown content type', (lib, r) => r.setContentType('text/html'), 'InvalidOption', 'same'],
	['getSingleMetricAsString of an unknown name', (lib, r) => r.getSingleMetricAsString('nope'), 'NotRegistered', 'class'],
	['linearBuckets without a count', (lib) => lib.linearBuckets(0, 1, 0), 'InvalidBuckets', 'same'],
	['exponentialBuckets from 0', (lib) => lib.exponentialBuckets(0, 2, 3), 'InvalidBuckets', 'same'],
	['exponentialBuckets by a factor of 1', (lib) => lib.exponentialBuckets(1, 1, 3), 'InvalidBuckets', 'same'],
	['collectDefaultMetrics of a string', (lib) => lib.collectDefaultMetrics('x'), 'InvalidArgument', 'same'],
	['setRegistries of a number', (lib) => lib.AggregatorRegistry.setRegistries([5]), 'InvalidArgument', 'same'],
	['a push without jobName', (lib, r) => new lib.Pushgateway('http://127.0.0.1:9', {}, r).push({}), 'MissingOption', 'same'],
	['a Pushgateway URL that is not a string', (lib, r) => new lib.Pushgateway(5, {}, r).push({ jobName: 'j' }), 'InvalidArgument', 'class'],
];

test('each mistake throws prom-client\'s class, with its code', async () => {
	for (const [what, call, kind, compare] of CASES) {
		const k = kinds[kind];
		assert.ok(k, `${what}: no kind ${kind}`);
		const mine = await caught(() => call(ours, new ours.Registry()));
		assert.ok(mine, `${what}: footmetrics threw nothing`);
		assert.equal(mine.constructor.name, k.class, `${what}: ${mine.stack}`);
		assert.equal(mine.code, k.code, `${what}: ${mine.message}`);
		assert.ok(mine.message.length > 0, what);
		const theirs = await caught(() => call(prom, new prom.Registry()));
		if (compare === 'accepts') {
			assert.equal(theirs, null, `${what}: prom-client now throws (${theirs && theirs.message}); compare it`);
			continue;
		}
		assert.ok(theirs, `${what}: prom-client threw nothing`);
		assert.equal(mine.constructor, theirs.constructor, `${what}: prom-client threw ${theirs.constructor.name}: ${theirs.message}`);
		if (compare === 'same') assert.equal(mine.message, theirs.message, what);
	}
});

test('errors from Rust carry their class and code: core kinds, the binding\'s own, conversions', async () => {
	const r = new ours.Registry();
	// The core's checks (src/errors.rs maps them by kind).
	assert.throws(() => new ours.Histogram({ name: 'b', help: 'b', buckets: [1, NaN], registers: [r] }), {
		name: 'Error',
		code: 'ERR_FOOTMETRICS_INVALID_BUCKETS',
		message: /invalid histogram buckets/,
	});
	assert.throws(() => exemplarHistogram(ours).observe({ value: 1, exemplarLabels: { a: 'x', a2: 'y'.repeat(127) } }), (e) => {
		assert.ok(e instanceof RangeError);
		assert.equal(e.code, 'ERR_FOOTMETRICS_EXEMPLAR_TOO_LONG');
		assert.match(e.message, /131 characters, more than the OpenMetrics limit of 128/);
		return true;
	});
	// An unknown aggregator, found by the cluster primary in Rust: prom-client's class and message.
	const worker = JSON.stringify([{ name: 'x', help: 'x', type: 'gauge', values: [{ value: 1, labels: {} }], aggregator: 'median' }]);
	const mine = await caught(() => native.aggregateWorkers([worker], false));
	const theirs = await caught(() => prom.AggregatorRegistry.aggregate([JSON.parse(worker)]));
	assert.equal(mine.constructor, theirs.constructor);
	assert.equal(mine.message, theirs.message);
	assert.equal(mine.code, 'ERR_FOOTMETRICS_INVALID_OPTION');
	const bad = await caught(() => native.aggregateWorkers(['not json'], false));
	assert.equal(bad.code, 'ERR_FOOTMETRICS_CLUSTER_WORKER');
	// A value napi-rs cannot convert (the wrapper does not check OTLP's protocol's type): a
	// TypeError of ours, napi-rs's error kept as its cause.
	assert.throws(() => ours.startOtlpExporter('http://127.0.0.1:4318', 1000, { registry: r, protocol: 5 }), (e) => {
		assert.ok(e instanceof TypeError);
		assert.equal(e.code, 'ERR_FOOTMETRICS_INVALID_ARGUMENT');
		assert.equal(e.cause.code, 'StringExpected');
		return true;
	});
	assert.throws(() => ours.startOtlpExporter('ftp://c:4318', 1000, { registry: r }), { name: 'TypeError', code: 'ERR_FOOTMETRICS_INVALID_ARGUMENT' });
	const otlp = ours.startOtlpExporter('http://127.0.0.1:9', 60000, { registry: new ours.Registry() });
	await otlp.shutdown(1);
	assert.throws(() => otlp.stats(), { name: 'Error', code: 'ERR_FOOTMETRICS_SHUT_DOWN' });
	assert.throws(() => ours.catalog.create('nope'), { name: 'Error', code: 'ERR_FOOTMETRICS_NOT_IN_CATALOG' });
	assert.throws(() => loadNative({ local: null, platform: 'freebsd', arch: 'x64' }), { name: 'Error', code: 'ERR_FOOTMETRICS_LOAD' });
});

test('a Pushgateway that refuses the connection rejects with ERR_FOOTMETRICS_PUSH, an Error as prom-client\'s', async () => {
	const url = `http://127.0.0.1:${await freePort()}`;
	const mine = await caught(() => new ours.Pushgateway(url, { timeout: 2000 }, new ours.Registry()).push({ jobName: 'j' }));
	const theirs = await caught(() => new prom.Pushgateway(url, { timeout: 2000 }, new prom.Registry()).push({ jobName: 'j' }));
	assert.equal(mine.constructor, theirs.constructor);
	assert.equal(mine.code, 'ERR_FOOTMETRICS_PUSH');
	assert.match(mine.message, /pushgateway/);
	const badTimeout = await caught(() => new ours.Pushgateway(url, { timeout: '1s' }, new ours.Registry()).push({ jobName: 'j' }));
	assert.equal(badTimeout.code, 'ERR_FOOTMETRICS_INVALID_ARGUMENT');
});

test('errors that are not ours become ours: conversions a TypeError, anything else Internal', () => {
	const conversion = Object.assign(new Error('Failed to convert'), { code: 'NumberExpected' });
	assert.ok(coded(conversion) instanceof TypeError);
	assert.equal(coded(conversion).code, codes.InvalidArgument);
	assert.equal(coded(conversion).cause, conversion);
	const panic = Object.assign(new Error('panicked at ...'), { code: 'GenericFailure' });
	assert.equal(coded(panic).code, codes.Internal);
	assert.equal(coded(panic).message, 'panicked at ...');
	const mine = fail('LabelCount', 'x');
	assert.equal(coded(mine), mine);
	assert.equal(fail('NoSuchKind', 'x').code, codes.Internal);
});

test('the table of kinds: unique codes, one row per core kind (core/src/error.rs), the loader\'s code', () => {
	const rows = Object.values(kinds);
	assert.equal(new Set(rows.map((k) => k.code)).size, rows.length);
	for (const k of rows) {
		assert.match(k.code, /^ERR_FOOTMETRICS_[A-Z_]+$/);
		assert.ok(['Error', 'TypeError', 'RangeError'].includes(k.class), k.name);
	}
	// Every variant of the core's non-exhaustive `footmetrics::Error`: a kind added there fails
	// here until src/errors.rs gives it a row (until then it throws ERR_FOOTMETRICS_OTHER).
	const source = fs.readFileSync(path.join(ROOT, 'core', 'src', 'error.rs'), 'utf8');
	const body = /pub enum Error \{([\s\S]*?)\n\}/.exec(source)[1];
	const variants = [...body.matchAll(/^ {4}([A-Z][A-Za-z]*)\b/gm)].map((m) => m[1]);
	assert.ok(variants.length >= 16, `read ${variants.length} variants`);
	assert.deepEqual(rows.filter((k) => k.core).map((k) => k.name).sort(), variants.sort());
	assert.equal(codes.CoreOther, 'ERR_FOOTMETRICS_OTHER');
	assert.equal(LOAD_ERROR, codes.Load);
});

test('docs/node.md and index.d.ts list every code, the docs with its class', () => {
	const doc = fs.readFileSync(path.join(ROOT, 'docs', 'node.md'), 'utf8');
	const documented = new Map([...doc.matchAll(/^\| `(ERR_FOOTMETRICS_[A-Z_]+)` \| `(\w+)` \|/gm)].map((m) => [m[1], m[2]]));
	const table = new Map(Object.values(kinds).map((k) => [k.code, k.class]));
	assert.deepEqual([...documented].sort(), [...table].sort());
	const dts = fs.readFileSync(path.join(PKG, 'index.d.ts'), 'utf8');
	const union = /export type ErrorCode =([^;]*);/.exec(dts)[1];
	assert.deepEqual([...union.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]).sort(), [...table.keys()].sort());
});

test('the package throws through the table: no bare Error, TypeError or RangeError', () => {
	const files = ['index.js', 'index.mjs', 'catalog.js', ...fs.readdirSync(path.join(PKG, 'lib')).map((f) => `lib/${f}`)];
	for (const f of files) {
		const text = fs.readFileSync(path.join(PKG, f), 'utf8');
		const bare = text.match(/\bnew (Type|Range)?Error\(/g) || [];
		// The loader's one, in loadError: it runs before there is an addon to ask for the table.
		assert.equal(bare.length, f === 'lib/loader.js' ? 1 : 0, `${f}: ${bare.join(', ')}`);
	}
});
