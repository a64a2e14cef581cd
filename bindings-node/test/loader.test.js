'use strict';
// The loader's choice of binary (a local build first, then the per-platform package for this
// platform, architecture and C library), its errors, and the per-platform layout (npm/<platform>/)
// against package.json's `napi.targets` and Cargo.toml's version.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { loadNative, platformName, targetName, publishedPlatforms, linuxLibc, elfInterpreter } = require('../lib/loader');
const { layoutProblems, workspaceVersion } = require('../scripts/dist');
const { ROOT } = require('./helpers');

const LOCAL = path.join(__dirname, '..', 'footmetrics.node');

test('platform names: platform, architecture, and the ABI where there is a choice', () => {
	assert.equal(platformName({ platform: 'linux', arch: 'x64', libc: 'gnu' }), 'linux-x64-gnu');
	assert.equal(platformName({ platform: 'linux', arch: 'arm64', libc: 'musl' }), 'linux-arm64-musl');
	assert.equal(platformName({ platform: 'darwin', arch: 'arm64' }), 'darwin-arm64');
	assert.equal(platformName({ platform: 'win32', arch: 'x64' }), 'win32-x64-msvc');
	assert.equal(targetName('x86_64-unknown-linux-gnu'), 'linux-x64-gnu');
	assert.equal(targetName('aarch64-unknown-linux-musl'), 'linux-arm64-musl');
	assert.equal(targetName('x86_64-apple-darwin'), 'darwin-x64');
	assert.equal(targetName('x86_64-pc-windows-msvc'), 'win32-x64-msvc');
	assert.equal(targetName('riscv64gc-unknown-linux-gnu'), null);
});

test('this host: the C library is the one Node reports running on', () => {
	const glibc = process.report.getReport().header.glibcVersionRuntime;
	assert.equal(platformName(), `${process.platform}-${process.arch}-${glibc ? 'gnu' : 'musl'}`);
	// A file that is not ELF falls back on the report, to the same answer.
	assert.equal(linuxLibc(__filename), glibc ? 'gnu' : 'musl');
});

/** An ELF file header and program header table (a PT_LOAD, then a PT_INTERP naming `interp`). */
function elf({ wide, le, interp }) {
	const ehsize = wide ? 64 : 52;
	const phentsize = wide ? 56 : 32;
	const at = ehsize + 2 * phentsize;
	const buf = Buffer.alloc(at + interp.length + 1);
	buf.writeUInt32BE(0x7f454c46, 0);
	buf[4] = wide ? 2 : 1;
	buf[5] = le ? 1 : 2;
	const u16 = (v, o) => (le ? buf.writeUInt16LE(v, o) : buf.writeUInt16BE(v, o));
	const u32 = (v, o) => (le ? buf.writeUInt32LE(v, o) : buf.writeUInt32BE(v, o));
	const word = (v, o) => (wide ? (le ? buf.writeBigUInt64LE(BigInt(v), o) : buf.writeBigUInt64BE(BigInt(v), o)) : u32(v, o));
	word(ehsize, wide ? 0x20 : 0x1c);
	u16(phentsize, wide ? 0x36 : 0x2a);
	u16(2, wide ? 0x38 : 0x2c);
	u32(1, ehsize);
	const ph = ehsize + phentsize;
	u32(3, ph);
	word(at, ph + (wide ? 8 : 4));
	word(interp.length + 1, ph + (wide ? 32 : 16));
	buf.write(interp, at, 'latin1');
	return buf;
}

