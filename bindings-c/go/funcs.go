package footmetrics

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// UntypedOpts are client_golang's.
type UntypedOpts = prometheus.UntypedOpts

// CounterFunc, GaugeFunc and UntypedFunc are client_golang's interfaces (a Metric that is
// also a Collector); footmetrics' func metrics satisfy them.
type (
	CounterFunc = prometheus.CounterFunc
	GaugeFunc   = prometheus.GaugeFunc
	UntypedFunc = prometheus.UntypedFunc
)

// funcMetric is a metric whose value is read from a function at every Write (each scrape).
// It is a plain Collector, so any Registerer takes it (a footmetrics Registry gathers it
// with the other collectors that are not core families).
type funcMetric struct {
	desc   *prometheus.Desc
	kind   prometheus.ValueType
	fn     func() float64
	labels []*dto.LabelPair
}

func newFuncMetric(o prometheus.Opts, kind prometheus.ValueType, fn func() float64) *funcMetric {
	fq := prometheus.BuildFQName(o.Namespace, o.Subsystem, o.Name)
	m := &funcMetric{desc: prometheus.NewDesc(fq, o.Help, nil, o.ConstLabels), kind: kind, fn: fn}
	for name, value := range o.ConstLabels {
		m.labels = append(m.labels, &dto.LabelPair{Name: &name, Value: &value})
	}
	sort.Slice(m.labels, func(i, j int) bool { return m.labels[i].GetName() < m.labels[j].GetName() })
	return m
}

// NewCounterFunc creates a counter whose value is fn's result at each scrape; fn must be
// safe for concurrent calls and its results must not decrease. An invalid name surfaces
// from Register, as in client_golang.
func NewCounterFunc(opts CounterOpts, fn func() float64) CounterFunc {
	return newFuncMetric(prometheus.Opts(opts), prometheus.CounterValue, fn)
}

// NewGaugeFunc creates a gauge whose value is fn's result at each scrape.
func NewGaugeFunc(opts GaugeOpts, fn func() float64) GaugeFunc {
	return newFuncMetric(prometheus.Opts(opts), prometheus.GaugeValue, fn)
}

// NewUntypedFunc creates an untyped metric whose value is fn's result at each scrape.
func NewUntypedFunc(opts UntypedOpts, fn func() float64) UntypedFunc {
	return newFuncMetric(prometheus.Opts(opts), prometheus.UntypedValue, fn)
}

func (m *funcMetric) Desc() *prometheus.Desc { return m.desc }

func (m *funcMetric) Write(out *dto.Metric) error {
	v := m.fn()
	out.Label = m.labels
	switch m.kind {
	case prometheus.CounterValue:
		out.Counter = &dto.Counter{Value: &v}
	case prometheus.GaugeValue:
		out.Gauge = &dto.Gauge{Value: &v}
	default:
		out.Untyped = &dto.Untyped{Value: &v}
	}
	return nil
}

func (m *funcMetric) Describe(ch chan<- *prometheus.Desc) { ch <- m.desc }
func (m *funcMetric) Collect(ch chan<- prometheus.Metric) { ch <- m }
