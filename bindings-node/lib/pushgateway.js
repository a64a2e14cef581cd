'use strict';
// prom-client's Pushgateway, sending through the core's client on the thread pool.

const Registry = require('./registry');
const { native } = require('./native');

const DEFAULT_TIMEOUT_MS = 10000;

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
		if (!params || !params.jobName) throw new Error('Missing jobName parameter');
		if (method !== 'delete') await this.registry._collectAll();
		const grouping = Registry._flatten(params.groupings || {});
		const headers = Registry._flatten(this.options.headers || {});
		const timeout = this.options.timeout === undefined ? DEFAULT_TIMEOUT_MS : this.options.timeout;
		await native.pushRegistry(
			this.registry._id,
			Registry._flatten(this.registry._defaultLabels),
			this.gatewayUrl,
			method,
			`${params.jobName}`,
			grouping,
			headers,
			timeout,
		);
		return { resp: undefined, body: '' };
	}
}

module.exports = Pushgateway;
