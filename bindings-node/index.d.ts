// Types for footmetrics' Node package: the shapes of prom-client's API, label names as type
// parameters so `labels` objects are checked against `labelNames`.

export type PrometheusContentType = 'text/plain; version=0.0.4; charset=utf-8';
export type OpenMetricsContentType = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
export type RegistryContentType = PrometheusContentType | OpenMetricsContentType;
/** The protobuf exposition (delimited io.prometheus.client.MetricFamily messages). */
export type ProtobufContentType = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

/** What `Registry.scrape(accept)` answers: the body to send and its Content-Type. */
export type ScrapeResult<T extends RegistryContentType> =
	| { body: string; contentType: T }
	/** Protobuf: a Node Buffer. */
	| { body: Uint8Array; contentType: ProtobufContentType };

/** Label values by label name; numbers are written as their decimal text. */
export type LabelValues<T extends string> = Partial<Record<T, string | number>>;

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';
export type Aggregator = 'omit' | 'sum' | 'first' | 'min' | 'max' | 'average';

export interface MetricValue<T extends string> {
	value: number;
	labels: LabelValues<T>;
}

export interface MetricValueWithName<T extends string> extends MetricValue<T> {
	metricName?: string;
}

export interface MetricObject {
	name: string;
	help: string;
	type: MetricType;
	aggregator: Aggregator;
}

export interface MetricObjectWithValues<T extends MetricValue<string>> extends MetricObject {
	values: T[];
}

export type CollectFunction<T> = (this: T) => void | Promise<void>;

export interface MetricConfiguration<T extends string> {
	name: string;
	help: string;
	labelNames?: readonly T[];
	registers?: Registry<any>[];
	aggregator?: Aggregator;
	collect?: CollectFunction<any>;
	enableExemplars?: boolean;
	/**
	 * Most label sets live at once (default 10,000; `Infinity` for no limit). New label sets
	 * past it are recorded in one series whose label values are all `__overflow__`, and counted
	 * in `footmetrics_cardinality_overflow_total{metric}`. Not in prom-client.
	 */
	cardinalityLimit?: number;
}

export type Metric<T extends string = string> = Counter<T> | Gauge<T> | Summary<T> | Histogram<T>;

export class Registry<BoundRegistryContentType extends RegistryContentType = PrometheusContentType> {
	constructor(regContentType?: BoundRegistryContentType);
	static readonly PROMETHEUS_CONTENT_TYPE: PrometheusContentType;
	static readonly OPENMETRICS_CONTENT_TYPE: OpenMetricsContentType;
	static readonly PROTOBUF_CONTENT_TYPE: ProtobufContentType;
	/** Every metric's exposition; rendered off the main thread. */
	metrics(): Promise<string>;
	/**
	 * The answer to a scrape whose Accept header is `accept`: the protobuf exposition (the one
	 * that carries native histograms) when the header prefers it, as Prometheus' does with
	 * `--enable-feature=native-histograms`; otherwise `metrics()` in the registry's
	 * `contentType`. Rendered off the main thread.
	 */
	scrape(accept?: string | null): Promise<ScrapeResult<BoundRegistryContentType>>;
	clear(): void;
	resetMetrics(): void;
	registerMetric<T extends string>(metric: Metric<T>): void;
	getMetricsAsJSON(): Promise<MetricObjectWithValues<MetricValue<string>>[]>;
	getMetricsAsArray(): Metric[];
	removeSingleMetric(name: string): void;
	getSingleMetric<T extends string>(name: string): Metric<T> | undefined;
	getSingleMetricAsString(name: string): Promise<string>;
	setDefaultLabels(labels: Record<string, string | number>): void;
	readonly contentType: BoundRegistryContentType;
	setContentType<T extends RegistryContentType>(contentType: T): void;
	static merge<T extends RegistryContentType>(registers: Registry<T>[]): Registry<T>;
}

export interface AggregatorRegistryOptions {
	/**
	 * With a shared directory: how long (ms) `clusterMetrics()` waits for the workers' IPC
	 * answers (metrics with `collect` callbacks, ...) before serving without them. Default 250.
	 */
	ipcTimeout?: number;
}

