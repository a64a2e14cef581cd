// docs/node.md: histogram exemplars are kept and shown in OpenMetrics scrapes; counter
// exemplars are accepted (prom-client's call shape) but not kept.
const assert = require('node:assert/strict');

// docs:start exemplars
const client = require('footmetrics');
const registry = new client.Registry(client.Registry.OPENMETRICS_CONTENT_TYPE);

const generation = new client.Histogram({
	name: 'analytics_generation_duration_seconds', help: 'Time to generate analytics',
	labelNames: ['video_type'], buckets: [1, 5, 10, 30], enableExemplars: true, registers: [registry],
});
generation.observe({ labels: { video_type: 'match' }, value: 4.2, exemplarLabels: { trace_id: 'abc123' } });

const uploads = new client.Counter({
	name: 'video_uploads_total', help: 'Uploads', labelNames: ['status'], enableExemplars: true, registers: [registry],
});
uploads.inc({ labels: { status: 'success' }, value: 1, exemplarLabels: { trace_id: 'abc123' } }); // counted; exemplar not kept

registry.metrics().then(text => console.log(text));
// docs:end exemplars

registry.metrics().then(text => {
	assert.match(text, /^analytics_generation_duration_seconds_bucket\{video_type="match",le="5\.0"\} 1 # \{trace_id="abc123"\} 4\.2/m);
	assert.match(text, /^video_uploads_total\{status="success"\} 1$/m);
	assert.ok(text.endsWith('# EOF\n'));
});
