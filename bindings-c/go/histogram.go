package footmetrics

/*
#include "footmetrics.h"
*/
import "C"

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// HistogramOpts are client_golang's. Empty Buckets means DefBuckets, unless native buckets
// are on: then, as in client_golang, the histogram has no classic buckets (only +Inf).
//
// The native-histogram fields have client_golang's meaning (see the core's native module):
// NativeHistogramBucketFactor > 1 turns native (sparse, exponential) buckets on, at the
// largest schema whose growth factor does not exceed it; 0 leaves them off. Any other value
// (in (0, 1], negative, NaN, infinite) is an error, where client_golang silently leaves them
// off: NewHistogramVecE and NewHistogramE return it, Register returns it, and creating a
// child panics with it, as for buckets out of order. NativeHistogramZeroThreshold: 0 is
// DefNativeHistogramZeroThreshold (2^-128), a negative value (NativeHistogramZeroThresholdZero)
// a threshold of 0. NativeHistogramMaxBucketNumber, NativeHistogramMinResetDuration and
// NativeHistogramMaxZeroThreshold bound the buckets as in client_golang (reset, else widen the
// zero bucket, else halve the resolution); NativeHistogramMaxExemplars: 0 means 10, negative
// none. NativeHistogramExemplarTTL is not used. A native histogram ignores NaN observations
// (client_golang counts them, with a NaN sum).
type HistogramOpts = prometheus.HistogramOpts

// Histogram is client_golang's interface; footmetrics histograms satisfy it.
type Histogram = prometheus.Histogram

// Observer is anything that observes values (client_golang's interface).
type Observer = prometheus.Observer

// HistogramVec is a histogram family partitioned by label values.
type HistogramVec struct{ typedVec[Observer] }

// NewHistogramVec creates a histogram family. As in client_golang, an invalid name or label
// name surfaces from Register (see NewCounterVec), while an "le" label or buckets out of
// order panic when a child is created; NewHistogramVecE returns either at once.
func NewHistogramVec(opts HistogramOpts, labelNames []string) *HistogramVec {
	return newHistogramVec(opts, labelNames, nil)
}

func newHistogramVec(opts HistogramOpts, labelNames []string, constraints []func(string) string) *HistogramVec {
	core, err := newVecCore(vecOpts{kind: kindHistogram, namespace: opts.Namespace, subsystem: opts.Subsystem,
		name: opts.Name, help: opts.Help, constLabels: opts.ConstLabels, labelNames: labelNames,
		buckets: opts.Buckets, native: nativeOptsOf(opts), constraints: constraints})
	mustNot(err)
	return &HistogramVec{typedVec[Observer]{core, func(c *child) Observer { return (*histogram)(c) }}}
}

// NewHistogramVecE is NewHistogramVec returning an error for invalid options.
func NewHistogramVecE(opts HistogramOpts, labelNames []string) (*HistogramVec, error) {
	v := NewHistogramVec(opts, labelNames)
	if err := v.invalid(); err != nil {
		return nil, err
	}
	return v, nil
}

// NewHistogram creates a histogram without labels. As in client_golang, invalid buckets (and
// here invalid native options) panic; NewHistogramE returns the error instead.
func NewHistogram(opts HistogramOpts) Histogram {
	return (*histogram)(mustChild(NewHistogramVec(opts, nil).resolve(nil)))
}

// NewHistogramE is NewHistogram returning an error for invalid options.
func NewHistogramE(opts HistogramOpts) (Histogram, error) {
	v, err := NewHistogramVecE(opts, nil)
	if err != nil {
		return nil, err
	}
	c, err := v.resolve(nil)
	if err != nil {
		return nil, err
	}
	return (*histogram)(c), nil
}

// nativeOpts are HistogramOpts' native fields as the C ABI takes them (client_golang's
// sentinels are mapped by the C ABI). factor 0: no native buckets.
type nativeOpts struct {
	factor, zeroThreshold, maxZeroThreshold float64
	maxBuckets                              uint32
	minReset                                time.Duration
	maxExemplars                            int
}

