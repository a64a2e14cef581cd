package footmetrics_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A client_golang program that makes its metrics with promauto, as most Go code does.
const promautoProgram = `package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"reflect"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

var (
	requests = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "app_requests_total",
		Help: "Requests handled.",
	}, []string{"code"})
	latency = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "app_latency_seconds",
		Help:    "Request latency.",
		Buckets: prometheus.DefBuckets,
	})
	inFlight = promauto.NewGauge(prometheus.GaugeOpts{Name: "app_in_flight", Help: "Requests in flight."})
	up       = promauto.NewGaugeFunc(prometheus.GaugeOpts{Name: "app_up", Help: "Up."}, func() float64 { return 1 })

	jobsRegistry = prometheus.NewRegistry()
	jobs         = promauto.With(jobsRegistry).NewSummaryVec(prometheus.SummaryOpts{
		Name: "app_job_seconds",
		Help: "Job durations.",
	}, []string{"kind"})
)

func main() {
	requests.WithLabelValues("200").Add(3)
	requests.WithLabelValues("503").Inc()
	latency.Observe(0.2)
	inFlight.Set(2)
	jobs.WithLabelValues("encode").Observe(1.5)

	rec := httptest.NewRecorder()
	promhttp.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	os.Stdout.Write(rec.Body.Bytes())
	rec = httptest.NewRecorder()
	promhttp.HandlerFor(jobsRegistry, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	os.Stdout.Write(rec.Body.Bytes())
	// Which library built the metrics and the registry: their types' package.
	fmt.Printf("# built by %s %s\n", reflect.TypeOf(requests).Elem().PkgPath(),
		reflect.TypeOf(jobsRegistry).Elem().PkgPath())
}
`

// The promauto program builds against client_golang as written and, with only its three
// imports pointed at this module, builds and serves every metric from footmetrics.
func TestPromautoProgramRunsWithOnlyTheImportsChanged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds separate programs; run without -short")
	}
	changed := strings.NewReplacer(
		`"github.com/prometheus/client_golang/prometheus"`, `prometheus "`+modulePath+`"`,
		`"github.com/prometheus/client_golang/prometheus/promauto"`, `"`+modulePath+`/promauto"`,
		`"github.com/prometheus/client_golang/prometheus/promhttp"`, `"`+modulePath+`/promhttp"`,
	).Replace(promautoProgram)
	if strings.Contains(changed, "client_golang") {
		t.Fatalf("an import was not changed:\n%s", changed)
	}
	dir := programModule(t)
	for name, source := range map[string]string{"original": promautoProgram, "changed": changed} {
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, name, "main.go"), source)
	}
	goCmd(t, dir, "mod", "tidy")
	goCmd(t, dir, "build", "-o", filepath.Join(dir, "bin")+string(filepath.Separator), "./...")

	for name, footmetrics := range map[string]bool{"original": false, "changed": true} {
		out, err := exec.Command(filepath.Join(dir, "bin", name)).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		text := string(out)
		mustContain(t, text,
			"# TYPE app_requests_total counter",
			`app_requests_total{code="200"} 3`,
			`app_requests_total{code="503"} 1`,
			`app_latency_seconds_bucket{le="0.25"} 1`,
			"app_latency_seconds_count 1",
			"app_in_flight 2",
			"app_up 1",
			`app_job_seconds_sum{kind="encode"} 1.5`,
			`app_job_seconds_count{kind="encode"} 1`,
		)
		want := "# built by github.com/prometheus/client_golang/prometheus github.com/prometheus/client_golang/prometheus\n"
		if footmetrics {
			want = "# built by " + modulePath + " " + modulePath + "\n"
		}
		if !strings.Contains(text, want) {
			t.Errorf("%s: built by the wrong library (want %q):\n%s", name, want, text)
		}
	}
}
