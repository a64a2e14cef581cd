package footmetrics

/*
#include <stdlib.h>
#include "footmetrics.h"
*/
import "C"

import (
	"context"
	"errors"
	"runtime"
	"sort"
	"sync"
	"time"
)

// OTLPExporter pushes a registry's metrics to an OpenTelemetry collector over OTLP, on the
// core's own threads: a slow or absent collector never blocks the program. Only metrics of
// the footmetrics core are exported (client_golang collectors registered alongside are not).
type OTLPExporter struct {
	core     *C.fm_otlp_exporter
	registry *Registry // kept alive while the exporter reads it
}

// OTLPStats are an exporter's counters since it started.
type OTLPStats struct {
	ExportedRequests uint64
	ExportedPoints   uint64
	DroppedPoints    uint64
	FailedRequests   uint64
	QueuedBatches    uint64
}

type otlpConfig struct {
	registry    *Registry
	grpc        bool
	serviceName string
	resource    map[string]string
	headers     map[string]string
	timeout     time.Duration
	maxQueue    int
	caFile      string
	certFile    string
	keyFile     string
	bearer      string
}

// OTLPOption configures StartOTLPExporter.
type OTLPOption func(*otlpConfig)

// WithOTLPRegistry exports r instead of the default registry.
func WithOTLPRegistry(r *Registry) OTLPOption { return func(c *otlpConfig) { c.registry = r } }

// WithOTLPGRPC sends over OTLP/gRPC (port 4317) instead of OTLP/HTTP protobuf (port 4318).
func WithOTLPGRPC() OTLPOption { return func(c *otlpConfig) { c.grpc = true } }

// WithOTLPServiceName sets the resource's service.name (default: OTEL_SERVICE_NAME).
func WithOTLPServiceName(name string) OTLPOption {
	return func(c *otlpConfig) { c.serviceName = name }
}

// WithOTLPResourceAttributes adds resource attributes (deployment.environment, …).
func WithOTLPResourceAttributes(attrs map[string]string) OTLPOption {
	return func(c *otlpConfig) { c.resource = attrs }
}

// WithOTLPHeaders adds request headers (an API key, a tenant).
func WithOTLPHeaders(headers map[string]string) OTLPOption {
	return func(c *otlpConfig) { c.headers = headers }
}

// WithOTLPTLSCAFile trusts the PEM CA certificate(s) in path, instead of the operating
// system's roots, for an https:// endpoint (OTLP/HTTP and OTLP/gRPC).
func WithOTLPTLSCAFile(path string) OTLPOption { return func(c *otlpConfig) { c.caFile = path } }

// WithOTLPTLSClientCertFiles presents the PEM client certificate and key (mutual TLS) to an
// https:// endpoint.
func WithOTLPTLSClientCertFiles(certFile, keyFile string) OTLPOption {
	return func(c *otlpConfig) { c.certFile, c.keyFile = certFile, keyFile }
}

// WithOTLPBearerToken sends "Authorization: Bearer <token>" with every export.
func WithOTLPBearerToken(token string) OTLPOption {
	return func(c *otlpConfig) { c.bearer = token }
}

// WithOTLPTimeout bounds each request (default 10s).
func WithOTLPTimeout(d time.Duration) OTLPOption { return func(c *otlpConfig) { c.timeout = d } }

// WithOTLPMaxQueueBatches bounds the snapshots kept while the collector is unreachable
// (default 8); beyond it the oldest is dropped and counted.
func WithOTLPMaxQueueBatches(n int) OTLPOption { return func(c *otlpConfig) { c.maxQueue = n } }

func sortedPairs(m map[string]string) (names, values []string) {
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		values = append(values, m[k])
	}
	return names, values
}

