package footmetrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// client_golang's plain data types and helpers, shared so that code written for
// client_golang compiles unchanged and its values interoperate exactly. Custom collectors
// build their metrics with client_golang's const metrics; the metrics users update, the
// vectors, the func metrics, the registries and the HTTP handler are footmetrics' own.
type (
	Metric                = prometheus.Metric
	Desc                  = prometheus.Desc
	DescOpt               = prometheus.DescOpt
	ValueType             = prometheus.ValueType
	Opts                  = prometheus.Opts
	Exemplar              = prometheus.Exemplar
	ExemplarAdder         = prometheus.ExemplarAdder
	ExemplarObserver      = prometheus.ExemplarObserver
	ObserverVec           = prometheus.ObserverVec
	UnconstrainedLabels   = prometheus.UnconstrainedLabels
	ConstrainedLabels     = prometheus.ConstrainedLabels
	ConstrainedLabel      = prometheus.ConstrainedLabel
	ConstrainableLabels   = prometheus.ConstrainableLabels
	LabelConstraint       = prometheus.LabelConstraint
	CounterVecOpts        = prometheus.CounterVecOpts
	GaugeVecOpts          = prometheus.GaugeVecOpts
	HistogramVecOpts      = prometheus.HistogramVecOpts
	SummaryVecOpts        = prometheus.SummaryVecOpts
	CollectorFunc         = prometheus.CollectorFunc
	GathererFunc          = prometheus.GathererFunc
	Gatherers             = prometheus.Gatherers
	TransactionalGatherer = prometheus.TransactionalGatherer
	MultiTRegistry        = prometheus.MultiTRegistry
	MultiError            = prometheus.MultiError
	SafeMultiError        = prometheus.SafeMultiError
	ProcessCollectorOpts  = prometheus.ProcessCollectorOpts
	MetricVec             = prometheus.MetricVec
)

// The value types of const metrics.
const (
	CounterValue = prometheus.CounterValue
	GaugeValue   = prometheus.GaugeValue
	UntypedValue = prometheus.UntypedValue
)

// Defaults and limits, as client_golang's.
const (
	DefMaxAge                        = prometheus.DefMaxAge
	DefAgeBuckets                    = prometheus.DefAgeBuckets
	DefBufCap                        = prometheus.DefBufCap
	ExemplarMaxRunes                 = prometheus.ExemplarMaxRunes
	DefNativeHistogramZeroThreshold  = prometheus.DefNativeHistogramZeroThreshold
	NativeHistogramZeroThresholdZero = prometheus.NativeHistogramZeroThresholdZero
)

