package footmetrics_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	fm "github.com/footanalytics/footmetrics/bindings-c/go"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// write reads one metric as client_golang's registry would.
func writeMetric(t *testing.T, m prometheus.Metric) *dto.Metric {
	t.Helper()
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// collect gathers a collector's metrics by their label values (joined with ",").
func collect(t *testing.T, c prometheus.Collector) map[string]*dto.Metric {
	t.Helper()
	ch := make(chan prometheus.Metric, 64)
	go func() { c.Collect(ch); close(ch) }()
	out := map[string]*dto.Metric{}
	for m := range ch {
		d := writeMetric(t, m)
		var vals []string
		for _, p := range d.GetLabel() {
			vals = append(vals, p.GetName()+"="+p.GetValue())
		}
		out[strings.Join(vals, ",")] = d
	}
	return out
}

func describe(c prometheus.Collector) []*prometheus.Desc {
	ch := make(chan *prometheus.Desc, 8)
	go func() { c.Describe(ch); close(ch) }()
	var out []*prometheus.Desc
	for d := range ch {
		out = append(out, d)
	}
	return out
}

func TestCurryWithSharesTheFamily(t *testing.T) {
	v := fm.NewCounterVec(fm.CounterOpts{Name: "curry_total", Help: "C."}, []string{"method", "code", "path"})
	get := v.MustCurryWith(fm.Labels{"method": "GET"})
	get.WithLabelValues("200", "/a").Add(2)
	get.With(fm.Labels{"code": "500", "path": "/b"}).Inc()
	both := get.MustCurryWith(fm.Labels{"path": "/a"})
	both.WithLabelValues("200").Inc()

	if got := writeMetric(t, v.WithLabelValues("GET", "200", "/a")).GetCounter().GetValue(); got != 3 {
		t.Errorf("base vector sees %v, want 3", got)
	}
	// Curried and base vectors collect the same, whole family.
	for name, c := range map[string]prometheus.Collector{"base": v, "curried": get, "twice": both} {
		got := collect(t, c)
		if len(got) != 2 || got["code=500,method=GET,path=/b"].GetCounter().GetValue() != 1 {
			t.Errorf("%s collects %v", name, got)
		}
		if d := describe(c); len(d) != 1 || d[0] != describe(v)[0] {
			t.Errorf("%s describes %v", name, d)
		}
	}

	if _, err := get.CurryWith(fm.Labels{"method": "PUT"}); err == nil {
		t.Error("currying a curried label succeeded")
	}
	if _, err := v.CurryWith(fm.Labels{"nope": "x"}); err == nil {
		t.Error("currying an unknown label succeeded")
	}
	if _, err := get.GetMetricWith(fm.Labels{"method": "GET", "code": "200", "path": "/a"}); err == nil {
		t.Error("GetMetricWith with a curried label succeeded")
	}
	if _, err := get.GetMetricWithLabelValues("GET", "200", "/a"); err == nil {
		t.Error("GetMetricWithLabelValues with the curried value too succeeded")
	}
	if !get.DeleteLabelValues("500", "/b") || get.Delete(fm.Labels{"code": "500", "path": "/b"}) {
		t.Error("deleting through the curried vector")
	}

	// Registering the base and a curried vector: the same family twice.
	r := fm.NewRegistry()
	r.MustRegister(v)
	var are fm.AlreadyRegisteredError
	if err := r.Register(get); !errors.As(err, &are) {
		t.Errorf("registering the curried vector after the base: %v", err)
	}

	// Observer vectors curry into client_golang's ObserverVec.
	h := fm.NewHistogramVec(fm.HistogramOpts{Name: "curry_seconds", Help: "H.", Buckets: []float64{1}}, []string{"a", "b"})
	var ov prometheus.ObserverVec = h.MustCurryWith(fm.Labels{"a": "x"})
	ov.WithLabelValues("y").Observe(0.5)
	ov.With(fm.Labels{"b": "y"}).Observe(2)
	hm := writeMetric(t, h.WithLabelValues("x", "y").(prometheus.Metric)).GetHistogram()
	if hm.GetSampleCount() != 2 || hm.GetSampleSum() != 2.5 || hm.GetBucket()[0].GetCumulativeCount() != 1 {
		t.Errorf("curried histogram: %v", hm)
	}
	s := fm.NewSummaryVec(fm.SummaryOpts{Name: "curry_s", Help: "S."}, []string{"a", "b"})
	s.MustCurryWith(fm.Labels{"b": "z"}).WithLabelValues("w").Observe(4)
	if sm := writeMetric(t, s.WithLabelValues("w", "z").(prometheus.Metric)).GetSummary(); sm.GetSampleSum() != 4 {
		t.Errorf("curried summary: %v", sm)
	}
	g := fm.NewGaugeVec(fm.GaugeOpts{Name: "curry_g", Help: "G."}, []string{"a"})
	g.MustCurryWith(fm.Labels{"a": "1"}).WithLabelValues().Set(7)
	if writeMetric(t, g.WithLabelValues("1")).GetGauge().GetValue() != 7 {
		t.Error("curried gauge")
	}
}

func TestDeletePartialMatchAsClientGolang(t *testing.T) {
	labels := []string{"a", "b"}
	series := [][]string{{"1", "x"}, {"1", "y"}, {"2", "x"}, {"3", "z"}}
	ours := fm.NewGaugeVec(fm.GaugeOpts{Name: "dpm", Help: "D."}, labels)
	theirs := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dpm", Help: "D."}, labels)
	fill := func() {
		for _, s := range series {
			ours.WithLabelValues(s...).Set(1)
			theirs.WithLabelValues(s...).Set(1)
		}
	}
	fill()
	oc, tc := ours.MustCurryWith(fm.Labels{"a": "1"}), theirs.MustCurryWith(prometheus.Labels{"a": "1"})
	for _, step := range []struct {
		curried bool
		labels  fm.Labels
	}{
		{true, fm.Labels{"a": "1"}}, // a curried label never matches on the curried vector
		{true, fm.Labels{"b": "x"}}, // other labels match across the family
		{false, fm.Labels{"nope": "1"}},
		{false, fm.Labels{"a": "1"}},
		{false, fm.Labels{}},
	} {
		fill()
		var got, want int
		if step.curried {
			got, want = oc.DeletePartialMatch(step.labels), tc.DeletePartialMatch(step.labels)
		} else {
			got, want = ours.DeletePartialMatch(step.labels), theirs.DeletePartialMatch(step.labels)
		}
		if got != want || len(collect(t, ours)) != len(collect(t, theirs)) {
			t.Errorf("DeletePartialMatch(%v, curried %v) = %d, client_golang %d", step.labels, step.curried, got, want)
		}
	}
}

func TestCreatedTimestampAsClientGolang(t *testing.T) {
	before := time.Now()
	c := fm.NewCounter(fm.CounterOpts{Name: "ct_total", Help: "C."})
	h := fm.NewHistogram(fm.HistogramOpts{Name: "ct_seconds", Help: "H."})
	g := fm.NewGauge(fm.GaugeOpts{Name: "ct_g", Help: "G."})
	after := time.Now()
	for name, ts := range map[string]interface{ AsTime() time.Time }{
		"counter":   writeMetric(t, c).GetCounter().GetCreatedTimestamp(),
		"histogram": writeMetric(t, h).GetHistogram().GetCreatedTimestamp(),
	} {
		if at := ts.AsTime(); at.Before(before.Truncate(time.Microsecond)) || at.After(after) {
			t.Errorf("%s created at %v, not between %v and %v", name, at, before, after)
		}
	}
	if writeMetric(t, g).GetGauge() == nil || writeMetric(t, c).GetGauge() != nil {
		t.Error("gauge Write")
	}
	// A child created later has its own time; a reset recreates it.
	v := fm.NewCounterVec(fm.CounterOpts{Name: "ct_vec_total", Help: "C."}, []string{"k"})
	first := writeMetric(t, v.WithLabelValues("a")).GetCounter().GetCreatedTimestamp().AsTime()
	time.Sleep(2 * time.Millisecond)
	v.Reset()
	if again := writeMetric(t, v.WithLabelValues("a")).GetCounter().GetCreatedTimestamp().AsTime(); !again.After(first) {
		t.Errorf("re-created child kept its created time %v", again)
	}
}

func TestCounterExemplars(t *testing.T) {
	r := fm.NewRegistry()
	v := fm.NewCounterVec(fm.CounterOpts{Name: "ex_total", Help: "E."}, []string{"k"})
	r.MustRegister(v)
	c := v.WithLabelValues("a")
	adder, ok := c.(prometheus.ExemplarAdder)
	if !ok {
		t.Fatal("a counter is not an ExemplarAdder")
	}
	adder.AddWithExemplar(2, fm.Labels{"trace_id": "abc", "span_id": "01"})
	m := writeMetric(t, c).GetCounter()
	e := m.GetExemplar()
	if m.GetValue() != 2 || e.GetValue() != 2 || len(e.GetLabel()) != 2 ||
		e.GetLabel()[0].GetName() != "span_id" || e.GetLabel()[1].GetValue() != "abc" || e.GetTimestamp() == nil {
		t.Errorf("Write after AddWithExemplar: %v", m)
	}
	if om := render(t, r, fm.FormatOpenMetrics); !strings.Contains(om, `ex_total{k="a"} 2 # {span_id="01",trace_id="abc"} 2 `) {
		t.Errorf("exemplar missing from OpenMetrics:\n%s", om)
	}

	// nil labels: counted, exemplar kept.
	adder.AddWithExemplar(1, nil)
	if m := writeMetric(t, c).GetCounter(); m.GetValue() != 3 || m.GetExemplar().GetValue() != 2 {
		t.Errorf("nil exemplar labels: %v", m)
	}
	// Invalid labels panic after counting, as client_golang.
	mustPanic(t, "an invalid exemplar label name", func() { adder.AddWithExemplar(1, fm.Labels{"__bad": "x"}) })
	mustPanic(t, "exemplar labels over 128 runes", func() {
		adder.AddWithExemplar(1, fm.Labels{"trace_id": strings.Repeat("é", 121)})
	})
	mustPanic(t, "a negative exemplar add", func() { adder.AddWithExemplar(-1, fm.Labels{}) })
	if m := writeMetric(t, c).GetCounter(); m.GetValue() != 5 || m.GetExemplar().GetValue() != 2 {
		t.Errorf("after refused exemplars: %v", m)
	}
	// client_golang panics the same way for the same input.
	theirs := prometheus.NewCounter(prometheus.CounterOpts{Name: "x", Help: "x"}).(prometheus.ExemplarAdder)
	mustPanic(t, "client_golang: exemplar labels over 128 runes", func() {
		theirs.AddWithExemplar(1, prometheus.Labels{"trace_id": strings.Repeat("é", 121)})
	})
	theirs.AddWithExemplar(1, prometheus.Labels{"trace_id": strings.Repeat("é", 120)})
	adder.AddWithExemplar(1, fm.Labels{"trace_id": strings.Repeat("é", 120)})

	// Histograms: nil labels keep the exemplar too.
	h := fm.NewHistogram(fm.HistogramOpts{Name: "ex_seconds", Help: "H.", Buckets: []float64{1}})
	h.(prometheus.ExemplarObserver).ObserveWithExemplar(0.5, nil)
	if hm := writeMetric(t, h).GetHistogram(); hm.GetSampleCount() != 1 {
		t.Errorf("histogram: %v", hm)
	}
}

// familyText is the block of one family in a text exposition.
func familyText(text, name string) string {
	var out []string
	for _, line := range strings.SplitAfter(text, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "#" && f[2] == name,
			len(f) >= 1 && (f[0] == name || strings.HasPrefix(f[0], name+"{")):
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}

// withoutValues drops the value of each sample line.
func withoutValues(text string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "#") {
			if j := strings.LastIndexByte(l, ' '); j > 0 {
				lines[i] = l[:j]
			}
		}
	}
	return strings.Join(lines, "\n")
}