// StartOTLPExporter exports the default registry (or WithOTLPRegistry's) to endpoint
// (http://host:port, or https://host:port with the system's roots or WithOTLPTLSCAFile's CA)
// every interval, cumulatively. What cannot be delivered is counted in
// footmetrics_otlp_dropped_points_total; a bad endpoint or option is an error here.
func StartOTLPExporter(endpoint string, interval time.Duration, opts ...OTLPOption) (*OTLPExporter, error) {
	cfg := otlpConfig{registry: defaultRegistry}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.registry == nil {
		return nil, &Error{Code: CodeNullArgument, Message: "registry is nil"}
	}
	if interval <= 0 || cfg.timeout < 0 || cfg.maxQueue < 0 {
		return nil, &Error{Code: CodeInvalidOption, Message: "interval must be positive; timeout and queue size non-negative"}
	}
	var o C.fm_otlp_options
	ep, epMem := cStr(endpoint)
	defer C.free(epMem)
	svc, svcMem := cStr(cfg.serviceName)
	defer C.free(svcMem)
	o.endpoint = ep
	o.service_name = svc
	if cfg.grpc {
		o.protocol = C.FM_OTLP_GRPC
	}
	o.interval_seconds = C.double(interval.Seconds())
	o.timeout_seconds = C.double(cfg.timeout.Seconds())
	o.max_queue_batches = C.uint32_t(cfg.maxQueue)
	rn, rv := sortedPairs(cfg.resource)
	rNames, rValues := newCStrings(rn), newCStrings(rv)
	defer rNames.free()
	defer rValues.free()
	o.resource_names, o.resource_values, o.resource_count = rNames.arr, rValues.arr, C.size_t(len(rn))
	headers := cfg.headers
	if cfg.bearer != "" {
		headers = make(map[string]string, len(cfg.headers)+1)
		for k, v := range cfg.headers {
			headers[k] = v
		}
		headers["Authorization"] = "Bearer " + cfg.bearer
	}
	hn, hv := sortedPairs(headers)
	hNames, hValues := newCStrings(hn), newCStrings(hv)
	defer hNames.free()
	defer hValues.free()
	o.header_names, o.header_values, o.header_count = hNames.arr, hValues.arr, C.size_t(len(hn))
	ca, caMem := cStr(cfg.caFile)
	defer C.free(caMem)
	cert, certMem := cStr(cfg.certFile)
	defer C.free(certMem)
	key, keyMem := cStr(cfg.keyFile)
	defer C.free(keyMem)
	o.tls_ca_file, o.tls_client_cert_file, o.tls_client_key_file = ca, cert, key
	var core *C.fm_otlp_exporter
	if err := call(func() C.fm_result { return C.fm_otlp_exporter_start(cfg.registry.core, &o, &core) }); err != nil {
		return nil, err
	}
	e := &OTLPExporter{core: core, registry: cfg.registry}
	runtime.AddCleanup(e, func(c *C.fm_otlp_exporter) { C.fm_otlp_exporter_free(c) }, core)
	// Running exporters stay referenced, so a discarded handle does not stop one at the next
	// GC; Shutdown releases it.
	liveExporters.Store(e, struct{}{})
	return e, nil
}

// ErrNotDelivered is returned by ForceFlush and Shutdown when the data did not reach the
// collector in time; the wrapped message is the exporter's last failure.
var ErrNotDelivered = errors.New("footmetrics: OTLP data not delivered")

type notDelivered struct{ last string }

func (e *notDelivered) Error() string {
	if e.last == "" {
		return ErrNotDelivered.Error()
	}
	return ErrNotDelivered.Error() + ": " + e.last
}
func (e *notDelivered) Unwrap() error { return ErrNotDelivered }

func timeoutOf(ctx context.Context, def time.Duration) float64 {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d).Seconds(), 0)
	}
	return def.Seconds()
}

func (e *OTLPExporter) wait(f func(*C.uint8_t) C.fm_result) error {
	var delivered C.uint8_t
	if err := call(func() C.fm_result { return f(&delivered) }); err != nil {
		return err
	}
	runtime.KeepAlive(e)
	if delivered == 0 {
		return &notDelivered{last: e.LastError()}
	}
	return nil
}

// ForceFlush exports now and waits until the collector has it, or until ctx's deadline
// (10s without one).
func (e *OTLPExporter) ForceFlush(ctx context.Context) error {
	t := C.double(timeoutOf(ctx, 10*time.Second))
	return e.wait(func(d *C.uint8_t) C.fm_result { return C.fm_otlp_exporter_force_flush(e.core, t, d) })
}

// Shutdown sends a final snapshot (until ctx's deadline, 5s without one) and stops. Call it
// before the program exits: Go runs no hook at exit that could.
func (e *OTLPExporter) Shutdown(ctx context.Context) error {
	t := C.double(timeoutOf(ctx, 5*time.Second))
	defer liveExporters.Delete(e)
	return e.wait(func(d *C.uint8_t) C.fm_result { return C.fm_otlp_exporter_shutdown(e.core, t, d) })
}

var liveExporters sync.Map

// Stats returns the exporter's counters.
func (e *OTLPExporter) Stats() OTLPStats {
	var s C.fm_otlp_stats
	mustNot(call(func() C.fm_result { return C.fm_otlp_exporter_stats(e.core, &s) }))
	runtime.KeepAlive(e)
	return OTLPStats{
		ExportedRequests: uint64(s.exported_requests),
		ExportedPoints:   uint64(s.exported_points),
		DroppedPoints:    uint64(s.dropped_points),
		FailedRequests:   uint64(s.failed_requests),
		QueuedBatches:    uint64(s.queued_batches),
	}
}

// LastError is the last export failure's message ("" if none).
func (e *OTLPExporter) LastError() string {
	var buf [1024]C.char
	var n C.size_t
	_ = C.fm_otlp_exporter_last_error(e.core, &buf[0], C.size_t(len(buf)), &n)
	runtime.KeepAlive(e)
	return C.GoString(&buf[0])
}
