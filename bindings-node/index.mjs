// ES module entry: the same objects as the CommonJS entry.
import footmetrics from './index.js';

export default footmetrics;
export const {
	register,
	Registry,
	contentType,
	prometheusContentType,
	openMetricsContentType,
	validateMetricName,
	Counter,
	Gauge,
	Histogram,
	Summary,
	Pushgateway,
	OtlpExporter,
	startOtlpExporter,
	linearBuckets,
	exponentialBuckets,
	collectDefaultMetrics,
	AggregatorRegistry,
	catalog,
} = footmetrics;