export class AggregatorRegistry<T extends RegistryContentType = PrometheusContentType> extends Registry<T> {
	/**
	 * In the primary, makes the cluster's shared directory (`FOOTMETRICS_MULTIPROC_DIR`, or a new
	 * one under `os.tmpdir()`) that workers forked from then on write their metrics into: construct
	 * it before `cluster.fork()`. Throws `ERR_FOOTMETRICS_STORAGE` if the directory is unusable.
	 */
	constructor(regContentType?: T, options?: AggregatorRegistryOptions);
	/** In the primary: the cluster's shared directory; `null` in a worker. */
	readonly sharedDirectory: string | null;
	/**
	 * In the cluster primary: every worker's metrics, aggregated per metric `aggregator`; shared
	 * series read from the shared directory, the rest asked of the workers over IPC.
	 */
	clusterMetrics(): Promise<string>;
	/** In workers: the registries to report (default: the global registry). */
	static setRegistries(regs: Registry | Registry[]): void;
}

export const register: Registry;
export const contentType: RegistryContentType;
export const prometheusContentType: PrometheusContentType;
export const openMetricsContentType: OpenMetricsContentType;

export interface CounterConfiguration<T extends string> extends MetricConfiguration<T> {
	collect?: CollectFunction<Counter<T>>;
}

export class Counter<T extends string = string> {
	constructor(configuration: CounterConfiguration<T>);
	readonly name: string;
	readonly help: string;
	readonly labelNames: readonly T[];
	inc(value?: number): void;
	inc(labels: LabelValues<T>, value?: number): void;
	get(): Promise<MetricObjectWithValues<MetricValue<T>>>;
	labels(...values: string[]): Counter.Internal;
	labels(labels: LabelValues<T>): Counter.Internal;
	remove(...values: string[]): void;
	remove(labels: LabelValues<T>): void;
	reset(): void;
}

export namespace Counter {
	interface Internal {
		inc(value?: number): void;
	}
}

export interface GaugeConfiguration<T extends string> extends MetricConfiguration<T> {
	collect?: CollectFunction<Gauge<T>>;
}

export class Gauge<T extends string = string> {
	constructor(configuration: GaugeConfiguration<T>);
	readonly name: string;
	readonly help: string;
	readonly labelNames: readonly T[];
	inc(value?: number): void;
	inc(labels: LabelValues<T>, value?: number): void;
	dec(value?: number): void;
	dec(labels: LabelValues<T>, value?: number): void;
	set(value: number): void;
	set(labels: LabelValues<T>, value: number): void;
	setToCurrentTime(labels?: LabelValues<T>): void;
	/** Returns `end(labels?)`, which sets the gauge to the seconds elapsed and returns them. */
	startTimer(labels?: LabelValues<T>): (labels?: LabelValues<T>) => number;
	get(): Promise<MetricObjectWithValues<MetricValue<T>>>;
	labels(...values: string[]): Gauge.Internal;
	labels(labels: LabelValues<T>): Gauge.Internal;
	remove(...values: string[]): void;
	remove(labels: LabelValues<T>): void;
	reset(): void;
}

export namespace Gauge {
	interface Internal {
		inc(value?: number): void;
		dec(value?: number): void;
		set(value: number): void;
		setToCurrentTime(): void;
		startTimer(): () => number;
	}
}

export interface HistogramConfiguration<T extends string> extends MetricConfiguration<T> {
	/**
	 * Classic buckets' upper bounds. Default: prom-client's, or none (only `+Inf`) for a native
	 * histogram.
	 */
	buckets?: number[];
	collect?: CollectFunction<Histogram<T>>;
	/**
	 * Native (sparse, exponential) buckets, as client_golang's `NativeHistogramBucketFactor`:
	 * the largest ratio between consecutive bucket bounds, > 1 (1.1 gives schema 3). Scraped as
	 * protobuf (`Registry.scrape`). The other `nativeHistogram*` options need it.
	 */
	nativeHistogramBucketFactor?: number;
	/** Observations with `|v| <=` this count in the zero bucket (>= 0; default 2^-128). */
	nativeHistogramZeroThreshold?: number;
	/** Most native buckets before the limit strategy applies (integer; default 0: no limit). */
	nativeHistogramMaxBucketNumber?: number;
	/** Seconds: past the bucket limit, reset if the last reset is at least this old (default 0: never). */
	nativeHistogramMinResetDuration?: number;
	/** Past the bucket limit, the zero bucket may widen up to this threshold (default 0: never). */
	nativeHistogramMaxZeroThreshold?: number;
}

