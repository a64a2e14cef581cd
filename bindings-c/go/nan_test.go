package footmetrics_test

import (
	"math"
	"testing"

	fm "github.com/footanalytics/footmetrics/bindings-c/go"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// NaN is recorded as client_golang records it: a counter's Add(NaN) makes it NaN (only a
// negative value panics); Observe(NaN) counts one observation in +Inf and makes the sum NaN,
// for histograms with few bounds (linear scan) and many (binary search), and for summaries.
func TestNaNIsRecordedAsClientGolangRecordsIt(t *testing.T) {
	many := prometheus.LinearBuckets(1, 1, 40)
	record := func(reg prometheus.Registerer, counter prometheus.Counter, few, lots, sum prometheus.Observer) {
		counter.Add(2)
		counter.Add(math.NaN())
		for _, o := range []prometheus.Observer{few, lots, sum} {
			o.Observe(0.5)
			o.Observe(math.NaN())
		}
	}
	theirs := prometheus.NewRegistry()
	tc := prometheus.NewCounter(prometheus.CounterOpts{Name: "nan_total", Help: "N."})
	tf := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "nan_few", Help: "N.", Buckets: []float64{1, 2}})
	tl := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "nan_lots", Help: "N.", Buckets: many})
	ts := prometheus.NewSummary(prometheus.SummaryOpts{Name: "nan_summary", Help: "N."})
	theirs.MustRegister(tc, tf, tl, ts)
	record(theirs, tc, tf, tl, ts)

	ours := fm.NewRegistry()
	oc := fm.NewCounter(fm.CounterOpts{Name: "nan_total", Help: "N."})
	of := fm.NewHistogram(fm.HistogramOpts{Name: "nan_few", Help: "N.", Buckets: []float64{1, 2}})
	ol := fm.NewHistogram(fm.HistogramOpts{Name: "nan_lots", Help: "N.", Buckets: many})
	os := fm.NewSummary(fm.SummaryOpts{Name: "nan_summary", Help: "N."})
	ours.MustRegister(oc, of, ol, os)
	record(ours, oc, of, ol, os)

	want, err := theirs.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ours.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, f := range got {
		byName[f.GetName()] = f
	}
	for _, w := range want {
		g := byName[w.GetName()]
		if g == nil {
			t.Errorf("%s: missing", w.GetName())
			continue
		}
		wm, gm := w.GetMetric()[0], g.GetMetric()[0]
		switch w.GetType() {
		case dto.MetricType_COUNTER:
			if !math.IsNaN(wm.GetCounter().GetValue()) || !math.IsNaN(gm.GetCounter().GetValue()) {
				t.Errorf("%s: counter %v, client_golang %v", w.GetName(), gm.GetCounter().GetValue(), wm.GetCounter().GetValue())
			}
		case dto.MetricType_HISTOGRAM:
			wh, gh := wm.GetHistogram(), gm.GetHistogram()
			if gh.GetSampleCount() != wh.GetSampleCount() || !math.IsNaN(gh.GetSampleSum()) || !math.IsNaN(wh.GetSampleSum()) {
				t.Errorf("%s: count %d sum %v, client_golang count %d sum %v", w.GetName(),
					gh.GetSampleCount(), gh.GetSampleSum(), wh.GetSampleCount(), wh.GetSampleSum())
			}
			for i, b := range wh.GetBucket() {
				if gh.GetBucket()[i].GetCumulativeCount() != b.GetCumulativeCount() {
					t.Errorf("%s: bucket le=%v has %d, client_golang %d", w.GetName(), b.GetUpperBound(),
						gh.GetBucket()[i].GetCumulativeCount(), b.GetCumulativeCount())
				}
			}
		case dto.MetricType_SUMMARY:
			ws, gs := wm.GetSummary(), gm.GetSummary()
			if gs.GetSampleCount() != ws.GetSampleCount() || !math.IsNaN(gs.GetSampleSum()) {
				t.Errorf("%s: count %d sum %v, client_golang count %d sum %v", w.GetName(),
					gs.GetSampleCount(), gs.GetSampleSum(), ws.GetSampleCount(), ws.GetSampleSum())
			}
		}
	}
	mustPanic(t, "a negative increment", func() { oc.Add(-1) })
}