func TestCounterNamesAsClientGolangWritesThem(t *testing.T) {
	for _, name := range []string{"requests", "requests_total"} {
		r := fm.NewRegistry()
		ours := fm.NewCounterVec(fm.CounterOpts{Name: name, Help: "Requests."}, []string{"code"})
		r.MustRegister(ours)
		theirReg := prometheus.NewRegistry()
		theirs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: "Requests."}, []string{"code"})
		theirReg.MustRegister(theirs)
		ours.WithLabelValues("200").Add(5)
		theirs.WithLabelValues("200").Add(5)
		mfs, err := theirReg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var text, om bytes.Buffer
		if _, err := expfmt.MetricFamilyToText(&text, mfs[0]); err != nil {
			t.Fatal(err)
		}
		if _, err := expfmt.MetricFamilyToOpenMetrics(&om, mfs[0]); err != nil {
			t.Fatal(err)
		}
		base := strings.TrimSuffix(name, "_total")
		if got := familyText(render(t, r, fm.FormatText), name); got != text.String() {
			t.Errorf("text for %s:\n%s\nclient_golang:\n%s", name, got, text.String())
		}
		ourOM := render(t, r, fm.FormatOpenMetrics)
		// The sample values aside (the core writes 5, expfmt 5.0).
		if got := familyText(ourOM, base) + familyText(ourOM, base+"_total"); withoutValues(got) != withoutValues(om.String()) {
			t.Errorf("OpenMetrics for %s:\n%s\nclient_golang's expfmt:\n%s", name, got, om.String())
		}
		// Gather agrees with client_golang's family name and type.
		got, err := r.Gather()
		if err != nil || got[0].GetName() != name || got[0].GetType() != dto.MetricType_COUNTER {
			t.Errorf("Gather for %s: %v %v", name, got, err)
		}
	}
}

