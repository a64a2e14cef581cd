package footmetrics_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fm "github.com/footanalytics/footmetrics/bindings-c/go"
)

const (
	modulePath = "github.com/footanalytics/footmetrics/bindings-c/go"
	// The platform document's Go exporter snippet, kept verbatim in the repository.
	seedSnippet = "../../examples/platform-snippets/video_exporter.go.txt"
	// Everything up to and including this line is the fixture's provenance note.
	verbatimMarker = "---- verbatim below ----\n"
)

// seedGoSnippet is the Go exporter snippet of the platform document, verbatim.
func seedGoSnippet(t *testing.T) string {
	file, err := os.ReadFile(seedSnippet)
	if err != nil {
		t.Fatal(err)
	}
	_, snippet, found := strings.Cut(string(file), verbatimMarker)
	if !found || !strings.Contains(snippet, "package main") {
		t.Fatalf("%s: no verbatim Go snippet after the marker line", seedSnippet)
	}
	return snippet
}

// The seed's Go snippet builds and runs with only its imports changed. The snippet is a
// fragment (package main without func main), so the test appends a main that uses the
// metrics and serves them once through the snippet's own promhttp import.
func TestSeedSnippetRunsWithOnlyTheImportChanged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a separate program; run without -short")
	}
	snippet := seedGoSnippet(t)
	changed := strings.NewReplacer(
		`"github.com/prometheus/client_golang/prometheus"`, `prometheus "`+modulePath+`"`,
		`"github.com/prometheus/client_golang/prometheus/promhttp"`, `"`+modulePath+`/promhttp"`,
	).Replace(snippet)
	if changed == snippet || strings.Contains(changed, "client_golang") {
		t.Fatalf("the imports were not found in the snippet:\n%s", snippet)
	}
	mainGo := changed + `
func main() {
	queueLength.WithLabelValues("ingest", "high").Set(12)
	processingBatches.WithLabelValues("success", "32").Inc()
	processingBatches.WithLabelValues("failed", "32").Add(2)
	rec := httptest.NewRecorder()
	promhttp.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	os.Stdout.Write(rec.Body.Bytes())
}
`
	mainGo = strings.Replace(mainGo, "import (", "import (\n    \"net/http/httptest\"\n    \"os\"", 1)
	dir := programModule(t)
	write(t, filepath.Join(dir, "main.go"), mainGo)
	goCmd(t, dir, "mod", "tidy")
	cmd := exec.Command("go", "run", ".")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the seed snippet does not run: %v\n%s\n%s", err, out, mainGo)
	}
	mustContain(t, string(out),
		"# HELP video_processing_queue_length Number of videos in processing queue",
		"# TYPE video_processing_queue_length gauge",
		`video_processing_queue_length{queue_type="ingest",priority="high"} 12`,
		"# TYPE video_processing_batches_total counter",
		`video_processing_batches_total{status="success",batch_size="32"} 1`,
		`video_processing_batches_total{status="failed",batch_size="32"} 2`,
		// the default registry's Go and process collectors, as under client_golang
		"# TYPE go_goroutines gauge",
		"# TYPE go_gc_duration_seconds summary",
		"# TYPE go_info gauge",
		"# TYPE go_memstats_alloc_bytes gauge",
		"# TYPE process_cpu_seconds_total counter",
		"# TYPE process_start_time_seconds gauge",
		// and promhttp.Handler()'s own scrape metrics
		`promhttp_metric_handler_requests_total{code="200"} 0`,
		"promhttp_metric_handler_requests_in_flight 1",
	)
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// A real Prometheus (Debian package) scrapes the handler; it asks for OpenMetrics first and
// marks a target down on malformed output, so this is also a strict format check.
func TestRealPrometheusScrapes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus; run without -short")
	}
	if _, err := exec.LookPath("prometheus"); err != nil {
		t.Fatal("prometheus (Debian package `prometheus`) is required: run `make deps`")
	}
	r := fm.NewRegistry()
	batches := fm.NewCounterVec(fm.CounterOpts{Name: "video_processing_batches_total", Help: "Total number of processing batches"}, []string{"status", "batch_size"})
	latency := fm.NewHistogramVec(fm.HistogramOpts{Name: "batch_duration_seconds", Help: "Batch duration."}, []string{"stage"})
	r.MustRegister(batches, latency)
	batches.WithLabelValues("success", "32").Add(41)
	batches.WithLabelValues("success", "32").Inc()
	latency.WithLabelValues("decode").Observe(0.2)

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: listener, Config: &http.Server{Handler: r.Handler()}}
	srv.Start()
	defer srv.Close()

	query, prometheusLog := prometheusFor(t, listener.Addr().String())
	deadline := time.Now().Add(60 * time.Second)
	for {
		v, ok := query(`video_processing_batches_total{status="success",batch_size="32"}`)
		if ok {
			if v != 42 {
				t.Errorf("Prometheus scraped %v, want 42", v)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus never scraped the counter; log:\n%s", prometheusLog())
		}
		time.Sleep(500 * time.Millisecond)
	}
	if up, ok := query(`up{job="go-exporter"}`); !ok || up != 1 {
		t.Errorf("target up = %v (ok %v)", up, ok)
	}
	if n, ok := query(`batch_duration_seconds_count{stage="decode"}`); !ok || n != 1 {
		t.Errorf("histogram count = %v (ok %v)", n, ok)
	}
}

// The OpenMetrics output passes prometheus_client's strict parser (when the test venv is
// there, as under `make test-go`).
func TestStrictOpenMetricsParser(t *testing.T) {
	python := os.Getenv("FOOTMETRICS_PYTHON")
	if testing.Short() || python == "" {
		t.Skip("needs FOOTMETRICS_PYTHON (set by make test-go) and no -short")
	}
	r := fm.NewRegistry()
	c := fm.NewCounterVec(fm.CounterOpts{Name: "video_processing_batches_total", Help: "Batches."}, []string{"status"})
	h := fm.NewHistogramVec(fm.HistogramOpts{Name: "lat_seconds", Help: "Lat.", Buckets: []float64{0.1, 1}}, []string{"route"})
	s := fm.NewSummaryVec(fm.SummaryOpts{Name: "size_bytes", Help: "Size."}, nil)
	g := fm.NewGauge(fm.GaugeOpts{Name: "temp", Help: "T \"quoted\" \\ help."})
	r.MustRegister(c, h, s, g)
	c.WithLabelValues("a\"b\\c\nd").Inc()
	h.WithLabelValues("/x").Observe(0.5)
	s.WithLabelValues().Observe(3)
	g.Set(-1.5)
	var b strings.Builder
	_ = r.WriteTo(&b, fm.FormatOpenMetrics)
	script := "import sys\nfrom prometheus_client.openmetrics.parser import text_string_to_metric_families\n" +
		"print(sorted(f.name for f in text_string_to_metric_families(sys.stdin.read())))\n"
	cmd := exec.Command(python, "-c", script)
	cmd.Stdin = strings.NewReader(b.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("strict parser rejected:\n%s\n%s", out, b.String())
	}
	if got := strings.TrimSpace(string(out)); got != "['lat_seconds', 'size_bytes', 'temp', 'video_processing_batches']" {
		t.Errorf("parsed families %s", got)
	}
}
