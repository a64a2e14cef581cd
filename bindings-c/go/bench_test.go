package footmetrics_test

// Each operation against client_golang in the same run. `make bench-go` builds the test
// binary once and runs it in 5 rounds with -count 1, so each round measures both sides of
// every operation one right after the other; odd rounds measure footmetrics first (see
// sides), so neither side always gets the warmer or the quieter machine. bench/ratios.py
// pairs the rounds and prints the median of the per-round ratios.

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

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

// nativeObservations: 1024 latencies spread log-uniformly over 1 ms .. 10 s, about 100
// buckets at schema 3, so both sides meet their buckets already populated after the
// first pass (the steady state of a long-running process).
var nativeObservations = func() []float64 {
	out := make([]float64, 1024)
	for i := range out {
		out[i] = 1e-3 * math.Pow(1e4, float64((i*389)%1024)/1024)
	}
	return out
}()

var nativeOpts = prometheus.HistogramOpts{Name: "x_seconds", Help: "x", NativeHistogramBucketFactor: 1.1,
	NativeHistogramMaxBucketNumber: 160, NativeHistogramMinResetDuration: time.Hour}

// Observe on a held native histogram child: client_golang's atomics and sync.Map against
// the core's lock-free native protocol followed from Go with sync/atomic (no cgo call).
func BenchmarkNativeObserve(b *testing.B) {
	observe := func(b *testing.B, h prometheus.Observer) {
		i := 0
		for b.Loop() {
			h.Observe(nativeObservations[i&1023])
			i++
		}
	}
	sides(b, func(b *testing.B) {
		observe(b, prometheus.NewHistogramVec(nativeOpts, labelNames).WithLabelValues("GET", "/matches/{id}", "200"))
	}, func(b *testing.B) {
		observe(b, fm.NewHistogramVec(nativeOpts, labelNames).WithLabelValues("GET", "/matches/{id}", "200"))
	})
}

// The same from 4 goroutines per core on one series.
func BenchmarkNativeObserveParallel(b *testing.B) {
	observe := func(b *testing.B, h prometheus.Observer) {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				h.Observe(nativeObservations[i&1023])
				i++
			}
		})
	}
	sides(b, func(b *testing.B) {
		observe(b, prometheus.NewHistogramVec(nativeOpts, labelNames).WithLabelValues("GET", "/matches/{id}", "200"))
	}, func(b *testing.B) {
		observe(b, fm.NewHistogramVec(nativeOpts, labelNames).WithLabelValues("GET", "/matches/{id}", "200"))
	})
}

// memSeries series, each given one observation in each of 160 buckets (schema 3: 20 powers
// of two), for the memory benchmark.
const memSeries = 2000

// BenchmarkNativeMemory reports the memory of one native histogram series with 160
// populated buckets (B/series), each side measured in a fresh process (this test binary
// again, running TestNativeMemoryChild) so that neither sees the other's heap: the growth of
// the resident set over memSeries series (the core's memory is outside Go's heap), after a
// GC that returns freed memory to the OS.
func BenchmarkNativeMemory(b *testing.B) {
	measure := func(side string) func(*testing.B) {
		return func(b *testing.B) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestNativeMemoryChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), "FOOTMETRICS_MEMORY_SIDE="+side)
			out, err := cmd.CombinedOutput()
			if err != nil {
				b.Fatalf("%v\n%s", err, out)
			}
			var perSeries, goHeap float64
			if _, err := fmt.Sscanf(string(out), "rss_per_series=%g go_heap_per_series=%g", &perSeries, &goHeap); err != nil {
				b.Fatalf("%v: %q", err, out)
			}
			for b.Loop() {
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(perSeries, "B/series")
			b.ReportMetric(goHeap, "GoHeapB/series")
		}
	}
	sides(b, measure("client_golang"), measure("footmetrics"))
}

// TestNativeMemoryChild is BenchmarkNativeMemory's measuring process (it does nothing unless
// FOOTMETRICS_MEMORY_SIDE names a side).
func TestNativeMemoryChild(t *testing.T) {
	side := os.Getenv("FOOTMETRICS_MEMORY_SIDE")
	if side == "" {
		return
	}
	settle := func() (rss, heap uint64) {
		runtime.GC()
		debug.FreeOSMemory()
		statm, _ := os.ReadFile("/proc/self/statm")
		var size, resident uint64
		_, _ = fmt.Sscan(string(statm), &size, &resident)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return resident * uint64(os.Getpagesize()), ms.HeapAlloc
	}
	values := make([]float64, 160)
	for k := range values {
		values[k] = math.Exp2((float64(k) - 80 + 0.5) / 8) // the middle of bucket k-80
	}
	var vec interface {
		WithLabelValues(...string) prometheus.Observer
	}
	// Warm up both libraries (first series, lazily built tables) before the baseline.
	switch side {
	case "client_golang":
		v := prometheus.NewHistogramVec(nativeOpts, []string{"i"})
		v.WithLabelValues("warm").Observe(1)
		vec = v
	default:
		v := fm.NewHistogramVec(nativeOpts, []string{"i"})
		v.WithLabelValues("warm").Observe(1)
		vec = v
	}
	names := make([]string, memSeries)
	for i := range names {
		names[i] = strconv.Itoa(i)
	}
	rss0, heap0 := settle()
	for i := 0; i < memSeries; i++ {
		h := vec.WithLabelValues(names[i])
		for _, v := range values {
			h.Observe(v)
		}
	}
	rss1, heap1 := settle()
	runtime.KeepAlive(vec)
	fmt.Printf("rss_per_series=%g go_heap_per_series=%g\n",
		float64(int64(rss1-rss0))/memSeries, float64(int64(heap1-heap0))/memSeries)
}