func TestInvalidOptionsSurfaceAtRegister(t *testing.T) {
	cases := []struct {
		name   string
		labels []string
		ok     bool // client_golang registers it
		build  func(name string, labels []string) prometheus.Collector
	}{
		{"", nil, false, func(n string, l []string) prometheus.Collector {
			return fm.NewCounterVec(fm.CounterOpts{Name: n, Help: "x"}, l)
		}},
		{"inv_g", []string{"__reserved"}, false, func(n string, l []string) prometheus.Collector {
			return fm.NewGaugeVec(fm.GaugeOpts{Name: n, Help: "x"}, l)
		}},
		{"inv_h", []string{"a", "a"}, false, func(n string, l []string) prometheus.Collector {
			return fm.NewHistogramVec(fm.HistogramOpts{Name: n, Help: "x"}, l)
		}},
		{"inv_s", []string{"__x"}, false, func(n string, l []string) prometheus.Collector {
			return fm.NewSummaryVec(fm.SummaryOpts{Name: n, Help: "x"}, l)
		}},
		{"inv_c", nil, false, func(n string, l []string) prometheus.Collector {
			return fm.NewCounter(fm.CounterOpts{Name: n, Help: "x", ConstLabels: fm.Labels{"__c": "v"}})
		}},
	}
	for _, c := range cases {
		col := c.build(c.name, c.labels) // does not panic
		ds := describe(col)
		if len(ds) != 1 || ds[0].Err() == nil {
			t.Errorf("%q %v: Describe gave %v, want one invalid descriptor", c.name, c.labels, ds)
			continue
		}
		if err := prometheus.NewRegistry().Register(col); err == nil {
			t.Errorf("%q %v: client_golang's registry accepted it", c.name, c.labels)
		}
		if err := fm.NewRegistry().Register(col); err == nil {
			t.Errorf("%q %v: footmetrics' registry accepted it", c.name, c.labels)
		}
		mustPanic(t, "MustRegister of invalid options", func() { fm.NewRegistry().MustRegister(col) })
	}
	// The vector still works (client_golang's does): series count, Write reports them.
	v := fm.NewCounterVec(fm.CounterOpts{Name: "inv_total", Help: "x"}, []string{"__bad", "ok"})
	v.WithLabelValues("a", "b").Add(3)
	if got := collect(t, v)["__bad=a,ok=b"].GetCounter().GetValue(); got != 3 {
		t.Errorf("invalid vector's series: %v", collect(t, v))
	}
	if _, err := fm.NewCounterVecE(fm.CounterOpts{Name: "inv_total", Help: "x"}, []string{"__bad"}); !errors.Is(err, &fm.Error{Code: fm.CodeInvalidLabel}) {
		t.Errorf("NewCounterVecE: %v", err)
	}

	// As client_golang: an "le" label or unsorted buckets panic when a child is created.
	hv := fm.NewHistogramVec(fm.HistogramOpts{Name: "inv_le", Help: "x"}, []string{"le"})
	mustPanic(t, "a histogram child with an le label", func() { hv.WithLabelValues("1") })
	mustPanic(t, "a histogram with unsorted buckets", func() {
		fm.NewHistogram(fm.HistogramOpts{Name: "inv_b", Help: "x", Buckets: []float64{2, 1}})
	})
	mustPanic(t, "client_golang: a histogram with unsorted buckets", func() {
		prometheus.NewHistogram(prometheus.HistogramOpts{Name: "inv_b", Help: "x", Buckets: []float64{2, 1}})
	})
	// A trailing +Inf bucket is accepted, as client_golang accepts it.
	hi := fm.NewHistogram(fm.HistogramOpts{Name: "inv_inf", Help: "x", Buckets: []float64{1, math.Inf(1)}})
	hi.Observe(5)
	if b := writeMetric(t, hi).GetHistogram().GetBucket(); len(b) != 1 || b[0].GetUpperBound() != 1 {
		t.Errorf("buckets with +Inf: %v", b)
	}
}

