package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestExporterServesTheSeedMetrics(t *testing.T) {
	e := newExporter()
	rng := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 10; i++ {
		e.step(rng)
	}
	srv := httptest.NewServer(e.registry.Handler())
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
		"# TYPE go_goroutines gauge", // client_golang's collector, alongside
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