test('libc: the dynamic loader the node executable names (ELF, 32/64-bit, either byte order)', () => {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-elf-'));
	try {
		const cases = [
			[{ wide: true, le: true, interp: '/lib/ld-musl-x86_64.so.1' }, 'musl'],
			[{ wide: true, le: true, interp: '/lib64/ld-linux-x86-64.so.2' }, 'gnu'],
			[{ wide: false, le: true, interp: '/lib/ld-musl-armhf.so.1' }, 'musl'],
			[{ wide: true, le: false, interp: '/lib/ld64.so.1' }, 'gnu'],
		];
		for (const [i, [shape, libc]] of cases.entries()) {
			const file = path.join(dir, `node-${i}`);
			fs.writeFileSync(file, elf(shape));
			assert.equal(elfInterpreter(file), shape.interp);
			assert.equal(linuxLibc(file), libc, shape.interp);
		}
		assert.equal(elfInterpreter(__filename), null);
		assert.equal(elfInterpreter(path.join(dir, 'absent')), null);
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
});

test('a local footmetrics.node wins over the platform package', () => {
	const asked = [];
	const addon = loadNative({ require: id => (asked.push(id), require(id)) });
	assert.deepEqual(asked, [LOCAL]);
	assert.equal(typeof addon.pageCells, 'function');
});

test('without a local build, the platform package of the platform, architecture and libc', () => {
	const asked = [];
	const sentinel = {};
	const got = loadNative({ local: null, platform: 'linux', arch: 'arm64', libc: 'musl', require: id => (asked.push(id), sentinel) });
	assert.equal(got, sentinel);
	assert.deepEqual(asked, ['@footmetrics/linux-arm64-musl']);
	loadNative({ local: path.join(__dirname, 'no-such.node'), platform: 'darwin', arch: 'x64', require: id => (asked.push(id), sentinel) });
	assert.deepEqual(asked, ['@footmetrics/linux-arm64-musl', '@footmetrics/darwin-x64']);
});

test('a missing platform package is named in the error', () => {
	assert.throws(() => loadNative({ local: null, platform: 'linux', arch: 'arm64', libc: 'musl' }),
		{ message: /^footmetrics: no prebuilt binary for linux-arm64-musl; install @footmetrics\/linux-arm64-musl / });
	// A platform no package is built for: the error lists those there are.
	assert.throws(() => loadNative({ local: null, platform: 'freebsd', arch: 'x64' }),
		{ message: /no prebuilt binary for freebsd-x64; footmetrics publishes binaries for linux-x64-gnu, .*win32-x64-msvc only/ });
});

test('a platform package or local build that does not load says which and why', () => {
	const broken = () => {
		throw new Error('invalid ELF header');
	};
	assert.throws(() => loadNative({ local: null, platform: 'linux', arch: 'x64', libc: 'gnu', require: broken }),
		{ message: /@footmetrics\/linux-x64-gnu is installed but its binary does not load \(invalid ELF header\)/ });
	assert.throws(() => loadNative({ local: __filename, require: broken }),
		{ message: /loader\.test\.js does not load \(invalid ELF header\); rebuild it with `make node`/ });
});

test('npm/ holds one package per napi target, at the workspace version, with os, cpu and libc', () => {
	const pkg = require('../package.json');
	assert.deepEqual(fs.readdirSync(path.join(__dirname, '..', 'npm')).sort(), publishedPlatforms().sort());
	for (const want of ['linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'darwin-x64', 'darwin-arm64', 'win32-x64-msvc']) {
		assert.ok(publishedPlatforms().includes(want), want);
	}
	const cargo = fs.readFileSync(path.join(ROOT, 'Cargo.toml'), 'utf8');
	// The version read is the one of the [workspace.package] section (comments may precede it).
	const section = cargo.split('[workspace.package]')[1].split(/\n\[/)[0];
	assert.ok(section.split('\n').includes(`version = "${workspaceVersion()}"`), section);
	assert.equal(pkg.version, workspaceVersion());
	assert.deepEqual(layoutProblems(), []);
	const musl = require('../npm/linux-arm64-musl/package.json');
	assert.deepEqual([musl.os, musl.cpu, musl.libc, musl.files], [['linux'], ['arm64'], ['musl'], ['footmetrics.linux-arm64-musl.node']]);
	assert.equal(require('../npm/darwin-arm64/package.json').libc, undefined);
	// Another version anywhere is reported, package by package.
	const problems = layoutProblems('9.9.9');
	assert.equal(problems.length, 1 + publishedPlatforms().length);
	assert.match(problems[0], /bindings-node\/package\.json has version .*, Cargo\.toml 9\.9\.9/);
});