func TestFuncMetricsAreOurs(t *testing.T) {
	n := 0.0
	cf := fm.NewCounterFunc(fm.CounterOpts{Name: "fn_total", Help: "F.", ConstLabels: fm.Labels{"z": "1", "a": "2"}}, func() float64 { n++; return n })
	gf := fm.NewGaugeFunc(fm.GaugeOpts{Namespace: "ns", Name: "fn_g", Help: "G."}, func() float64 { return -2 })
	uf := fm.NewUntypedFunc(fm.UntypedOpts{Name: "fn_u", Help: "U."}, func() float64 { return 9 })
	for _, m := range []prometheus.Metric{cf, gf, uf} {
		if tn := fmt.Sprintf("%T", m); !strings.HasPrefix(tn, "*footmetrics.") {
			t.Errorf("%s is not a footmetrics type", tn)
		}
	}
	if m := writeMetric(t, cf); m.GetCounter().GetValue() != 1 || m.GetLabel()[0].GetName() != "a" || m.GetCounter().GetCreatedTimestamp() != nil {
		t.Errorf("counter func: %v", m)
	}
	if writeMetric(t, cf).GetCounter().GetValue() != 2 {
		t.Error("the function is not called at every Write")
	}
	if writeMetric(t, gf).GetGauge().GetValue() != -2 || gf.Desc().String() != prometheus.NewDesc("ns_fn_g", "G.", nil, nil).String() {
		t.Errorf("gauge func: %v", gf.Desc())
	}
	if writeMetric(t, uf).GetUntyped().GetValue() != 9 {
		t.Error("untyped func")
	}
	r := fm.NewRegistry()
	r.MustRegister(cf, gf, uf)
	mustContain(t, render(t, r, fm.FormatText), `fn_total{a="2",z="1"} 3`, "ns_fn_g -2", "fn_u 9")
	theirs := prometheus.NewRegistry()
	theirs.MustRegister(fm.NewGaugeFunc(fm.GaugeOpts{Name: "fn_g2", Help: "G."}, func() float64 { return 1 }))
	if mfs, err := theirs.Gather(); err != nil || mfs[0].GetMetric()[0].GetGauge().GetValue() != 1 {
		t.Errorf("in client_golang's registry: %v %v", mfs, err)
	}
	// Invalid options surface at Register, as client_golang.
	if err := r.Register(fm.NewGaugeFunc(fm.GaugeOpts{Name: "fn_bad", Help: "x", ConstLabels: fm.Labels{"__x": "1"}}, func() float64 { return 0 })); err == nil {
		t.Error("a func metric with a reserved const label registered")
	}
}