// client_golang's functions over descriptors, const metrics, gatherers, registerers and
// collectors (they only use the interfaces, so they work with footmetrics' types).
var (
	NewDesc        = prometheus.NewDesc
	NewInvalidDesc = prometheus.NewInvalidDesc
	WithUnit       = prometheus.WithUnit

	NewConstMetric                            = prometheus.NewConstMetric
	MustNewConstMetric                        = prometheus.MustNewConstMetric
	NewConstMetricWithCreatedTimestamp        = prometheus.NewConstMetricWithCreatedTimestamp
	MustNewConstMetricWithCreatedTimestamp    = prometheus.MustNewConstMetricWithCreatedTimestamp
	NewConstHistogram                         = prometheus.NewConstHistogram
	MustNewConstHistogram                     = prometheus.MustNewConstHistogram
	NewConstHistogramWithCreatedTimestamp     = prometheus.NewConstHistogramWithCreatedTimestamp
	MustNewConstHistogramWithCreatedTimestamp = prometheus.MustNewConstHistogramWithCreatedTimestamp
	NewConstNativeHistogram                   = prometheus.NewConstNativeHistogram
	MustNewConstNativeHistogram               = prometheus.MustNewConstNativeHistogram
	NewConstSummary                           = prometheus.NewConstSummary
	MustNewConstSummary                       = prometheus.MustNewConstSummary
	NewConstSummaryWithCreatedTimestamp       = prometheus.NewConstSummaryWithCreatedTimestamp
	MustNewConstSummaryWithCreatedTimestamp   = prometheus.MustNewConstSummaryWithCreatedTimestamp
	NewMetricWithTimestamp                    = prometheus.NewMetricWithTimestamp
	NewMetricWithExemplars                    = prometheus.NewMetricWithExemplars
	MustNewMetricWithExemplars                = prometheus.MustNewMetricWithExemplars
	NewInvalidMetric                          = prometheus.NewInvalidMetric
	MakeLabelPairs                            = prometheus.MakeLabelPairs
	DescribeByCollect                         = prometheus.DescribeByCollect
	ExponentialBucketsRange                   = prometheus.ExponentialBucketsRange
	NewMetricVec                              = prometheus.NewMetricVec
	NewMultiTRegistry                         = prometheus.NewMultiTRegistry
	ToTransactionalGatherer                   = prometheus.ToTransactionalGatherer
	WriteToTextfile                           = prometheus.WriteToTextfile
	WrapRegistererWith                        = prometheus.WrapRegistererWith
	WrapRegistererWithPrefix                  = prometheus.WrapRegistererWithPrefix
	WrapCollectorWith                         = prometheus.WrapCollectorWith
	WrapCollectorWithPrefix                   = prometheus.WrapCollectorWithPrefix
	NewGoCollector                            = prometheus.NewGoCollector
	NewProcessCollector                       = prometheus.NewProcessCollector
	NewPidFileFn                              = prometheus.NewPidFileFn
	NewExpvarCollector                        = prometheus.NewExpvarCollector
	NewBuildInfoCollector                     = prometheus.NewBuildInfoCollector
	CounterMetricTypePtr                      = prometheus.CounterMetricTypePtr
	GaugeMetricTypePtr                        = prometheus.GaugeMetricTypePtr
	UntypedMetricTypePtr                      = prometheus.UntypedMetricTypePtr
)

// V2 holds the constructors taking *VecOpts (variable labels with optional constraints),
// as client_golang's prometheus.V2; they build footmetrics vectors.
var V2 = v2{}

type v2 struct{}

// NewDesc is client_golang's V2.NewDesc.
func (v2) NewDesc(fqName, help string, variableLabels ConstrainableLabels, constLabels Labels, opts ...DescOpt) *Desc {
	return prometheus.V2.NewDesc(fqName, help, variableLabels, constLabels, opts...)
}

// NewCounterVec creates a counter vector with constrained (or plain) variable labels.
func (v2) NewCounterVec(opts CounterVecOpts) *CounterVec {
	names, cs := labelSpec(opts.VariableLabels)
	return newCounterVec(opts.CounterOpts, names, cs)
}

// NewGaugeVec: see NewCounterVec.
func (v2) NewGaugeVec(opts GaugeVecOpts) *GaugeVec {
	names, cs := labelSpec(opts.VariableLabels)
	return newGaugeVec(opts.GaugeOpts, names, cs)
}

// NewHistogramVec: see NewCounterVec.
func (v2) NewHistogramVec(opts HistogramVecOpts) *HistogramVec {
	names, cs := labelSpec(opts.VariableLabels)
	return newHistogramVec(opts.HistogramOpts, names, cs)
}

// NewSummaryVec: see NewCounterVec.
func (v2) NewSummaryVec(opts SummaryVecOpts) *SummaryVec {
	names, cs := labelSpec(opts.VariableLabels)
	v := NewSummaryVec(opts.SummaryOpts, names)
	v.constraints = cs
	return v
}

// labelSpec splits client_golang's ConstrainableLabels into names and constraints (nil
// when no label has one).
func labelSpec(l ConstrainableLabels) ([]string, []func(string) string) {
	switch l := l.(type) {
	case UnconstrainedLabels:
		return l, nil
	case ConstrainedLabels:
		names := make([]string, len(l))
		var cs []func(string) string
		for i, c := range l {
			names[i] = c.Name
			if c.Constraint != nil {
				if cs == nil {
					cs = make([]func(string) string, len(l))
				}
				cs[i] = c.Constraint
			}
		}
		return names, cs
	}
	return nil, nil
}
