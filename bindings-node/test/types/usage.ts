// Compiled by `make test-node` (tsc --noEmit): the label-name generics accept the declared
// labels and reject others (each `@ts-expect-error` fails the build if the error goes away).
import { AggregatorRegistry, Counter, Histogram, Registry, register, catalog, LabelValues, OtlpExporter, startOtlpExporter, FootmetricsError, ErrorCode } from 'footmetrics';

const requests = new Counter({ name: 'http_requests_total', help: 'Requests.', labelNames: ['method', 'code'] as const });
requests.inc({ method: 'GET', code: 200 });
requests.labels({ method: 'GET' }).inc(2);
// @ts-expect-error: 'route' is not one of the label names
requests.inc({ route: '/' });

const latency: Histogram<'route'> = new Histogram({ name: 'latency_seconds', help: 'L.', labelNames: ['route'], buckets: [0.1, 1] });
latency.observe({ route: '/' }, 0.2);
const end: (labels?: LabelValues<'route'>) => number = latency.startTimer();
end({ route: '/x' });

const inference = catalog.ml_inference_duration_seconds();
inference.observe({ model_version: 'v2', batch_size: '32', device: 'cuda' }, 0.4);
// @ts-expect-error: not a label of ml_inference_duration_seconds
inference.observe({ gpu: '0' }, 0.4);

// The per-family cardinality limit (footmetrics only).
new Counter({ name: 'user_ops_total', help: 'Ops.', labelNames: ['user'] as const, cardinalityLimit: 50_000 });
// @ts-expect-error: a number, not a string
new Counter({ name: 'user_ops2_total', help: 'Ops.', cardinalityLimit: '10' });

// Native histograms (client_golang's options) and the scrape that serves them as protobuf.
const native = new Histogram({ name: 'native_seconds', help: 'N.', labelNames: ['route'] as const, nativeHistogramBucketFactor: 1.1, nativeHistogramMaxBucketNumber: 160, nativeHistogramMinResetDuration: 3600 });
native.observe({ route: '/' }, 0.2);
// @ts-expect-error: a number, not a string
new Histogram({ name: 'native2_seconds', help: 'N.', nativeHistogramBucketFactor: '1.1' });
void register.scrape('text/plain').then(({ body, contentType }) => {
	const bytes: string | Uint8Array = body;
	const type: string = contentType;
	void bytes;
	void type;
});
const protobufType: 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited' = Registry.PROTOBUF_CONTENT_TYPE;
void protobufType;

const text: Promise<string> = register.metrics();
const reg = new Registry(Registry.OPENMETRICS_CONTENT_TYPE);
new Counter({ name: "om_total", help: "OM.", registers: [reg] });
void text;
void reg;

// OTLP export: options and results are typed.
const otlp: OtlpExporter = startOtlpExporter("http://127.0.0.1:4318", 15000, {
  registry: reg,
  protocol: "grpc",
  serviceName: "api-gateway",
});
const flushed: Promise<boolean> = otlp.forceFlush(1000);
const dropped: number = otlp.stats().droppedPoints;
void flushed;
void dropped;


// Errors: `code` is one of the documented codes.
try {
  requests.labels('GET');
} catch (e) {
  const code: ErrorCode = (e as FootmetricsError).code;
  if (code === 'ERR_FOOTMETRICS_LABEL_COUNT') void code;
  // @ts-expect-error: not a footmetrics code
  if (code === 'ERR_FOOTMETRICS_NO_SUCH_CODE') void code;
}

// cluster: the primary's shared directory, and how long a scrape waits for IPC answers.
const aggregator = new AggregatorRegistry(Registry.OPENMETRICS_CONTENT_TYPE, { ipcTimeout: 100 });
const sharedDir: string | null = aggregator.sharedDirectory;
const clusterText: Promise<string> = aggregator.clusterMetrics();
void sharedDir;
void clusterText;
// @ts-expect-error: ipcTimeout is a number of milliseconds
new AggregatorRegistry(undefined, { ipcTimeout: '100' });
