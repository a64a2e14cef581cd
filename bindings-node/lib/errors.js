'use strict';
// Errors as prom-client throws them, each with a stable `code`. The kinds, their codes and
// classes come from one table in Rust (bindings-node/src/errors.rs, `errorKinds()`), which also
// maps the core's errors; the wrapper throws through `fail(kind, message)`, so no code is
// spelled twice. docs/node.md shows the table.

const raw = require('./loader').loadNative();

const CLASSES = { Error, TypeError, RangeError };

/** Kind name -> `{ name, code, class, core }`. */
const kinds = Object.freeze(Object.fromEntries(raw.errorKinds().map(k => [k.name, Object.freeze(k)])));

/** Kind name -> code, e.g. `codes.LabelCount === 'ERR_FOOTMETRICS_LABEL_COUNT'`. */
const codes = Object.freeze(Object.fromEntries(Object.values(kinds).map(k => [k.name, k.code])));

const OURS = new Set(Object.values(codes));

/**
 * A new error of kind `kind` (a name in the table): the kind's class and `code`, and `message`;
 * its stack starts at the caller of `fail`. An unknown kind (a bug) gives an `Internal` error.
 */
function fail(kind, message) {
	const k = kinds[kind];
	if (k === undefined) return fail('Internal', `footmetrics: no error kind ${kind} (${message})`);
	const e = new CLASSES[k.class](message);
	e.code = k.code;
	Error.captureStackTrace(e, fail);
	return e;
}

// What napi-rs itself throws before our code runs: an argument it could not convert to the
// declared Rust type (`StringExpected`, `NumberExpected`, ...). The wrapper checks the values a
// user gives; this catches what those checks miss.
const CONVERSION = /Expected$|^InvalidArg$/;

/**
 * `e` if it carries one of our codes, else the same failure as one of ours: a value napi-rs
 * could not convert is a `TypeError` (`InvalidArgument`); anything else (a panic caught in
 * Rust) is `Internal`. The original error is kept as `cause`.
 */
function coded(e) {
	if (e !== null && typeof e === 'object' && OURS.has(e.code)) return e;
	const message = e instanceof Error ? e.message : String(e);
	const ours = fail(e && CONVERSION.test(e.code) ? 'InvalidArgument' : 'Internal', message);
	ours.cause = e;
	return ours;
}

module.exports = { fail, coded, codes, kinds };
