'use strict';
// Every JavaScript and TypeScript block of README.md and docs/ is taken from a program in
// docs/snippets/node/ (`make check-docs` holds them equal). Each program runs here as a user's
// would: `footmetrics` resolves to this package through a node_modules link; TypeScript is
// type-checked strictly against our definitions first, then transpiled.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const ts = require('typescript');
const { ROOT } = require('./helpers');

const SNIPPETS = path.join(ROOT, 'docs', 'snippets', 'node');
const PACKAGE = path.join(__dirname, '..');

/** A project folder whose node_modules/footmetrics is this package. */
function project() {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-docs-'));
	fs.mkdirSync(path.join(dir, 'node_modules'));
	fs.symlinkSync(PACKAGE, path.join(dir, 'node_modules', 'footmetrics'), 'dir');
	return dir;
}

function typeCheck(file) {
	const program = ts.createProgram([file], {
		strict: true,
		noEmit: true,
		module: ts.ModuleKind.CommonJS,
		moduleResolution: ts.ModuleResolutionKind.Node10,
		target: ts.ScriptTarget.ES2020,
		types: [],
		lib: ['lib.es2020.d.ts'],
	});
	return ts.getPreEmitDiagnostics(program).map(d => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

const programs = fs.readdirSync(SNIPPETS).filter(f => /\.(js|mjs|ts)$/.test(f)).sort();

test('there are JavaScript and TypeScript snippets', () => {
	assert.ok(programs.some(f => f.endsWith('.js')) && programs.some(f => f.endsWith('.ts')), programs.join(' '));
});

for (const name of programs) {
	test(`docs snippet ${name} runs`, () => {
		const dir = project();
		try {
			let file = path.join(dir, name);
			fs.copyFileSync(path.join(SNIPPETS, name), file);
			if (name.endsWith('.ts')) {
				assert.deepEqual(typeCheck(file), [], `${name} does not type-check`);
				const source = fs.readFileSync(file, 'utf8');
				const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 } });
				file = file.replace(/\.ts$/, '.js');
				fs.writeFileSync(file, js.outputText);
			}
			const run = spawnSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
			assert.equal(run.status, 0, `${name} failed:\n${run.stdout}\n${run.stderr}`);
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});
}
