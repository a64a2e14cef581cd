package footmetrics

/*
#include <stdlib.h>
#include "footmetrics.h"
*/
import "C"

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The everyday client_golang names, shared so existing code and types fit unchanged.
type (
	Labels                 = prometheus.Labels
	Collector              = prometheus.Collector
	Registerer             = prometheus.Registerer
	Gatherer               = prometheus.Gatherer
	AlreadyRegisteredError = prometheus.AlreadyRegisteredError
	Timer                  = prometheus.Timer
	ObserverFunc           = prometheus.ObserverFunc
)

var (
	DefBuckets         = prometheus.DefBuckets
	LinearBuckets      = prometheus.LinearBuckets
	ExponentialBuckets = prometheus.ExponentialBuckets
	NewTimer           = prometheus.NewTimer
	BuildFQName        = prometheus.BuildFQName
)

// Registry holds collectors for one /metrics endpoint. footmetrics collectors live in a core
// registry and are rendered by the core; any other prometheus.Collector (e.g. client_golang's
// Go and process collectors) is gathered by client_golang and appended to the output.
// A Registry implements prometheus.Registerer and prometheus.Gatherer.
type Registry struct {
	core *C.fm_registry

	mu       sync.Mutex
	byName   map[string]Collector // footmetrics collectors by family name
	foreign  *prometheus.Registry
	nForeign int
}

// NewRegistry creates an empty registry.
func NewRegistry() *Registry {
	var r *C.fm_registry
	mustNot(call(func() C.fm_result { return C.fm_registry_new(&r) }))
	reg := &Registry{core: r, byName: map[string]Collector{}, foreign: prometheus.NewRegistry()}
	runtime.AddCleanup(reg, func(r *C.fm_registry) { C.fm_registry_free(r) }, r)
	return reg
}

var defaultRegistry = NewRegistry()

// The default registry carries client_golang's own process and Go collectors, as
// client_golang's default registry does (process_* and go_* families): dashboards built on
// them keep their data after the swap. Unregister them to serve the registry without.
func init() {
	defaultRegistry.MustRegister(
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
	)
}

// DefaultRegisterer and DefaultGatherer are the registry behind the package-level
// MustRegister, Register, Unregister and Handler.
var (
	DefaultRegisterer Registerer = defaultRegistry
	DefaultGatherer   Gatherer   = defaultRegistry
)

// Register adds a collector. A footmetrics family whose name is taken returns an
// AlreadyRegisteredError, as client_golang does.
func (r *Registry) Register(c Collector) error {
	owner, ok := c.(familyOwner)
	if !ok {
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := r.foreign.Register(c); err != nil {
			return err
		}
		r.nForeign++
		return nil
	}
	v := owner.coreFamily()
	r.mu.Lock()
	defer r.mu.Unlock()
	err := call(func() C.fm_result { return C.fm_registry_register(r.core, v.family) })
	if errors.Is(err, &Error{Code: CodeAlreadyRegistered}) {
		if existing, ok := r.byName[v.fqName]; ok {
			return AlreadyRegisteredError{ExistingCollector: existing, NewCollector: c}
		}
	}
	if err != nil {
		return err
	}
	// The family's descriptor also goes into the client_golang registry, so that its own
	// checks refuse a client_golang collector of the same name (or this family after one),
	// whichever is registered first.
	if err := r.foreign.Register(descOnly{v.desc}); err != nil {
		call(func() C.fm_result { return C.fm_registry_unregister(r.core, v.family) })
		return err
	}
	r.byName[v.fqName] = c
	return nil
}

// descOnly stands for a footmetrics family in the client_golang registry: it describes the
// family's descriptor and collects nothing (the core renders the family).
type descOnly struct{ desc *prometheus.Desc }

func (d descOnly) Describe(ch chan<- *prometheus.Desc) { ch <- d.desc }
func (d descOnly) Collect(chan<- prometheus.Metric)    {}

