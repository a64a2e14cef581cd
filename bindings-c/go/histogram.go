package footmetrics

/*
#include "footmetrics.h"
*/
import "C"

import (
	"math"
	"runtime"
	"sort"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// HistogramOpts are client_golang's. Classic buckets only: the native-histogram fields are
// ignored. Empty Buckets means DefBuckets.
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
		buckets: opts.Buckets, constraints: constraints})
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

// NewHistogram creates a histogram without labels.
func NewHistogram(opts HistogramOpts) Histogram {
	return (*histogram)(mustChild(NewHistogramVec(opts, nil).resolve(nil)))
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
	b := h.vec.bounds
	i := 0
	if len(b) < linearSearchMax {
		for i < len(b) && !(v <= b[i]) {
			i++
		}
	} else {
		i = sort.SearchFloat64s(b, v)
	}
	atomic.AddUint64((*child)(h).word(uintptr(i)*8), 1)
	addFloat((*child)(h).word(uintptr(len(b)+1)*8), v)
	runtime.KeepAlive(h)
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
	buckets, count, sum := h.snapshot()
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
	return nil
}

func (h *histogram) Describe(ch chan<- *prometheus.Desc) { ch <- h.vec.desc }
func (h *histogram) Collect(ch chan<- prometheus.Metric) { ch <- h }
func (h *histogram) coreFamily() *vecCore                { return h.vec }