func TestV2ConstrainedLabels(t *testing.T) {
	lower := func(s string) string { return strings.ToLower(s) }
	v := fm.V2.NewCounterVec(fm.CounterVecOpts{
		CounterOpts:    fm.CounterOpts{Name: "v2_total", Help: "V."},
		VariableLabels: fm.ConstrainedLabels{{Name: "method", Constraint: lower}, {Name: "code"}},
	})
	v.WithLabelValues("GET", "200").Inc()
	v.With(fm.Labels{"method": "Get", "code": "200"}).Inc()
	v.MustCurryWith(fm.Labels{"method": "gEt"}).WithLabelValues("200").Inc()
	if got := collect(t, v); len(got) != 1 || got["code=200,method=get"].GetCounter().GetValue() != 3 {
		t.Errorf("constrained values: %v", got)
	}
	if !v.DeleteLabelValues("GET", "200") {
		t.Error("delete through the constraint")
	}
	h := fm.V2.NewHistogramVec(fm.HistogramVecOpts{
		HistogramOpts:  fm.HistogramOpts{Name: "v2_seconds", Help: "H."},
		VariableLabels: fm.UnconstrainedLabels{"a"},
	})
	h.WithLabelValues("x").Observe(1)
	g := fm.V2.NewGaugeVec(fm.GaugeVecOpts{GaugeOpts: fm.GaugeOpts{Name: "v2_g", Help: "G."}, VariableLabels: fm.UnconstrainedLabels{"a"}})
	g.WithLabelValues("x").Set(2)
	s := fm.V2.NewSummaryVec(fm.SummaryVecOpts{SummaryOpts: fm.SummaryOpts{Name: "v2_s", Help: "S."},
		VariableLabels: fm.ConstrainedLabels{{Name: "a", Constraint: lower}}})
	s.WithLabelValues("X").Observe(3)
	if len(collect(t, h)) != 1 || len(collect(t, g)) != 1 || collect(t, s)["a=x"].GetSummary().GetSampleSum() != 3 {
		t.Error("V2 vectors")
	}
}

