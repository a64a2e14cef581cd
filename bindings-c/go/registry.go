package footmetrics

/*
#include <stdlib.h>
#include "footmetrics.h"
*/
import "C"

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"reflect"
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

// Registry holds collectors for one /metrics endpoint, with client_golang's registration
// rules (implemented here): descriptors of one name must agree on help and label names; two
// collectors may not describe the same name and const label values (so shards that differ in
// a const label value are fine); a collector describing nothing is unchecked.
//
// footmetrics families live in a core registry and are rendered by the core. Everything
// else (client_golang's runtime collectors, custom collectors with const metrics, wrapped
// collectors, other registries) is gathered through its Metric.Write and appended, as are
// families of a name that more than one family shares (const-label shards), which the core
// renders only one of per name.
// A Registry is a Registerer, a Gatherer and itself a Collector.
type Registry struct {
	core     *C.fm_registry
	pedantic bool

	mu        sync.RWMutex
	byID      map[uint64]*entry
	descIDs   map[uint64]struct{}
	dims      map[string]uint64 // never forgotten, as in client_golang
	unchecked []Collector
	inCore    map[string]*entry // family name -> the one family of that name the core renders
	shared    map[string]int    // family name -> footmetrics families of that name outside the core
	nViaGo    int               // registered entries the core does not render, unchecked ones included
}

// entry is one registered collector.
type entry struct {
	c      Collector
	id     uint64
	descs  map[uint64]struct{}
	family *vecCore // footmetrics families only
	inCore bool
}

// NewRegistry creates an empty registry.
func NewRegistry() *Registry {
	var r *C.fm_registry
	mustNot(call(func() C.fm_result { return C.fm_registry_new(&r) }))
	reg := &Registry{
		core:    r,
		byID:    map[uint64]*entry{},
		descIDs: map[uint64]struct{}{},
		dims:    map[string]uint64{},
		inCore:  map[string]*entry{},
		shared:  map[string]int{},
	}
	runtime.AddCleanup(reg, func(r *C.fm_registry) { C.fm_registry_free(r) }, r)
	return reg
}

