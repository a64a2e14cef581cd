'use strict';
// Shared by the tests: an exposition parser for comparisons, the real validators (promtool,
// prometheus_client's strict OpenMetrics parser) and a Pushgateway started on 127.0.0.1.

const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const https = require('https');
const net = require('net');
const os = require('os');
const path = require('path');

const ROOT = path.join(__dirname, '..', '..');

function unescape(v) {
	return v.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
}

/** Samples as `name{k="v",…sorted}` → value, and `# TYPE` lines as name → type. */
function parseExposition(text) {
	const samples = new Map();
	const types = new Map();
	for (const line of text.split('\n')) {
		if (line.startsWith('# TYPE ')) {
			const [, , name, type] = line.split(' ');
			types.set(name, type);
			continue;
		}
		if (line === '' || line.startsWith('#')) continue;
		const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)/.exec(line);
		if (!m) throw new Error(`unparsable sample line: ${line}`);
		const labels = [];
		const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
		let l;
		while ((l = re.exec(m[3] || '')) !== null) {
			let value = unescape(l[2]);
			if (l[1] === 'le' || l[1] === 'quantile') value = String(Number(value === '+Inf' ? Infinity : value));
			labels.push(`${l[1]}=${JSON.stringify(value)}`);
		}
		labels.sort();
		const v = m[4];
		const value = v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v);
		samples.set(`${m[1]}{${labels.join(',')}}`, value);
	}
	return { samples, types };
}

function python() {
	return process.env.FOOTMETRICS_PYTHON || path.join(ROOT, '.venv', 'bin', 'python');
}

/** Runs prometheus_client's strict OpenMetrics parser; returns the family names it read. */
function strictOpenMetrics(text) {
	const code =
		'import sys\nfrom prometheus_client.openmetrics.parser import text_string_to_metric_families\n' +
		'print("\\n".join(f.name for f in text_string_to_metric_families(sys.stdin.read())))';
	const r = spawnSync(python(), ['-c', code], { input: text, encoding: 'utf8' });
	if (r.status !== 0) throw new Error(`strict OpenMetrics parser rejected the exposition: ${r.stderr}`);
	return r.stdout.trim().split('\n');
}

/** `promtool check metrics`: returns its exit status and output (lint findings included). */
function promtoolCheck(text) {
	const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
	if (r.error) throw r.error;
	return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

function freePort() {
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.listen(0, '127.0.0.1', () => {
			const { port } = srv.address();
			srv.close(() => resolve(port));
		});
		srv.on('error', reject);
	});
}

async function waitForHttp(url, tries = 100) {
	for (let i = 0; i < tries; i++) {
		try {
			const r = await fetch(url);
			if (r.ok) return;
		} catch {
			// not up yet
		}
		await new Promise(r => setTimeout(r, 100));
	}
	throw new Error(`${url} did not come up`);
}

/**
 * A test PKI and Pushgateway web config from the testkit's `test-pki` (`make otlp-sink`):
 * `{ dir, ca, client_cert, client_key, other_ca, web_config, … }` (paths).
 */
function makePki({ mtls = false, basicAuth } = {}) {
	const bin = path.join(ROOT, 'target', 'debug', 'test-pki');
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'footmetrics-pki-'));
	const args = [dir, ...(mtls ? ['--mtls'] : []), ...(basicAuth ? ['--basic-auth', basicAuth] : [])];
	const r = spawnSync(bin, args, { encoding: 'utf8' });
	if (r.status !== 0) throw new Error(`${bin} failed (run \`make otlp-sink\`): ${r.stderr || r.error}`);
	return { dir, ...JSON.parse(r.stdout) };
}

/** GET over HTTPS with Node's own client: `{ status, body }`. `tls`: ca/cert/key/auth. */
function httpsGet(url, tls) {
	return new Promise((resolve, reject) => {
		const req = https.get(url, { ...tls, timeout: 2000 }, (res) => {
			let body = '';
			res.setEncoding('utf8');
			res.on('data', (d) => (body += d));
			res.on('end', () => resolve({ status: res.statusCode, body }));
		});
		req.on('timeout', () => req.destroy(new Error('timed out')));
		req.on('error', reject);
	});
}

/**
 * A real Pushgateway on 127.0.0.1 without persistence; `stop()` kills it by PID. With
 * `pki` (from makePki) it serves its web config; `tls` (ca/cert/key/auth) is what reading it
 * back needs (`get(path)`).
 */
