'use strict';
// prom-client's rules and messages, so code that catches them keeps working; each error
// also has its `code` (lib/errors.js).

const util = require('util');
const { fail } = require('./errors');

const metricRegexp = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelRegexp = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

exports.validateMetricName = name => metricRegexp.test(name);
exports.validateLabelName = (names = []) => names.every(n => labelRegexp.test(n));

exports.validateLabel = function validateLabel(savedLabels, labels) {
	for (const label in labels) {
		if (!savedLabels.includes(label)) {
			throw fail(
				'UnknownLabel',
				`Added label "${label}" is not included in initial labelset: ${util.inspect(savedLabels)}`,
			);
		}
	}
};

exports.isObject = obj => obj !== null && typeof obj === 'object';

exports.invalidNumber = value => fail('InvalidValue', `Value is not a valid number: ${util.format(value)}`);

exports.getLabels = function getLabels(labelNames, args) {
	if (typeof args[0] === 'object') return args[0];
	if (labelNames.length !== args.length) {
		throw fail(
			'LabelCount',
			`Invalid number of arguments (${args.length}): "${args.join(', ')}" for label names (${labelNames.length}): "${labelNames.join(', ')}".`,
		);
	}
	const acc = {};
	for (let i = 0; i < labelNames.length; i++) acc[labelNames[i]] = args[i];
	return acc;
};
