package footmetrics_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	fm "github.com/footanalytics/footmetrics/bindings-c/go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

func render(t *testing.T, r *fm.Registry, f fm.Format) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteTo(&b, f); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func mustContain(t *testing.T, text string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(text, l+"\n") {
			t.Errorf("exposition lacks %q:\n%s", l, text)
		}
	}
}

func TestEveryKindRendersWhatWasRecorded(t *testing.T) {
	r := fm.NewRegistry()
	c := fm.NewCounterVec(fm.CounterOpts{Namespace: "video", Name: "frames_total", Help: "Frames.",
		ConstLabels: fm.Labels{"service": "exporter"}}, []string{"camera"})
	g := fm.NewGaugeVec(fm.GaugeOpts{Name: "video_processing_queue_length", Help: "Queue."}, []string{"queue_type", "priority"})
	h := fm.NewHistogramVec(fm.HistogramOpts{Name: "batch_seconds", Help: "Batch.", Buckets: []float64{0.5, 1, 2}}, []string{"stage"})
	s := fm.NewSummaryVec(fm.SummaryOpts{Name: "payload_bytes", Help: "Payload."}, []string{"kind"})
	single := fm.NewGauge(fm.GaugeOpts{Name: "workers", Help: "Workers."})
	r.MustRegister(c, g, h, s, single)

	held := c.WithLabelValues("north")
	held.Inc()
	held.Add(2)
	held.Add(0.25)
	c.With(fm.Labels{"camera": "south"}).Inc()
	g.WithLabelValues("ingest", "high").Set(7)
	g.WithLabelValues("ingest", "high").Dec()
	g.WithLabelValues("ingest", "high").Sub(0.5)
	g.With(fm.Labels{"priority": "low", "queue_type": "ingest"}).Add(3)
	obs := h.WithLabelValues("decode")
	for _, v := range []float64{0.1, 0.5, 0.7, 2, 30} {
		obs.Observe(v)
	}
	s.WithLabelValues("json").Observe(100)
	s.WithLabelValues("json").Observe(50)
	single.Set(4)
	single.Inc()

	text := render(t, r, fm.FormatText)
	mustContain(t, text,
		"# TYPE video_frames_total counter",
		`video_frames_total{service="exporter",camera="north"} 3.25`,
		`video_frames_total{service="exporter",camera="south"} 1`,
		`video_processing_queue_length{queue_type="ingest",priority="high"} 5.5`,
		`video_processing_queue_length{queue_type="ingest",priority="low"} 3`,
		`batch_seconds_bucket{stage="decode",le="0.5"} 2`,
		`batch_seconds_bucket{stage="decode",le="1"} 3`,
		`batch_seconds_bucket{stage="decode",le="2"} 4`,
		`batch_seconds_bucket{stage="decode",le="+Inf"} 5`,
		`batch_seconds_count{stage="decode"} 5`,
		`batch_seconds_sum{stage="decode"} 33.3`,
		`payload_bytes_count{kind="json"} 2`,
		`payload_bytes_sum{kind="json"} 150`,
		`workers 5`,
	)
	om := render(t, r, fm.FormatOpenMetrics)
	if !strings.HasSuffix(om, "# EOF\n") || !strings.Contains(om, "# TYPE video_frames counter\n") {
		t.Errorf("OpenMetrics output:\n%s", om)
	}

	// The same values through client_golang's interfaces (Write) and the Gatherer.
	if v := testutil.ToFloat64(held); v != 3.25 {
		t.Errorf("held counter = %v", v)
	}
	if v := testutil.ToFloat64(single); v != 5 {
		t.Errorf("gauge = %v", v)
	}
	mfs, err := r.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() == "batch_seconds" {
			found = true
			m := mf.GetMetric()[0]
			if m.GetHistogram().GetSampleCount() != 5 || m.GetHistogram().GetBucket()[1].GetCumulativeCount() != 3 {
				t.Errorf("gathered histogram: %v", m)
			}
		}
	}
	if !found {
		t.Error("Gather lacks batch_seconds")
	}
}

