package promhttp_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	footmetrics "github.com/footanalytics/footmetrics/bindings-c/go"
	"github.com/footanalytics/footmetrics/bindings-c/go/promhttp"
	"github.com/prometheus/client_golang/prometheus"
	cgpromhttp "github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// series reads every series of a collector as "labels value" lines, sorted; for
// histograms the value is the count and the sum.
func series(t *testing.T, c prometheus.Collector) string {
	t.Helper()
	ch := make(chan prometheus.Metric, 64)
	go func() { c.Collect(ch); close(ch) }()
	var out []string
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err != nil {
			t.Fatal(err)
		}
		var ls []string
		for _, p := range d.GetLabel() {
			ls = append(ls, p.GetName()+"="+p.GetValue())
		}
		var v string
		switch {
		case d.Counter != nil:
			v = fmt.Sprint(d.GetCounter().GetValue())
		case d.Histogram != nil:
			v = fmt.Sprintf("n=%d", d.GetHistogram().GetSampleCount())
		}
		out = append(out, strings.Join(ls, ",")+" "+v)
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// app answers with the status in the "status" query parameter and writes "body" bytes.
var app = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if s := r.URL.Query().Get("status"); s != "" {
		var code int
		fmt.Sscan(s, &code)
		w.WriteHeader(code)
	}
	if r.URL.Query().Get("silent") == "" {
		io.WriteString(w, "body")
	}
})

var instrumentRequests = []struct{ method, target string }{
	{"GET", "/"}, {"GET", "/?status=404"}, {"post", "/?status=500"}, {"Get", "/"},
	{"FOO", "/"}, {"PURGE", "/?status=204&silent=1"}, {"DELETE", "/?status=599"}, {"GET", "/?status=201&silent=1"},
}

func serve(h http.Handler) {
	for _, req := range instrumentRequests {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(req.method, req.target, strings.NewReader("abc")))
	}
}

// Every handler instrumentation, side by side with client_golang's on the same requests.
func TestInstrumentHandlersAsClientGolang(t *testing.T) {
	for _, labels := range [][]string{{"code", "method"}, {"code"}, {"method"}, nil} {
		name := strings.Join(labels, "_")
		ourC := footmetrics.NewCounterVec(footmetrics.CounterOpts{Name: "c", Help: "C."}, labels)
		theirC := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "c", Help: "C."}, labels)
		serve(promhttp.InstrumentHandlerCounter(ourC, app, promhttp.WithExtraMethods("purge")))
		serve(cgpromhttp.InstrumentHandlerCounter(theirC, app, cgpromhttp.WithExtraMethods("purge")))
		if got, want := series(t, ourC), series(t, theirC); got != want {
			t.Errorf("counter %s:\n%s\nclient_golang:\n%s", name, got, want)
		}

		type observerInstr struct {
			ours   func(prometheus.ObserverVec, http.Handler) http.Handler
			theirs func(prometheus.ObserverVec, http.Handler) http.Handler
		}
		for kind, in := range map[string]observerInstr{
			"duration": {
				func(o prometheus.ObserverVec, h http.Handler) http.Handler {
					return promhttp.InstrumentHandlerDuration(o, h)
				},
				func(o prometheus.ObserverVec, h http.Handler) http.Handler {
					return cgpromhttp.InstrumentHandlerDuration(o, h)
				},
			},
			"time to write header": {
				func(o prometheus.ObserverVec, h http.Handler) http.Handler {
					return promhttp.InstrumentHandlerTimeToWriteHeader(o, h)
				},
				func(o prometheus.ObserverVec, h http.Handler) http.Handler {
					return cgpromhttp.InstrumentHandlerTimeToWriteHeader(o, h)
				},
			},
			"request size": {
				func(o prometheus.ObserverVec, h http.Handler) http.Handler {
					return promhttp.InstrumentHandlerRequestSize(o, h)
				},
				func(o prometheus.ObserverVec, h http.Handler) http.Handler {
					return cgpromhttp.InstrumentHandlerRequestSize(o, h)
				},
			},
			"response size": {
				func(o prometheus.ObserverVec, h http.Handler) http.Handler {
					return promhttp.InstrumentHandlerResponseSize(o, h)
				},
				func(o prometheus.ObserverVec, h http.Handler) http.Handler {
					return cgpromhttp.InstrumentHandlerResponseSize(o, h)
				},
			},
		} {
			// Sizes land in exact buckets, so the bucket counts compare too.
			buckets := []float64{1, 4, 50, 60, 70, 80, 100}
			ours := footmetrics.NewHistogramVec(footmetrics.HistogramOpts{Name: "h", Help: "H.", Buckets: buckets}, labels)
			theirs := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "h", Help: "H.", Buckets: buckets}, labels)
			serve(in.ours(ours, app))
			serve(in.theirs(theirs, app))
			if got, want := series(t, ours), series(t, theirs); got != want {
				t.Errorf("%s %s:\n%s\nclient_golang:\n%s", kind, name, got, want)
			}
			if strings.Contains(kind, "size") {
				if got, want := bucketCounts(t, ours), bucketCounts(t, theirs); got != want {
					t.Errorf("%s %s buckets: %s, client_golang %s", kind, name, got, want)
				}
			}
		}
	}
}