func nativeOptsOf(o HistogramOpts) nativeOpts {
	if o.NativeHistogramBucketFactor == 0 {
		return nativeOpts{}
	}
	return nativeOpts{factor: o.NativeHistogramBucketFactor, zeroThreshold: o.NativeHistogramZeroThreshold,
		maxZeroThreshold: o.NativeHistogramMaxZeroThreshold, maxBuckets: o.NativeHistogramMaxBucketNumber,
		minReset: o.NativeHistogramMinResetDuration, maxExemplars: o.NativeHistogramMaxExemplars}
}

// exemplars is how many exemplars a native histogram keeps: client_golang's 0 means 10, a
// negative number none.
func (n nativeOpts) exemplars() int {
	switch {
	case n.maxExemplars == 0:
		return 10
	case n.maxExemplars < 0:
		return 0
	}
	return n.maxExemplars
}

// check refuses what the core would (with the field names a Go caller knows).
func (n nativeOpts) check() error {
	bad := func(format string, a ...any) error {
		return &Error{Code: CodeInvalidOption, Message: fmt.Sprintf(format, a...)}
	}
	switch f := n.factor; {
	case f == 0:
		return nil
	case !(f > 1) || math.IsInf(f, 0):
		return bad("NativeHistogramBucketFactor must be a finite number greater than 1 (or 0 for no native buckets), got %v", f)
	case math.IsNaN(n.zeroThreshold) || math.IsInf(n.zeroThreshold, 0):
		return bad("NativeHistogramZeroThreshold must be a finite number, got %v", n.zeroThreshold)
	case !(n.maxZeroThreshold >= 0) || math.IsInf(n.maxZeroThreshold, 0):
		return bad("NativeHistogramMaxZeroThreshold must be a finite number >= 0, got %v", n.maxZeroThreshold)
	case n.minReset < 0:
		return bad("NativeHistogramMinResetDuration must not be negative, got %v", n.minReset)
	}
	return nil
}

// fill sets the native fields of opts.
func (n nativeOpts) fill(opts *C.fm_opts) {
	if n.factor == 0 {
		return
	}
	opts.native_bucket_factor = C.double(n.factor)
	opts.native_zero_threshold = C.double(n.zeroThreshold)
	opts.native_max_zero_threshold = C.double(n.maxZeroThreshold)
	opts.native_max_buckets = C.uint32_t(n.maxBuckets)
	opts.native_min_reset_ns = C.uint64_t(max(n.minReset, 0))
	ex := n.maxExemplars
	ex = min(max(ex, math.MinInt32), math.MaxInt32)
	opts.native_max_exemplars = C.int32_t(ex)
}

func mustChild(c *child, err error) *child {
	mustNot(err)
	return c
}

// histogram is a resolved histogram child. The core's cells are one count per bucket (not
// cumulative, +Inf last) and then the bits of the sum: an observation is one atomic add
// on its bucket and a CAS on the sum, the same two writes the core makes.
type histogram child

// linearSearchMax: below this many bounds a scan beats a binary search.
const linearSearchMax = 32

// Observe counts v in the first bucket whose bound is >= v. A NaN is counted as client_golang
// counts it: in +Inf (no bound compares >= NaN), and the sum becomes NaN.
func (h *histogram) Observe(v float64) {
	if h.nativeView != nil {
		// Native buckets: the core's lock-free protocol, followed from Go (native.go).
		h.observeNative(v)
		return
	}
	b := h.vec.bounds
	i := classicIndex(b, v)
	atomic.AddUint64((*child)(h).word(uintptr(i)*8), 1)
	addFloat((*child)(h).word(uintptr(len(b)+1)*8), v)
	runtime.KeepAlive(h)
}

// classicIndex is the classic bucket of v: the first bound >= v, else len(b) (+Inf).
func classicIndex(b []float64, v float64) int {
	if len(b) >= linearSearchMax {
		return sort.SearchFloat64s(b, v)
	}
	i := 0
	for i < len(b) && !(v <= b[i]) {
		i++
	}
	return i
}

