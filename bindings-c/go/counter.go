package footmetrics

/*
#include "footmetrics.h"
*/
import "C"

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

// NewCounterVec creates a counter family. As in client_golang, invalid options do not panic
// here: the vector's descriptor carries the error, which Register returns (MustRegister
// panics); NewCounterVecE returns it at once.
func NewCounterVec(opts CounterOpts, labelNames []string) *CounterVec {
	return newCounterVec(opts, labelNames, nil)
}

func newCounterVec(opts CounterOpts, labelNames []string, constraints []func(string) string) *CounterVec {
	core, err := newVecCore(vecOpts{kind: kindCounter, namespace: opts.Namespace, subsystem: opts.Subsystem,
		name: opts.Name, help: opts.Help, constLabels: opts.ConstLabels, labelNames: labelNames,
		constraints: constraints})
	mustNot(err)
	return &CounterVec{typedVec[Counter]{core, func(c *child) Counter { return (*counter)(c) }}}
}

// NewCounterVecE is NewCounterVec returning an error for invalid options.
func NewCounterVecE(opts CounterOpts, labelNames []string) (*CounterVec, error) {
	v := NewCounterVec(opts, labelNames)
	if err := v.invalid(); err != nil {
		return nil, err
	}
	return v, nil
}

// NewCounter creates a counter without labels (register it like any collector).
func NewCounter(opts CounterOpts) Counter {
	return NewCounterVec(opts, nil).WithLabelValues()
}

// counter is a resolved counter child. Go writes shard 0 of the core's cells: the integer
// word by atomic add (Inc, small whole amounts) and the float word by CAS (everything else).
//
// The integer word must never wrap around (the counter would go down), so writers follow the
// core's rule (core/src/counter.rs, "No wrap-around"): Inc is one atomic add; Add puts a
// whole amount below intAmountLimit (2^32) in the integer word only while a load of the word
// reads below intWordLimit (2^62), and every other amount in the float word. The word then
// stays below 2^62 + W*2^32 + I (W adds between their load and their add, I Incs past 2^62),
// which cannot reach 2^64: that needs 3*2^30 goroutines in that window at once or 2^62 Incs.
// Nothing ever moves between the words, so both only grow and value never goes down.
type counter child

const (
	intAmountLimit = 1 << 32
	intWordLimit   = 1 << 62
)

func (c *counter) Inc() {
	atomic.AddUint64((*uint64)(c.cells), 1)
	runtime.KeepAlive(c) // the cleanup that frees the cells must not run before the add
}

func (c *counter) Add(v float64) {
	// As client_golang: only a negative value panics; NaN is added (the counter reads NaN).
	if v < 0 {
		panic(&Error{Code: CodeInvalidValue, Message: "counter cannot decrease in value"})
	}
	word := (*uint64)(c.cells)
	if v < intAmountLimit && v == math.Trunc(v) && atomic.LoadUint64(word) < intWordLimit {
		atomic.AddUint64(word, uint64(v))
	} else {
		addFloat((*child)(c).word(8), v)
	}
	runtime.KeepAlive(c)
}

// value sums every shard (the core writes the others). Each integer word is converted on its
// own, so the sum cannot wrap, and each term only grows: a reading is never below an earlier
// one. Exact while the whole amounts sum below 2^53.
func (c *counter) value() float64 {
	var whole, frac float64
	for i := 0; i < c.shards; i++ {
		off := uintptr(i) * c.stride
		whole += float64(atomic.LoadUint64((*child)(c).word(off)))
		frac += loadFloat((*child)(c).word(off + 8))
	}
	runtime.KeepAlive(c)
	return whole + frac
}

func (c *counter) Desc() *prometheus.Desc { return c.vec.desc }

func (c *counter) Write(m *dto.Metric) error {
	v := c.value()
	m.Label = (*child)(c).labelPairs()
	m.Counter = &dto.Counter{Value: &v, CreatedTimestamp: (*child)(c).createdTimestamp(), Exemplar: c.exemplar.Load()}
	return nil
}

// AddWithExemplar adds v and replaces the counter's exemplar with one of v and these
// labels (client_golang's prometheus.ExemplarAdder). nil labels leave the exemplar in
// place; empty labels make a label-less one. As client_golang, it panics when v is
// negative or the labels are invalid (bad names, more than 128 runes in all), after adding.
func (c *counter) AddWithExemplar(v float64, labels prometheus.Labels) {
	if labels == nil || v != v || v < 0 {
		c.Add(v) // a negative v panics here, as in client_golang
		return
	}
	e, err := newExemplar(v, labels)
	if err != nil {
		c.Add(v)
		panic(err)
	}
	names, values := sortedPairs(labels)
	n, vs := newCStrings(names), newCStrings(values)
	defer n.free()
	defer vs.free()
	err = call(func() C.fm_result {
		return C.fm_child_add_with_exemplar(c.handle, C.double(v), n.arr, vs.arr, C.size_t(len(names)))
	})
	runtime.KeepAlive(c)
	if err != nil {
		// A label the core refuses (client_golang accepts UTF-8 names): count it, keep the
		// exemplar for Write only.
		c.Add(v)
	}
	c.exemplar.Store(e)
}

func (c *counter) Describe(ch chan<- *prometheus.Desc) { ch <- c.vec.desc }
func (c *counter) Collect(ch chan<- prometheus.Metric) { ch <- c }
func (c *counter) coreFamily() *vecCore                { return c.vec }
