package footmetrics

/*
#include <stdlib.h>
#include "footmetrics.h"
*/
import "C"

import (
	"fmt"
	"hash/maphash"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/types/known/timestamppb"
)

type kind uint32

const (
	kindCounter   kind = C.FM_KIND_COUNTER
	kindGauge     kind = C.FM_KIND_GAUGE
	kindHistogram kind = C.FM_KIND_HISTOGRAM
	kindSummary   kind = C.FM_KIND_SUMMARY
)

// vecCore is one core family and the Go-side table of its resolved children.
//
// Lock-free reads: tab points to an immutable-size open-addressing table whose slots are
// written once (nil -> child) under mu; a table that would pass half full is copied into a
// new one of twice the size and published with one atomic store, and a delete publishes a
// rebuilt copy. A reader therefore sees either a complete child or nil in every slot, and
// always finds a nil slot to stop at.
type vecCore struct {
	kind        kind
	fqName      string
	help        string
	labelNames  []string
	constLabels prometheus.Labels
	bounds      []float64 // histograms: the core's bucket bounds, shared by the children
	desc        *prometheus.Desc
	info        *descInfo // desc as the registry reads it
	legacyNames bool      // every name is a legacy name, which the core's writers need
	objectives  int       // summaries: the number of quantile objectives (see summary.go)
	// family is the core family a registry registers; nil when the options were invalid
	// (then err says why and desc is an invalid descriptor carrying it).
	family *C.fm_family
	// store is the core family the children's cells come from: family, or for invalid
	// options a detached stand-in of the same kind and label count, so that a vector built
	// from invalid options still works (as client_golang's does) and only Register fails.
	store *C.fm_family
	// err: the options were invalid (see family). childErr: creating a child panics with it
	// (client_golang's histograms refuse an "le" label, summaries "quantile").
	err, childErr error
	// constraints (V2's ConstrainedLabels) normalise each label value; nil when none.
	constraints []func(string) string

	// native: a histogram with native buckets, whose children observe through the core;
	// nativeExemplars: how many of the latest exemplars Write reports for them.
	native          bool
	nativeExemplars int

	// The children, shared by the vector and every vector curried from it (a curried vector
	// is a copy of this struct with its own curry and the same state).
	*vecState
	curry []curried // label values fixed by CurryWith, by label index in increasing order
}

// vecState is the mutable part of a family, and owns the core handle (freed with it).
type vecState struct {
	mu       sync.Mutex // serialises creation, delete and reset
	tab      atomic.Pointer[table]
	overflow atomic.Pointer[child] // the shared overflow series, once met
}

type table struct {
	mask  uint64
	used  int
	slots []atomic.Pointer[child]
}

func newTable(size int) *table {
	return &table{mask: uint64(size - 1), slots: make([]atomic.Pointer[child], size)}
}

// child is one series: a pointer to its cells in the core, plus what Collect needs.
type child struct {
	cells  unsafe.Pointer // counter shard 0 / gauge word / first bucket / summary count
	hash   uint64
	shards int     // counters: number of shards, stride bytes apart
	stride uintptr // counters: bytes from one shard to the next (the core's arena lane stride)
	values []string
	vec    *vecCore
	handle *C.fm_child // owns the cells; freed when the child is unreachable
	// created is when the series was created, for CreatedTimestamp in Write.
	created time.Time
	// exemplar is a counter's last exemplar, for Write (the core keeps its own for rendering).
	exemplar atomic.Pointer[dto.Exemplar]
	// bucketExemplars: a histogram's last exemplar per bucket (+Inf last), once it has one.
	bucketExemplars atomic.Pointer[[]atomic.Pointer[dto.Exemplar]]
	// nativeExemplars: a native histogram's latest exemplars (vec.nativeExemplars of them),
	// replaced as a whole.
	nativeExemplars atomic.Pointer[[]*dto.Exemplar]
	// nativeView: a native histogram's addresses, which Observe writes (native.go); nil
	// for every other child.
	nativeView *nativeView
}

var seed = maphash.MakeSeed()

func hashValues(values []string) uint64 {
	h := uint64(14695981039346656037)
	for _, v := range values {
		h = (h ^ maphash.String(seed, v)) * 1099511628211
	}
	return h
}

