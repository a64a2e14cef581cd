'use strict';
// The packages a release publishes (scripts/dist.js, `make dist-node`), packed from this build:
// `footmetrics` (no binary; optional dependencies on every platform package) and this platform's
// `@footmetrics/<platform>` (package.json and the stripped `.node` only). Installed together into
// another project, `require` and `import` work on the platform package's binary; without the
// platform package, `require` fails naming it.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');
const { buildDist } = require('../scripts/dist');

const PKG = path.join(__dirname, '..');

function project(dir, name, tarballs) {
	const p = path.join(dir, name);
	fs.mkdirSync(p);
	fs.writeFileSync(path.join(p, 'package.json'), `{"name":"${name}","version":"1.0.0","private":true}`);
	execFileSync('npm', ['install', '--silent', '--no-audit', '--no-fund', '--offline', ...tarballs], { cwd: p });
	return p;
}

test('the packed packages install into another project; require, import and types work', () => {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-pack-'));
	try {
		const dist = buildDist({ binary: path.join(PKG, 'footmetrics.node'), out: path.join(dir, 'dist'), stage: path.join(dir, 'stage') });
		const pkg = require('../package.json');
		assert.equal(path.basename(dist.main), `footmetrics-${pkg.version}.tgz`);
		assert.equal(path.basename(dist.platform), `footmetrics-${dist.host}-${pkg.version}.tgz`);
		const app = project(dir, 'app', [dist.main, dist.platform]);
		const installed = path.join(app, 'node_modules', 'footmetrics');
		for (const f of ['index.js', 'index.mjs', 'index.d.ts', 'catalog.js', 'catalog.d.ts', 'lib/counter.js', 'lib/loader.js']) {
			assert.ok(fs.existsSync(path.join(installed, f)), f);
		}
		assert.ok(!fs.existsSync(path.join(installed, 'footmetrics.node')));
		assert.ok(!fs.existsSync(path.join(installed, 'scripts')));
		const manifest = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
		assert.equal(manifest.optionalDependencies[`@footmetrics/${dist.host}`], pkg.version);
		assert.deepEqual(Object.keys(manifest.optionalDependencies).length, pkg.napi.targets.length);
		const platformDir = path.join(app, 'node_modules', '@footmetrics', dist.host);
		assert.deepEqual(fs.readdirSync(platformDir).sort(), [`footmetrics.${dist.host}.node`, 'package.json']);
		// Stripped: smaller than the build it came from.
		assert.ok(fs.statSync(path.join(platformDir, `footmetrics.${dist.host}.node`)).size < fs.statSync(path.join(PKG, 'footmetrics.node')).size);

		fs.writeFileSync(path.join(app, 'cjs.js'), `const { Counter, register } = require('footmetrics');
new Counter({ name: 'packed_total', help: 'P.' }).inc(2);
register.metrics().then(t => process.stdout.write(t + Object.keys(require.cache).filter(f => f.endsWith('.node')).join(',')));`);
		fs.writeFileSync(path.join(app, 'esm.mjs'), `import { Gauge, register } from 'footmetrics';
import client from 'footmetrics';
new Gauge({ name: 'packed_esm', help: 'P.' }).set(3);
process.stdout.write(String(client.register === register) + '\\n' + await register.metrics());`);
		const cjs = execFileSync(process.execPath, ['cjs.js'], { cwd: app, encoding: 'utf8' });
		assert.match(cjs, /packed_total 2/);
		assert.ok(cjs.endsWith(path.join(fs.realpathSync(platformDir), `footmetrics.${dist.host}.node`)), cjs);
		const esm = execFileSync(process.execPath, ['esm.mjs'], { cwd: app, encoding: 'utf8' });
		assert.match(esm, /^true\n/);
		assert.match(esm, /packed_esm 3/);

		const bare = project(dir, 'bare', [dist.main]);
		const r = spawnSync(process.execPath, ['-e', "require('footmetrics')"], { cwd: bare, encoding: 'utf8' });
		assert.notEqual(r.status, 0);
		assert.match(r.stderr, new RegExp(`footmetrics: no prebuilt binary for ${dist.host}; install @footmetrics/${dist.host} `));
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
});
