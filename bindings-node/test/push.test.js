'use strict';
// Pushgateway against a real gateway on 127.0.0.1: push, pushAdd, delete, grouping keys, and
// clear errors for bad input and an unreachable gateway.

const test = require('node:test');
const assert = require('node:assert/strict');
const client = require('..');
const { startPushgateway, freePort, parseExposition } = require('./helpers');

test('Pushgateway push, pushAdd and delete, read back from the gateway', async () => {
	const gw = await startPushgateway();
	try {
		const reg = new client.Registry();
		const done = new client.Counter({ name: 'batch_jobs_total', help: 'Jobs.', labelNames: ['stage'], registers: [reg] });
		done.inc({ stage: 'extract' }, 3);
		const pg = new client.Pushgateway(gw.url, { timeout: 5000 }, reg);
		await pg.push({ jobName: 'nightly', groupings: { instance: 'a/b', run: 7 } });
		const key = 'batch_jobs_total{instance="a/b",job="nightly",run="7",stage="extract"}';
		let s = parseExposition(await (await fetch(`${gw.url}/metrics`)).text()).samples;
		assert.equal(s.get(key), 3);
		done.inc({ stage: 'extract' }, 2);
		await pg.pushAdd({ jobName: 'nightly', groupings: { instance: 'a/b', run: 7 } });
		s = parseExposition(await (await fetch(`${gw.url}/metrics`)).text()).samples;
		assert.equal(s.get(key), 5);
		await pg.delete({ jobName: 'nightly', groupings: { instance: 'a/b', run: 7 } });
		s = await gw.samplesWithout(key);
		assert.equal(s.has(key), false);
		await assert.rejects(pg.push({}), /Missing jobName parameter/);
		await assert.rejects(pg.push({ jobName: 'j', groupings: { 'bad-key': 'x' } }), /label name|grouping/i);
		const wrongPath = new client.Pushgateway(`${gw.url}/nope`, {}, reg);
		await assert.rejects(wrongPath.push({ jobName: 'j' }), /404/);
	} finally {
		gw.stop();
	}
});

test('an unreachable gateway is a clear error within the timeout', async () => {
	const port = await freePort();
	const pg = new client.Pushgateway(`http://127.0.0.1:${port}`, { timeout: 2000 }, new client.Registry());
	const t0 = Date.now();
	await assert.rejects(pg.push({ jobName: 'j' }), /refused|connect|pushgateway/i);
	assert.ok(Date.now() - t0 < 5000);
});
