package footmetrics_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	fm "github.com/footanalytics/footmetrics/bindings-c/go"
)

// prometheusFor starts the Debian package's Prometheus on 127.0.0.1 scraping target every
// second, with extra flags; it is stopped by PID when the test ends. It returns an instant
// query of one float, and the log for failure messages.
func prometheusFor(t *testing.T, target string, flags ...string) (query func(string) (float64, bool), log func() string) {
	t.Helper()
	if _, err := exec.LookPath("prometheus"); err != nil {
		t.Fatal("prometheus (Debian package `prometheus`) is required: run `make deps`")
	}
	dir := t.TempDir()
	config := fmt.Sprintf("global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n"+
		"  - job_name: go-exporter\n    static_configs:\n      - targets: ['%s']\n", target)
	write(t, filepath.Join(dir, "prometheus.yml"), config)
	port := freePort(t)
	logf, _ := os.Create(filepath.Join(dir, "prometheus.log"))
	args := append([]string{"--config.file=" + filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path=" + filepath.Join(dir, "data"), fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port)}, flags...)
	prom := exec.Command("prometheus", args...)
	prom.Stdout, prom.Stderr = logf, logf
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prom.Process.Kill(); _ = prom.Wait() }) // stopped by PID
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	query = func(expr string) (float64, bool) {
		resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(expr))
		if err != nil {
			return 0, false
		}
		defer resp.Body.Close()
		var body struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if json.NewDecoder(resp.Body).Decode(&body) != nil || len(body.Data.Result) == 0 {
			return 0, false
		}
		s, _ := body.Data.Result[0].Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil
	}
	log = func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
		return string(b)
	}
	return query, log
}

// A real Prometheus 2.42 with native histograms on scrapes a native histogram (it asks for
// protobuf first, which the registry's handler serves): histogram_count and histogram_sum
// are exact, and histogram_quantile(0.99, rate(...)) is within the schema's relative error
// (one bucket: a factor 2^(2^-schema)) of the true 0.99 quantile of the values observed.
func TestRealPrometheusScrapesNativeHistogram(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus; run without -short")
	}
	r := fm.NewRegistry()
	latency := fm.NewHistogramVec(fm.HistogramOpts{Name: "request_duration_seconds", Help: "Request duration.",
		NativeHistogramBucketFactor: 1.1}, []string{"route"})
	r.MustRegister(latency)
	h := latency.WithLabelValues("/api") // the series exists, empty, before the first scrape

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: listener, Config: &http.Server{Handler: r.Handler()}}
	srv.Start()
	defer srv.Close()
	query, log := prometheusFor(t, listener.Addr().String(), "--enable-feature=native-histograms")
	const series = `request_duration_seconds{route="/api"}`
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s never happened; Prometheus log:\n%s", what, log())
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	waitFor("a scrape of the empty histogram", func() bool {
		n, ok := query("histogram_count(" + series + ")")
		return ok && n == 0
	})

	rng := rand.New(rand.NewSource(42))
	values := make([]float64, 20000)
	sum := 0.0
	for i := range values {
		values[i] = math.Exp(rng.NormFloat64() - 3) // log-normal latencies around 50 ms
		h.Observe(values[i])
		sum += values[i]
	}
	waitFor("a scrape of every observation", func() bool {
		n, ok := query("histogram_count(" + series + ")")
		return ok && n == float64(len(values))
	})
	if got, ok := query("histogram_sum(" + series + ")"); !ok || got != sum {
		t.Errorf("histogram_sum = %v (ok %v), want %v", got, ok, sum)
	}
	sort.Float64s(values)
	truth := values[int(math.Ceil(0.99*float64(len(values))))-1]
	got, ok := query("histogram_quantile(0.99, rate(" + series + "[1m]))")
	factor := math.Exp2(math.Exp2(-3)) // schema 3, from the bucket factor 1.1
	if !ok || !(got > truth/factor && got < truth*factor) {
		t.Errorf("histogram_quantile(0.99) = %v (ok %v); the true 0.99 quantile is %v: want within a factor %v",
			got, ok, truth, factor)
	}
	// The classic series are not there: a native-only histogram is one native series.
	if _, ok := query(`request_duration_seconds_count{route="/api"}`); ok {
		t.Errorf("a native-only histogram was also ingested as classic series")
	}
	t.Logf("count %d, sum %v, 0.99 quantile %v (true %v, ratio %.4f)", len(values), sum, got, truth, got/truth)
}
