// docs/push.md: prom-client's Pushgateway options (ca, auth) over TLS, to a real Pushgateway
// started here behind its --web.config.file (certificates from the testkit's `test-pki`).
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const https = require('https');
const net = require('net');
const os = require('os');
const path = require('path');
const assert = require('assert');
const client = require('footmetrics');

// The repository holding the package (its testkit builds `test-pki`).
const ROOT = path.join(path.dirname(require.resolve('footmetrics')), '..');
const pkiDir = fs.mkdtempSync(path.join(os.tmpdir(), 'footmetrics-doc-pki-'));
const pki = JSON.parse(
	spawnSync(path.join(ROOT, 'target', 'debug', 'test-pki'), [pkiDir, '--basic-auth', 'batch:s3cret'], { encoding: 'utf8' }).stdout,
);

function get(port, p) {
	return new Promise((resolve, reject) => {
		https
			.get(`https://127.0.0.1:${port}${p}`, { ca: fs.readFileSync(pki.ca), auth: 'batch:s3cret', timeout: 2000 }, (res) => {
				let body = '';
				res.on('data', (d) => (body += d));
				res.on('end', () => resolve({ status: res.statusCode, body }));
			})
			.on('error', reject);
	});
}

async function main() {
	const port = await new Promise((resolve) => {
		const srv = net.createServer().listen(0, '127.0.0.1', () => {
			const { port: p } = srv.address();
			srv.close(() => resolve(p));
		});
	});
	const gw = spawn('prometheus-pushgateway', [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file=', `--web.config.file=${pki.web_config}`], { stdio: 'ignore' });
	try {
		for (let i = 0; i < 300; i++) {
			try {
				if ((await get(port, '/-/ready')).status === 200) break;
			} catch {
				// not up yet
			}
			await new Promise((r) => setTimeout(r, 100));
		}
		const registry = new client.Registry();
		new client.Gauge({ name: 'nightly_rows', help: 'Rows.', registers: [registry] }).set(1234);
		const gateway = `https://127.0.0.1:${port}`;
		const caFile = pki.ca;
		// docs:start push-tls
		const pg = new client.Pushgateway(gateway, { ca: fs.readFileSync(caFile), auth: 'batch:s3cret' }, registry);
		await pg.push({ jobName: 'nightly' });
		// docs:end push-tls
		assert.match((await get(port, '/metrics')).body, /nightly_rows\{instance="",job="nightly"\} 1234/);
	} finally {
		gw.kill('SIGTERM');
		fs.rmSync(pkiDir, { recursive: true, force: true });
	}
}

main().then(
	() => process.exit(0),
	(e) => {
		console.error(e);
		process.exit(1);
	},
);
