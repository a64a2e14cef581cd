'use strict';
// Pushgateway and OTLP over TLS: a real Pushgateway behind its --web.config.file (certificates
// made by the testkit's `test-pki`), with prom-client's request options (ca, cert, key, auth,
// headers); a wrong CA and a wrong password are clear errors; the OTLP sink over mutual TLS
// receives exact values.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const client = require('..');
const { makePki, startPushgateway, startOtlpSink, parseExposition } = require('./helpers');

function registry(name, value) {
	const reg = new client.Registry();
	new client.Gauge({ name, help: 'G.', registers: [reg] }).set(value);
	return reg;
}

test('push over TLS with a private CA, mutual TLS and basic auth', async () => {
	const pki = makePki({ mtls: true, basicAuth: 'pusher:s3cret' });
	const read = (f) => fs.readFileSync(f);
	const tls = { ca: read(pki.ca), cert: read(pki.client_cert), key: fs.readFileSync(pki.client_key, 'utf8') };
	const gw = await startPushgateway(pki, { ...tls, auth: 'pusher:s3cret' });
	try {
		assert.match(gw.url, /^https:/);
		const pg = new client.Pushgateway(gw.url, { timeout: 5000, auth: 'pusher:s3cret', ...tls }, registry('tls_value', 9.5));
		await pg.push({ jobName: 'tls_job', groupings: { instance: 'x/y' } });
		const key = 'tls_value{instance="x/y",job="tls_job"}';
		let s = parseExposition((await gw.get('/metrics')).body).samples;
		assert.equal(s.get(key), 9.5);

		const wrongPassword = new client.Pushgateway(gw.url, { ...tls, auth: 'pusher:guess' }, registry('tls_value', 1));
		await assert.rejects(wrongPassword.push({ jobName: 'tls_job', groupings: { instance: 'x/y' } }), /401 Unauthorized/);

		const wrongCa = new client.Pushgateway(gw.url, { ...tls, auth: 'pusher:s3cret', ca: read(pki.other_ca), timeout: 3000 }, registry('tls_value', 2));
		const t0 = Date.now();
		await assert.rejects(wrongCa.push({ jobName: 'tls_job' }), (e) => {
			assert.equal(e.code, 'ERR_FOOTMETRICS_TLS');
			assert.match(e.message, /UnknownIssuer/);
			return true;
		});
		assert.ok(Date.now() - t0 < 5000);

		const noCert = new client.Pushgateway(gw.url, { ca: tls.ca, auth: 'pusher:s3cret', timeout: 3000 }, registry('tls_value', 3));
		await assert.rejects(noCert.push({ jobName: 'tls_job' }), /TLS|client certificate|pushgateway/);
		s = parseExposition((await gw.get('/metrics')).body).samples;
		assert.equal(s.get(key), 9.5);

		await pg.delete({ jobName: 'tls_job', groupings: { instance: 'x/y' } });
		s = await gw.samplesWithout(key);
		assert.equal(s.has(key), false);
	} finally {
		gw.stop();
		fs.rmSync(pki.dir, { recursive: true, force: true });
	}
});

test('bad TLS options are TypeErrors before any request', async () => {
	const reg = registry('x', 1);
	const url = 'https://127.0.0.1:1';
	await assert.rejects(new client.Pushgateway(url, { cert: 'pem' }, reg).push({ jobName: 'j' }), TypeError);
	await assert.rejects(new client.Pushgateway(url, { ca: 42 }, reg).push({ jobName: 'j' }), TypeError);
	await assert.rejects(new client.Pushgateway(url, { auth: 7 }, reg).push({ jobName: 'j' }), TypeError);
	await assert.rejects(new client.Pushgateway(url, { rejectUnauthorized: false }, reg).push({ jobName: 'j' }), TypeError);
	assert.throws(() => new client.OtlpExporter(url, 1000, { registry: reg, key: 'k' }), TypeError);
});

for (const protocol of ['http/protobuf', 'grpc']) {
	test(`OTLP ${protocol} over mutual TLS is exact; a wrong CA fails in time`, async () => {
		const sink = await startOtlpSink(undefined, { tls: true, mtls: true });
		try {
			const reg = registry('otlp_tls_value', 6.5);
			const { ca, cert, key } = sink.pki;
			const e = new client.OtlpExporter(sink.endpoint(protocol), 3600000, {
				registry: reg,
				protocol,
				headers: { authorization: 'Bearer n0de' },
				ca,
				cert: Buffer.from(cert),
				key,
			});
			assert.equal(await e.forceFlush(10000), true, JSON.stringify(e.stats()));
			const got = await sink.received();
			assert.deepEqual(
				got.points.filter((p) => p.name === 'otlp_tls_value').map((p) => p.value),
				[6.5],
			);
			assert.deepEqual([...new Set(got.authorizations)], ['Bearer n0de']);
			await e.shutdown(5000);

			const wrong = new client.OtlpExporter(sink.endpoint(protocol), 3600000, {
				registry: reg,
				protocol,
				timeoutMs: 2000,
				ca: sink.pki.otherCa,
				cert,
				key,
			});
			const t0 = Date.now();
			assert.equal(await wrong.forceFlush(3000), false);
			assert.ok(Date.now() - t0 < 5000);
			assert.match(wrong.stats().lastError, /UnknownIssuer/);
			await wrong.shutdown(1000);
		} finally {
			sink.stop();
		}
	});
}