// NewPedanticRegistry creates a registry that also checks, at every Gather, that each
// collected metric matches the descriptor it names (labels, const label values) and that
// unchecked collectors' metrics are consistent: for tests of custom collectors.
func NewPedanticRegistry() *Registry {
	r := NewRegistry()
	r.pedantic = true
	return r
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

// describe lists a collector's descriptors. Describe may block on its channel, so it runs
// in its own goroutine, which always ends: the channel is drained to the end.
func describe(c Collector) []*prometheus.Desc {
	if o, ok := c.(familyOwner); ok {
		if v := o.coreFamily(); v != nil {
			return []*prometheus.Desc{v.desc}
		}
	}
	ch := make(chan *prometheus.Desc, 16)
	go func() {
		defer close(ch)
		c.Describe(ch)
	}()
	var out []*prometheus.Desc
	for d := range ch {
		out = append(out, d)
	}
	return out
}

func (r *Registry) infoOf(c Collector, d *prometheus.Desc) *descInfo {
	if o, ok := c.(familyOwner); ok {
		if v := o.coreFamily(); v != nil && v.family != nil && v.desc == d {
			return v.info // a valid family's descriptor, known without parsing
		}
	}
	return infoOf(d)
}

// Register adds a collector, or returns why it cannot be added: an invalid descriptor, a
// descriptor inconsistent with one of the same name, or an AlreadyRegisteredError when an
// equal collector (the same descriptors) is registered.
func (r *Registry) Register(c Collector) error {
	descs := describe(c)
	r.mu.Lock()
	defer r.mu.Unlock()
	newIDs := map[uint64]struct{}{}
	newDims := map[string]uint64{}
	var id uint64
	var duplicate error
	for _, d := range descs {
		info := r.infoOf(c, d)
		if info.err != nil {
			return fmt.Errorf("descriptor %s is invalid: %w", d, info.err)
		}
		if _, ok := r.descIDs[info.id]; ok {
			duplicate = fmt.Errorf("descriptor %s already exists with the same fully-qualified name and const label values", d)
		}
		if _, ok := newIDs[info.id]; !ok {
			newIDs[info.id] = struct{}{}
			id ^= info.id
		}
		if dim, ok := r.dims[info.fqName]; ok {
			if dim != info.dimHash {
				return fmt.Errorf("a previously registered descriptor with the same fully-qualified name as %s has different label names or a different help string", d)
			}
			continue
		}
		if dim, ok := newDims[info.fqName]; ok && dim != info.dimHash {
			return fmt.Errorf("descriptors reported by collector have inconsistent label names or help strings for the same fully-qualified name, offender is %s", d)
		}
		newDims[info.fqName] = info.dimHash
	}
	if len(newIDs) == 0 {
		r.unchecked = append(r.unchecked, c)
		r.nViaGo++
		return nil
	}
	if existing, ok := r.byID[id]; ok {
		return AlreadyRegisteredError{ExistingCollector: unwrapCollector(existing.c), NewCollector: c}
	}
	if duplicate != nil {
		return duplicate
	}
	e := &entry{c: c, id: id, descs: newIDs}
	if o, ok := c.(familyOwner); ok {
		e.family = o.coreFamily()
	}
	r.place(e)
	r.byID[id] = e
	for k := range newIDs {
		r.descIDs[k] = struct{}{}
	}
	for k, v := range newDims {
		r.dims[k] = v
	}
	return nil
}

// place decides who renders a new entry: the core for a footmetrics family with legacy names
// whose name no other family has, Go for everything else. A second family of a name moves
// the first one out of the core too, so that the name's series are written under one header.
func (r *Registry) place(e *entry) {
	v := e.family
	if v == nil {
		r.nViaGo++
		return
	}
	name := v.fqName
	if first, ok := r.inCore[name]; ok {
		call(func() C.fm_result { return C.fm_registry_unregister(r.core, first.family.family) })
		first.inCore = false
		delete(r.inCore, name)
		r.shared[name]++
		r.nViaGo++
	}
	if r.shared[name] == 0 && v.legacyNames && call(func() C.fm_result { return C.fm_registry_register(r.core, v.family) }) == nil {
		e.inCore = true
		r.inCore[name] = e
		return
	}
	r.shared[name]++
	r.nViaGo++
}

// unwrapCollector returns the collector inside client_golang's wrapping collectors
// (WrapRegistererWith and friends), as client_golang's registry reports it in an
// AlreadyRegisteredError. That type is unexported, so its field is read by reflection.
func unwrapCollector(c Collector) Collector {
	for {
		v := reflect.ValueOf(c)
		if v.Kind() != reflect.Pointer || v.IsNil() || v.Type().Elem().Name() != "wrappingCollector" ||
			v.Type().Elem().PkgPath() != "github.com/prometheus/client_golang/prometheus" {
			return c
		}
		f := v.Elem().FieldByName("wrappedCollector")
		if !f.IsValid() || f.Type() != reflect.TypeOf((*Collector)(nil)).Elem() {
			return c
		}
		c = *(*Collector)(unsafe.Pointer(f.UnsafeAddr()))
	}
}

// MustRegister registers collectors and panics on the first error.
func (r *Registry) MustRegister(cs ...Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// Unregister removes the registered collector whose descriptors equal c's (c itself or an
// equal one); it reports whether there was one. Unchecked collectors cannot be removed.
func (r *Registry) Unregister(c Collector) bool {
	descs := describe(c)
	ids := map[uint64]struct{}{}
	var id uint64
	for _, d := range descs {
		info := r.infoOf(c, d)
		if _, ok := ids[info.id]; !ok {
			ids[info.id] = struct{}{}
			id ^= info.id
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.byID[id]
	if !ok {
		return false
	}
	delete(r.byID, id)
	for k := range e.descs {
		delete(r.descIDs, k)
	}
	switch {
	case e.inCore:
		call(func() C.fm_result { return C.fm_registry_unregister(r.core, e.family.family) })
		delete(r.inCore, e.family.fqName)
	case e.family != nil:
		r.shared[e.family.fqName]--
		r.nViaGo--
	default:
		r.nViaGo--
	}
	return true
}

// Describe sends the descriptors of every checked collector (a Registry is a Collector).
func (r *Registry) Describe(ch chan<- *prometheus.Desc) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, e := range r.byID {
		e.c.Describe(ch)
	}
}

// Collect sends the metrics of every collector, unchecked ones included.
func (r *Registry) Collect(ch chan<- prometheus.Metric) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, e := range r.byID {
		e.c.Collect(ch)
	}
	for _, c := range r.unchecked {
		c.Collect(ch)
	}
}

// Format is an exposition format.
type Format uint32

const (
	FormatText        Format = C.FM_FORMAT_TEXT        // Prometheus text 0.0.4
	FormatOpenMetrics Format = C.FM_FORMAT_OPENMETRICS // OpenMetrics 1.0.0
	// FormatProtobuf is delimited io.prometheus.client.MetricFamily messages (binary): the
	// format that carries native histograms, which Prometheus asks for first when its
	// native-histograms feature is on.
	FormatProtobuf Format = C.FM_FORMAT_PROTOBUF
)

// NegotiateFormat picks the format for an HTTP Accept header: protobuf when the scraper
// prefers it, OpenMetrics when it asks for it, else text.
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
// holding any Go lock, on the calling thread), then what Go gathers is appended, its names
// escaped with underscores where they are not legacy names. When gathering fails, what could
// be gathered is still written, and the error returned.
func (r *Registry) WriteTo(w io.Writer, f Format) error {
	t := expfmt.TypeTextPlain
	switch f {
	case FormatOpenMetrics:
		t = expfmt.TypeOpenMetrics
	case FormatProtobuf:
		t = expfmt.TypeProtoDelim
	}
	return r.WriteFormat(w, expfmt.NewFormat(t).WithEscapingScheme(model.UnderscoreEscaping))
}

// WriteFormat renders the registry in an expfmt format, as negotiated by expfmt.Negotiate:
// the core writes the text, OpenMetrics and delimited protobuf of its families, expfmt the
// rest (and the other protobuf encodings), escaping names as the format says.
func (r *Registry) WriteFormat(w io.Writer, format expfmt.Format) error {
	var f Format
	switch format.FormatType() {
	case expfmt.TypeTextPlain:
		f = FormatText
	case expfmt.TypeOpenMetrics:
		f = FormatOpenMetrics
	case expfmt.TypeProtoDelim:
		f = FormatProtobuf // delimited messages: what Go gathers is appended as more of them
	default:
		return r.encodeGathered(w, format, true, nil)
	}
	var buf *C.fm_buffer
	if err := call(func() C.fm_result { return C.fm_registry_render_buffer(r.core, C.uint32_t(f), &buf) }); err != nil {
		return err
	}
	defer C.fm_buffer_free(buf)
	var data *C.uint8_t
	var n C.size_t
	C.fm_buffer_data(buf, &data, &n)
	out := unsafe.Slice((*byte)(unsafe.Pointer(data)), int(n))
	r.mu.RLock()
	viaGo := r.nViaGo
	r.mu.RUnlock()
	if viaGo == 0 {
		_, err := w.Write(out)
		return err
	}
	if f == FormatOpenMetrics {
		out = bytes.TrimSuffix(out, []byte(eof)) // the encoder below writes the one # EOF
	}
	return r.encodeGathered(w, format, false, out)
}

// encodeGathered writes head, then what Go gathers (every collector with all, else those the
// core does not render), encoded by expfmt in format.
func (r *Registry) encodeGathered(w io.Writer, format expfmt.Format, all bool, head []byte) error {
	if _, err := w.Write(head); err != nil {
		return err
	}
	mfs, gatherErr := r.gather(all)
	enc := expfmt.NewEncoder(w, format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		if err := c.Close(); err != nil {
			return err
		}
	}
	return gatherErr
}

// Gather implements prometheus.Gatherer: every collector's metrics as metric families,
// sorted by name, each family's metrics sorted by labels. footmetrics families are read
// straight from their cells; other collectors' metrics are checked as client_golang checks
// them, and the ones that fail are left out and reported in the returned MultiError.
func (r *Registry) Gather() ([]*dto.MetricFamily, error) { return r.gather(true) }

// Handler serves the registry on /metrics: protobuf when the scraper prefers it (Prometheus
// with native histograms on), OpenMetrics when it asks for it, gzip when it accepts it.
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