func equalValues(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

type vecOpts struct {
	kind                       kind
	namespace, subsystem, name string
	help                       string
	constLabels                prometheus.Labels
	labelNames                 []string
	buckets                    []float64
	native                     nativeOpts    // histograms: native buckets (see histogram.go)
	quantiles                  *quantileOpts // summaries with objectives (see summary.go)
	constraints                []func(string) string
}

// newVecCore creates the family for o. Invalid options do not fail here, as in client_golang:
// the vector's descriptor carries the error, so Register reports it (MustRegister panics),
// and the vector works on a detached stand-in family meanwhile. The error result is for
// failures of the core itself.
func newVecCore(o vecOpts) (*vecCore, error) {
	fqName := prometheus.BuildFQName(o.namespace, o.subsystem, o.name)
	// client_golang's own descriptor checks first, so its error messages are kept.
	desc := prometheus.NewDesc(fqName, o.help, o.labelNames, o.constLabels)
	err := desc.Err()
	var childErr error
	if err == nil {
		childErr = kindError(o)
	}
	if len(o.buckets) > 0 && math.IsInf(o.buckets[len(o.buckets)-1], 1) {
		o.buckets = o.buckets[:len(o.buckets)-1] // +Inf is implied, as client_golang adds it
	}
	if err == nil && childErr == nil {
		fam, cerr := newCoreFamily(o, o.name, o.labelNames, o.constLabels)
		if cerr == nil {
			v, werr := wrapFamily(fam, o)
			if werr == nil {
				v.constraints = o.constraints
			}
			return v, werr
		}
		err = cerr
	}
	if err == nil {
		err = childErr
	}
	// A stand-in of the same kind and label count, never registered.
	placeholder := make([]string, len(o.labelNames))
	for i := range placeholder {
		placeholder[i] = fmt.Sprintf("l%d", i)
	}
	so := o
	so.namespace, so.subsystem = "", ""
	so.native = nativeOpts{} // a stand-in needs no native buckets (and they may be the problem)
	fam, serr := newCoreFamily(so, "footmetrics_invalid", placeholder, nil)
	if serr != nil && len(o.buckets) > 0 {
		so.buckets = nil
		fam, serr = newCoreFamily(so, "footmetrics_invalid", placeholder, nil)
	}
	if serr != nil {
		return nil, serr
	}
	v, werr := wrapFamily(fam, so)
	if werr != nil {
		return nil, werr
	}
	v.family = nil
	v.fqName, v.help = fqName, o.help
	v.labelNames = append([]string(nil), o.labelNames...)
	v.constLabels = o.constLabels
	v.err, v.childErr = asError(err), childErr
	v.constraints = o.constraints
	if desc.Err() != nil {
		v.desc = desc // client_golang's own invalid descriptor, its message unchanged
	} else {
		v.desc = prometheus.NewInvalidDesc(err)
	}
	return v, nil
}

// asError gives client_golang's option errors a footmetrics code, for errors.Is.
func asError(err error) error {
	if _, ok := err.(*Error); ok {
		return err
	}
	msg := err.Error()
	code := CodeInvalidLabel
	switch {
	case strings.Contains(msg, "not a valid metric name"):
		code = CodeInvalidName
	case strings.Contains(msg, "buckets"):
		code = CodeInvalidBuckets
	}
	return &Error{Code: code, Message: msg}
}

// kindError is what client_golang panics with when it creates a child of o: a histogram's
// "le" label, a summary's "quantile" label, histogram buckets out of order.
func kindError(o vecOpts) error {
	reserved := map[kind]string{kindHistogram: "le", kindSummary: "quantile"}[o.kind]
	if reserved != "" {
		_, constant := o.constLabels[reserved]
		for _, n := range o.labelNames {
			constant = constant || n == reserved
		}
		if constant {
			what := map[kind]string{kindHistogram: "histograms", kindSummary: "summaries"}[o.kind]
			return fmt.Errorf("%q is not allowed as label name in %s", reserved, what)
		}
	}
	for i := 1; i < len(o.buckets); i++ {
		if o.buckets[i] <= o.buckets[i-1] {
			return fmt.Errorf("histogram buckets must be in increasing order: %f >= %f", o.buckets[i-1], o.buckets[i])
		}
	}
	return o.native.check()
}

// newCoreFamily creates the core family for o under the given name and labels.
func newCoreFamily(o vecOpts, name string, labelNames []string, constLabels prometheus.Labels) (*C.fm_family, error) {
	o.name, o.labelNames, o.constLabels = name, labelNames, constLabels

	constNames := make([]string, 0, len(o.constLabels))
	for k := range o.constLabels {
		constNames = append(constNames, k)
	}
	sort.Strings(constNames)
	constValues := make([]string, len(constNames))
	for i, k := range constNames {
		constValues[i] = o.constLabels[k]
	}
	// One C block: name, help, namespace, subsystem, label names, const names, const values.
	all := append([]string{o.name, o.help, o.namespace, o.subsystem}, o.labelNames...)
	all = append(append(all, constNames...), constValues...)
	strs := newCStrings(all)
	defer strs.free()
	arr := unsafe.Slice(strs.arr, len(all))
	var opts C.fm_opts
	opts.kind = C.uint32_t(o.kind)
	// A counter named without _total is exposed under its name, as client_golang does.
	opts.exact_name = 1
	opts.name, opts.help, opts.namespace_, opts.subsystem = arr[0], arr[1], arr[2], arr[3]
	if n := len(o.labelNames); n > 0 {
		opts.label_names, opts.label_count = &arr[4], C.size_t(n)
	}
	if n := len(constNames); n > 0 {
		base := 4 + len(o.labelNames)
		opts.const_label_names, opts.const_label_values, opts.const_label_count = &arr[base], &arr[base+n], C.size_t(n)
	}
	if n := len(o.buckets); n > 0 {
		buf := (*C.double)(C.malloc(C.size_t(n) * 8))
		defer C.free(unsafe.Pointer(buf))
		copy(unsafe.Slice((*float64)(unsafe.Pointer(buf)), n), o.buckets)
		opts.buckets, opts.bucket_count = buf, C.size_t(n)
	}
	defer o.quantiles.fill(&opts)()
	o.native.fill(&opts)
	var fam *C.fm_family
	if err := call(func() C.fm_result { return C.fm_family_new(&opts, &fam) }); err != nil {
		return nil, err
	}
	return fam, nil
}

// wrapFamily takes ownership of a core family handle.
func wrapFamily(fam *C.fm_family, o vecOpts) (*vecCore, error) {
	v := &vecCore{
		kind:        o.kind,
		fqName:      prometheus.BuildFQName(o.namespace, o.subsystem, o.name),
		help:        o.help,
		labelNames:  append([]string(nil), o.labelNames...),
		constLabels: o.constLabels,
		family:      fam,
		objectives:  o.quantiles.count(),
		store:       fam,
		native:      o.native.factor != 0,
		vecState:    &vecState{},
	}
	runtime.AddCleanup(v.vecState, func(f *C.fm_family) { C.fm_family_free(f) }, fam)
	if v.native {
		v.nativeExemplars = o.native.exemplars()
	}
	if o.kind == kindHistogram {
		var n C.size_t
		C.fm_family_buckets(fam, nil, 0, &n)
		v.bounds = make([]float64, int(n))
		if n > 0 {
			buf := (*C.double)(C.malloc(n * 8))
			if err := call(func() C.fm_result { return C.fm_family_buckets(fam, buf, n, &n) }); err != nil {
				C.free(unsafe.Pointer(buf))
				return nil, err
			}
			copy(v.bounds, unsafe.Slice((*float64)(unsafe.Pointer(buf)), int(n)))
			C.free(unsafe.Pointer(buf))
		}
	}
	v.desc = prometheus.NewDesc(v.fqName, v.help, v.labelNames, v.constLabels)
	v.info = infoFor(v.fqName, v.help, v.constLabels, v.labelNames)
	v.legacyNames = model.LegacyValidation.IsValidMetricName(v.fqName)
	for _, n := range v.labelNames {
		v.legacyNames = v.legacyNames && model.LegacyValidation.IsValidLabelName(n)
	}
	for n := range v.constLabels {
		v.legacyNames = v.legacyNames && model.LegacyValidation.IsValidLabelName(n)
	}
	v.tab.Store(newTable(8))
	return v, nil
}

// lookup finds a resolved child without locking or allocating.
func (v *vecCore) lookup(values []string) *child {
	h := hashValues(values)
	t := v.tab.Load()
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		c := t.slots[i].Load()
		if c == nil {
			return nil
		}
		if c.hash == h && equalValues(c.values, values) {
			return c
		}
	}
}