// The vectors' methods have client_golang's signatures (returning its interfaces), so code
// holding them in variables or interfaces of client_golang's types compiles unchanged.
var (
	_ func(*fm.CounterVec, ...string) fm.Counter                 = (*fm.CounterVec).WithLabelValues
	_ func(*fm.CounterVec, fm.Labels) fm.Counter                 = (*fm.CounterVec).With
	_ func(*fm.CounterVec, ...string) (fm.Counter, error)        = (*fm.CounterVec).GetMetricWithLabelValues
	_ func(*fm.CounterVec, fm.Labels) (fm.Counter, error)        = (*fm.CounterVec).GetMetricWith
	_ func(*fm.CounterVec, fm.Labels) (*fm.CounterVec, error)    = (*fm.CounterVec).CurryWith
	_ func(*fm.CounterVec, fm.Labels) *fm.CounterVec             = (*fm.CounterVec).MustCurryWith
	_ func(*fm.CounterVec, fm.Labels) bool                       = (*fm.CounterVec).Delete
	_ func(*fm.CounterVec, ...string) bool                       = (*fm.CounterVec).DeleteLabelValues
	_ func(*fm.CounterVec, fm.Labels) int                        = (*fm.CounterVec).DeletePartialMatch
	_ func(*fm.CounterVec)                                       = (*fm.CounterVec).Reset
	_ func(*fm.GaugeVec, ...string) fm.Gauge                     = (*fm.GaugeVec).WithLabelValues
	_ func(*fm.GaugeVec, fm.Labels) (fm.Gauge, error)            = (*fm.GaugeVec).GetMetricWith
	_ func(*fm.GaugeVec, fm.Labels) (*fm.GaugeVec, error)        = (*fm.GaugeVec).CurryWith
	_ func(*fm.GaugeVec, fm.Labels) *fm.GaugeVec                 = (*fm.GaugeVec).MustCurryWith
	_ func(*fm.GaugeVec, fm.Labels) int                          = (*fm.GaugeVec).DeletePartialMatch
	_ func(*fm.HistogramVec, ...string) fm.Observer              = (*fm.HistogramVec).WithLabelValues
	_ func(*fm.HistogramVec, fm.Labels) (fm.ObserverVec, error)  = (*fm.HistogramVec).CurryWith
	_ func(*fm.HistogramVec, fm.Labels) fm.ObserverVec           = (*fm.HistogramVec).MustCurryWith
	_ func(*fm.HistogramVec, fm.Labels) int                      = (*fm.HistogramVec).DeletePartialMatch
	_ func(*fm.SummaryVec, fm.Labels) (fm.Observer, error)       = (*fm.SummaryVec).GetMetricWith
	_ func(*fm.SummaryVec, fm.Labels) (fm.ObserverVec, error)    = (*fm.SummaryVec).CurryWith
	_ func(*fm.SummaryVec, fm.Labels) fm.ObserverVec             = (*fm.SummaryVec).MustCurryWith
	_ func(*fm.SummaryVec, fm.Labels) int                        = (*fm.SummaryVec).DeletePartialMatch
	_ func(fm.CounterOpts, func() float64) fm.CounterFunc        = fm.NewCounterFunc
	_ func(fm.GaugeOpts, func() float64) fm.GaugeFunc            = fm.NewGaugeFunc
	_ func(fm.UntypedOpts, func() float64) fm.UntypedFunc        = fm.NewUntypedFunc
	_ func(fm.CounterVecOpts) *fm.CounterVec                     = fm.V2.NewCounterVec
	_ func(fm.HistogramVecOpts) *fm.HistogramVec                 = fm.V2.NewHistogramVec
	_ fm.ObserverVec                                             = (*fm.SummaryVec)(nil)
	_ fm.ExemplarAdder                                           = fm.NewCounter(fm.CounterOpts{Name: "sig_total"}).(fm.ExemplarAdder)
	_ func(*fm.Desc, fm.ValueType, float64, ...string) fm.Metric = fm.MustNewConstMetric
	_ func(fm.Labels, fm.Registerer) fm.Registerer               = fm.WrapRegistererWith
	_ func(...fm.TransactionalGatherer) *fm.MultiTRegistry       = fm.NewMultiTRegistry
)

