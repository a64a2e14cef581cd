'use strict';
// The native addon and this thread's view of the cell pages. Pages are cached per thread:
// a page's Float64Array stays valid for the life of the process (see core/src/cells.rs).

const path = require('path');

let native;
try {
	native = require(path.join(__dirname, '..', 'footmetrics.node'));
} catch (e) {
	throw new Error(
		`footmetrics: the native addon is missing or does not load (${e.message}); ` +
			'build it with `make node` at the repository root',
	);
}

const PAGE = native.pageCells();
const lanePages = [];
const sharedPages = [];

/** The typed array holding cell `base` of this thread's lane, and the offset in it. */
function laneCell(base) {
	const p = Math.floor(base / PAGE);
	const arr = lanePages[p] || (lanePages[p] = native.lanePage(p));
	return [arr, base - p * PAGE];
}

/** The same for the shared lane (gauges). */
function sharedCell(base) {
	const p = Math.floor(base / PAGE);
	const arr = sharedPages[p] || (sharedPages[p] = native.sharedPage(p));
	return [arr, base - p * PAGE];
}

// Cells of removed series are reused only once every thread that writes cells has told Rust it
// holds no index it would write without checking first (core/src/cells.rs, quarantine). Calls
// that resolve or remove series do so; this timer does it for a thread that has gone quiet.
// A timer callback never runs between a generation check and its write.
setInterval(() => native.cellsCaughtUp(), 1000).unref();

module.exports = { native, laneCell, sharedCell };
