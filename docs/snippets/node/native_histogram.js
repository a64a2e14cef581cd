// docs/node.md: a native histogram (client_golang's options in prom-client's style), served as
// protobuf to a Prometheus that asks for it and as text to everyone else.
const assert = require('node:assert/strict');
const http = require('node:http');

// docs:start native
const { Histogram, register } = require('footmetrics');

const latency = new Histogram({
	name: 'http_request_duration_seconds', help: 'Latency', labelNames: ['route'],
	nativeHistogramBucketFactor: 1.1,     // schema 3: buckets 9% wide, no `buckets` needed
	nativeHistogramMaxBucketNumber: 160,  // past it: reset after an hour, else halve the resolution
	nativeHistogramMinResetDuration: 3600,
});
latency.observe({ route: '/matches/{id}' }, 0.042);

const server = http.createServer(async (req, res) => {
	// Protobuf when the Accept header prefers it (Prometheus with native histograms on), else
	// register.metrics() as today; rendered on the libuv thread pool either way.
	const { body, contentType } = await register.scrape(req.headers.accept);
	res.setHeader('Content-Type', contentType);
	res.end(body);
});
// docs:end native

server.listen(0, '127.0.0.1', async () => {
	const url = `http://127.0.0.1:${server.address().port}/metrics`;
	const proto = await fetch(url, {
		headers: { accept: 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3' },
	});
	assert.match(proto.headers.get('content-type'), /^application\/vnd\.google\.protobuf/);
	assert.ok((await proto.arrayBuffer()).byteLength > 0);
	const text = await (await fetch(url)).text();
	assert.match(text, /^http_request_duration_seconds_bucket\{route="\/matches\/\{id\}",le="\+Inf"\} 1$/m);
	server.close();
});