func TestLabelErrorsInClientGolangWords(t *testing.T) {
	ours := fm.NewCounterVec(fm.CounterOpts{Name: "words_total", Help: "W."}, []string{"a", "b"})
	theirs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "words_total", Help: "W."}, []string{"a", "b"})
	oc, tc := ours.MustCurryWith(fm.Labels{"a": "x"}), theirs.MustCurryWith(prometheus.Labels{"a": "x"})
	for _, c := range []struct {
		what         string
		ours, theirs func() error
	}{
		{"too many values",
			func() error { _, err := ours.GetMetricWithLabelValues("1", "2", "3"); return err },
			func() error { _, err := theirs.GetMetricWithLabelValues("1", "2", "3"); return err }},
		{"too few labels",
			func() error { _, err := ours.GetMetricWith(fm.Labels{"a": "1"}); return err },
			func() error { _, err := theirs.GetMetricWith(prometheus.Labels{"a": "1"}); return err }},
		{"a missing label",
			func() error { _, err := ours.GetMetricWith(fm.Labels{"a": "1", "c": "2"}); return err },
			func() error { _, err := theirs.GetMetricWith(prometheus.Labels{"a": "1", "c": "2"}); return err }},
		{"a curried label",
			func() error { _, err := oc.GetMetricWith(fm.Labels{"a": "1"}); return err },
			func() error { _, err := tc.GetMetricWith(prometheus.Labels{"a": "1"}); return err }},
		{"curried, too many values",
			func() error { _, err := oc.GetMetricWithLabelValues("1", "2"); return err },
			func() error { _, err := tc.GetMetricWithLabelValues("1", "2"); return err }},
	} {
		o, th := c.ours(), c.theirs()
		if o == nil || th == nil || o.Error() != th.Error() {
			t.Errorf("%s: %v, client_golang: %v", c.what, o, th)
		}
	}
}

func TestHistogramExemplarsInWriteAsClientGolang(t *testing.T) {
	opts := fm.HistogramOpts{Name: "hx_seconds", Help: "H.", Buckets: []float64{1, 2}}
	ours := fm.NewHistogram(opts).(prometheus.ExemplarObserver)
	theirs := prometheus.NewHistogram(opts).(prometheus.ExemplarObserver)
	for _, o := range []prometheus.ExemplarObserver{ours, theirs} {
		o.ObserveWithExemplar(0.5, prometheus.Labels{"trace_id": "a"})
		o.ObserveWithExemplar(0.7, prometheus.Labels{"trace_id": "b"}) // replaces a
		o.ObserveWithExemplar(5, prometheus.Labels{"trace_id": "c"})   // +Inf
		o.ObserveWithExemplar(1.5, nil)                                // keeps none
	}
	shape := func(m prometheus.ExemplarObserver) string {
		var parts []string
		for _, b := range writeMetric(t, m.(prometheus.Metric)).GetHistogram().GetBucket() {
			e := b.GetExemplar()
			var l string
			if e != nil {
				l = e.GetLabel()[0].GetValue()
			}
			parts = append(parts, fmt.Sprintf("%v:%d:%s:%v", b.GetUpperBound(), b.GetCumulativeCount(), l, e.GetValue()))
		}
		return strings.Join(parts, " ")
	}
	if got, want := shape(ours), shape(theirs); got != want {
		t.Errorf("buckets %s, client_golang %s", got, want)
	}
	mustPanic(t, "an invalid exemplar label", func() { ours.ObserveWithExemplar(1, fm.Labels{"__x": "1"}) })
	if n := writeMetric(t, ours.(prometheus.Metric)).GetHistogram().GetSampleCount(); n != 5 {
		t.Errorf("count after a refused exemplar: %d, want 5 (counted, as client_golang)", n)
	}
}
