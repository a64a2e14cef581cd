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
type GaugeVec struct{ *vecCore }

// NewGaugeVec creates a gauge family; it panics on invalid options (NewGaugeVecE does not).
func NewGaugeVec(opts GaugeOpts, labelNames []string) *GaugeVec {
	v, err := NewGaugeVecE(opts, labelNames)
	mustNot(err)
	return v
}

// NewGaugeVecE is NewGaugeVec returning an error for invalid options.
func NewGaugeVecE(opts GaugeOpts, labelNames []string) (*GaugeVec, error) {
	core, err := newVecCore(vecOpts{kind: kindGauge, namespace: opts.Namespace, subsystem: opts.Subsystem,
		name: opts.Name, help: opts.Help, constLabels: opts.ConstLabels, labelNames: labelNames})
	if err != nil {
		return nil, err
	}
	return &GaugeVec{core}, nil
}

// NewGauge creates a gauge without labels.
func NewGauge(opts GaugeOpts) Gauge { return NewGaugeVec(opts, nil).WithLabelValues() }

// WithLabelValues returns the gauge for these label values; it panics on a wrong count.
func (v *GaugeVec) WithLabelValues(lvs ...string) Gauge {
	c, err := v.resolve(lvs)
	mustNot(err)
	return (*gauge)(c)
}

// With is WithLabelValues with the labels given by name.
func (v *GaugeVec) With(labels prometheus.Labels) Gauge {
	c, err := v.resolveLabels(labels)
	mustNot(err)
	return (*gauge)(c)
}

// GetMetricWithLabelValues is WithLabelValues returning an error instead of panicking.
func (v *GaugeVec) GetMetricWithLabelValues(lvs ...string) (Gauge, error) {
	c, err := v.resolve(lvs)
	if err != nil {
		return nil, err
	}
	return (*gauge)(c), nil
}

// GetMetricWith is With returning an error instead of panicking.
func (v *GaugeVec) GetMetricWith(labels prometheus.Labels) (Gauge, error) {
	c, err := v.resolveLabels(labels)
	if err != nil {
		return nil, err
	}
	return (*gauge)(c), nil
}

// DeleteLabelValues removes the series; it reports whether it existed.
func (v *GaugeVec) DeleteLabelValues(lvs ...string) bool { return v.delete(lvs) }

// Delete removes the series with these labels; it reports whether it existed.
func (v *GaugeVec) Delete(labels prometheus.Labels) bool { return v.deleteLabels(labels) }

// Reset removes every series.
func (v *GaugeVec) Reset() { v.reset() }

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
