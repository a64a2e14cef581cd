package footmetrics_test

import (
	"math"
	"math/big"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"

	fm "github.com/footanalytics/footmetrics/bindings-c/go"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// The cases: large whole amounts do not wrap the integer word around. (client_golang
// v1.24 adds whole amounts to a uint64 and reads 1.55e18 for the first; see the README.)
func TestCounterDoesNotWrapAround(t *testing.T) {
	c := fm.NewCounter(fm.CounterOpts{Name: "wrap_a_total", Help: "W."})
	c.Add(1e19)
	c.Add(1e19)
	if v := counterValue(t, c); v != 2e19 {
		t.Errorf("Add(1e19) twice = %v, want 2e19", v)
	}

	c = fm.NewCounter(fm.CounterOpts{Name: "wrap_b_total", Help: "W."})
	c.Add(math.Ldexp(1, 64))
	c.Inc()
	if v := counterValue(t, c); v != 1.8446744073709552e19 {
		t.Errorf("Add(2^64) then Inc = %v", v)
	}

	c = fm.NewCounter(fm.CounterOpts{Name: "wrap_c_total", Help: "W."})
	c.Add(math.Ldexp(1, 53))
	c.Inc()
	c.Add(1)
	if v := counterValue(t, c); v != math.Ldexp(1, 53)+2 {
		t.Errorf("2^53 + 2 read as %v: whole amounts below 2^53 are exact", v)
	}

	// Rendered as client_golang renders the float: Go's %g.
	r := fm.NewRegistry()
	cv := fm.NewCounterVec(fm.CounterOpts{Name: "big_total", Help: "B."}, []string{"k"})
	r.MustRegister(cv)
	cv.WithLabelValues("a").Add(1e19)
	cv.WithLabelValues("a").Add(1e19)
	mustContain(t, render(t, r, fm.FormatText), `big_total{k="a"} 2e+19`)
}

// Once the integer word reads its limit (2^62), whole amounts go to the float word: the word
// stops growing, so it cannot wrap.
func TestCounterFullIntegerWordSendsAmountsToTheFloatWord(t *testing.T) {
	c := fm.NewCounter(fm.CounterOpts{Name: "full_total", Help: "F."})
	word := fm.CounterIntWordForTest(c)
	atomic.StoreUint64(word, fm.CounterWordLimitForTest)
	start := counterValue(t, c)
	for i := 0; i < 1000; i++ {
		c.Add(1 << 31)
		c.Add(3)
	}
	if w := atomic.LoadUint64(word); w != fm.CounterWordLimitForTest {
		t.Errorf("the integer word grew past its limit: %d", w)
	}
	if got, want := counterValue(t, c), start+1000*(1<<31+3); got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

// Random sequences of adds around 2^53, 2^63 and 2^64: every reading is at least the one
// before and equals the exact sum (exactly while whole amounts stay below 2^53, else within
// float rounding).
func TestCounterAddsAroundTheEdgesReadAsTheSum(t *testing.T) {
	const scale = 1024 // amounts are multiples of 1/1024
	edges := []float64{math.Ldexp(1, 32), math.Ldexp(1, 53), math.Ldexp(1, 62), math.Ldexp(1, 63), math.Ldexp(1, 64)}
	rng := rand.New(rand.NewSource(53))
	amount := func() float64 {
		switch rng.Intn(6) {
		case 0:
			return 1
		case 1:
			return float64(rng.Intn(10000))
		case 2:
			// Whole numbers near an edge (rounded to the nearest float above 2^53).
			return math.Max(0, edges[rng.Intn(len(edges))]+float64(rng.Intn(8193)-4096))
		case 3:
			return math.Trunc(rng.Float64() * 4 * math.Ldexp(1, 64))
		case 4:
			return float64(rng.Intn(1000000)) / scale
		default:
			return float64(rng.Intn(4096))
		}
	}
	for run := 0; run < 300; run++ {
		c := fm.NewCounter(fm.CounterOpts{Name: "edge_total", Help: "E."})
		exact := new(big.Float).SetPrec(256)
		allWhole := true
		prev := 0.0
		n := 1 + rng.Intn(40)
		for i := 0; i < n; i++ {
			v := amount()
			if v == 1 && rng.Intn(2) == 0 {
				c.Inc()
			} else {
				c.Add(v)
			}
			exact.Add(exact, new(big.Float).SetFloat64(v))
			allWhole = allWhole && v == math.Trunc(v)
			got := counterValue(t, c)
			if got < prev {
				t.Fatalf("run %d: went down after adding %v: %v -> %v", run, v, prev, got)
			}
			prev = got
			want, _ := exact.Float64()
			if allWhole && want < math.Ldexp(1, 53) {
				if got != want {
					t.Fatalf("run %d: whole amounts below 2^53 read %v, want exactly %v", run, got, want)
				}
			} else if math.Abs(got-want) > want*float64(i+5)*0x1p-52 {
				t.Fatalf("run %d: after %d adds read %v, exact sum %v", run, i+1, got, want)
			}
		}
	}
}

// Goroutines add amounts of every size while others read: no reading is below the one before
// it (run under -race by make test-go).
func TestCounterConcurrentReadingsNeverGoDown(t *testing.T) {
	c := fm.NewCounter(fm.CounterOpts{Name: "conc_total", Help: "C."})
	const writers, per = 4, 20000
	var stop atomic.Bool
	var readers sync.WaitGroup
	var fails atomic.Int64
	for r := 0; r < 2; r++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			prev := 0.0
			for !stop.Load() {
				var m dto.Metric
				_ = c.Write(&m)
				v := m.GetCounter().GetValue()
				if v < prev {
					fails.Add(1)
				}
				prev = v
			}
		}()
	}
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				switch (i + w) % 5 {
				case 0:
					c.Inc()
				case 1:
					c.Add(float64(1<<31 + i))
				case 2:
					c.Add(0.25)
				case 3:
					c.Add(math.Ldexp(1, 53) + 2)
				default:
					c.Add(math.Ldexp(1, 64))
				}
			}
		}(w)
	}
	wg.Wait()
	stop.Store(true)
	readers.Wait()
	if n := fails.Load(); n > 0 {
		t.Errorf("%d readings went down", n)
	}
	each := float64(writers * per / 5)
	want := each * (1 + 1<<31 + 0.25 + math.Ldexp(1, 53) + 2 + math.Ldexp(1, 64))
	if got := counterValue(t, c); math.Abs(got-want) > want*1e-9 {
		t.Errorf("total %v, want about %v", got, want)
	}
}
