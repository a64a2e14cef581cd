// Command video-exporter-go is the seed document's custom Go exporter on footmetrics: it
// exports the video processing queue length and processed batches (catalog metrics, so
// their names, help and labels come from catalog/catalog.toml), plus client_golang's Go
// runtime collector to show that existing collectors keep working alongside.
//
//	make example-go          # serves http://127.0.0.1:9102/metrics
//	go run . -once           # prints one exposition and exits
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"time"

	prometheus "github.com/footanalytics/footmetrics/bindings-c/go"
	"github.com/footanalytics/footmetrics/bindings-c/go/promhttp"
)

// exporter holds the metrics of one simulated video-processing worker pool.
type exporter struct {
	queueLength *prometheus.GaugeVec
	batches     *prometheus.CounterVec
}

// newExporter registers the exporter's metrics in reg (the default registry in main).
func newExporter(reg prometheus.Registerer) *exporter {
	e := &exporter{
		queueLength: prometheus.NewVideoProcessingQueueLength(),
		batches:     prometheus.NewVideoProcessingBatchesTotal(),
	}
	reg.MustRegister(e.queueLength, e.batches)
	return e
}

var (
	queueTypes = []string{"ingest", "transcode", "analysis"}
	priorities = []string{"high", "normal", "low"}
	batchSizes = []int{8, 16, 32}
)

// step simulates one scheduling round: queues move, and a few batches finish.
func (e *exporter) step(rng *rand.Rand) {
	for _, q := range queueTypes {
		for _, p := range priorities {
			e.queueLength.WithLabelValues(q, p).Set(float64(rng.IntN(50)))
		}
	}
	for i := 0; i < 3; i++ {
		status := "success"
		if rng.IntN(20) == 0 {
			status = "failed"
		}
		size := strconv.Itoa(batchSizes[rng.IntN(len(batchSizes))])
		e.batches.WithLabelValues(status, size).Inc()
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9102", "listen address for /metrics")
	once := flag.Bool("once", false, "simulate a few rounds, print the exposition and exit")
	flag.Parse()

	e := newExporter(prometheus.DefaultRegisterer)
	rng := rand.New(rand.NewPCG(1, 2))
	if *once {
		for i := 0; i < 5; i++ {
			e.step(rng)
		}
		rec := httptest.NewRecorder()
		promhttp.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if _, err := os.Stdout.Write(rec.Body.Bytes()); err != nil {
			log.Fatal(err)
		}
		return
	}
	go func() {
		for range time.Tick(time.Second) {
			e.step(rng)
		}
	}()
	http.Handle("/metrics", promhttp.Handler())
	fmt.Printf("video-exporter-go serving http://%s/metrics\n", *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
