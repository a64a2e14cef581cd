package footmetrics

/*
#include <stdlib.h>
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

// SummaryOpts are client_golang's. Without Objectives only the count and sum are kept
// (client_golang's default since v1.0). With Objectives every child also reports those
// quantiles over a sliding window of MaxAge (default 10 min) in AgeBuckets streams (default
// 5), fed through a buffer of BufCap observations (default 500), computed by the core with
// client_golang's algorithm and arithmetic, so the values are the ones client_golang reports.
type SummaryOpts = prometheus.SummaryOpts

// Summary is client_golang's interface; footmetrics summaries satisfy it.
type Summary = prometheus.Summary

// SummaryVec is a summary family partitioned by label values.
type SummaryVec struct{ typedVec[Observer] }

// NewSummaryVec creates a summary family; it panics on invalid options (NewSummaryVecE
// does not).
func NewSummaryVec(opts SummaryOpts, labelNames []string) *SummaryVec {
	v, err := newSummaryVec(opts, labelNames)
	mustNot(err)
	return v
}

// NewSummaryVecE is NewSummaryVec returning an error for invalid options.
func NewSummaryVecE(opts SummaryOpts, labelNames []string) (*SummaryVec, error) {
	v, err := newSummaryVec(opts, labelNames)
	if err != nil {
		return nil, err
	}
	if err := v.invalid(); err != nil {
		return nil, err
	}
	return v, nil
}

// newSummaryVec fails on bad objectives or window (client_golang panics on those too); a
// vector with an invalid name or labels is built, its error left for Register (see
// newVecCore).
func newSummaryVec(opts SummaryOpts, labelNames []string) (*SummaryVec, error) {
	if opts.MaxAge < 0 {
		// client_golang panics with this message (when the first child is made).
		return nil, &Error{Code: CodeInvalidOption, Message: fmt.Sprintf("illegal max age MaxAge=%v", opts.MaxAge)}
	}
	core, err := newVecCore(vecOpts{kind: kindSummary, namespace: opts.Namespace, subsystem: opts.Subsystem,
		name: opts.Name, help: opts.Help, constLabels: opts.ConstLabels, labelNames: labelNames,
		quantiles: newQuantileOpts(opts)})
	if err != nil {
		return nil, err
	}
	return &SummaryVec{typedVec[Observer]{core, func(c *child) Observer { return (*summary)(c) }}}, nil
}

// NewSummary creates a summary without labels.
func NewSummary(opts SummaryOpts) Summary {
	return (*summary)(mustChild(NewSummaryVec(opts, nil).resolve(nil)))
}

// summary is a resolved summary child: the count (atomic add) and the sum's bits (CAS), and
// with objectives the core's quantile window.
type summary child

// Observe counts v and adds it to the sum; a NaN is counted and makes the sum NaN, as in
// client_golang. With objectives, v also goes to the core's quantile window (NaN excepted:
// its rank is undefined, and client_golang's result for it depends on its sort's internals).
//
// The window is fed with one cgo call per observation (fm_summary_observe_one: a mutex and
// a slice append in the core, the merge into the streams once per BufCap observations), not
// through a Go-side batch buffer: the core renders /metrics itself, and it would not see
// observations still waiting in Go, while the time each observation is stamped with (which
// decides the age bucket it lands in) stays the time of the Observe call, as in
// client_golang. BenchmarkSummaryObjectives measures it against client_golang.
func (s *summary) Observe(v float64) {
	atomic.AddUint64((*uint64)(s.cells), 1)
	addFloat((*child)(s).word(8), v)
	if s.vec.objectives > 0 && !math.IsNaN(v) {
		C.fm_summary_observe_one(s.handle, C.double(v))
	}
	runtime.KeepAlive(s)
}

func (s *summary) Desc() *prometheus.Desc { return s.vec.desc }

// Write fills count, sum and, with objectives, the quantiles in ascending order (NaN while
// the window holds no observation). Buffered observations are merged into the window first.
func (s *summary) Write(m *dto.Metric) error {
	qs, err := s.quantiles()
	if err != nil {
		return err
	}
	count := atomic.LoadUint64((*uint64)(s.cells))
	sum := loadFloat((*child)(s).word(8))
	runtime.KeepAlive(s)
	m.Label = (*child)(s).labelPairs()
	m.Summary = &dto.Summary{SampleCount: &count, SampleSum: &sum, Quantile: qs,
		CreatedTimestamp: (*child)(s).createdTimestamp()}
	return nil
}

// quantiles reads the child's quantiles from the core (none without objectives).
func (s *summary) quantiles() ([]*dto.Quantile, error) {
	n := s.vec.objectives
	if n == 0 {
		return nil, nil
	}
	buf := make([]float64, 2*n) // the quantiles, then their values
	var got C.size_t
	err := call(func() C.fm_result {
		return C.fm_summary_quantiles(s.handle, (*C.double)(unsafe.Pointer(&buf[0])),
			(*C.double)(unsafe.Pointer(&buf[n])), C.size_t(n), &got)
	})
	runtime.KeepAlive(s)
	if err != nil {
		return nil, err
	}
	qs := make([]*dto.Quantile, int(got))
	for i := range qs {
		qs[i] = &dto.Quantile{Quantile: &buf[i], Value: &buf[n+i]}
	}
	return qs, nil
}

// quantileOpts are a summary's objectives and window as the core takes them (fm_opts).
type quantileOpts struct {
	quantiles, errors  []float64 // ascending by quantile
	maxAge             time.Duration
	ageBuckets, bufCap uint32
}

// newQuantileOpts is nil for a summary without objectives. Out-of-range objectives are left
// to the core, which refuses them with an error (0 < quantile < 1, 0 <= error < 1).
func newQuantileOpts(opts SummaryOpts) *quantileOpts {
	if len(opts.Objectives) == 0 {
		return nil
	}
	q := &quantileOpts{maxAge: opts.MaxAge, ageBuckets: opts.AgeBuckets, bufCap: opts.BufCap}
	for k := range opts.Objectives {
		q.quantiles = append(q.quantiles, k)
	}
	sort.Float64s(q.quantiles)
	for _, k := range q.quantiles {
		q.errors = append(q.errors, opts.Objectives[k])
	}
	return q
}

func (q *quantileOpts) count() int {
	if q == nil {
		return 0
	}
	return len(q.quantiles)
}

// fill points opts at a C copy of the objectives; the returned function frees it.
func (q *quantileOpts) fill(opts *C.fm_opts) (free func()) {
	n := q.count()
	if n == 0 {
		return func() {}
	}
	buf := C.malloc(C.size_t(2*n) * 8)
	if buf == nil {
		panic("footmetrics: out of memory")
	}
	arr := unsafe.Slice((*float64)(buf), 2*n)
	copy(arr, q.quantiles)
	copy(arr[n:], q.errors)
	opts.objective_quantiles = (*C.double)(buf)
	opts.objective_errors = (*C.double)(unsafe.Pointer(&arr[n]))
	opts.objective_count = C.size_t(n)
	opts.max_age_ns = C.uint64_t(q.maxAge)
	opts.age_buckets = C.uint32_t(q.ageBuckets)
	opts.buf_cap = C.uint32_t(q.bufCap)
	return func() { C.free(buf) }
}

func (s *summary) Describe(ch chan<- *prometheus.Desc) { ch <- s.vec.desc }
func (s *summary) Collect(ch chan<- prometheus.Metric) { ch <- s }
func (s *summary) coreFamily() *vecCore                { return s.vec }
