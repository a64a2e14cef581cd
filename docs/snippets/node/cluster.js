// docs/node.md: a cluster whose primary serves every worker's metrics from the shared
// directory, without asking the workers.
const assert = require('node:assert/strict');

// docs:start cluster
const cluster = require('node:cluster');
const http = require('node:http');
const { AggregatorRegistry, Counter } = require('footmetrics');

if (cluster.isPrimary) {
	// Before forking: makes the shared directory the workers inherit (FOOTMETRICS_MULTIPROC_DIR).
	const aggregator = new AggregatorRegistry();
	for (let i = 0; i < 2; i++) cluster.fork();
	const metricsServer = http.createServer(async (req, res) => {
		res.setHeader('Content-Type', aggregator.contentType);
		res.end(await aggregator.clusterMetrics()); // read from the workers' files, not asked of them
	});
	// docs:end cluster
	let ready = 0;
	cluster.on('message', (worker, m) => {
		if (m !== 'counted' || ++ready < 2) return;
		metricsServer.listen(0, '127.0.0.1', async () => {
			const { port } = metricsServer.address();
			const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
			assert.match(body, /^jobs_total 6$/m);
			for (const id in cluster.workers) process.kill(cluster.workers[id].process.pid, 'SIGKILL');
			metricsServer.close();
		});
	});
	// docs:start cluster
} else {
	const jobs = new Counter({ name: 'jobs_total', help: 'Jobs done.' });
	jobs.inc(3); // written into this worker's lane file in the shared directory
	// docs:end cluster
	process.send('counted');
	setInterval(() => {}, 1000);
	// docs:start cluster
}
// docs:end cluster
