package footmetrics_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	fm "github.com/footanalytics/footmetrics/bindings-c/go"
	cg "github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Summaries with Objectives, differentially against client_golang's own summary: the same
// observations in the same order must give bit-identical quantiles, counts and sums.

var pondObjectives = map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001}

// sameFloat is equality that also holds for two NaNs.
func sameFloat(a, b float64) bool {
	return a == b || (math.IsNaN(a) && math.IsNaN(b))
}

func summaryString(s *dto.Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "count=%d sum=%v", s.GetSampleCount(), s.GetSampleSum())
	for _, q := range s.GetQuantile() {
		fmt.Fprintf(&b, " q%v=%v", q.GetQuantile(), q.GetValue())
	}
	return b.String()
}

func sameSummary(ours, theirs *dto.Summary) bool {
	if ours.GetSampleCount() != theirs.GetSampleCount() || !sameFloat(ours.GetSampleSum(), theirs.GetSampleSum()) ||
		len(ours.GetQuantile()) != len(theirs.GetQuantile()) {
		return false
	}
	for i, q := range ours.GetQuantile() {
		t := theirs.GetQuantile()[i]
		if q.GetQuantile() != t.GetQuantile() || !sameFloat(q.GetValue(), t.GetValue()) {
			return false
		}
	}
	return true
}

func writeSummary(t *testing.T, m interface{ Write(*dto.Metric) error }) *dto.Summary {
	t.Helper()
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.GetSummary()
}

// compareStream observes values into a footmetrics and a client_golang summary with the same
// options, comparing Write after every checkAt observations and at the end.
func compareStream(t *testing.T, name string, opts fm.SummaryOpts, values []float64, checkAt int) {
	t.Helper()
	opts.Name, opts.Help = "s", "h"
	ours := fm.NewSummary(opts)
	theirs := cg.NewSummary(cg.SummaryOpts(opts))
	for i, v := range values {
		ours.Observe(v)
		theirs.Observe(v)
		if checkAt > 0 && (i+1)%checkAt == 0 {
			o, th := writeSummary(t, ours), writeSummary(t, theirs)
			if !sameSummary(o, th) {
				t.Fatalf("%s after %d: ours %s, client_golang %s", name, i+1, summaryString(o), summaryString(th))
			}
		}
	}
	o, th := writeSummary(t, ours), writeSummary(t, theirs)
	if !sameSummary(o, th) {
		t.Fatalf("%s: ours %s, client_golang %s", name, summaryString(o), summaryString(th))
	}
	if len(o.GetQuantile()) != len(opts.Objectives) {
		t.Fatalf("%s: %d quantiles for %d objectives", name, len(o.GetQuantile()), len(opts.Objectives))
	}
}

func pondTemperature(i int) float64 { return 30 + math.Floor(120*math.Sin(float64(i)*0.1))/10 }
func bullfrogTemperature(i int) float64 {
	return 32 + math.Floor(100*math.Cos(float64(i)*0.11))/10
}

func TestSummaryObjectivesPondExample(t *testing.T) {
	values := make([]float64, 1000)
	for i := range values {
		values[i] = pondTemperature(i)
	}
	compareStream(t, "pond", fm.SummaryOpts{Objectives: pondObjectives}, values, 0)
	// And the values client_golang's ExampleSummary and ExampleSummaryVec document.
	for _, c := range []struct {
		temperature func(int) float64
		want        string
	}{
		{pondTemperature, "count=1000 sum=29969.50000000001 q0.5=31.1 q0.9=41.3 q0.99=41.9"},
		{bullfrogTemperature, "count=1000 sum=31956.100000000017 q0.5=32.4 q0.9=41.4 q0.99=41.9"},
	} {
		s := fm.NewSummary(fm.SummaryOpts{Name: "pond", Help: "h", Objectives: pondObjectives})
		for i := range 1000 {
			s.Observe(c.temperature(i))
		}
		if got := summaryString(writeSummary(t, s)); got != c.want {
			t.Errorf("got %s, want %s", got, c.want)
		}
	}
}

