package footmetrics

import (
	"runtime"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// SummaryOpts are client_golang's. Only the count and sum are kept (client_golang's default
// since v1.0); Objectives are refused with an error: use a histogram for quantiles.
type SummaryOpts = prometheus.SummaryOpts

// Summary is client_golang's interface; footmetrics summaries satisfy it.
type Summary = prometheus.Summary

// SummaryVec is a summary family partitioned by label values.
type SummaryVec struct{ typedVec[Observer] }

// NewSummaryVec creates a summary family; it panics on invalid options (NewSummaryVecE
// does not).
func NewSummaryVec(opts SummaryOpts, labelNames []string) *SummaryVec {
	v, err := NewSummaryVecE(opts, labelNames)
	mustNot(err)
	return v
}

// NewSummaryVecE is NewSummaryVec returning an error for invalid options.
func NewSummaryVecE(opts SummaryOpts, labelNames []string) (*SummaryVec, error) {
	if len(opts.Objectives) > 0 {
		return nil, &Error{Code: CodeInvalidOption, Message: "summary quantile objectives are not supported: use a histogram (count and sum are kept)"}
	}
	core, err := newVecCore(vecOpts{kind: kindSummary, namespace: opts.Namespace, subsystem: opts.Subsystem,
		name: opts.Name, help: opts.Help, constLabels: opts.ConstLabels, labelNames: labelNames})
	if err != nil {
		return nil, err
	}
	return &SummaryVec{typedVec[Observer]{core, func(c *child) Observer { return (*summary)(c) }}}, nil
}

// NewSummary creates a summary without labels.
func NewSummary(opts SummaryOpts) Summary {
	return (*summary)(mustChild(NewSummaryVec(opts, nil).resolve(nil)))
}

// summary is a resolved summary child: the count (atomic add) and the sum's bits (CAS).
type summary child

// Observe counts v and adds it to the sum; a NaN is counted and makes the sum NaN, as in
// client_golang.
func (s *summary) Observe(v float64) {
	atomic.AddUint64((*uint64)(s.cells), 1)
	addFloat((*child)(s).word(8), v)
	runtime.KeepAlive(s)
}

func (s *summary) Desc() *prometheus.Desc { return s.vec.desc }

func (s *summary) Write(m *dto.Metric) error {
	count := atomic.LoadUint64((*uint64)(s.cells))
	sum := loadFloat((*child)(s).word(8))
	runtime.KeepAlive(s)
	m.Label = (*child)(s).labelPairs()
	m.Summary = &dto.Summary{SampleCount: &count, SampleSum: &sum}
	return nil
}

func (s *summary) Describe(ch chan<- *prometheus.Desc) { ch <- s.vec.desc }
func (s *summary) Collect(ch chan<- prometheus.Metric) { ch <- s }
func (s *summary) coreFamily() *vecCore                { return s.vec }