export class Histogram<T extends string = string> {
	constructor(configuration: HistogramConfiguration<T>);
	readonly name: string;
	readonly help: string;
	readonly labelNames: readonly T[];
	readonly upperBounds: readonly number[];
	observe(value: number): void;
	observe(labels: LabelValues<T>, value: number): void;
	/** Returns `end(labels?)`, which observes the seconds elapsed and returns them. */
	startTimer(labels?: LabelValues<T>): (labels?: LabelValues<T>) => number;
	get(): Promise<MetricObjectWithValues<MetricValueWithName<T>>>;
	zero(labels: LabelValues<T>): void;
	labels(...values: string[]): Histogram.Internal;
	labels(labels: LabelValues<T>): Histogram.Internal;
	remove(...values: string[]): void;
	remove(labels: LabelValues<T>): void;
	reset(): void;
}

export namespace Histogram {
	interface Internal {
		observe(value: number): void;
		startTimer(): () => number;
	}
}

export interface SummaryConfiguration<T extends string> extends MetricConfiguration<T> {
	/** Quantiles to report, each in [0, 1]. */
	percentiles?: number[];
	/** Width of the sliding window; 0 or absent: all time. */
	maxAgeSeconds?: number;
	/** Slices of the window (default 5 when `maxAgeSeconds` is set). */
	ageBuckets?: number;
	/** Accepted for prom-client compatibility; has no effect. */
	compressCount?: number;
	collect?: CollectFunction<Summary<T>>;
}

export class Summary<T extends string = string> {
	constructor(configuration: SummaryConfiguration<T>);
	readonly name: string;
	readonly help: string;
	readonly labelNames: readonly T[];
	observe(value: number): void;
	observe(labels: LabelValues<T>, value: number): void;
	startTimer(labels?: LabelValues<T>): (labels?: LabelValues<T>) => number;
	get(): Promise<MetricObjectWithValues<MetricValueWithName<T>>>;
	labels(...values: string[]): Summary.Internal;
	labels(labels: LabelValues<T>): Summary.Internal;
	remove(...values: string[]): void;
	remove(labels: LabelValues<T>): void;
	reset(): void;
}

export namespace Summary {
	interface Internal {
		observe(value: number): void;
		startTimer(): () => number;
	}
}

export namespace Pushgateway {
	interface Options {
		timeout?: number;
		headers?: Record<string, string>;
		auth?: string;
		ca?: string | Uint8Array | Array<string | Uint8Array>;
		cert?: string | Uint8Array | Array<string | Uint8Array>;
		key?: string | Uint8Array | Array<string | Uint8Array>;
	}
	interface Parameters {
		jobName: string;
		groupings?: Record<string, string | number>;
	}
}

export class Pushgateway<T extends RegistryContentType = PrometheusContentType> {
	/**
	 * Of Node's request options: `timeout` (ms, default 10000), `headers`, `auth`
	 * (`'user:password'`, basic auth) and, for an `https://` gateway, `ca` (PEM trusted
	 * instead of the system's roots), `cert`/`key` (PEM client certificate). A failed TLS
	 * handshake rejects with `code: 'ERR_FOOTMETRICS_TLS'`; a gateway that cannot be reached,
	 * does not answer in time or answers an error status, with `code: 'ERR_FOOTMETRICS_PUSH'`.
	 */
	constructor(url: string, options?: Pushgateway.Options, registry?: Registry<T>);
	pushAdd(params: Pushgateway.Parameters): Promise<{ resp?: unknown; body?: unknown }>;
	push(params: Pushgateway.Parameters): Promise<{ resp?: unknown; body?: unknown }>;
	delete(params: Pushgateway.Parameters): Promise<{ resp?: unknown; body?: unknown }>;
}

export interface OtlpExporterOptions {
	/** Default: the global registry. */
	registry?: Registry<RegistryContentType>;
	/** `'http/protobuf'` (default; `/v1/metrics` is appended) or `'grpc'`. */
	protocol?: 'http/protobuf' | 'grpc';
	/** Resource `service.name`; default `OTEL_SERVICE_NAME`. */
	serviceName?: string;
	resourceAttributes?: Record<string, string>;
	headers?: Record<string, string>;
	/** Per request, default 10000. */
	timeoutMs?: number;
	/** Snapshots kept while the collector is unreachable, default 8. */
	maxQueueBatches?: number;
	/** For `https://`: PEM trusted instead of the operating system's roots. */
	ca?: string | Uint8Array | Array<string | Uint8Array>;
	/** For `https://`: PEM client certificate and key (mutual TLS). */
	cert?: string | Uint8Array | Array<string | Uint8Array>;
	key?: string | Uint8Array | Array<string | Uint8Array>;
}