// The vector example: two streams interleaved, and one child with no observations, compared
// through both registries' Gather (ours parses the core's text rendering).
func TestSummaryObjectivesVecExampleThroughGather(t *testing.T) {
	opts := fm.SummaryOpts{Name: "pond_temperature_celsius", Help: "The temperature.", Objectives: pondObjectives}
	ours := fm.NewSummaryVec(opts, []string{"species"})
	theirs := cg.NewSummaryVec(cg.SummaryOpts(opts), []string{"species"})
	for i := range 1000 {
		ours.WithLabelValues("tree-frog").Observe(pondTemperature(i))
		ours.WithLabelValues("bullfrog").Observe(bullfrogTemperature(i))
		theirs.WithLabelValues("tree-frog").Observe(pondTemperature(i))
		theirs.WithLabelValues("bullfrog").Observe(bullfrogTemperature(i))
	}
	ours.WithLabelValues("silent")
	theirs.WithLabelValues("silent")

	ourReg, theirReg := fm.NewRegistry(), cg.NewRegistry()
	ourReg.MustRegister(ours)
	theirReg.MustRegister(theirs)
	ourMFs, err := ourReg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	theirMFs, err := theirReg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byLabel := func(mfs []*dto.MetricFamily) map[string]*dto.Summary {
		out := map[string]*dto.Summary{}
		for _, mf := range mfs {
			if mf.GetName() != "pond_temperature_celsius" {
				continue
			}
			for _, m := range mf.GetMetric() {
				out[m.GetLabel()[0].GetValue()] = m.GetSummary()
			}
		}
		return out
	}
	o, th := byLabel(ourMFs), byLabel(theirMFs)
	if len(o) != 3 || len(th) != 3 {
		t.Fatalf("series: ours %d, client_golang %d", len(o), len(th))
	}
	for k, s := range th {
		if !sameSummary(o[k], s) {
			t.Errorf("%s: ours %s, client_golang %s", k, summaryString(o[k]), summaryString(s))
		}
	}
	for _, q := range o["silent"].GetQuantile() {
		if !math.IsNaN(q.GetValue()) {
			t.Errorf("empty summary: quantile %v = %v, want NaN", q.GetQuantile(), q.GetValue())
		}
	}
}

// client_golang's textfile example: 10 and 20 give 10, 20, 20; the core's text rendering
// carries the quantile lines before count and sum.
func TestSummaryObjectivesText(t *testing.T) {
	r := fm.NewRegistry()
	s := fm.NewSummaryVec(fm.SummaryOpts{Name: "test_summary", Help: "h", Objectives: pondObjectives}, []string{"name"})
	r.MustRegister(s)
	s.WithLabelValues("foo").Observe(10)
	s.WithLabelValues("foo").Observe(20)
	text := render(t, r, fm.FormatText)
	want := `test_summary{name="foo",quantile="0.5"} 10
test_summary{name="foo",quantile="0.9"} 20
test_summary{name="foo",quantile="0.99"} 20
`
	if !strings.Contains(text, want) {
		t.Fatalf("text:\n%s", text)
	}
	if !strings.Contains(text, "test_summary_count{name=\"foo\"} 2\n") || !strings.Contains(text, "test_summary_sum{name=\"foo\"} 30\n") {
		t.Fatalf("count and sum:\n%s", text)
	}
}

func TestSummaryObjectivesRandomStreams(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() float64{
		"uniform":     func() float64 { return rng.Float64() * 100 },
		"exponential": rng.ExpFloat64,
		"normal":      func() float64 { return rng.NormFloat64()*3 - 1 },
		"integers":    func() float64 { return float64(rng.IntN(20)) },
		"ascending":   nil, // filled below
	}
	counter := 0.0
	dists["ascending"] = func() float64 { counter++; return counter }
	objectiveSets := []map[float64]float64{
		pondObjectives,
		{0.25: 0.02, 0.75: 0.02},
		{0.5: 0, 0.999: 0.0001},
		{0.01: 0.001, 0.1: 0.01, 0.5: 0.05, 0.9: 0.01, 0.95: 0.005},
	}
	sizes := []int{1, 2, 3, 499, 500, 501, 2500, 20000}
	bufCaps := []uint32{0, 7, 1200}
	if testing.Short() {
		sizes = []int{1, 3, 500, 501, 2500}
	}
	for name, next := range dists {
		for oi, objectives := range objectiveSets {
			for _, n := range sizes {
				for _, bc := range bufCaps {
					values := make([]float64, n)
					for i := range values {
						values[i] = next()
					}
					label := fmt.Sprintf("%s/objectives%d/n=%d/bufcap=%d", name, oi, n, bc)
					checkAt := 0
					if n >= 2500 {
						checkAt = 977 // reads in the middle flush the buffers early
					}
					compareStream(t, label, fm.SummaryOpts{Objectives: objectives, BufCap: bc}, values, checkAt)
				}
			}
		}
	}
}

func TestSummaryObjectivesWindowExpiry(t *testing.T) {
	// 300 ms in 3 streams: a stream retires every 100 ms.
	opts := fm.SummaryOpts{Name: "w", Help: "h", Objectives: map[float64]float64{0.5: 0.05}, MaxAge: 300 * time.Millisecond, AgeBuckets: 3}
	s := fm.NewSummary(opts)
	c := cg.NewSummary(cg.SummaryOpts(opts))
	for _, v := range []float64{1, 2, 3} {
		s.Observe(v)
		c.Observe(v)
	}
	if got := writeSummary(t, s).GetQuantile()[0].GetValue(); got != 2 {
		t.Fatalf("median %v, want 2", got)
	}
	time.Sleep(450 * time.Millisecond)
	got, theirs := writeSummary(t, s), writeSummary(t, c)
	if !math.IsNaN(got.GetQuantile()[0].GetValue()) || !math.IsNaN(theirs.GetQuantile()[0].GetValue()) {
		t.Fatalf("after the window: ours %s, client_golang %s", summaryString(got), summaryString(theirs))
	}
	if got.GetSampleCount() != 3 || got.GetSampleSum() != 6 {
		t.Fatalf("count and sum are for all time: %s", summaryString(got))
	}
	s.Observe(10)
	if got := writeSummary(t, s).GetQuantile()[0].GetValue(); got != 10 {
		t.Fatalf("a new observation after expiry: median %v, want 10", got)
	}
}

