// docs/push.md: the OTLP exporter started and shut down (nothing listens: the exporter keeps the
// program running and counts what it could not deliver).
package main

import (
	"context"
	"time"

	footmetrics "github.com/footanalytics/footmetrics/bindings-c/go"
)

func main() {
	// docs:start otlp
	exporter, err := footmetrics.StartOTLPExporter("http://otel-collector:4318", 15*time.Second, footmetrics.WithOTLPServiceName("video-exporter"))
	// docs:end otlp
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = exporter.Shutdown(ctx) // the collector is unreachable: the final flush gives up at the deadline
}
