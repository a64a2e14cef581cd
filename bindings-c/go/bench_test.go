package footmetrics_test

// Each operation against client_golang in the same run. `make bench-go` builds the test
// binary once and runs it in 5 rounds with -count 1, so each round measures both sides of
// every operation one right after the other; odd rounds measure footmetrics first (see
// sides), so neither side always gets the warmer or the quieter machine. bench/ratios.py
// pairs the rounds and prints the median of the per-round ratios.

import (
	"bytes"
	"os"
	"strconv"
	"testing"

	fm "github.com/footanalytics/footmetrics/bindings-c/go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

var labelNames = []string{"method", "route", "code"}

func BenchmarkHeldInc(b *testing.B) {
	sides(b, func(b *testing.B) {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_total", Help: "x"}, labelNames).WithLabelValues("GET", "/matches/{id}", "200")
		for b.Loop() {
			c.Inc()
		}
	}, func(b *testing.B) {
		c := fm.NewCounterVec(fm.CounterOpts{Name: "x_total", Help: "x"}, labelNames).WithLabelValues("GET", "/matches/{id}", "200")
		for b.Loop() {
			c.Inc()
		}
	})
}

func BenchmarkWithLabelValuesInc(b *testing.B) {
	sides(b, func(b *testing.B) {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_total", Help: "x"}, labelNames)
		for b.Loop() {
			v.WithLabelValues("GET", "/matches/{id}", "200").Inc()
		}
	}, func(b *testing.B) {
		v := fm.NewCounterVec(fm.CounterOpts{Name: "x_total", Help: "x"}, labelNames)
		for b.Loop() {
			v.WithLabelValues("GET", "/matches/{id}", "200").Inc()
		}
	})
}

var observations = func() []float64 {
	out := make([]float64, 1024)
	for i := range out {
		out[i] = float64(i%200) / 100 // 0 .. 2 s, across the default buckets
	}
	return out
}()

func BenchmarkHeldObserve(b *testing.B) {
	sides(b, func(b *testing.B) {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "x_seconds", Help: "x"}, labelNames).WithLabelValues("GET", "/matches/{id}", "200")
		i := 0
		for b.Loop() {
			h.Observe(observations[i&1023])
			i++
		}
	}, func(b *testing.B) {
		h := fm.NewHistogramVec(fm.HistogramOpts{Name: "x_seconds", Help: "x"}, labelNames).WithLabelValues("GET", "/matches/{id}", "200")
		i := 0
		for b.Loop() {
			h.Observe(observations[i&1023])
			i++
		}
	})
}

const renderSeries = 10000

// Rendering 10k counter series in the text format, as a /metrics handler does.
func BenchmarkRender10k(b *testing.B) {
	sides(b, func(b *testing.B) {
		reg := prometheus.NewRegistry()
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_total", Help: "x"}, labelNames)
		reg.MustRegister(v)
		for i := 0; i < renderSeries; i++ {
			v.WithLabelValues("GET", "/r/"+strconv.Itoa(i), "200").Add(float64(i))
		}
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			mfs, _ := reg.Gather()
			enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
			for _, mf := range mfs {
				_ = enc.Encode(mf)
			}
		}
	}, func(b *testing.B) {
		reg := fm.NewRegistry()
		v := fm.NewCounterVec(fm.CounterOpts{Name: "x_total", Help: "x"}, labelNames)
		reg.MustRegister(v)
		for i := 0; i < renderSeries; i++ {
			v.WithLabelValues("GET", "/r/"+strconv.Itoa(i), "200").Add(float64(i))
		}
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			_ = reg.WriteTo(&buf, fm.FormatText)
		}
	})
}

// sides runs the client_golang and the footmetrics version of one operation as the
// sub-benchmarks client_golang and footmetrics, footmetrics first when
// FOOTMETRICS_BENCH_FIRST=footmetrics.
func sides(b *testing.B, theirs, ours func(*testing.B)) {
	if os.Getenv("FOOTMETRICS_BENCH_FIRST") == "footmetrics" {
		b.Run("footmetrics", ours)
		b.Run("client_golang", theirs)
		return
	}
	b.Run("client_golang", theirs)
	b.Run("footmetrics", ours)
}
