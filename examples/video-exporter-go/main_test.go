package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"testing"

	prometheus "github.com/footanalytics/footmetrics/bindings-c/go"
	"github.com/footanalytics/footmetrics/bindings-c/go/promhttp"
)

func TestExporterServesTheSeedMetrics(t *testing.T) {
	e := newExporter(prometheus.DefaultRegisterer)
	rng := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 10; i++ {
		e.step(rng)
	}
	srv := httptest.NewServer(promhttp.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	text := string(body)
	for _, want := range []string{
		"# TYPE video_processing_queue_length gauge",
		`video_processing_queue_length{queue_type="transcode",priority="low"} `,
		"# TYPE video_processing_batches_total counter",
		// the default registry's collectors (client_golang's) and the handler's own metrics
		"# TYPE go_goroutines gauge",
		"# TYPE go_gc_duration_seconds summary",
		"# TYPE go_info gauge",
		"# TYPE process_cpu_seconds_total counter",
		"# TYPE process_resident_memory_bytes gauge",
		`promhttp_metric_handler_requests_total{code="200"} 0`,
		"promhttp_metric_handler_requests_in_flight 1",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	// 10 rounds of 3 batches: the counters add up to 30.
	total := 0.0
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "video_processing_batches_total{") {
			var v float64
			fields := strings.Fields(line)
			_, _ = fmt.Sscan(fields[len(fields)-1], &v)
			total += v
		}
	}
	if total != 30 {
		t.Errorf("batches add up to %v, want 30", total)
	}
}