// ObserveWithExemplar observes v and keeps exemplar e (e.g. trace_id, span_id) on v's
// bucket, shown in OpenMetrics output; client_golang's prometheus.ExemplarObserver. As in
// client_golang, invalid exemplar labels panic; the observation is recorded regardless.
func (h *histogram) ObserveWithExemplar(v float64, e prometheus.Labels) {
	if v != v || e == nil {
		// Counted; an exemplar of NaN has no bucket value to show, and nil labels leave
		// the current exemplar in place (as client_golang).
		h.Observe(v)
		return
	}
	ex, err := newExemplar(v, e) // client_golang's checks, and what Write reports
	if err != nil {
		h.Observe(v)
		panic(err)
	}
	names, values := sortedPairs(e)
	n, vs := newCStrings(names), newCStrings(values)
	defer n.free()
	defer vs.free()
	c := (*child)(h)
	err = call(func() C.fm_result {
		return C.fm_child_observe_with_exemplar(c.handle, C.double(v), n.arr, vs.arr, C.size_t(len(names)))
	})
	runtime.KeepAlive(h)
	if err != nil {
		// Labels client_golang accepts but the core refuses (UTF-8 names): the observation
		// counts, and the exemplar is kept for Write only.
		h.Observe(v)
	}
	slots := c.bucketExemplars.Load()
	if slots == nil {
		fresh := make([]atomic.Pointer[dto.Exemplar], len(h.vec.bounds)+1)
		if !c.bucketExemplars.CompareAndSwap(nil, &fresh) {
			slots = c.bucketExemplars.Load()
		} else {
			slots = &fresh
		}
	}
	(*slots)[sort.SearchFloat64s(h.vec.bounds, v)].Store(ex)
	if max := h.vec.nativeExemplars; max > 0 {
		// The latest max exemplars, for Write's native exemplars (the core keeps its own
		// for the protobuf it renders).
		for {
			old := c.nativeExemplars.Load()
			var kept []*dto.Exemplar
			if old != nil {
				kept = *old
			}
			if len(kept) >= max {
				kept = kept[len(kept)-max+1:]
			}
			next := append(append(make([]*dto.Exemplar, 0, len(kept)+1), kept...), ex)
			if c.nativeExemplars.CompareAndSwap(old, &next) {
				break
			}
		}
	}
}

// snapshot reads each bucket once: cumulative counts (without +Inf), count and sum.
func (h *histogram) snapshot() (buckets []*dto.Bucket, count uint64, sum float64) {
	b := h.vec.bounds
	buckets = make([]*dto.Bucket, len(b))
	for i := range b {
		count += atomic.LoadUint64((*child)(h).word(uintptr(i) * 8))
		cum := count
		buckets[i] = &dto.Bucket{UpperBound: &b[i], CumulativeCount: &cum}
	}
	count += atomic.LoadUint64((*child)(h).word(uintptr(len(b)) * 8))
	sum = loadFloat((*child)(h).word(uintptr(len(b)+1) * 8))
	runtime.KeepAlive(h)
	return buckets, count, sum
}

func (h *histogram) Desc() *prometheus.Desc { return h.vec.desc }

