package footmetrics_test

import (
	"bytes"
	"reflect"
	"runtime"
	"strings"
	"testing"

	fm "github.com/footanalytics/footmetrics/bindings-c/go"
	"github.com/footanalytics/footmetrics/bindings-c/go/promauto"
	"github.com/footanalytics/footmetrics/bindings-c/go/promhttp"
	"github.com/prometheus/client_golang/prometheus"
)

// What users update, the registries and the handlers are footmetrics' own types over the
// core, never client_golang's implementation under our name: client_golang's conformance
// figure (make conformance-go) measures this package, not client_golang. Types re-used from
// client_golang for plain data (descriptors, const metrics, option structs) are not listed.
func TestUpdatedMetricsRegistriesAndHandlersAreFootmetrics(t *testing.T) {
	reg := fm.NewRegistry()
	auto := promauto.With(reg)
	objectives := map[float64]float64{0.5: 0.05, 0.99: 0.001}
	values := map[string]any{
		"NewCounter":              fm.NewCounter(fm.CounterOpts{Name: "a_total", Help: "A."}),
		"NewCounterVec":           fm.NewCounterVec(fm.CounterOpts{Name: "b_total", Help: "B."}, []string{"l"}),
		"CounterVec child":        fm.NewCounterVec(fm.CounterOpts{Name: "c_total", Help: "C."}, []string{"l"}).WithLabelValues("x"),
		"NewGauge":                fm.NewGauge(fm.GaugeOpts{Name: "d", Help: "D."}),
		"NewGaugeVec":             fm.NewGaugeVec(fm.GaugeOpts{Name: "e", Help: "E."}, []string{"l"}),
		"NewHistogram":            fm.NewHistogram(fm.HistogramOpts{Name: "f", Help: "F."}),
		"NewHistogramVec":         fm.NewHistogramVec(fm.HistogramOpts{Name: "g", Help: "G."}, []string{"l"}),
		"NewSummary":              fm.NewSummary(fm.SummaryOpts{Name: "h", Help: "H."}),
		"NewSummary (objectives)": fm.NewSummary(fm.SummaryOpts{Name: "i", Help: "I.", Objectives: objectives}),
		"NewSummaryVec":           fm.NewSummaryVec(fm.SummaryOpts{Name: "j", Help: "J.", Objectives: objectives}, []string{"l"}),
		"NewCounterFunc":          fm.NewCounterFunc(fm.CounterOpts{Name: "k_total", Help: "K."}, func() float64 { return 1 }),
		"NewGaugeFunc":            fm.NewGaugeFunc(fm.GaugeOpts{Name: "m", Help: "M."}, func() float64 { return 1 }),
		"NewUntypedFunc":          fm.NewUntypedFunc(fm.UntypedOpts{Name: "n", Help: "N."}, func() float64 { return 1 }),
		"promauto NewCounterVec":  auto.NewCounterVec(fm.CounterOpts{Name: "o_total", Help: "O."}, []string{"l"}),
		"promauto NewHistogram":   auto.NewHistogram(fm.HistogramOpts{Name: "p", Help: "P."}),
		"promauto NewGaugeFunc":   auto.NewGaugeFunc(fm.GaugeOpts{Name: "q", Help: "Q."}, func() float64 { return 1 }),
		"NewRegistry":             reg,
		"NewPedanticRegistry":     fm.NewPedanticRegistry(),
		"DefaultRegisterer":       fm.DefaultRegisterer,
		"DefaultGatherer":         fm.DefaultGatherer,
		"promhttp.HandlerFor":     promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		"promhttp.Handler":        promhttp.Handler(),
	}
	for name, v := range values {
		if fn := reflect.ValueOf(v); fn.Kind() == reflect.Func {
			// A handler function: the package of the code it runs.
			if f := runtime.FuncForPC(fn.Pointer()); f == nil || !strings.HasPrefix(f.Name(), "github.com/footanalytics/footmetrics/") {
				t.Errorf("%s runs %v, not footmetrics code", name, f.Name())
			}
			continue
		}
		ty := reflect.TypeOf(v)
		for ty.Kind() == reflect.Pointer {
			ty = ty.Elem()
		}
		if !strings.HasPrefix(ty.PkgPath(), "github.com/footanalytics/footmetrics/") {
			t.Errorf("%s is %s.%s, not a footmetrics type", name, ty.PkgPath(), ty.Name())
		}
	}
}

// A value recorded through the client_golang-shaped API is in the core's cells: the core's
// own renderer (no Go collection involved) shows it.
func TestRecordedValuesLiveInTheCore(t *testing.T) {
	reg := fm.NewRegistry()
	c := fm.NewCounterVec(fm.CounterOpts{Name: "core_total", Help: "Core."}, []string{"l"})
	reg.MustRegister(c)
	c.WithLabelValues("x").Add(41)
	c.WithLabelValues("x").Inc()
	var b bytes.Buffer
	if err := reg.WriteTo(&b, fm.FormatText); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `core_total{l="x"} 42`) {
		t.Errorf("core rendering:\n%s", b.String())
	}
	// And client_golang's registry sees the same cells through the Collector interface.
	cg := prometheus.NewRegistry()
	cg.MustRegister(c)
	mfs, err := cg.Gather()
	if err != nil || mfs[0].GetMetric()[0].GetCounter().GetValue() != 42 {
		t.Errorf("client_golang gathered %v, %v", mfs, err)
	}
}
