'use strict';
// `npm pack` makes a tarball that installs into another project, where `require` and `import`
// both work and the types resolve.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const PKG = path.join(__dirname, '..');

test('npm pack installs into another project; require, import and types work', () => {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-pack-'));
	try {
		const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: PKG, encoding: 'utf8' });
		const tarball = path.join(dir, out.trim().split('\n').pop());
		const project = path.join(dir, 'app');
		fs.mkdirSync(project);
		fs.writeFileSync(path.join(project, 'package.json'), '{"name":"app","version":"1.0.0","private":true}');
		execFileSync('npm', ['install', '--silent', '--no-audit', '--no-fund', '--offline', tarball], { cwd: project });
		const installed = path.join(project, 'node_modules', 'footmetrics');
		for (const f of ['index.js', 'index.mjs', 'index.d.ts', 'catalog.js', 'catalog.d.ts', 'footmetrics.node', 'lib/counter.js']) {
			assert.ok(fs.existsSync(path.join(installed, f)), f);
		}
		fs.writeFileSync(path.join(project, 'cjs.js'), `const { Counter, register } = require('footmetrics');
new Counter({ name: 'packed_total', help: 'P.' }).inc(2);
register.metrics().then(t => process.stdout.write(t));`);
		fs.writeFileSync(path.join(project, 'esm.mjs'), `import { Gauge, register } from 'footmetrics';
import client from 'footmetrics';
new Gauge({ name: 'packed_esm', help: 'P.' }).set(3);
process.stdout.write(String(client.register === register) + '\\n' + await register.metrics());`);
		assert.match(execFileSync(process.execPath, ['cjs.js'], { cwd: project, encoding: 'utf8' }), /packed_total 2/);
		const esm = execFileSync(process.execPath, ['esm.mjs'], { cwd: project, encoding: 'utf8' });
		assert.match(esm, /^true\n/);
		assert.match(esm, /packed_esm 3/);
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
});