async function startPushgateway(pki, tls) {
	const port = await freePort();
	const args = [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file='];
	if (pki) args.push(`--web.config.file=${pki.web_config}`);
	const proc = spawn('prometheus-pushgateway', args, { stdio: 'ignore' });
	const url = `${pki ? 'https' : 'http'}://127.0.0.1:${port}`;
	const get = async (p) => {
		if (!pki) {
			const r = await fetch(`${url}${p}`);
			return { status: r.status, body: await r.text() };
		}
		return httpsGet(`${url}${p}`, tls);
	};
	for (let i = 0; ; i++) {
		try {
			if ((await get('/-/ready')).status === 200) break;
		} catch {
			// not up yet
		}
		if (i > 100) throw new Error(`${url} did not come up`);
		await new Promise((r) => setTimeout(r, 100));
	}
	return {
		url,
		get,
		/**
		 * The gateway's samples once `key` is gone from them: the gateway answers a DELETE
		 * with 202 and applies it asynchronously, so this polls (at most 2 s).
		 */
		async samplesWithout(key) {
			let samples;
			for (let i = 0; i < 50; i++) {
				samples = parseExposition((await get('/metrics')).body).samples;
				if (!samples.has(key)) break;
				await new Promise((r) => setTimeout(r, 40));
			}
			return samples;
		},
		stop() {
			try {
				process.kill(proc.pid, 'SIGTERM');
			} catch {
				// already gone
			}
		},
	};
}

/**
 * The Rust testkit's OTLP receiver (`make otlp-sink`): decodes every ExportMetricsServiceRequest
 * with opentelemetry-proto and answers `GET /received` with the data points as JSON.
 */
async function startOtlpSink(ports, { tls = false, mtls = false } = {}) {
	const bin = process.env.FOOTMETRICS_OTLP_SINK || path.join(ROOT, 'target', 'debug', 'otlp-sink');
	const args = ports ? [String(ports.http), String(ports.grpc)] : [];
	// With tls both ports serve TLS with a PKI the sink writes to tlsDir.
	const tlsDir = tls ? fs.mkdtempSync(path.join(os.tmpdir(), 'footmetrics-sink-pki-')) : undefined;
	if (tls) args.push('--tls', tlsDir, ...(mtls ? ['--mtls'] : []));
	// stdin stays a pipe: the sink exits when it closes, so it never outlives the tests.
	const proc = spawn(bin, args, { stdio: ['pipe', 'pipe', 'inherit'] });
	const line = await new Promise((resolve, reject) => {
		let buf = '';
		proc.on('error', (e) => reject(new Error(`${bin}: ${e.message} (run \`make otlp-sink\`)`)));
		proc.stdout.on('data', (d) => {
			buf += d;
			if (buf.includes('\n')) resolve(buf.split('\n')[0]);
		});
	});
	const { http_port: httpPort, grpc_port: grpcPort } = JSON.parse(line);
	const scheme = tls ? 'https' : 'http';
	const url = `${scheme}://127.0.0.1:${httpPort}`;
	const pem = (f) => fs.readFileSync(path.join(tlsDir, f), 'utf8');
	const pki = tls
		? { ca: pem('ca.pem'), cert: pem('client.pem'), key: pem('client-key.pem'), otherCa: pem('other-ca.pem') }
		: undefined;
	return {
		httpPort,
		grpcPort,
		pki,
		endpoint: (protocol) => `${scheme}://127.0.0.1:${protocol === 'grpc' ? grpcPort : httpPort}`,
		async received() {
			if (tls) {
				const { ca, cert, key } = pki;
				return JSON.parse((await httpsGet(`${url}/received`, mtls ? { ca, cert, key } : { ca })).body);
			}
			return (await fetch(`${url}/received`)).json();
		},
		async behave(status = 0, delayMs = 0) {
			await fetch(`${url}/behaviour?status=${status}&delay_ms=${delayMs}`, { method: 'POST' });
		},
		stop() {
			try {
				process.kill(proc.pid, 'SIGTERM');
			} catch {
				// already gone
			}
			if (tlsDir) fs.rmSync(tlsDir, { recursive: true, force: true });
		},
	};
}

module.exports = {
	ROOT,
	parseExposition,
	strictOpenMetrics,
	promtoolCheck,
	freePort,
	makePki,
	httpsGet,
	startPushgateway,
	startOtlpSink,
};
