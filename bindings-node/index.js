'use strict';
// footmetrics for Node: prom-client's API over the footmetrics Rust core.

const Registry = require('./lib/registry');

exports.register = Registry.globalRegistry;
exports.Registry = Registry;
exports.contentType = Registry.globalRegistry.contentType;
exports.prometheusContentType = Registry.PROMETHEUS_CONTENT_TYPE;
exports.openMetricsContentType = Registry.OPENMETRICS_CONTENT_TYPE;
exports.validateMetricName = require('./lib/validation').validateMetricName;

exports.Counter = require('./lib/counter');
exports.Gauge = require('./lib/gauge');
exports.Histogram = require('./lib/histogram');
exports.Summary = require('./lib/summary');
exports.Pushgateway = require('./lib/pushgateway');
exports.OtlpExporter = require('./lib/otlp').OtlpExporter;
exports.startOtlpExporter = require('./lib/otlp').startOtlpExporter;

exports.linearBuckets = require('./lib/bucketGenerators').linearBuckets;
exports.exponentialBuckets = require('./lib/bucketGenerators').exponentialBuckets;

exports.collectDefaultMetrics = require('./lib/defaultMetrics');
exports.AggregatorRegistry = require('./lib/cluster');

exports.catalog = require('./catalog');
