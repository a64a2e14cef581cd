package promhttp_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	footmetrics "github.com/footanalytics/footmetrics/bindings-c/go"
	"github.com/footanalytics/footmetrics/bindings-c/go/promhttp"
	"github.com/prometheus/client_golang/prometheus"
	cgpromhttp "github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// twins builds the same metrics in a footmetrics registry and a client_golang one.
func twins() (*footmetrics.Registry, *prometheus.Registry) {
	ours, theirs := footmetrics.NewRegistry(), prometheus.NewRegistry()
	oc := footmetrics.NewCounterVec(footmetrics.CounterOpts{Name: "uploads_total", Help: "Uploads."}, []string{"kind"})
	tc := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "uploads_total", Help: "Uploads."}, []string{"kind"})
	oh := footmetrics.NewHistogram(footmetrics.HistogramOpts{Name: "size_bytes", Help: "Size.", Buckets: []float64{10, 100}})
	th := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "size_bytes", Help: "Size.", Buckets: []float64{10, 100}})
	ours.MustRegister(oc, oh)
	theirs.MustRegister(tc, th)
	for _, v := range []float64{5, 50, 500} {
		oh.Observe(v)
		th.Observe(v)
	}
	oc.WithLabelValues("video").Add(3)
	tc.WithLabelValues("video").Add(3)
	return ours, theirs
}

func serveWith(h http.Handler, accept, encoding string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/metrics", nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if encoding != "" {
		req.Header.Set("Accept-Encoding", encoding)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// decode parses a response body in the format of its Content-Type, ignoring created
// timestamps (they differ between any two processes).
func decode(t *testing.T, rec *httptest.ResponseRecorder) map[string]string {
	t.Helper()
	body := io.Reader(rec.Body)
	if rec.Header().Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(body)
		if err != nil {
			t.Fatal(err)
		}
		body = gz
	}
	raw, _ := io.ReadAll(body)
	format := expfmt.Format(rec.Header().Get("Content-Type"))
	if format.FormatType() == expfmt.TypeOpenMetrics {
		// expfmt has no OpenMetrics decoder: compare the text after dropping comment lines.
		var lines []string
		for _, l := range strings.Split(string(raw), "\n") {
			if l == "" || strings.HasPrefix(l, "# HELP") || strings.Contains(l, "_created") {
				continue
			}
			// Both spellings of a value are valid ("3" and "3.0"): compare the numbers.
			if i := strings.LastIndexByte(l, ' '); i > 0 && !strings.HasPrefix(l, "#") {
				if v, err := strconv.ParseFloat(l[i+1:], 64); err == nil {
					l = l[:i+1] + strconv.FormatFloat(v, 'g', -1, 64)
				}
			}
			lines = append(lines, l)
		}
		sort.Strings(lines) // the core writes families in registration order, client_golang by name
		return map[string]string{"openmetrics": strings.Join(lines, "\n")}
	}
	if strings.Contains(string(format), "encoding=text") || strings.Contains(string(format), "encoding=compact-text") {
		return nil // expfmt cannot decode the protobuf text forms: only the headers are compared
	}
	dec := expfmt.NewDecoder(bytes.NewReader(raw), format)
	out := map[string]string{}
	for {
		mf := &dto.MetricFamily{}
		if err := dec.Decode(mf); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decoding %s: %v\n%s", format, err, raw)
		}
		for _, m := range mf.Metric {
			if m.Counter != nil {
				m.Counter.CreatedTimestamp = nil
			}
			if m.Histogram != nil {
				m.Histogram.CreatedTimestamp = nil
			}
		}
		out[mf.GetName()] = mf.String()
	}
	return out
}