// resolve returns the child for values, creating the series on first use.
func (v *vecCore) resolve(values []string) (*child, error) {
	if len(values) != len(v.labelNames) {
		return nil, labelCountError(len(v.labelNames), slices.Clone(values))
	}
	if c := v.lookup(values); c != nil {
		return c, nil
	}
	return v.create(values)
}

func (v *vecCore) resolveLabels(labels prometheus.Labels) (*child, error) {
	var stack [8]string
	values, err := v.orderedValues(labels, stack[:0])
	if err != nil {
		return nil, err
	}
	return v.resolve(values)
}

// orderedValues appends the values of labels in label-name order to buf; the map must name
// exactly the family's labels.
func (v *vecCore) orderedValues(labels prometheus.Labels, buf []string) ([]string, error) {
	if len(labels) != len(v.labelNames) {
		return nil, labelCountError(len(v.labelNames), map[string]string(labels))
	}
	for _, name := range v.labelNames {
		val, ok := labels[name]
		if !ok {
			return nil, &Error{Code: CodeInvalidLabel, asIs: true, Message: fmt.Sprintf("label name %q missing in label map", name)}
		}
		buf = append(buf, val)
	}
	return buf, nil
}

func (v *vecCore) create(values []string) (*child, error) {
	if v.childErr != nil {
		panic(v.childErr)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if c := v.lookup(values); c != nil {
		return c, nil
	}
	strs := newCStrings(values)
	defer strs.free()
	var h *C.fm_child
	var cells C.fm_cells
	err := call(func() C.fm_result {
		if r := C.fm_family_child(v.store, strs.arr, C.size_t(len(values)), &h); r != C.FM_OK {
			return r
		}
		return C.fm_child_cells(h, &cells)
	})
	var nv *nativeView
	if err == nil && cells.native != 0 {
		nv, err = newNativeView(h)
	}
	if err != nil {
		if h != nil {
			C.fm_child_free(h)
		}
		return nil, err
	}
	if cells.overflow != 0 {
		// The family is at its cardinality limit: every new label set shares one series,
		// and none is cached here, so memory stays bounded.
		if o := v.overflow.Load(); o != nil {
			C.fm_child_free(h)
			return o, nil
		}
		o := v.newChild(h, cells, overflowValues(len(values)))
		o.nativeView = nv
		v.overflow.Store(o)
		return o, nil
	}
	c := v.newChild(h, cells, append([]string(nil), values...))
	c.nativeView = nv
	t := v.tab.Load()
	if (t.used+1)*2 > len(t.slots) {
		t = rebuilt(t, len(t.slots)*2, nil)
	}
	insert(t, c)
	v.tab.Store(t)
	return c, nil
}

func (v *vecCore) newChild(h *C.fm_child, cells C.fm_cells, values []string) *child {
	c := &child{
		cells:   unsafe.Pointer(cells.cells),
		hash:    hashValues(values),
		shards:  int(cells.shard_count),
		stride:  uintptr(cells.shard_stride),
		values:  values,
		vec:     v,
		handle:  h,
		created: time.Now(),
	}
	runtime.AddCleanup(c, func(h *C.fm_child) { C.fm_child_free(h) }, h)
	return c
}

// insert writes c into a free slot of t (t is at most half full).
func insert(t *table, c *child) {
	i := c.hash & t.mask
	for t.slots[i].Load() != nil {
		i = (i + 1) & t.mask
	}
	t.slots[i].Store(c)
	t.used++
}

// rebuilt copies t's children, except drop, into a new table of the given size.
func rebuilt(t *table, size int, drop *child) *table {
	n := newTable(size)
	for i := range t.slots {
		if c := t.slots[i].Load(); c != nil && c != drop {
			insert(n, c)
		}
	}
	return n
}

func (v *vecCore) delete(values []string) bool {
	if len(values) != len(v.labelNames) {
		return false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	strs := newCStrings(values)
	defer strs.free()
	var removed C.uint8_t
	if err := call(func() C.fm_result {
		return C.fm_family_remove(v.store, strs.arr, C.size_t(len(values)), &removed)
	}); err != nil {
		return false
	}
	if c := v.lookup(values); c != nil {
		t := v.tab.Load()
		v.tab.Store(rebuilt(t, len(t.slots), c))
	}
	return removed != 0
}

func (v *vecCore) deleteLabels(labels prometheus.Labels) bool {
	var stack [8]string
	values, err := v.orderedValues(labels, stack[:0])
	return err == nil && v.delete(values)
}

func (v *vecCore) reset() {
	v.mu.Lock()
	defer v.mu.Unlock()
	C.fm_family_clear(v.store)
	v.tab.Store(newTable(8))
	v.overflow.Store(nil)
}

// children is a snapshot of the exported series, the overflow one included.
func (v *vecCore) children() []*child {
	t := v.tab.Load()
	out := make([]*child, 0, t.used+1)
	for i := range t.slots {
		if c := t.slots[i].Load(); c != nil {
			out = append(out, c)
		}
	}
	if o := v.overflow.Load(); o != nil {
		out = append(out, o)
	}
	return out
}

// Describe and Collect make every vector a prometheus.Collector.
func (v *vecCore) Describe(ch chan<- *prometheus.Desc) { ch <- v.desc }

func (v *vecCore) Collect(ch chan<- prometheus.Metric) {
	for _, c := range v.children() {
		ch <- c.metric()
	}
}

func (v *vecCore) coreFamily() *vecCore { return v }

// familyOwner marks collectors whose series live in a core family. coreFamily never returns
// nil, but its family is nil when the options were invalid: such a collector is not the
// core's to register; its Describe yields an invalid descriptor (prometheus.NewInvalidDesc
// or client_golang's own) whose Err() is the error Register must return, as a client_golang
// registry does for any collector (see invalid).
type familyOwner interface{ coreFamily() *vecCore }

// invalid is the error of a vector built from invalid options (nil when valid): what
// Register returns for it.
func (v *vecCore) invalid() error { return v.err }

// createdTimestamp is when the series was created, as client_golang's counters, histograms
// and summaries report it.
func (c *child) createdTimestamp() *timestamppb.Timestamp { return timestamppb.New(c.created) }

// overflowLabelValue is the core's label value for the series that absorbs label sets past
// the cardinality limit.
const overflowLabelValue = "__overflow__"

func overflowValues(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = overflowLabelValue
	}
	return out
}

// labelPairs are the child's labels, const labels included, sorted by name (as client_golang
// writes them).
func (c *child) labelPairs() []*dto.LabelPair {
	pairs := make([]*dto.LabelPair, 0, len(c.values)+len(c.vec.constLabels))
	for i, name := range c.vec.labelNames {
		pairs = append(pairs, &dto.LabelPair{Name: &name, Value: &c.values[i]})
	}
	for name, value := range c.vec.constLabels {
		pairs = append(pairs, &dto.LabelPair{Name: &name, Value: &value})
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].GetName() < pairs[j].GetName() })
	return pairs
}