func bucketCounts(t *testing.T, c prometheus.Collector) string {
	ch := make(chan prometheus.Metric, 64)
	go func() { c.Collect(ch); close(ch) }()
	var out []string
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err != nil {
			t.Fatal(err)
		}
		var b []string
		for _, x := range d.GetHistogram().GetBucket() {
			b = append(b, fmt.Sprint(x.GetCumulativeCount()))
		}
		out = append(out, fmt.Sprint(d.GetLabel(), b, d.GetHistogram().GetSampleSum()))
	}
	sort.Strings(out)
	return strings.Join(out, ";")
}

func TestInstrumentLabelRules(t *testing.T) {
	mustPanic := func(what string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", what)
			}
		}()
		f()
	}
	path := footmetrics.NewCounterVec(footmetrics.CounterOpts{Name: "p_total", Help: "P."}, []string{"code", "path"})
	mustPanic("a label other than code and method", func() { promhttp.InstrumentHandlerCounter(path, app) })
	hist := footmetrics.NewHistogramVec(footmetrics.HistogramOpts{Name: "p_seconds", Help: "P."}, []string{"handler", "method"})
	mustPanic("an observer vector with another label", func() { promhttp.InstrumentHandlerDuration(hist, app) })
	bad := footmetrics.NewCounterVec(footmetrics.CounterOpts{Name: "p_bad", Help: "P."}, []string{"__x"})
	mustPanic("an invalid vector", func() { promhttp.InstrumentHandlerCounter(bad, app) })

	// Curried away, or set from the context, another label is fine.
	promhttp.InstrumentHandlerCounter(path.MustCurryWith(footmetrics.Labels{"path": "/static"}), app).
		ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	type key struct{}
	h := promhttp.InstrumentHandlerDuration(hist, app, promhttp.WithLabelFromCtx("handler", func(ctx context.Context) string {
		return ctx.Value(key{}).(string)
	}))
	req := httptest.NewRequest("PUT", "/", nil)
	h.ServeHTTP(httptest.NewRecorder(), req.WithContext(context.WithValue(req.Context(), key{}, "users")))
	if got := series(t, path) + "\n" + series(t, hist); got != "code=200,path=/static 1\nhandler=users,method=put n=1" {
		t.Errorf("got\n%s", got)
	}
}

func TestInstrumentExemplarsAndInFlight(t *testing.T) {
	c := footmetrics.NewCounterVec(footmetrics.CounterOpts{Name: "e_total", Help: "E."}, []string{"code"})
	g := footmetrics.NewGauge(footmetrics.GaugeOpts{Name: "inflight", Help: "I."})
	var during float64
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var d dto.Metric
		g.Write(&d)
		during = d.GetGauge().GetValue()
		if _, ok := w.(http.Flusher); !ok {
			t.Error("the instrumented writer lost Flush")
		}
		w.(http.Flusher).Flush()
	})
	h := promhttp.InstrumentHandlerInFlight(g, promhttp.InstrumentHandlerCounter(c, inner,
		promhttp.WithExemplarFromContext(func(context.Context) prometheus.Labels { return prometheus.Labels{"trace_id": "t1"} })))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	var d dto.Metric
	c.WithLabelValues("200").(prometheus.Metric).Write(&d)
	if e := d.GetCounter().GetExemplar(); d.GetCounter().GetValue() != 1 || e.GetLabel()[0].GetValue() != "t1" {
		t.Errorf("counter with exemplar: %v", &d)
	}
	var after dto.Metric
	g.Write(&after)
	if during != 1 || after.GetGauge().GetValue() != 0 || !rec.Flushed {
		t.Errorf("in flight %v during, %v after; flushed %v", during, after.GetGauge().GetValue(), rec.Flushed)
	}
}

func TestInstrumentRoundTripper(t *testing.T) {
	srv := httptest.NewServer(app)
	defer srv.Close()
	c := footmetrics.NewCounterVec(footmetrics.CounterOpts{Name: "rt_total", Help: "R."}, []string{"code", "method"})
	d := footmetrics.NewHistogramVec(footmetrics.HistogramOpts{Name: "rt_seconds", Help: "R."}, []string{"method"})
	g := footmetrics.NewGauge(footmetrics.GaugeOpts{Name: "rt_inflight", Help: "R."})
	var inFlight float64
	probe := promhttp.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
		var m dto.Metric
		g.Write(&m)
		inFlight = m.GetGauge().GetValue()
		return http.DefaultTransport.RoundTrip(r)
	})
	client := &http.Client{Transport: promhttp.InstrumentRoundTripperInFlight(g,
		promhttp.InstrumentRoundTripperCounter(c, promhttp.InstrumentRoundTripperDuration(d, probe)))}
	for _, target := range []string{"/", "/?status=404", "/?status=404"} {
		resp, err := client.Get(srv.URL + target)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := client.Post(srv.URL+"/", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := series(t, c) + "\n" + series(t, d); got != "code=200,method=get 1\ncode=200,method=post 1\ncode=404,method=get 2\nmethod=get n=3\nmethod=post n=1" {
		t.Errorf("got\n%s", got)
	}
	if inFlight != 1 {
		t.Errorf("in flight during a round trip: %v", inFlight)
	}
	// A failed round trip is not counted.
	if _, err := client.Get("http://127.0.0.1:1/"); err == nil {
		t.Fatal("expected a connection error")
	}
	if series(t, c) != "code=200,method=get 1\ncode=200,method=post 1\ncode=404,method=get 2" {
		t.Errorf("a failed round trip was counted: %s", series(t, c))
	}
}
