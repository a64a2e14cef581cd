// README: the API gateway's request counter, served on /metrics by Node's own http server.
const assert = require('node:assert/strict');

// docs:start readme
const http = require('node:http');
const { Counter, Histogram, register } = require('footmetrics'); // was 'prom-client'

const requests = new Counter({ name: 'http_requests_total', help: 'HTTP requests', labelNames: ['method', 'route', 'code'] });
const latency = new Histogram({ name: 'http_request_duration_seconds', help: 'Latency', labelNames: ['method', 'route'] });

requests.inc({ method: 'GET', route: '/matches/{id}', code: 200 });
latency.observe({ method: 'GET', route: '/matches/{id}' }, 0.042);

const server = http.createServer(async (req, res) => {
	res.setHeader('Content-Type', register.contentType);
	res.end(await register.metrics()); // rendered on the libuv thread pool, not the event loop
});
// docs:end readme

server.listen(0, '127.0.0.1', async () => {
	const { port } = server.address();
	const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
	assert.match(body, /^http_requests_total\{method="GET",route="\/matches\/\{id\}",code="200"\} 1$/m);
	const bucket = body.split('\n').find(l => l.startsWith('http_request_duration_seconds_bucket{') && l.includes('le="0.05"'));
	assert.match(bucket, /method="GET"/);
	assert.match(bucket, /route="\/matches\/\{id\}"/);
	assert.match(bucket, /\} 1$/);
	server.close();
});
