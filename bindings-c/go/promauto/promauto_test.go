package promauto_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	fm "github.com/footanalytics/footmetrics/bindings-c/go"
	"github.com/footanalytics/footmetrics/bindings-c/go/promauto"
	"github.com/prometheus/client_golang/prometheus"
	cgauto "github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func mustContain(t *testing.T, text string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(text, l+"\n") {
			t.Errorf("exposition lacks %q:\n%s", l, text)
		}
	}
}

func render(t *testing.T, r *fm.Registry) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteTo(&b, fm.FormatText); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// gathered lists the family names a Gatherer returns.
func gathered(t *testing.T, g prometheus.Gatherer) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// The package-level constructors register into footmetrics' default registry: the one its
// Handler serves and its DefaultGatherer gathers.
func TestPackageLevelConstructorsUseTheDefaultRegistry(t *testing.T) {
	c := promauto.NewCounter(fm.CounterOpts{Name: "pa_default_counter_total", Help: "C."})
	cv := promauto.NewCounterVec(fm.CounterOpts{Name: "pa_default_counter_vec_total", Help: "CV."}, []string{"code"})
	g := promauto.NewGauge(fm.GaugeOpts{Name: "pa_default_gauge", Help: "G."})
	gv := promauto.NewGaugeVec(fm.GaugeOpts{Name: "pa_default_gauge_vec", Help: "GV."}, []string{"queue"})
	h := promauto.NewHistogram(fm.HistogramOpts{Name: "pa_default_histogram", Help: "H.", Buckets: []float64{1, 2}})
	hv := promauto.NewHistogramVec(fm.HistogramOpts{Name: "pa_default_histogram_vec", Help: "HV.", Buckets: []float64{1}}, []string{"model"})
	s := promauto.NewSummary(fm.SummaryOpts{Name: "pa_default_summary", Help: "S."})
	sv := promauto.NewSummaryVec(fm.SummaryOpts{Name: "pa_default_summary_vec", Help: "SV."}, []string{"kind"})
	promauto.NewCounterFunc(fm.CounterOpts{Name: "pa_default_counter_func_total", Help: "CF."}, func() float64 { return 7 })
	promauto.NewGaugeFunc(fm.GaugeOpts{Name: "pa_default_gauge_func", Help: "GF."}, func() float64 { return 8 })
	promauto.NewUntypedFunc(fm.UntypedOpts{Name: "pa_default_untyped_func", Help: "UF."}, func() float64 { return 9 })

	c.Add(2)
	cv.WithLabelValues("200").Inc()
	g.Set(3)
	gv.WithLabelValues("ingest").Set(4)
	h.Observe(1.5)
	hv.WithLabelValues("yolo").Observe(0.5)
	s.Observe(2)
	sv.WithLabelValues("batch").Observe(3)

	rec := httptest.NewRecorder()
	fm.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	mustContain(t, rec.Body.String(),
		"pa_default_counter_total 2",
		`pa_default_counter_vec_total{code="200"} 1`,
		"pa_default_gauge 3",
		`pa_default_gauge_vec{queue="ingest"} 4`,
		`pa_default_histogram_bucket{le="2"} 1`,
		"pa_default_histogram_count 1",
		`pa_default_histogram_vec_sum{model="yolo"} 0.5`,
		"pa_default_summary_sum 2",
		`pa_default_summary_vec_count{kind="batch"} 1`,
		"pa_default_counter_func_total 7",
		"pa_default_gauge_func 8",
		"pa_default_untyped_func 9",
	)
	families := gathered(t, fm.DefaultGatherer)
	for _, name := range []string{"pa_default_counter_total", "pa_default_counter_vec_total", "pa_default_gauge",
		"pa_default_gauge_vec", "pa_default_histogram", "pa_default_histogram_vec", "pa_default_summary",
		"pa_default_summary_vec", "pa_default_counter_func_total", "pa_default_gauge_func", "pa_default_untyped_func"} {
		if families[name] == nil {
			t.Errorf("Gather lacks %s", name)
		}
	}
	// Nothing went to client_golang's default registry, which our handler never serves.
	theirs := gathered(t, prometheus.DefaultGatherer)
	for name := range theirs {
		if strings.HasPrefix(name, "pa_") {
			t.Errorf("%s landed in client_golang's default registry", name)
		}
	}
}