// HandlerFor negotiates, encodes and compresses as client_golang's does: the same
// Content-Type and Content-Encoding for each Accept header, and the same metrics decoded.
func TestHandlerForMatchesClientGolang(t *testing.T) {
	ours, theirs := twins()
	accepts := []string{
		"",
		"text/plain",
		"text/plain;version=0.0.4;q=0.5, */*;q=0.1",
		"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
		"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text",
		"application/openmetrics-text;version=1.0.0;q=0.9,text/plain;q=0.5",
		"application/json",
	}
	for _, openMetrics := range []bool{false, true} {
		opts := promhttp.HandlerOpts{EnableOpenMetrics: openMetrics}
		theirOpts := cgpromhttp.HandlerOpts{EnableOpenMetrics: openMetrics}
		for _, accept := range accepts {
			for _, encoding := range []string{"", "gzip"} {
				o := serveWith(promhttp.HandlerFor(ours, opts), accept, encoding)
				th := serveWith(cgpromhttp.HandlerFor(theirs, theirOpts), accept, encoding)
				for _, h := range []string{"Content-Type", "Content-Encoding"} {
					if o.Header().Get(h) != th.Header().Get(h) {
						t.Errorf("openmetrics=%v accept %q encoding %q: %s %q, client_golang %q", openMetrics, accept, encoding, h, o.Header().Get(h), th.Header().Get(h))
					}
				}
				if o.Code != th.Code {
					t.Errorf("accept %q: status %d, client_golang %d", accept, o.Code, th.Code)
				}
				got, want := decode(t, o), decode(t, th)
				for name, w := range want {
					if got[name] != w {
						t.Errorf("openmetrics=%v accept %q: %s\n got %s\nwant %s", openMetrics, accept, name, got[name], w)
					}
				}
			}
		}
	}
}

type failing struct{ desc *prometheus.Desc }

func (f failing) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }
func (f failing) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.NewInvalidMetric(f.desc, io.ErrUnexpectedEOF)
}

// Error handling: by default a gathering error answers 500 with the error; ContinueOnError
// serves the rest; a Registry in the options counts the errors.
func TestHandlerForErrorHandling(t *testing.T) {
	reg := footmetrics.NewRegistry()
	good := footmetrics.NewGauge(footmetrics.GaugeOpts{Name: "fine", Help: "Fine."})
	reg.MustRegister(good, failing{prometheus.NewDesc("broken", "Broken.", nil, nil)})
	good.Set(1)

	rec := serveWith(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), "", "")
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "unexpected EOF") {
		t.Errorf("default: %d %q", rec.Code, rec.Body)
	}
	errs := footmetrics.NewRegistry()
	rec = serveWith(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, Registry: errs}), "", "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "fine 1") {
		t.Errorf("ContinueOnError: %d %q", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	var b bytes.Buffer
	if err := errs.WriteTo(&b, footmetrics.FormatText); err != nil {
		t.Fatal(err)
	}
	mfs, err := p.TextToMetricFamilies(&b)
	if err != nil {
		t.Fatal(err)
	}
	counted := map[string]float64{}
	for _, m := range mfs["promhttp_metric_handler_errors_total"].GetMetric() {
		counted[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
	}
	if counted["gathering"] != 1 || counted["encoding"] != 0 {
		t.Errorf("error counter %v", counted)
	}
	defer func() {
		if recover() == nil {
			t.Error("PanicOnError did not panic")
		}
	}()
	serveWith(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.PanicOnError}), "", "")
}

type slowCollector struct {
	desc    *prometheus.Desc
	entered chan struct{}
	release chan struct{}
}

func (s slowCollector) Describe(ch chan<- *prometheus.Desc) { ch <- s.desc }
func (s slowCollector) Collect(ch chan<- prometheus.Metric) {
	s.entered <- struct{}{}
	<-s.release
	ch <- prometheus.MustNewConstMetric(s.desc, prometheus.GaugeValue, 1)
}

// MaxRequestsInFlight turns away scrapes past the cap with a 503; Timeout answers a slow
// scrape with a 503.
func TestHandlerForLimits(t *testing.T) {
	slow := slowCollector{prometheus.NewDesc("slow", "Slow.", nil, nil), make(chan struct{}), make(chan struct{})}
	reg := footmetrics.NewRegistry()
	reg.MustRegister(slow)
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{MaxRequestsInFlight: 1})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); serveWith(h, "", "") }()
	<-slow.entered
	if rec := serveWith(h, "", ""); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("second concurrent scrape: %d, want 503", rec.Code)
	}
	slow.release <- struct{}{}
	wg.Wait()

	h = promhttp.HandlerFor(reg, promhttp.HandlerOpts{Timeout: 50 * time.Millisecond})
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- serveWith(h, "", "") }()
	<-slow.entered
	rec := <-done
	slow.release <- struct{}{}
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("slow scrape with a timeout: %d, want 503", rec.Code)
	}
}