func (c *child) metric() prometheus.Metric {
	switch c.vec.kind {
	case kindCounter:
		return (*counter)(c)
	case kindGauge:
		return (*gauge)(c)
	case kindHistogram:
		return (*histogram)(c)
	default:
		return (*summary)(c)
	}
}

// word is the 64-bit cell at byte offset off from the child's cells.
func (c *child) word(off uintptr) *uint64 { return (*uint64)(unsafe.Add(c.cells, off)) }

// addFloat adds v to the double whose bits are at p, by compare-and-swap.
func addFloat(p *uint64, v float64) {
	for {
		old := atomic.LoadUint64(p)
		if atomic.CompareAndSwapUint64(p, old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

func loadFloat(p *uint64) float64 { return math.Float64frombits(atomic.LoadUint64(p)) }

func sortFamilies(mfs []*dto.MetricFamily) {
	sort.Slice(mfs, func(i, j int) bool { return mfs[i].GetName() < mfs[j].GetName() })
}

// cellLayoutVersion is the version of the core's cell layout (core/src/arena.rs) that this
// package's direct cell writes follow.
const cellLayoutVersion = 1

func init() {
	if C.FM_ARENA_LAYOUT_VERSION != cellLayoutVersion {
		panic(fmt.Sprintf("footmetrics: the linked library lays out cells as version %d; this package writes version %d",
			int(C.FM_ARENA_LAYOUT_VERSION), cellLayoutVersion))
	}
}
