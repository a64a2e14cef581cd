'use strict';
// Exemplars from OpenTelemetry traces: a histogram timer that ends inside an active, sampled
// span links its observation to that span (OpenMetrics read back by the strict parser; OTLP
// export read back by the decoding sink). Spans are made current through the real
// @opentelemetry/api context with the AsyncLocalStorage context manager.

const test = require('node:test');
const assert = require('node:assert/strict');
const api = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const client = require('..');
const { strictOpenMetrics, startOtlpSink } = require('./helpers');

api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

function inSpan(traceFlags, fn) {
	const span = api.trace.wrapSpanContext({ traceId: TRACE, spanId: SPAN, traceFlags, isRemote: false });
	return api.context.with(api.trace.setSpan(api.context.active(), span), fn);
}

/** `{trace_id, span_id}` label sets of the exemplars on `name`'s buckets. */
async function exemplars(reg, name) {
	const text = await reg.metrics();
	strictOpenMetrics(text); // throws unless the exposition is valid
	const out = [];
	for (const line of text.split('\n')) {
		const m = /^(\S+)_bucket\{[^}]*\} \S+ # \{trace_id="(\w+)",span_id="(\w+)"\} (\S+)/.exec(line);
		if (m && m[1] === name) out.push([m[2], m[3]]);
	}
	return out;
}

test('a timer ending inside a sampled span attaches its trace and span ids', async () => {
	const reg = new client.Registry(client.Registry.OPENMETRICS_CONTENT_TYPE);
	const h = new client.Histogram({ name: 'render_seconds', help: 'Render.', labelNames: ['view'], registers: [reg] });
	await inSpan(api.TraceFlags.SAMPLED, async () => {
		const end = h.startTimer({ view: 'match' });
		await new Promise((r) => setTimeout(r, 5));
		end();
	});
	assert.deepEqual(await exemplars(reg, 'render_seconds'), [[TRACE, SPAN]]);
	// A child's timer too, and nothing outside a span or in an unsampled one.
	const other = new client.Histogram({ name: 'other_seconds', help: 'O.', registers: [reg] });
	other.startTimer()();
	inSpan(api.TraceFlags.NONE, () => other.startTimer()());
	assert.deepEqual(await exemplars(reg, 'other_seconds'), []);
	inSpan(api.TraceFlags.SAMPLED, () => h.labels('list').startTimer()());
	assert.equal((await exemplars(reg, 'render_seconds')).length, 2);
});

test("prom-client's observe({ labels, value, exemplarLabels }) keeps the exemplar", async () => {
	const reg = new client.Registry(client.Registry.OPENMETRICS_CONTENT_TYPE);
	const h = new client.Histogram({ name: 'ex_seconds', help: 'E.', enableExemplars: true, buckets: [1], registers: [reg] });
	h.observe({ value: 0.5, exemplarLabels: { trace_id: TRACE, span_id: SPAN } });
	const text = await reg.metrics();
	assert.match(text, /ex_seconds_bucket\{le="1.0"\} 1 # \{trace_id="4bf9[0-9a-f]+",span_id="00f0[0-9a-f]+"\} 0.5 /);
});

test('span exemplars reach the OTLP collector', async () => {
	const sink = await startOtlpSink();
	try {
		const reg = new client.Registry();
		const h = new client.Histogram({ name: 'upload_seconds', help: 'U.', registers: [reg] });
		inSpan(api.TraceFlags.SAMPLED, () => h.startTimer()());
		const e = client.startOtlpExporter(sink.endpoint('grpc'), 3600000, { registry: reg, protocol: 'grpc' });
		assert.equal(await e.forceFlush(10000), true);
		await e.shutdown();
		const p = (await sink.received()).points.filter((p) => p.name === 'upload_seconds').at(-1);
		assert.deepEqual(p.exemplars.map((x) => [x.trace_id, x.span_id]), [[TRACE, SPAN]]);
	} finally {
		sink.stop();
	}
});
