'use strict';
// The native addon and this thread's view of the cell pages. Pages are cached per thread:
// a page's Float64Array stays valid for the life of the process (see core/src/cells.rs).

const native = require('./loader').loadNative();

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

module.exports = { native, laneCell, sharedCell };