// With(reg) registers into that footmetrics registry only.
func TestWithRegistersIntoTheGivenRegistry(t *testing.T) {
	reg := fm.NewRegistry()
	auto := promauto.With(reg)
	auto.NewCounterVec(fm.CounterOpts{Name: "pa_with_requests_total", Help: "R."}, []string{"code"}).WithLabelValues("500").Add(4)
	auto.NewGauge(fm.GaugeOpts{Name: "pa_with_inflight", Help: "I."}).Inc()
	auto.NewHistogramVec(fm.HistogramOpts{Name: "pa_with_latency_seconds", Help: "L.", Buckets: []float64{0.1}}, []string{"route"}).
		WithLabelValues("/").Observe(0.05)
	auto.NewGaugeFunc(fm.GaugeOpts{Name: "pa_with_up", Help: "U."}, func() float64 { return 1 })

	mustContain(t, render(t, reg),
		`pa_with_requests_total{code="500"} 4`,
		"pa_with_inflight 1",
		`pa_with_latency_seconds_bucket{route="/",le="0.1"} 1`,
		"pa_with_up 1",
	)
	if n := len(gathered(t, reg)); n != 4 {
		t.Errorf("the registry gathers %d families, want 4", n)
	}
	for name := range gathered(t, fm.DefaultGatherer) {
		if strings.HasPrefix(name, "pa_with_") {
			t.Errorf("%s also landed in the default registry", name)
		}
	}
	// A client_golang Registerer works too, as any Registerer does.
	theirs := prometheus.NewRegistry()
	promauto.With(theirs).NewCounter(fm.CounterOpts{Name: "pa_with_foreign_total", Help: "F."}).Inc()
	if gathered(t, theirs)["pa_with_foreign_total"] == nil {
		t.Error("a footmetrics counter made With(client_golang registry) is not gathered there")
	}
}

// With(nil) creates metrics without registering them: each can still be registered later,
// in the default registry as well, so none was taken.
func TestWithNilRegistersNowhere(t *testing.T) {
	auto := promauto.With(nil)
	collectors := []fm.Collector{
		auto.NewCounter(fm.CounterOpts{Name: "pa_nil_total", Help: "C."}),
		auto.NewCounterVec(fm.CounterOpts{Name: "pa_nil_vec_total", Help: "CV."}, []string{"a"}),
		auto.NewGauge(fm.GaugeOpts{Name: "pa_nil_gauge", Help: "G."}),
		auto.NewGaugeVec(fm.GaugeOpts{Name: "pa_nil_gauge_vec", Help: "GV."}, []string{"a"}),
		auto.NewHistogram(fm.HistogramOpts{Name: "pa_nil_histogram", Help: "H."}),
		auto.NewHistogramVec(fm.HistogramOpts{Name: "pa_nil_histogram_vec", Help: "HV."}, []string{"a"}),
		auto.NewSummary(fm.SummaryOpts{Name: "pa_nil_summary", Help: "S."}),
		auto.NewSummaryVec(fm.SummaryOpts{Name: "pa_nil_summary_vec", Help: "SV."}, []string{"a"}),
		auto.NewCounterFunc(fm.CounterOpts{Name: "pa_nil_func_total", Help: "CF."}, func() float64 { return 1 }),
		auto.NewGaugeFunc(fm.GaugeOpts{Name: "pa_nil_gauge_func", Help: "GF."}, func() float64 { return 1 }),
		auto.NewUntypedFunc(fm.UntypedOpts{Name: "pa_nil_untyped_func", Help: "UF."}, func() float64 { return 1 }),
	}
	for name := range gathered(t, fm.DefaultGatherer) {
		if strings.HasPrefix(name, "pa_nil_") {
			t.Errorf("With(nil) registered %s in the default registry", name)
		}
	}
	for _, c := range collectors {
		if err := fm.Register(c); err != nil {
			t.Errorf("registering a With(nil) metric afterwards: %v", err)
		}
		if !fm.Unregister(c) {
			t.Error("unregistering it again")
		}
	}
}