func TestSummaryObjectivesConcurrent(t *testing.T) {
	s := fm.NewSummaryVec(fm.SummaryOpts{Name: "c", Help: "h", Objectives: pondObjectives, BufCap: 64}, []string{"g"})
	r := fm.NewRegistry()
	r.MustRegister(s)
	const workers, per = 8, 5000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := s.WithLabelValues(fmt.Sprint(w % 2))
			for i := range per {
				o.Observe(float64(i % 100))
			}
		}()
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = render(t, r, fm.FormatText)
			for _, g := range []string{"0", "1"} {
				_ = writeSummary(t, s.WithLabelValues(g).(fm.Summary))
			}
		}
	}()
	wg.Wait()
	close(stop)
	readers.Wait()
	for _, g := range []string{"0", "1"} {
		got := writeSummary(t, s.WithLabelValues(g).(fm.Summary))
		if got.GetSampleCount() != workers/2*per {
			t.Fatalf("%s: %s", g, summaryString(got))
		}
		for _, q := range got.GetQuantile() {
			want := q.GetQuantile() * 100
			if math.Abs(q.GetValue()-want) > 0.05*100+1 {
				t.Errorf("%s: quantile %v = %v, want about %v", g, q.GetQuantile(), q.GetValue(), want)
			}
		}
	}
}

func TestSummaryObjectivesValidation(t *testing.T) {
	for _, objectives := range []map[float64]float64{
		{0: 0.01}, {1: 0.01}, {-0.5: 0.01}, {math.NaN(): 0.01}, {0.5: -0.01}, {0.5: 1}, {0.5: math.Inf(1)},
	} {
		_, err := fm.NewSummaryVecE(fm.SummaryOpts{Name: "s", Help: "h", Objectives: objectives}, nil)
		if !errors.Is(err, &fm.Error{Code: fm.CodeInvalidOption}) || !strings.Contains(err.Error(), "objective") {
			t.Errorf("%v: %v", objectives, err)
		}
		mustPanic(t, fmt.Sprint("NewSummary with ", objectives), func() {
			fm.NewSummary(fm.SummaryOpts{Name: "s", Help: "h", Objectives: objectives})
		})
	}
	_, err := fm.NewSummaryVecE(fm.SummaryOpts{Name: "s", Help: "h", MaxAge: -time.Second}, nil)
	if !errors.Is(err, &fm.Error{Code: fm.CodeInvalidOption}) || !strings.Contains(err.Error(), "illegal max age MaxAge=-1s") {
		t.Errorf("negative MaxAge: %v", err)
	}
	mustPanic(t, "NewSummary with a negative MaxAge", func() {
		fm.NewSummary(fm.SummaryOpts{Name: "s", Help: "h", Objectives: pondObjectives, MaxAge: -time.Second})
	})
	// Without objectives, no quantiles (client_golang's default since v1.0).
	s := fm.NewSummary(fm.SummaryOpts{Name: "s", Help: "h"})
	s.Observe(1)
	if got := writeSummary(t, s); len(got.GetQuantile()) != 0 || got.GetSampleCount() != 1 {
		t.Fatalf("no objectives: %s", summaryString(got))
	}
}

// BenchmarkSummaryObjectives: Observe through a held summary child with objectives (the
// merge into the streams amortised over BufCap observations), against client_golang.
func BenchmarkSummaryObjectives(b *testing.B) {
	values := make([]float64, 1024)
	for i := range values {
		values[i] = pondTemperature(i)
	}
	opts := fm.SummaryOpts{Name: "x_seconds", Help: "x", Objectives: pondObjectives}
	b.Run("client_golang", func(b *testing.B) {
		s := cg.NewSummary(cg.SummaryOpts(opts))
		i := 0
		for b.Loop() {
			s.Observe(values[i&1023])
			i++
		}
	})
	b.Run("footmetrics", func(b *testing.B) {
		s := fm.NewSummary(opts)
		i := 0
		for b.Loop() {
			s.Observe(values[i&1023])
			i++
		}
	})
}

func BenchmarkSummaryObjectivesParallel(b *testing.B) {
	opts := fm.SummaryOpts{Name: "x_seconds", Help: "x", Objectives: pondObjectives}
	b.Run("client_golang", func(b *testing.B) {
		s := cg.NewSummary(cg.SummaryOpts(opts))
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				s.Observe(pondTemperature(i))
				i++
			}
		})
	})
	b.Run("footmetrics", func(b *testing.B) {
		s := fm.NewSummary(opts)
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				s.Observe(pondTemperature(i))
				i++
			}
		})
	})
}