func TestBadInputIsAnErrorAndLosesNothing(t *testing.T) {
	r := fm.NewRegistry()
	c := fm.NewCounterVec(fm.CounterOpts{Name: "jobs_total", Help: "Jobs."}, []string{"status", "batch_size"})
	r.MustRegister(c)
	c.WithLabelValues("ok", "8").Add(5)

	_, err := c.GetMetricWithLabelValues("ok")
	if !errors.Is(err, &fm.Error{Code: fm.CodeLabelCount}) || !strings.Contains(err.Error(), "expected 2") {
		t.Errorf("wrong label count: %v", err)
	}
	_, err = c.GetMetricWith(fm.Labels{"status": "ok", "size": "8"})
	if !errors.Is(err, &fm.Error{Code: fm.CodeInvalidLabel}) {
		t.Errorf("unknown label name: %v", err)
	}
	_, err = c.GetMetricWithLabelValues("ok", "\xff\xfe")
	if !errors.Is(err, &fm.Error{Code: fm.CodeInvalidUTF8}) {
		t.Errorf("invalid UTF-8: %v", err)
	}
	mustPanic(t, "WithLabelValues with a wrong count", func() { c.WithLabelValues("a", "b", "c") })
	mustPanic(t, "a counter going down", func() { c.WithLabelValues("ok", "8").Add(-1) })

	_, err = fm.NewCounterVecE(fm.CounterOpts{Name: "", Help: "x"}, nil)
	if !errors.Is(err, &fm.Error{Code: fm.CodeInvalidName}) {
		t.Errorf("bad metric name: %v", err)
	}
	_, err = fm.NewGaugeVecE(fm.GaugeOpts{Name: "g", Help: "x"}, []string{"__reserved"})
	if !errors.Is(err, &fm.Error{Code: fm.CodeInvalidLabel}) {
		t.Errorf("reserved label: %v", err)
	}
	_, err = fm.NewHistogramVecE(fm.HistogramOpts{Name: "h", Help: "x", Buckets: []float64{2, 1}}, nil)
	if !errors.Is(err, &fm.Error{Code: fm.CodeInvalidBuckets}) {
		t.Errorf("unsorted buckets: %v", err)
	}
	_, err = fm.NewSummaryVecE(fm.SummaryOpts{Name: "s", Help: "x", Objectives: map[float64]float64{1.5: 0.05}}, nil)
	if !errors.Is(err, &fm.Error{Code: fm.CodeInvalidOption}) {
		t.Errorf("objective out of range: %v", err)
	}
	// As client_golang, a bad name does not panic in the constructor: Register reports it.
	bad := fm.NewCounterVec(fm.CounterOpts{Name: "c", Help: "x"}, []string{"__bad"})
	bad.WithLabelValues("v").Inc()
	if err := fm.NewRegistry().Register(bad); err == nil {
		t.Error("registering a vector with a reserved label name succeeded")
	}

	// A second family with the same name: client_golang's AlreadyRegisteredError, pointing
	// at the collector that holds the name.
	dup := fm.NewCounterVec(fm.CounterOpts{Name: "jobs_total", Help: "Jobs."}, []string{"status", "batch_size"})
	err = r.Register(dup)
	var are fm.AlreadyRegisteredError
	if !errors.As(err, &are) || are.ExistingCollector != prometheus.Collector(c) {
		t.Errorf("duplicate registration: %v", err)
	}
	mustContain(t, render(t, r, fm.FormatText), `jobs_total{status="ok",batch_size="8"} 5`)
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	f()
}

func TestDeleteResetUnregister(t *testing.T) {
	r := fm.NewRegistry()
	g := fm.NewGaugeVec(fm.GaugeOpts{Name: "temp", Help: "T."}, []string{"room"})
	r.MustRegister(g)
	g.WithLabelValues("a").Set(1)
	g.WithLabelValues("b").Set(2)
	if !g.DeleteLabelValues("a") || g.DeleteLabelValues("a") {
		t.Error("DeleteLabelValues should report true once")
	}
	if !g.Delete(fm.Labels{"room": "b"}) || g.Delete(fm.Labels{"nope": "b"}) {
		t.Error("Delete by labels")
	}
	text := render(t, r, fm.FormatText)
	if strings.Contains(text, `room="a"`) || strings.Contains(text, `room="b"`) {
		t.Errorf("deleted series still exported:\n%s", text)
	}
	// A deleted label set comes back from zero.
	g.WithLabelValues("a").Inc()
	mustContain(t, render(t, r, fm.FormatText), `temp{room="a"} 1`)
	for i := 0; i < 100; i++ { // grows and rebuilds the lookup table
		g.WithLabelValues(strings.Repeat("x", i)).Set(float64(i))
	}
	g.Reset()
	if strings.Contains(render(t, r, fm.FormatText), "temp{") {
		t.Error("Reset left series behind")
	}
	g.WithLabelValues("c").Set(3)
	mustContain(t, render(t, r, fm.FormatText), `temp{room="c"} 3`)
	if !r.Unregister(g) || r.Unregister(g) {
		t.Error("Unregister should report true once")
	}
	if strings.Contains(render(t, r, fm.FormatText), "temp") {
		t.Error("unregistered family still exported")
	}
	r.MustRegister(g) // the name is free again
}

