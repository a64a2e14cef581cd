package footmetrics

import "github.com/prometheus/client_golang/prometheus"

// The func forms (a value read from a callback at every scrape) are client_golang's own
// collectors. A footmetrics Registry accepts them like any other client_golang collector and
// appends their series to its output.
type (
	UntypedOpts = prometheus.UntypedOpts
	CounterFunc = prometheus.CounterFunc
	GaugeFunc   = prometheus.GaugeFunc
	UntypedFunc = prometheus.UntypedFunc
)

// NewCounterFunc, NewGaugeFunc and NewUntypedFunc build client_golang's func collectors.
var (
	NewCounterFunc = prometheus.NewCounterFunc
	NewGaugeFunc   = prometheus.NewGaugeFunc
	NewUntypedFunc = prometheus.NewUntypedFunc
)