// MustRegister registers collectors and panics on the first error.
func (r *Registry) MustRegister(cs ...Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// Unregister removes a collector; it reports whether it was registered.
func (r *Registry) Unregister(c Collector) bool {
	owner, ok := c.(familyOwner)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !ok {
		if r.foreign.Unregister(c) {
			r.nForeign--
			return true
		}
		return false
	}
	v := owner.coreFamily()
	if call(func() C.fm_result { return C.fm_registry_unregister(r.core, v.family) }) != nil {
		return false
	}
	r.foreign.Unregister(descOnly{v.desc})
	delete(r.byName, v.fqName)
	return true
}

// Format is an exposition format.
type Format uint32

const (
	FormatText        Format = C.FM_FORMAT_TEXT        // Prometheus text 0.0.4
	FormatOpenMetrics Format = C.FM_FORMAT_OPENMETRICS // OpenMetrics 1.0.0
)

// NegotiateFormat picks the format for an HTTP Accept header.
func NegotiateFormat(accept string) Format {
	s, p := cStr(accept)
	defer C.free(p)
	var f C.uint32_t
	if C.fm_format_negotiate(s, &f) != C.FM_OK {
		return FormatText
	}
	return Format(f)
}

// ContentType is the Content-Type header value for f.
func (f Format) ContentType() string {
	var s C.fm_str
	if C.fm_format_content_type(C.uint32_t(f), &s) != C.FM_OK {
		return ""
	}
	return C.GoStringN(s.ptr, C.int(s.len))
}

const eof = "# EOF\n"

// WriteTo renders the registry in format f to w: the core renders its families (without
// holding any Go lock, on the calling thread), then foreign collectors are appended.
func (r *Registry) WriteTo(w io.Writer, f Format) error {
	var buf *C.fm_buffer
	if err := call(func() C.fm_result { return C.fm_registry_render_buffer(r.core, C.uint32_t(f), &buf) }); err != nil {
		return err
	}
	defer C.fm_buffer_free(buf)
	var data *C.uint8_t
	var n C.size_t
	C.fm_buffer_data(buf, &data, &n)
	out := unsafe.Slice((*byte)(unsafe.Pointer(data)), int(n))
	r.mu.Lock()
	nForeign := r.nForeign
	r.mu.Unlock()
	if nForeign == 0 {
		_, err := w.Write(out)
		return err
	}
	if f == FormatOpenMetrics {
		out = bytes.TrimSuffix(out, []byte(eof))
	}
	if _, err := w.Write(out); err != nil {
		return err
	}
	mfs, err := r.foreign.Gather()
	if err != nil {
		return err
	}
	for _, mf := range mfs {
		if f == FormatOpenMetrics {
			_, err = expfmt.MetricFamilyToOpenMetrics(w, mf)
		} else {
			_, err = expfmt.MetricFamilyToText(w, mf)
		}
		if err != nil {
			return err
		}
	}
	if f == FormatOpenMetrics {
		_, err = io.WriteString(w, eof)
	}
	return err
}

// Gather implements prometheus.Gatherer (for client_golang's promhttp, push and testutil):
// the core's text exposition parsed back into metric families, plus foreign collectors.
func (r *Registry) Gather() ([]*dto.MetricFamily, error) {
	var b bytes.Buffer
	if err := r.WriteTo(&b, FormatText); err != nil {
		return nil, err
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	byName, err := p.TextToMetricFamilies(&b)
	if err != nil {
		return nil, fmt.Errorf("footmetrics: gathering: %w", err)
	}
	out := make([]*dto.MetricFamily, 0, len(byName))
	for _, mf := range byName {
		out = append(out, mf)
	}
	sortFamilies(out)
	return out, nil
}

// Handler serves the registry on /metrics: OpenMetrics when the scraper asks for it,
// gzip when it accepts it.
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		f := NegotiateFormat(req.Header.Get("Accept"))
		w.Header().Set("Content-Type", f.ContentType())
		var out io.Writer = w
		if strings.Contains(req.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			gz := gzip.NewWriter(w)
			defer gz.Close()
			out = gz
		}
		if err := r.WriteTo(out, f); err != nil {
			http.Error(w, "footmetrics: "+err.Error(), http.StatusInternalServerError)
		}
	})
}

// Register, MustRegister and Unregister act on the default registry.
func Register(c Collector) error   { return DefaultRegisterer.Register(c) }
func MustRegister(cs ...Collector) { DefaultRegisterer.MustRegister(cs...) }
func Unregister(c Collector) bool  { return DefaultRegisterer.Unregister(c) }

// Handler serves the default registry.
func Handler() http.Handler { return defaultRegistry.Handler() }