// footmetrics collectors join a client_golang registry and promhttp handler, and
// client_golang collectors join a footmetrics registry.
func TestClientGolangInterop(t *testing.T) {
	ours := fm.NewCounterVec(fm.CounterOpts{Name: "video_processing_batches_total", Help: "Batches."}, []string{"status", "batch_size"})
	ours.WithLabelValues("success", "32").Add(3)
	theirs := prometheus.NewRegistry()
	theirs.MustRegister(ours)
	srv := httptest.NewServer(promhttp.HandlerFor(theirs, promhttp.HandlerOpts{}))
	defer srv.Close()
	body := get(t, srv.URL, "")
	mustContain(t, body, `video_processing_batches_total{batch_size="32",status="success"} 3`)
	if n := testutil.CollectAndCount(ours); n != 1 {
		t.Errorf("CollectAndCount = %d", n)
	}

	r := fm.NewRegistry()
	foreign := prometheus.NewCounter(prometheus.CounterOpts{Name: "legacy_total", Help: "From client_golang."})
	foreign.Add(9)
	r.MustRegister(foreign, fm.NewGauge(fm.GaugeOpts{Name: "native", Help: "Ours."}))
	text := render(t, r, fm.FormatText)
	mustContain(t, text, "legacy_total 9", "native 0")
	om := render(t, r, fm.FormatOpenMetrics)
	if strings.Count(om, "# EOF") != 1 || !strings.HasSuffix(om, "# EOF\n") || !strings.Contains(om, "legacy_total 9.0") {
		t.Errorf("OpenMetrics with a foreign collector:\n%s", om)
	}
	if !r.Unregister(foreign) {
		t.Error("unregistering a foreign collector")
	}
	var _ prometheus.Gatherer = r
	var _ prometheus.Registerer = r
}

func get(t *testing.T, url, accept string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestHandlerNegotiatesFormatAndGzip(t *testing.T) {
	r := fm.NewRegistry()
	r.MustRegister(fm.NewCounter(fm.CounterOpts{Name: "hits_total", Help: "Hits."}))
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0,text/plain;q=0.5")
	req.Header.Set("Accept-Encoding", "gzip")
	tr := &http.Transport{DisableCompression: true}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Errorf("Content-Type %q", ct)
	}
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatal("not gzipped")
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	if !strings.HasSuffix(string(body), "# EOF\n") || !strings.Contains(string(body), "hits_total 0") {
		t.Errorf("body:\n%s", body)
	}
	if text := get(t, srv.URL, ""); !strings.Contains(text, "# TYPE hits_total counter") || strings.Contains(text, "# EOF") {
		t.Errorf("text body:\n%s", text)
	}
}

// Writers on many goroutines, new label sets appearing, and scrapes at the same time:
// every increment is counted. Run under -race by `make test-go`.
func TestConcurrentWritersAndScrapes(t *testing.T) {
	r := fm.NewRegistry()
	c := fm.NewCounterVec(fm.CounterOpts{Name: "events_total", Help: "Events."}, []string{"a", "b", "c"})
	h := fm.NewHistogramVec(fm.HistogramOpts{Name: "lat_seconds", Help: "Lat."}, []string{"route"})
	r.MustRegister(c, h)
	const workers, per = 8, 5000
	routes := []string{"/a", "/b", "/c", "/d"}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				var b bytes.Buffer
				_ = r.WriteTo(&b, fm.FormatText)
			}
		}
	}()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				route := routes[i%len(routes)]
				c.WithLabelValues("GET", route, "200").Inc()
				h.WithLabelValues(route).Observe(0.01)
			}
		}(w)
	}
	wg.Wait()
	close(stop)
	var total float64
	for _, route := range routes {
		total += testutil.ToFloat64(c.WithLabelValues("GET", route, "200"))
	}
	if total != workers*per {
		t.Errorf("counted %v increments, want %d", total, workers*per)
	}
	var m dto.Metric
	_ = h.WithLabelValues("/a").(prometheus.Metric).Write(&m)
	if got := m.GetHistogram().GetSampleCount(); got != uint64(workers*per/len(routes)) {
		t.Errorf("histogram count %d", got)
	}
}

func TestCatalogMatchesTheCore(t *testing.T) {
	names, labels := fm.CoreCatalogForTest()
	if len(names) != len(fm.CatalogNames) {
		t.Fatalf("core has %d catalog metrics, Go %d", len(names), len(fm.CatalogNames))
	}
	for i, n := range names {
		if fm.CatalogNames[i] != n {
			t.Errorf("catalog[%d]: core %q, Go %q", i, n, fm.CatalogNames[i])
		}
	}
	if strings.Join(fm.VideoProcessingBatchesTotalLabels, ",") != strings.Join(labels[9], ",") {
		t.Errorf("labels differ: %v vs %v", fm.VideoProcessingBatchesTotalLabels, labels[9])
	}
	r := fm.NewRegistry()
	batches := fm.NewVideoProcessingBatchesTotal()
	queue := fm.NewVideoProcessingQueueLength()
	inflight := fm.NewHttpRequestsInFlight()
	r.MustRegister(batches, queue, inflight, fm.NewMlInferenceDurationSeconds())
	batches.WithLabelValues("success", "16").Inc()
	inflight.Inc()
	mustContain(t, render(t, r, fm.FormatText),
		`video_processing_batches_total{status="success",batch_size="16"} 1`,
		"http_requests_in_flight 1",
		"# TYPE ml_inference_duration_seconds histogram")
}
