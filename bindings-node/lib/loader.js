'use strict';
// Finds the native addon. In the repository, `make node` leaves `footmetrics.node` in the package
// folder and that file wins. An installed package has no `.node` of its own: the binary comes
// from the per-platform package npm picked among the optional dependencies by `os`, `cpu` and
// `libc` (`@footmetrics/linux-x64-gnu`, ...), and this module picks the same one by platform,
// architecture and, on Linux, C library.

const fs = require('fs');
const path = require('path');

const SCOPE = '@footmetrics/';
const LOCAL = path.join(__dirname, '..', 'footmetrics.node');

// The code of every error thrown here. The others come from the addon's table of error kinds
// (src/errors.rs, kind `Load`), which cannot be asked before the addon loads; a test compares.
const LOAD_ERROR = 'ERR_FOOTMETRICS_LOAD';

function loadError(message) {
	const e = new Error(message);
	e.code = LOAD_ERROR;
	Error.captureStackTrace(e, loadError);
	return e;
}

/** The program interpreter (dynamic loader) an ELF executable names, or null. */
function elfInterpreter(file) {
	let fd;
	try {
		fd = fs.openSync(file, 'r');
		const head = Buffer.alloc(64);
		fs.readSync(fd, head, 0, 64, 0);
		if (head.readUInt32BE(0) !== 0x7f454c46) return null;
		const wide = head[4] === 2;
		const le = head[5] === 1;
		const u16 = at => (le ? head.readUInt16LE(at) : head.readUInt16BE(at));
		const word = (buf, at) => Number(wide ? (le ? buf.readBigUInt64LE(at) : buf.readBigUInt64BE(at)) : le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
		const phoff = word(head, wide ? 0x20 : 0x1c);
		const phentsize = u16(wide ? 0x36 : 0x2a);
		const phnum = u16(wide ? 0x38 : 0x2c);
		const table = Buffer.alloc(phentsize * phnum);
		fs.readSync(fd, table, 0, table.length, phoff);
		for (let i = 0; i < phnum; i++) {
			const ph = i * phentsize;
			if ((le ? table.readUInt32LE(ph) : table.readUInt32BE(ph)) !== 3) continue; // PT_INTERP
			const offset = word(table, ph + (wide ? 8 : 4));
			const size = word(table, ph + (wide ? 32 : 16));
			const name = Buffer.alloc(Math.min(size, 4096));
			fs.readSync(fd, name, 0, name.length, offset);
			return name.toString('latin1').replace(/\0.*$/s, '');
		}
		return null;
	} catch {
		return null;
	} finally {
		if (fd !== undefined) fs.closeSync(fd);
	}
}

/**
 * The C library Node itself runs on, on Linux: 'gnu' (glibc) or 'musl'. The dynamic loader the
 * node executable names tells at once (`ld-musl-*` or `ld-linux-*`); for a static or unreadable
 * executable, Node's diagnostic report (slower, ~30 ms) does: a glibc build of Node reports the
 * glibc it runs on, a musl build none.
 */
function linuxLibc(execPath = process.execPath) {
	const interpreter = elfInterpreter(execPath);
	if (interpreter) return /musl/.test(interpreter) ? 'musl' : 'gnu';
	const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null;
	const header = report && (typeof report === 'string' ? JSON.parse(report) : report).header;
	return header && header.glibcVersionRuntime ? 'gnu' : 'musl';
}

/**
 * The platform's name as the per-platform packages spell it: `<platform>-<arch>` plus the ABI
 * where there is a choice (`-gnu`/`-musl` on Linux, `-msvc` on Windows).
 */
function platformName({ platform = process.platform, arch = process.arch, libc } = {}) {
	if (platform === 'linux') return `linux-${arch}-${libc || linuxLibc()}`;
	if (platform === 'win32') return `win32-${arch}-msvc`;
	return `${platform}-${arch}`;
}

/**
 * A Rust target triple's platform name (`aarch64-unknown-linux-musl` -> `linux-arm64-musl`), or
 * null for a triple no per-platform package is named for.
 */
function targetName(triple) {
	const [machine, , system, abi] = triple.split('-');
	const arch = { x86_64: 'x64', aarch64: 'arm64', i686: 'ia32', armv7: 'arm' }[machine];
	const platform = { linux: 'linux', darwin: 'darwin', windows: 'win32' }[system];
	if (!arch || !platform) return null;
	return platformName({ platform, arch, libc: abi === 'musl' ? 'musl' : 'gnu' });
}

/** The platforms a release builds a package for: package.json's `napi.targets`. */
function publishedPlatforms() {
	const pkg = require('../package.json');
	return ((pkg.napi && pkg.napi.targets) || []).map(targetName).filter(Boolean);
}

/**
 * Loads the addon: a local `footmetrics.node` beside the package (a repository build) first, then
 * the platform package. Options replace the host's platform facts, the local file's path and the
 * `require` used (tests).
 */
function loadNative(options = {}) {
	const local = options.local === undefined ? LOCAL : options.local;
	const load = options.require || require;
	if (local && fs.existsSync(local)) {
		try {
			return load(local);
		} catch (e) {
			throw loadError(`footmetrics: ${local} does not load (${e.message}); rebuild it with \`make node\` at the repository root`);
		}
	}
	const name = platformName(options);
	const pkg = SCOPE + name;
	try {
		return load(pkg);
	} catch (e) {
		const missing = e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(pkg);
		if (!missing) throw loadError(`footmetrics: ${pkg} is installed but its binary does not load (${e.message})`);
		const published = publishedPlatforms();
		const hint = published.includes(name)
			? `install ${pkg} (npm installs it with footmetrics unless optional dependencies are omitted, ` +
				'e.g. by --omit=optional or a lockfile made on another platform)'
			: `footmetrics publishes binaries for ${published.join(', ')} only`;
		throw loadError(`footmetrics: no prebuilt binary for ${name}; ${hint}; or, in a clone of the repository, build it with \`make node\``);
	}
}

module.exports = { loadNative, platformName, targetName, publishedPlatforms, linuxLibc, elfInterpreter, SCOPE, LOAD_ERROR };
