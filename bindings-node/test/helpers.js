'use strict';
// Shared by the tests: an exposition parser for comparisons, the real validators (promtool,
// prometheus_client's strict OpenMetrics parser) and a Pushgateway started on 127.0.0.1.

const { spawn, spawnSync } = require('child_process');
const net = require('net');
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

/** A real Pushgateway on 127.0.0.1 without persistence; `stop()` kills it by PID. */
async function startPushgateway() {
	const port = await freePort();
	const proc = spawn(
		'prometheus-pushgateway',
		[`--web.listen-address=127.0.0.1:${port}`, '--persistence.file='],
		{ stdio: 'ignore' },
	);
	const url = `http://127.0.0.1:${port}`;
	await waitForHttp(`${url}/-/ready`);
	return {
		url,
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
async function startOtlpSink(ports) {
	const bin = process.env.FOOTMETRICS_OTLP_SINK || path.join(ROOT, 'target', 'debug', 'otlp-sink');
	const args = ports ? [String(ports.http), String(ports.grpc)] : [];
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
	const url = `http://127.0.0.1:${httpPort}`;
	return {
		httpPort,
		grpcPort,
		endpoint: (protocol) => `http://127.0.0.1:${protocol === 'grpc' ? grpcPort : httpPort}`,
		async received() {
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
		},
	};
}

module.exports = { ROOT, parseExposition, strictOpenMetrics, promtoolCheck, freePort, startPushgateway, startOtlpSink };
