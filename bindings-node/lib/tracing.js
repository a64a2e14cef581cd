'use strict';
// The active OpenTelemetry span, for exemplars. `@opentelemetry/api` is an optional peer: it
// is looked up once, never required to be installed, and any failure means "no span".

let api; // undefined: not looked up yet; null: not installed

function otelApi() {
	if (api === undefined) {
		try {
			api = require('@opentelemetry/api');
		} catch (_) {
			api = null;
		}
	}
	return api;
}

/** `['trace_id', hex, 'span_id', hex]` of the active sampled span, or null. */
function activeSpanLabels() {
	const a = otelApi();
	if (a === null) return null;
	try {
		const span = a.trace.getActiveSpan();
		if (span === undefined) return null;
		const sc = span.spanContext();
		if (!a.isSpanContextValid(sc) || (sc.traceFlags & a.TraceFlags.SAMPLED) === 0) return null;
		return ['trace_id', sc.traceId, 'span_id', sc.spanId];
	} catch (_) {
		return null;
	}
}

module.exports = { activeSpanLabels };