export interface OtlpExporterStats {
	exportedRequests: number;
	exportedPoints: number;
	droppedPoints: number;
	failedRequests: number;
	queuedBatches: number;
	lastError?: string;
}

/** Pushes a registry to an OpenTelemetry collector over OTLP every `intervalMs` (cumulative). */
export class OtlpExporter {
	constructor(endpoint: string, intervalMs?: number, options?: OtlpExporterOptions);
	/** Exports now; resolves to whether the snapshot reached the collector in time. */
	forceFlush(timeoutMs?: number): Promise<boolean>;
	/** Sends a final snapshot and stops; resolves to whether everything was delivered. */
	shutdown(timeoutMs?: number): Promise<boolean>;
	stats(): OtlpExporterStats;
}

export function startOtlpExporter(endpoint: string, intervalMs?: number, options?: OtlpExporterOptions): OtlpExporter;

export function linearBuckets(start: number, width: number, count: number): number[];
export function exponentialBuckets(start: number, factor: number, count: number): number[];

export interface DefaultMetricsCollectorConfiguration<T extends RegistryContentType = PrometheusContentType> {
	register?: Registry<T>;
	prefix?: string;
	gcDurationBuckets?: number[];
	eventLoopMonitoringPrecision?: number;
	labels?: Record<string, string | number>;
}

export function collectDefaultMetrics<T extends RegistryContentType = PrometheusContentType>(
	config?: DefaultMetricsCollectorConfiguration<T>,
): void;
export namespace collectDefaultMetrics {
	const metricsList: string[];
}

export function validateMetricName(name: string): boolean;

/**
 * The `code` of every error footmetrics throws, one per kind (docs/node.md, "Errors"): the
 * error is an `Error`, `TypeError` or `RangeError` as prom-client throws for the same mistake.
 */
export type ErrorCode =
	| 'ERR_FOOTMETRICS_INVALID_METRIC_NAME'
	| 'ERR_FOOTMETRICS_INVALID_LABEL_NAME'
	| 'ERR_FOOTMETRICS_RESERVED_LABEL_NAME'
	| 'ERR_FOOTMETRICS_DUPLICATE_LABEL_NAME'
	| 'ERR_FOOTMETRICS_LABEL_COUNT'
	| 'ERR_FOOTMETRICS_UNKNOWN_LABEL'
	| 'ERR_FOOTMETRICS_INVALID_BUCKETS'
	| 'ERR_FOOTMETRICS_COUNTER_DECREMENT'
	| 'ERR_FOOTMETRICS_INVALID_VALUE'
	| 'ERR_FOOTMETRICS_INVALID_UNIT'
	| 'ERR_FOOTMETRICS_INVALID_STATE'
	| 'ERR_FOOTMETRICS_EXEMPLAR_TOO_LONG'
	| 'ERR_FOOTMETRICS_ALREADY_REGISTERED'
	| 'ERR_FOOTMETRICS_NOT_REGISTERED'
	| 'ERR_FOOTMETRICS_INVALID_OPTION'
	| 'ERR_FOOTMETRICS_PARSE'
	| 'ERR_FOOTMETRICS_STORAGE'
	| 'ERR_FOOTMETRICS_OTHER'
	| 'ERR_FOOTMETRICS_INVALID_ARGUMENT'
	| 'ERR_FOOTMETRICS_MISSING_OPTION'
	| 'ERR_FOOTMETRICS_NOT_IN_CATALOG'
	| 'ERR_FOOTMETRICS_PUSH'
	| 'ERR_FOOTMETRICS_TLS'
	| 'ERR_FOOTMETRICS_TIMEOUT'
	| 'ERR_FOOTMETRICS_CLUSTER_WORKER'
	| 'ERR_FOOTMETRICS_SHUT_DOWN'
	| 'ERR_FOOTMETRICS_SYSTEM'
	| 'ERR_FOOTMETRICS_LOAD'
	| 'ERR_FOOTMETRICS_INTERNAL';

/** An error footmetrics threw: `catch (e) { if ((e as FootmetricsError).code === 'ERR_FOOTMETRICS_LABEL_COUNT') … }`. */
export interface FootmetricsError extends Error {
	code: ErrorCode;
}

export * as catalog from './catalog';