func (h *histogram) Write(m *dto.Metric) error {
	var buckets []*dto.Bucket
	var count uint64
	var sum float64
	var native *dto.Histogram
	if h.vec.native {
		var err error
		if buckets, count, sum, native, err = h.read(); err != nil {
			return err
		}
	} else {
		buckets, count, sum = h.snapshot()
	}
	m.Label = (*child)(h).labelPairs()
	if slots := h.bucketExemplars.Load(); slots != nil {
		for i, b := range buckets {
			b.Exemplar = (*slots)[i].Load()
		}
		// As client_golang: the +Inf bucket is listed only to carry its exemplar.
		if e := (*slots)[len(buckets)].Load(); e != nil {
			inf := math.Inf(1)
			buckets = append(buckets, &dto.Bucket{UpperBound: &inf, CumulativeCount: &count, Exemplar: e})
		}
	}
	m.Histogram = &dto.Histogram{SampleCount: &count, SampleSum: &sum, Bucket: buckets,
		CreatedTimestamp: (*child)(h).createdTimestamp()}
	if native != nil {
		m.Histogram.Schema, m.Histogram.ZeroThreshold, m.Histogram.ZeroCount = native.Schema, native.ZeroThreshold, native.ZeroCount
		m.Histogram.PositiveSpan, m.Histogram.PositiveDelta = native.PositiveSpan, native.PositiveDelta
		m.Histogram.NegativeSpan, m.Histogram.NegativeDelta = native.NegativeSpan, native.NegativeDelta
		if ex := h.nativeExemplars.Load(); ex != nil {
			// As client_golang lists them: by value.
			m.Histogram.Exemplars = append([]*dto.Exemplar(nil), *ex...)
			sort.SliceStable(m.Histogram.Exemplars, func(i, j int) bool {
				return m.Histogram.Exemplars[i].GetValue() < m.Histogram.Exemplars[j].GetValue()
			})
		}
	}
	return nil
}

// read is snapshot for a native histogram: one consistent reading by the core of the classic
// buckets (cumulative, without +Inf), count, sum and the native buckets, the latter in a
// dto.Histogram as client_golang writes them.
func (h *histogram) read() (buckets []*dto.Bucket, count uint64, sum float64, native *dto.Histogram, err error) {
	var r *C.fm_histogram_reading
	if err = call(func() C.fm_result { return C.fm_child_histogram_read(h.handle, &r) }); err != nil {
		return nil, 0, 0, nil, err
	}
	defer C.fm_histogram_reading_free(r)
	runtime.KeepAlive(h)
	var d C.fm_histogram_data
	C.fm_histogram_reading_data(r, &d)
	count, sum = uint64(d.count), float64(d.sum)
	cum := unsafe.Slice((*uint64)(unsafe.Pointer(d.cumulative)), int(d.cumulative_count))
	b := h.vec.bounds
	buckets = make([]*dto.Bucket, 0, len(b))
	for i := 0; i < len(b) && i+1 < len(cum); i++ {
		c := cum[i]
		buckets = append(buckets, &dto.Bucket{UpperBound: &b[i], CumulativeCount: &c})
	}
	schema, zt, zc := int32(d.schema), float64(d.zero_threshold), uint64(d.zero_count)
	native = &dto.Histogram{Schema: &schema, ZeroThreshold: &zt, ZeroCount: &zc}
	native.PositiveSpan, native.PositiveDelta = spansOf(d.positive_spans, d.positive_span_count, d.positive_deltas, d.positive_delta_count)
	native.NegativeSpan, native.NegativeDelta = spansOf(d.negative_spans, d.negative_span_count, d.negative_deltas, d.negative_delta_count)
	if zt == 0 && zc == 0 && len(native.PositiveSpan) == 0 && len(native.NegativeSpan) == 0 {
		// As client_golang: an empty span, so that scrapers still see a native histogram.
		var off int32
		var n uint32
		native.PositiveSpan = []*dto.BucketSpan{{Offset: &off, Length: &n}}
	}
	return buckets, count, sum, native, nil
}

func spansOf(spans *C.fm_native_span, ns C.size_t, deltas *C.int64_t, nd C.size_t) ([]*dto.BucketSpan, []int64) {
	if ns == 0 {
		return nil, nil
	}
	out := make([]*dto.BucketSpan, int(ns))
	for i, s := range unsafe.Slice(spans, int(ns)) {
		off, n := int32(s.offset), uint32(s.length)
		out[i] = &dto.BucketSpan{Offset: &off, Length: &n}
	}
	return out, append([]int64(nil), unsafe.Slice((*int64)(unsafe.Pointer(deltas)), int(nd))...)
}

func (h *histogram) Describe(ch chan<- *prometheus.Desc) { ch <- h.vec.desc }
func (h *histogram) Collect(ch chan<- prometheus.Metric) { ch <- h }
func (h *histogram) coreFamily() *vecCore                { return h.vec }