// recovered runs f and returns what it panicked with.
func recovered(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

// A name already taken panics with an AlreadyRegisteredError naming the first collector, as
// client_golang's promauto does.
func TestDuplicatePanicsLikeClientGolang(t *testing.T) {
	opts := prometheus.CounterOpts{Name: "pa_dup_total", Help: "D."}

	theirReg := prometheus.NewRegistry()
	theirFirst := cgauto.With(theirReg).NewCounterVec(opts, []string{"a"})
	theirPanic := recovered(func() { cgauto.With(theirReg).NewCounterVec(opts, []string{"a"}) })

	ourReg := fm.NewRegistry()
	ourFirst := promauto.With(ourReg).NewCounterVec(opts, []string{"a"})
	ourPanic := recovered(func() { promauto.With(ourReg).NewCounterVec(opts, []string{"a"}) })

	for _, c := range []struct {
		who   string
		value any
		first prometheus.Collector
	}{{"client_golang", theirPanic, theirFirst}, {"footmetrics", ourPanic, ourFirst}} {
		err, ok := c.value.(error)
		var are prometheus.AlreadyRegisteredError
		if !ok || !errors.As(err, &are) || are.ExistingCollector != c.first {
			t.Errorf("%s: a duplicate panicked with %#v, want an AlreadyRegisteredError naming the first", c.who, c.value)
		}
	}
	if fmt.Sprintf("%T", theirPanic) != fmt.Sprintf("%T", ourPanic) {
		t.Errorf("panic values differ in type: client_golang %T, footmetrics %T", theirPanic, ourPanic)
	}

	// The default registry panics the same way.
	promauto.NewGauge(fm.GaugeOpts{Name: "pa_dup_default", Help: "D."})
	if v := recovered(func() { promauto.NewGauge(fm.GaugeOpts{Name: "pa_dup_default", Help: "D."}) }); v == nil {
		t.Error("a duplicate in the default registry did not panic")
	}
	// Bad options panic at registration, as client_golang's promauto: not without a
	// registerer, and with one.
	badOpts := fm.CounterOpts{Name: "pa_bad", Help: "B."}
	if v := recovered(func() { promauto.With(nil).NewCounterVec(badOpts, []string{"__bad"}) }); v != nil {
		t.Errorf("an invalid label name panicked without a registerer: %v", v)
	}
	if v := recovered(func() { promauto.With(fm.NewRegistry()).NewCounterVec(badOpts, []string{"__bad"}) }); v == nil {
		t.Error("an invalid label name did not panic at registration")
	}
}

// parse reads a text exposition into families with their series in a canonical order
// (label pairs sorted within a series, series sorted within a family), so two expositions
// of the same data compare equal whatever order each writer chose.
func parse(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for name, mf := range mfs {
		for _, m := range mf.Metric {
			sort.Slice(m.Label, func(i, j int) bool { return m.Label[i].GetName() < m.Label[j].GetName() })
		}
		sort.Slice(mf.Metric, func(i, j int) bool { return mf.Metric[i].String() < mf.Metric[j].String() })
		var b bytes.Buffer
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
		out[name] = b.String()
	}
	return out
}

// The vector methods the differential test uses, common to both libraries' vectors.
type (
	counterVec interface {
		WithLabelValues(...string) prometheus.Counter
	}
	gaugeVec interface {
		With(prometheus.Labels) prometheus.Gauge
	}
	observerVec interface {
		WithLabelValues(...string) prometheus.Observer
	}
	makeRecorder struct {
		newCounter      func(prometheus.CounterOpts) prometheus.Counter
		newCounterVec   func(prometheus.CounterOpts, []string) counterVec
		newGauge        func(prometheus.GaugeOpts) prometheus.Gauge
		newGaugeVec     func(prometheus.GaugeOpts, []string) gaugeVec
		newHistogram    func(prometheus.HistogramOpts) prometheus.Histogram
		newHistogramVec func(prometheus.HistogramOpts, []string) observerVec
		newSummary      func(prometheus.SummaryOpts) prometheus.Summary
		newSummaryVec   func(prometheus.SummaryOpts, []string) observerVec
		newCounterFunc  func(prometheus.CounterOpts, func() float64) prometheus.CounterFunc
		newGaugeFunc    func(prometheus.GaugeOpts, func() float64) prometheus.GaugeFunc
		newUntypedFunc  func(prometheus.UntypedOpts, func() float64) prometheus.UntypedFunc
	}
)

// The same metrics, made and recorded through client_golang's promauto and through ours,
// expose the same families, series and values.
func TestSameExpositionAsClientGolangsPromauto(t *testing.T) {
	theirReg := prometheus.NewRegistry()
	theirs := cgauto.With(theirReg)
	ourReg := fm.NewRegistry()
	ours := promauto.With(ourReg)
	recorders := []makeRecorder{
		{
			newCounter:      theirs.NewCounter,
			newCounterVec:   func(o prometheus.CounterOpts, l []string) counterVec { return theirs.NewCounterVec(o, l) },
			newGauge:        theirs.NewGauge,
			newGaugeVec:     func(o prometheus.GaugeOpts, l []string) gaugeVec { return theirs.NewGaugeVec(o, l) },
			newHistogram:    theirs.NewHistogram,
			newHistogramVec: func(o prometheus.HistogramOpts, l []string) observerVec { return theirs.NewHistogramVec(o, l) },
			newSummary:      theirs.NewSummary,
			newSummaryVec:   func(o prometheus.SummaryOpts, l []string) observerVec { return theirs.NewSummaryVec(o, l) },
			newCounterFunc:  theirs.NewCounterFunc,
			newGaugeFunc:    theirs.NewGaugeFunc,
			newUntypedFunc:  theirs.NewUntypedFunc,
		},
		{
			newCounter:      ours.NewCounter,
			newCounterVec:   func(o prometheus.CounterOpts, l []string) counterVec { return ours.NewCounterVec(o, l) },
			newGauge:        ours.NewGauge,
			newGaugeVec:     func(o prometheus.GaugeOpts, l []string) gaugeVec { return ours.NewGaugeVec(o, l) },
			newHistogram:    ours.NewHistogram,
			newHistogramVec: func(o prometheus.HistogramOpts, l []string) observerVec { return ours.NewHistogramVec(o, l) },
			newSummary:      ours.NewSummary,
			newSummaryVec:   func(o prometheus.SummaryOpts, l []string) observerVec { return ours.NewSummaryVec(o, l) },
			newCounterFunc:  ours.NewCounterFunc,
			newGaugeFunc:    ours.NewGaugeFunc,
			newUntypedFunc:  ours.NewUntypedFunc,
		},
	}
	for _, r := range recorders {
		r.newCounter(prometheus.CounterOpts{Namespace: "app", Name: "starts_total", Help: "Starts."}).Add(3)
		cv := r.newCounterVec(prometheus.CounterOpts{Name: "http_requests_total", Help: "Requests.",
			ConstLabels: prometheus.Labels{"service": "api"}}, []string{"method", "code"})
		cv.WithLabelValues("GET", "200").Add(41)
		cv.WithLabelValues("POST", "500").Inc()
		r.newGauge(prometheus.GaugeOpts{Subsystem: "queue", Name: "depth", Help: "Depth."}).Set(-2.5)
		gv := r.newGaugeVec(prometheus.GaugeOpts{Name: "gpu_memory_usage_bytes", Help: "GPU memory."}, []string{"gpu"})
		gv.With(prometheus.Labels{"gpu": "0"}).Set(1 << 33)
		gv.With(prometheus.Labels{"gpu": "1"}).Add(1e6)
		h := r.newHistogram(prometheus.HistogramOpts{Name: "latency_seconds", Help: "Latency."})
		for _, v := range []float64{0.003, 0.2, 0.2, 7, 42} {
			h.Observe(v)
		}
		hv := r.newHistogramVec(prometheus.HistogramOpts{Name: "inference_seconds", Help: "Inference.",
			Buckets: prometheus.LinearBuckets(0.5, 0.5, 4)}, []string{"model"})
		hv.WithLabelValues("yolo").Observe(0.7)
		hv.WithLabelValues("yolo").Observe(1.0)
		hv.WithLabelValues("resnet").Observe(9)
		r.newSummary(prometheus.SummaryOpts{Name: "job_seconds", Help: "Jobs."}).Observe(1.25)
		sv := r.newSummaryVec(prometheus.SummaryOpts{Name: "upload_bytes", Help: "Uploads."}, []string{"kind"})
		sv.WithLabelValues("video").Observe(1024)
		sv.WithLabelValues("video").Observe(2048)
		r.newCounterFunc(prometheus.CounterOpts{Name: "ticks_total", Help: "Ticks."}, func() float64 { return 12 })
		r.newGaugeFunc(prometheus.GaugeOpts{Name: "temperature", Help: "Temperature."}, func() float64 { return 21.5 })
		r.newUntypedFunc(prometheus.UntypedOpts{Name: "mystery", Help: "Mystery."}, func() float64 { return 0.125 })
	}

	var theirText bytes.Buffer
	mfs, err := theirReg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&theirText, mf); err != nil {
			t.Fatal(err)
		}
	}
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(theirReg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	want := parse(t, &theirText)
	if served := parse(t, rec.Body); len(served) != len(want) {
		t.Fatalf("client_golang's own handler and Gather disagree: %d vs %d families", len(served), len(want))
	}
	ourRec := httptest.NewRecorder()
	ourReg.Handler().ServeHTTP(ourRec, httptest.NewRequest("GET", "/metrics", nil))
	got := parse(t, ourRec.Body)
	if len(want) != 11 {
		t.Fatalf("client_golang exposed %d families, want 11", len(want))
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("family %s differs\nclient_golang:\n%s\nfootmetrics:\n%s", name, w, got[name])
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("footmetrics exposes %s, client_golang does not:\n%s", name, got[name])
		}
	}
}
