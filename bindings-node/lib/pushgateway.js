'use strict';
// prom-client's Pushgateway, sending through the core's client on the thread pool. Of the
// Node `http(s).request` options prom-client passes on, `timeout`, `headers`, `auth`
// (`user:password`) and `ca`/`cert`/`key` (PEM strings or Buffers) are honoured.

const Registry = require('./registry');
const { native } = require('./native');
const { fail } = require('./errors');

const DEFAULT_TIMEOUT_MS = 10000;

/** PEM text from a Node TLS option: a string, a Buffer, or an array of them. */
function pem(value, what) {
	if (value === undefined || value === null) return undefined;
	const list = Array.isArray(value) ? value : [value];
	return list
		.map((v) => {
			if (typeof v === 'string') return v;
			if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
			throw fail('InvalidArgument', `${what} must be PEM text: a string, a Buffer or an array of them`);
		})
		.join('\n');
}

/** The TLS and auth arguments of native.pushRegistry from the request options. */
function tlsArgs(options) {
	if (options.rejectUnauthorized === false) {
		throw fail('InvalidArgument', 'rejectUnauthorized: false is not supported; give the server\'s CA as options.ca');
	}
	if (options.auth !== undefined && typeof options.auth !== 'string') {
		throw fail('InvalidArgument', 'options.auth must be a "user:password" string');
	}
	const cert = pem(options.cert, 'options.cert');
	const key = pem(options.key, 'options.key');
	if ((cert === undefined) !== (key === undefined)) {
		throw fail('InvalidArgument', 'options.cert and options.key go together: give both or neither');
	}
	return [options.auth, pem(options.ca, 'options.ca'), cert, key];
}

class Pushgateway {
	constructor(gatewayUrl, options, registry) {
		if (!registry) registry = Registry.globalRegistry;
		this.gatewayUrl = gatewayUrl;
		this.options = Object.assign({}, options);
		this.registry = registry;
	}

	pushAdd(params = {}) {
		return this._send('pushAdd', params);
	}

	push(params = {}) {
		return this._send('push', params);
	}

	delete(params = {}) {
		return this._send('delete', params);
	}

	async _send(method, params) {
		if (!params || !params.jobName) throw fail('MissingOption', 'Missing jobName parameter');
		if (typeof this.gatewayUrl !== 'string') {
			throw fail('InvalidArgument', `the gateway URL must be a string, got ${typeof this.gatewayUrl}`);
		}
		if (method !== 'delete') await this.registry._collectAll();
		const grouping = Registry._flatten(params.groupings || {});
		const headers = Registry._flatten(this.options.headers || {});
		const timeout = this.options.timeout === undefined ? DEFAULT_TIMEOUT_MS : this.options.timeout;
		if (typeof timeout !== 'number') throw fail('InvalidArgument', `options.timeout must be a number of milliseconds, got ${typeof timeout}`);
		const tls = tlsArgs(this.options);
		// Rejects with the error's kind: ERR_FOOTMETRICS_TLS for a failed handshake (a wrong CA,
		// a refused client certificate), ERR_FOOTMETRICS_PUSH for an unreachable or refusing
		// gateway (src/errors.rs).
		await native.pushRegistry(
			this.registry._id,
			Registry._flatten(this.registry._defaultLabels),
			this.gatewayUrl,
			method,
			`${params.jobName}`,
			grouping,
			headers,
			timeout,
			...tls,
		);
		return { resp: undefined, body: '' };
	}
}

module.exports = Pushgateway;
module.exports._pem = pem;
