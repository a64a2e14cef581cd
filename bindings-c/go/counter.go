package footmetrics

import (
	"math"
	"runtime"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// CounterOpts are client_golang's, so existing option literals compile unchanged.
type CounterOpts = prometheus.CounterOpts

// Counter is client_golang's interface; footmetrics counters satisfy it.
type Counter = prometheus.Counter

// CounterVec is a counter family partitioned by label values.
type CounterVec struct{ typedVec[Counter] }

// NewCounterVec creates a counter family. It panics on invalid options, as client_golang
// does; NewCounterVecE returns the error instead.
func NewCounterVec(opts CounterOpts, labelNames []string) *CounterVec {
	v, err := NewCounterVecE(opts, labelNames)
	mustNot(err)
	return v
}

// NewCounterVecE is NewCounterVec returning an error for invalid options.
func NewCounterVecE(opts CounterOpts, labelNames []string) (*CounterVec, error) {
	core, err := newVecCore(vecOpts{kind: kindCounter, namespace: opts.Namespace, subsystem: opts.Subsystem,
		name: opts.Name, help: opts.Help, constLabels: opts.ConstLabels, labelNames: labelNames})
	if err != nil {
		return nil, err
	}
	return &CounterVec{typedVec[Counter]{core, func(c *child) Counter { return (*counter)(c) }}}, nil
}

// NewCounter creates a counter without labels (register it like any collector).
func NewCounter(opts CounterOpts) Counter {
	return NewCounterVec(opts, nil).WithLabelValues()
}

// counter is a resolved counter child. Go writes shard 0 of the core's cells: the integer
// word by atomic add (Inc, whole amounts) and the fractional double by CAS.
type counter child

func (c *counter) Inc() {
	atomic.AddUint64((*uint64)(c.cells), 1)
	runtime.KeepAlive(c) // the cleanup that frees the cells must not run before the add
}

func (c *counter) Add(v float64) {
	// As client_golang: only a negative value panics; NaN is added (the counter reads NaN).
	if v < 0 {
		panic(&Error{Code: CodeInvalidValue, Message: "counter cannot decrease in value"})
	}
	if v < 1<<53 && v == math.Trunc(v) {
		atomic.AddUint64((*uint64)(c.cells), uint64(v))
	} else {
		addFloat((*child)(c).word(8), v)
	}
	runtime.KeepAlive(c)
}

func (c *counter) value() float64 {
	var whole uint64
	var frac float64
	for i := 0; i < c.shards; i++ {
		off := uintptr(i * shardStride)
		whole += atomic.LoadUint64((*child)(c).word(off))
		frac += loadFloat((*child)(c).word(off + 8))
	}
	runtime.KeepAlive(c)
	return float64(whole) + frac
}

func (c *counter) Desc() *prometheus.Desc { return c.vec.desc }

func (c *counter) Write(m *dto.Metric) error {
	v := c.value()
	m.Label = (*child)(c).labelPairs()
	m.Counter = &dto.Counter{Value: &v}
	return nil
}

func (c *counter) Describe(ch chan<- *prometheus.Desc) { ch <- c.vec.desc }
func (c *counter) Collect(ch chan<- prometheus.Metric) { ch <- c }
func (c *counter) coreFamily() *vecCore                { return c.vec }
