// Package promauto is client_golang's promauto over footmetrics: each constructor builds a
// footmetrics metric and registers it at once, panicking if registration fails.
//
// The package-level constructors register into footmetrics.DefaultRegisterer (the registry
// served by footmetrics.Handler and the promhttp package of this module). With picks another
// Registerer; With(nil) builds metrics without registering them anywhere.
//
// Code written against client_golang's promauto keeps working once its prometheus, promhttp
// and promauto imports point at this module.
package promauto

import (
	fm "github.com/footanalytics/footmetrics/bindings-c/go"
)

// Factory builds metrics and registers them with its Registerer, if it has one.
type Factory struct {
	reg fm.Registerer
}

// With returns a Factory registering into reg; a nil reg means no registration.
func With(reg fm.Registerer) Factory { return Factory{reg: reg} }

// defaults reads the default registerer at call time, so a replaced DefaultRegisterer counts.
func defaults() Factory { return With(fm.DefaultRegisterer) }

// register is the one place a Factory registers: MustRegister panics on any error, such as
// an AlreadyRegisteredError for a name in use.
func register[C fm.Collector](f Factory, c C) C {
	if f.reg != nil {
		f.reg.MustRegister(c)
	}
	return c
}

// NewCounter creates a counter in the default registry.
func NewCounter(opts fm.CounterOpts) fm.Counter { return defaults().NewCounter(opts) }

// NewCounterVec creates a counter vector in the default registry.
func NewCounterVec(opts fm.CounterOpts, labelNames []string) *fm.CounterVec {
	return defaults().NewCounterVec(opts, labelNames)
}

// NewCounterFunc creates a counter read from function in the default registry.
func NewCounterFunc(opts fm.CounterOpts, function func() float64) fm.CounterFunc {
	return defaults().NewCounterFunc(opts, function)
}

// NewGauge creates a gauge in the default registry.
func NewGauge(opts fm.GaugeOpts) fm.Gauge { return defaults().NewGauge(opts) }

// NewGaugeVec creates a gauge vector in the default registry.
func NewGaugeVec(opts fm.GaugeOpts, labelNames []string) *fm.GaugeVec {
	return defaults().NewGaugeVec(opts, labelNames)
}

// NewGaugeFunc creates a gauge read from function in the default registry.
func NewGaugeFunc(opts fm.GaugeOpts, function func() float64) fm.GaugeFunc {
	return defaults().NewGaugeFunc(opts, function)
}

// NewHistogram creates a histogram in the default registry.
func NewHistogram(opts fm.HistogramOpts) fm.Histogram { return defaults().NewHistogram(opts) }

// NewHistogramVec creates a histogram vector in the default registry.
func NewHistogramVec(opts fm.HistogramOpts, labelNames []string) *fm.HistogramVec {
	return defaults().NewHistogramVec(opts, labelNames)
}

// NewSummary creates a summary in the default registry.
func NewSummary(opts fm.SummaryOpts) fm.Summary { return defaults().NewSummary(opts) }

// NewSummaryVec creates a summary vector in the default registry.
func NewSummaryVec(opts fm.SummaryOpts, labelNames []string) *fm.SummaryVec {
	return defaults().NewSummaryVec(opts, labelNames)
}

// NewUntypedFunc creates an untyped metric read from function in the default registry.
func NewUntypedFunc(opts fm.UntypedOpts, function func() float64) fm.UntypedFunc {
	return defaults().NewUntypedFunc(opts, function)
}

// NewCounter creates a counter and registers it.
func (f Factory) NewCounter(opts fm.CounterOpts) fm.Counter {
	return register(f, fm.NewCounter(opts))
}

// NewCounterVec creates a counter vector and registers it.
func (f Factory) NewCounterVec(opts fm.CounterOpts, labelNames []string) *fm.CounterVec {
	return register(f, fm.NewCounterVec(opts, labelNames))
}

// NewCounterFunc creates a counter read from function and registers it.
func (f Factory) NewCounterFunc(opts fm.CounterOpts, function func() float64) fm.CounterFunc {
	return register(f, fm.NewCounterFunc(opts, function))
}

// NewGauge creates a gauge and registers it.
func (f Factory) NewGauge(opts fm.GaugeOpts) fm.Gauge {
	return register(f, fm.NewGauge(opts))
}

// NewGaugeVec creates a gauge vector and registers it.
func (f Factory) NewGaugeVec(opts fm.GaugeOpts, labelNames []string) *fm.GaugeVec {
	return register(f, fm.NewGaugeVec(opts, labelNames))
}

// NewGaugeFunc creates a gauge read from function and registers it.
func (f Factory) NewGaugeFunc(opts fm.GaugeOpts, function func() float64) fm.GaugeFunc {
	return register(f, fm.NewGaugeFunc(opts, function))
}

// NewHistogram creates a histogram and registers it.
func (f Factory) NewHistogram(opts fm.HistogramOpts) fm.Histogram {
	return register(f, fm.NewHistogram(opts))
}

// NewHistogramVec creates a histogram vector and registers it.
func (f Factory) NewHistogramVec(opts fm.HistogramOpts, labelNames []string) *fm.HistogramVec {
	return register(f, fm.NewHistogramVec(opts, labelNames))
}

// NewSummary creates a summary and registers it.
func (f Factory) NewSummary(opts fm.SummaryOpts) fm.Summary {
	return register(f, fm.NewSummary(opts))
}

// NewSummaryVec creates a summary vector and registers it.
func (f Factory) NewSummaryVec(opts fm.SummaryOpts, labelNames []string) *fm.SummaryVec {
	return register(f, fm.NewSummaryVec(opts, labelNames))
}

// NewUntypedFunc creates an untyped metric read from function and registers it.
func (f Factory) NewUntypedFunc(opts fm.UntypedOpts, function func() float64) fm.UntypedFunc {
	return register(f, fm.NewUntypedFunc(opts, function))
}
