'use strict';
// The native addon and this thread's view of the cell pages. Pages are cached per thread:
// a page's Float64Array stays valid for the life of the process (see core/src/cells.rs).

const { coded, fail } = require('./errors');

const raw = require('./loader').loadNative();

// Rust throws its errors with their class and code (src/errors.rs); what napi-rs throws itself
// (an argument it could not convert, a panic caught) gets one here. The summary's per-observation
// call and a shared series' write are left bare: their arguments are numbers the wrapper has
// checked, and Rust throws its own errors coded.
const BARE = new Set(['observeQuantiles', 'sharedWrite']);
const native = {};
for (const [name, f] of Object.entries(raw)) {
	native[name] =
		typeof f !== 'function' || BARE.has(name)
			? f
			: (...args) => {
					try {
						return f(...args);
					} catch (e) {
						throw coded(e);
					}
				};
}

// A native histogram's observation, `observeNative(familyId, base, value)`: a bare N-API
// function (src/cells.rs, `native_observer`) that throws its own coded errors.
native.observeNative = raw.nativeObserver();

const PAGE = native.pageCells();
const PAGE_SHIFT = Math.log2(PAGE);
if (!Number.isInteger(PAGE_SHIFT)) throw fail('Internal', `footmetrics: page size ${PAGE} is not a power of two`);
const lanePages = [];
const sharedPages = [];

/** This thread's page `p` of its lane (counters, histograms, summaries), cached. */
function lanePage(p) {
	return lanePages[p] || (lanePages[p] = native.lanePage(p));
}

/** Page `p` of the shared lane (gauges, family generations), cached. */
function sharedPage(p) {
	return sharedPages[p] || (sharedPages[p] = native.sharedPage(p));
}

/** The typed array holding cell `base` of this thread's lane, and the offset in it. */
function laneCell(base) {
	return [lanePage(base >>> PAGE_SHIFT), base & (PAGE - 1)];
}

/** The same for the shared lane. */
function sharedCell(base) {
	return [sharedPage(base >>> PAGE_SHIFT), base & (PAGE - 1)];
}

// Cells of removed series are reused only once every thread that writes cells has told Rust it
// holds no index it would write without checking first (core/src/cells.rs, quarantine). Calls
// that resolve or remove series do so; this timer does it for a thread that has gone quiet.
// A timer callback never runs between a generation check and its write.
setInterval(() => native.cellsCaughtUp(), 1000).unref();

module.exports = { native, laneCell, sharedCell, lanePage, sharedPage, lanePages, sharedPages, PAGE_SHIFT };
