'use strict';
// Our exposition through the real validators: prometheus_client's strict OpenMetrics parser
// and `promtool check metrics`.

const test = require('node:test');
const assert = require('node:assert/strict');
const client = require('..');
const { strictOpenMetrics, promtoolCheck } = require('./helpers');

function populate(reg, defaults = true) {
	const c = new client.Counter({ name: 'api_requests_total', help: 'Requests with "quotes" and \\ slash.', labelNames: ['route'], registers: [reg] });
	c.inc({ route: 'a"b\\c\nd' }, 3);
	const g = new client.Gauge({ name: 'api_in_flight', help: 'In flight.', registers: [reg] });
	g.set(2);
	const h = new client.Histogram({ name: 'api_duration_seconds', help: 'Duration.', labelNames: ['route'], buckets: client.exponentialBuckets(0.001, 10, 5), registers: [reg] });
	h.observe({ route: '/' }, 0.02);
	h.observe({ route: '/' }, 20);
	const s = new client.Summary({ name: 'api_payload_bytes', help: 'Payload.', registers: [reg] });
	s.observe(512);
	if (defaults) client.collectDefaultMetrics({ register: reg });
	reg.setDefaultLabels({ service: 'gateway' });
}

test('OpenMetrics output passes the strict parser', async () => {
	const reg = new client.Registry(client.Registry.OPENMETRICS_CONTENT_TYPE);
	populate(reg);
	const families = strictOpenMetrics(await reg.metrics());
	for (const f of ['api_requests', 'api_in_flight', 'api_duration_seconds', 'api_payload_bytes', 'nodejs_gc_duration_seconds', 'process_cpu_seconds']) {
		assert.ok(families.includes(f), `${f} in ${families}`);
	}
});

test('the strict parser rejects what it should (the check can fail)', () => {
	assert.throws(() => strictOpenMetrics('# TYPE x counter\nx_total 1\n'), /rejected/);
});

test('text output passes promtool check metrics', async () => {
	const reg = new client.Registry();
	populate(reg, false);
	const { status, output } = promtoolCheck(await reg.metrics());
	assert.equal(status, 0, output);
	// With the default metrics, promtool's only findings are prom-client's own gauge names that
	// end in _total, kept for compatibility.
	const withDefaults = new client.Registry();
	populate(withDefaults);
	const lint = promtoolCheck(await withDefaults.metrics());
	const findings = lint.output.trim().split('\n').filter(Boolean).sort();
	assert.deepEqual(findings, [
		'nodejs_active_handles_total non-counter metrics should not have "_total" suffix',
		'nodejs_active_requests_total non-counter metrics should not have "_total" suffix',
		'nodejs_active_resources_total non-counter metrics should not have "_total" suffix',
	]);
	const bad = promtoolCheck('# TYPE x counter\nx{a="1"} 1\nx{a="1"} 2\n');
	assert.notEqual(bad.status, 0, 'promtool must flag a duplicate series');
});
