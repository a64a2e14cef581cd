package footmetrics_test

import (
	"testing"

	fm "github.com/footanalytics/footmetrics/bindings-c/go"
)

// The hot paths allocate nothing once a series exists: a value that escapes to the heap
// (for instance label values passed on to an error message) would cost an allocation on
// every call.
func TestHotPathsDoNotAllocate(t *testing.T) {
	c := fm.NewCounterVec(fm.CounterOpts{Name: "hot_total", Help: "Hot."}, []string{"a", "b"})
	h := fm.NewHistogramVec(fm.HistogramOpts{Name: "hot_seconds", Help: "Hot."}, []string{"a"})
	g := fm.NewGaugeVec(fm.GaugeOpts{Name: "hot", Help: "Hot."}, []string{"a"})
	n := fm.NewHistogramVec(fm.HistogramOpts{Name: "hot_native_seconds", Help: "Hot.",
		NativeHistogramBucketFactor: 1.1}, []string{"a"})
	c.WithLabelValues("x", "y").Inc()
	for _, v := range []float64{0.5, -0.5, 0} {
		n.WithLabelValues("x").Observe(v) // the buckets exist: the lock-free path
	}
	h.WithLabelValues("x").Observe(1)
	g.WithLabelValues("x").Set(1)
	held := c.WithLabelValues("x", "y")
	for name, f := range map[string]func(){
		"CounterVec.WithLabelValues.Inc": func() { c.WithLabelValues("x", "y").Inc() },
		"HistogramVec.WithLabelValues":   func() { h.WithLabelValues("x").Observe(0.5) },
		"GaugeVec.WithLabelValues.Set":   func() { g.WithLabelValues("x").Set(2) },
		"held Counter.Add":               func() { held.Add(2) },
		"native Observe":                 func() { n.WithLabelValues("x").Observe(0.5) },
		"native Observe, negative, zero": func() { n.WithLabelValues("x").Observe(-0.5); n.WithLabelValues("x").Observe(0) },
	} {
		if n := testing.AllocsPerRun(200, f); n != 0 {
			t.Errorf("%s: %v allocations per call", name, n)
		}
	}
}
