// README: client_golang code with only its imports changed, served through promhttp and
// scraped once.
package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
)

// docs:start readme
import (
	prometheus "github.com/footanalytics/footmetrics/bindings-c/go" // was client_golang/prometheus
	"github.com/footanalytics/footmetrics/bindings-c/go/promhttp"   // was client_golang/prometheus/promhttp
)

var batches = prometheus.NewCounterVec(
	prometheus.CounterOpts{Name: "video_processing_batches_total", Help: "Total number of processing batches"},
	[]string{"status", "batch_size"},
)

func init() { prometheus.MustRegister(batches) }

func process() {
	batches.WithLabelValues("success", "32").Inc() // a few atomic adds, no cgo call once resolved
	http.Handle("/metrics", promhttp.Handler())
}

// docs:end readme

func main() {
	process()
	server := httptest.NewServer(http.DefaultServeMux)
	defer server.Close()
	resp, err := http.Get(server.URL + "/metrics")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `video_processing_batches_total{status="success",batch_size="32"} 1`) {
		panic("the scrape lacks the batch counter:\n" + string(body))
	}
	for _, family := range []string{"# TYPE go_goroutines gauge", "# TYPE process_cpu_seconds_total counter",
		"# TYPE promhttp_metric_handler_requests_total counter"} {
		if !strings.Contains(string(body), family) {
			panic("the default registry lacks " + family + ":\n" + string(body))
		}
	}
}
