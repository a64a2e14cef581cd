'use strict';
// Packs the npm packages of a release for this platform (`make dist-node`):
//   footmetrics-<version>.tgz                the JavaScript, the types, no binary; its
//                                            optionalDependencies name one package per target
//                                            of package.json's `napi.targets`
//   footmetrics-<platform>-<version>.tgz     @footmetrics/<platform>: the stripped `.node` and
//                                            the package.json of npm/<platform>/ (`os`, `cpu`, `libc`)
// Every version must equal the workspace version in Cargo.toml; a mismatch stops the packing.
//
// Usage: node scripts/dist.js --binary <built .node or .so> --out <dir> [--stage <dir>]

const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { platformName, targetName, SCOPE } = require('../lib/loader');

const PKG = path.join(__dirname, '..');
const ROOT = path.join(PKG, '..');

/** The `version` of Cargo.toml's [workspace.package]. */
function workspaceVersion(cargoToml = path.join(ROOT, 'Cargo.toml')) {
	let section = '';
	for (const line of fs.readFileSync(cargoToml, 'utf8').split('\n')) {
		const header = line.match(/^\s*\[([^\]]+)\]/);
		if (header) section = header[1].trim();
		const v = line.match(/^\s*version\s*=\s*"([^"]+)"/);
		if (v && section === 'workspace.package') return v[1];
	}
	throw new Error(`no version in [workspace.package] of ${cargoToml}`);
}

const readJson = file => JSON.parse(fs.readFileSync(file, 'utf8'));

/**
 * Checks the layout against package.json: one npm/<platform>/ per `napi.targets` entry, each
 * named, versioned and restricted as the loader expects. Returns a list of problems.
 */
function layoutProblems(version = workspaceVersion()) {
	const problems = [];
	const pkg = readJson(path.join(PKG, 'package.json'));
	if (pkg.version !== version) problems.push(`bindings-node/package.json has version ${pkg.version}, Cargo.toml ${version}`);
	const names = pkg.napi.targets.map(t => {
		const name = targetName(t);
		if (!name) problems.push(`napi.targets: ${t} has no platform name`);
		return name;
	});
	const dirs = fs.readdirSync(path.join(PKG, 'npm')).sort();
	if (JSON.stringify(dirs) !== JSON.stringify([...names].sort())) {
		problems.push(`bindings-node/npm/ holds ${dirs.join(', ')}; napi.targets names ${names.join(', ')}`);
	}
	for (const [i, name] of names.entries()) {
		const file = path.join(PKG, 'npm', name, 'package.json');
		if (!name || !fs.existsSync(file)) continue;
		const p = readJson(file);
		const [, , system, abi] = pkg.napi.targets[i].split('-');
		const binary = `${pkg.napi.binaryName}.${name}.node`;
		const want = {
			name: SCOPE + name,
			version,
			main: binary,
			files: [binary],
			os: [name.split('-')[0]],
			cpu: [name.split('-')[1]],
			libc: system === 'linux' ? [abi === 'musl' ? 'musl' : 'glibc'] : undefined,
		};
		for (const [k, v] of Object.entries(want)) {
			if (JSON.stringify(p[k]) !== JSON.stringify(v)) {
				problems.push(`bindings-node/npm/${name}/package.json: ${k} is ${JSON.stringify(p[k])}, want ${JSON.stringify(v)}`);
			}
		}
	}
	return problems;
}

function npmPack(dir, out) {
	const json = execFileSync('npm', ['pack', '--json', '--pack-destination', out], { cwd: dir, encoding: 'utf8' });
	return path.join(out, JSON.parse(json)[0].filename);
}

/**
 * Writes both tarballs into `out`, staging the packages under `stage`. Returns their paths.
 * `strip` is the command that strips the binary (`strip`, or $STRIP).
 */
function buildDist({ binary, out, stage, strip = process.env.STRIP || 'strip' }) {
	const version = workspaceVersion();
	const problems = layoutProblems(version);
	if (problems.length) throw new Error(`footmetrics dist: the packages disagree with Cargo.toml or napi.targets:\n  ${problems.join('\n  ')}`);
	const pkg = readJson(path.join(PKG, 'package.json'));
	const host = platformName();
	const published = pkg.napi.targets.map(targetName);
	if (!published.includes(host)) throw new Error(`footmetrics dist: this host (${host}) is not among napi.targets`);
	fs.rmSync(stage, { recursive: true, force: true });
	fs.mkdirSync(out, { recursive: true });

	// The platform package: its package.json and the binary, without symbols or debug info.
	const platformDir = path.join(stage, host);
	fs.mkdirSync(platformDir, { recursive: true });
	fs.copyFileSync(path.join(PKG, 'npm', host, 'package.json'), path.join(platformDir, 'package.json'));
	execFileSync(strip, ['--strip-all', '-o', path.join(platformDir, `${pkg.napi.binaryName}.${host}.node`), binary]);

	// The main package: the files `npm pack` takes from bindings-node/, and optionalDependencies on
	// every platform package at this version.
	const mainDir = path.join(stage, 'footmetrics');
	const listing = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: PKG, encoding: 'utf8' }));
	for (const { path: file } of listing[0].files) {
		if (file === 'package.json') continue;
		fs.mkdirSync(path.dirname(path.join(mainDir, file)), { recursive: true });
		fs.copyFileSync(path.join(PKG, file), path.join(mainDir, file));
	}
	const optionalDependencies = Object.fromEntries(published.map(name => [SCOPE + name, version]));
	fs.writeFileSync(path.join(mainDir, 'package.json'), JSON.stringify({ ...pkg, optionalDependencies }, null, 2) + '\n');
	if (fs.readdirSync(mainDir, { recursive: true }).some(f => f.endsWith('.node'))) {
		throw new Error('footmetrics dist: the main package would carry a .node file');
	}
	return { main: npmPack(mainDir, out), platform: npmPack(platformDir, out), host, version };
}

if (require.main === module) {
	const args = process.argv.slice(2);
	const opt = name => {
		const i = args.indexOf(`--${name}`);
		return i >= 0 ? path.resolve(args[i + 1]) : undefined;
	};
	const binary = opt('binary');
	const out = opt('out');
	if (!binary || !out) {
		console.error('usage: node scripts/dist.js --binary <.node> --out <dir> [--stage <dir>]');
		process.exit(2);
	}
	try {
		const stage = opt('stage') || path.join(ROOT, 'target', 'npm-dist');
		const r = buildDist({ binary, out, stage });
		for (const f of [r.main, r.platform]) console.log(`${path.relative(process.cwd(), f)}  ${fs.statSync(f).size} bytes`);
		const node = path.join(stage, r.host, `footmetrics.${r.host}.node`);
		console.log(`footmetrics.${r.host}.node (stripped)  ${fs.statSync(node).size} bytes`);
	} catch (e) {
		console.error(e.message);
		process.exit(1);
	}
}

module.exports = { buildDist, layoutProblems, workspaceVersion };
