package footmetrics

import (
	"math"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// GaugeOpts are client_golang's.
type GaugeOpts = prometheus.GaugeOpts

// Gauge is client_golang's interface; footmetrics gauges satisfy it.
type Gauge = prometheus.Gauge

// GaugeVec is a gauge family partitioned by label values.
type GaugeVec struct{ typedVec[Gauge] }

// NewGaugeVec creates a gauge family; invalid options surface from Register, as in
// client_golang (see NewCounterVec); NewGaugeVecE returns them at once.
func NewGaugeVec(opts GaugeOpts, labelNames []string) *GaugeVec {
	return newGaugeVec(opts, labelNames, nil)
}

func newGaugeVec(opts GaugeOpts, labelNames []string, constraints []func(string) string) *GaugeVec {
	core, err := newVecCore(vecOpts{kind: kindGauge, namespace: opts.Namespace, subsystem: opts.Subsystem,
		name: opts.Name, help: opts.Help, constLabels: opts.ConstLabels, labelNames: labelNames,
		constraints: constraints})
	mustNot(err)
	return &GaugeVec{typedVec[Gauge]{core, func(c *child) Gauge { return (*gauge)(c) }}}
}

// NewGaugeVecE is NewGaugeVec returning an error for invalid options.
func NewGaugeVecE(opts GaugeOpts, labelNames []string) (*GaugeVec, error) {
	v := NewGaugeVec(opts, labelNames)
	if err := v.invalid(); err != nil {
		return nil, err
	}
	return v, nil
}

// NewGauge creates a gauge without labels.
func NewGauge(opts GaugeOpts) Gauge { return NewGaugeVec(opts, nil).WithLabelValues() }

// gauge is a resolved gauge child: one double in the core, stored atomically.
type gauge child

func (g *gauge) Set(v float64) {
	atomic.StoreUint64((*uint64)(g.cells), math.Float64bits(v))
	runtime.KeepAlive(g)
}

func (g *gauge) Add(v float64) {
	addFloat((*uint64)(g.cells), v)
	runtime.KeepAlive(g)
}

func (g *gauge) Sub(v float64)     { g.Add(-v) }
func (g *gauge) Inc()              { g.Add(1) }
func (g *gauge) Dec()              { g.Add(-1) }
func (g *gauge) SetToCurrentTime() { g.Set(float64(time.Now().UnixNano()) / 1e9) }
func (g *gauge) value() float64 {
	v := loadFloat((*uint64)(g.cells))
	runtime.KeepAlive(g)
	return v
}

func (g *gauge) Desc() *prometheus.Desc { return g.vec.desc }

func (g *gauge) Write(m *dto.Metric) error {
	v := g.value()
	m.Label = (*child)(g).labelPairs()
	m.Gauge = &dto.Gauge{Value: &v}
	return nil
}

func (g *gauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.vec.desc }
func (g *gauge) Collect(ch chan<- prometheus.Metric) { ch <- g }
func (g *gauge) coreFamily() *vecCore                { return g.vec }
