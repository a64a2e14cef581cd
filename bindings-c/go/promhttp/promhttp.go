// Package promhttp mirrors client_golang's promhttp for footmetrics registries: code that
// serves `promhttp.Handler()` keeps working with only its import changed.
package promhttp

import (
	"errors"
	"net/http"
	"strconv"

	footmetrics "github.com/footanalytics/footmetrics/bindings-c/go"
)

// HandlerOpts is accepted for source compatibility; footmetrics handlers need no options.
type HandlerOpts struct{}

// Handler serves the default footmetrics registry, instrumented as client_golang's
// promhttp.Handler is (see InstrumentMetricHandler): the scrape counter and in-flight
// gauge live in the default registry and are shared by every Handler.
func Handler() http.Handler {
	return InstrumentMetricHandler(footmetrics.DefaultRegisterer, footmetrics.Handler())
}

// HandlerFor serves reg, uninstrumented.
func HandlerFor(reg *footmetrics.Registry, _ HandlerOpts) http.Handler { return reg.Handler() }

// InstrumentMetricHandler wraps a metrics handler with two footmetrics metrics registered
// in reg: promhttp_metric_handler_requests_total{code}, counted once a scrape has been
// answered (its code "200", "500" and "503" series exist from the start), and
// promhttp_metric_handler_requests_in_flight, which includes the scrape being served.
// Registering again is harmless: the metrics already in reg are reused. Any other
// registration error panics.
func InstrumentMetricHandler(reg footmetrics.Registerer, handler http.Handler) http.Handler {
	requests := footmetrics.NewCounterVec(footmetrics.CounterOpts{
		Name: "promhttp_metric_handler_requests_total",
		Help: "Total number of scrapes by HTTP status code.",
	}, []string{"code"})
	for _, code := range []string{"200", "500", "503"} {
		requests.WithLabelValues(code)
	}
	if existing, err := register(reg, requests); err != nil {
		panic(err)
	} else if existing != nil {
		requests = existing.(*footmetrics.CounterVec)
	}

	inFlight := footmetrics.NewGauge(footmetrics.GaugeOpts{
		Name: "promhttp_metric_handler_requests_in_flight",
		Help: "Current number of scrapes being served.",
	})
	if existing, err := register(reg, inFlight); err != nil {
		panic(err)
	} else if existing != nil {
		inFlight = existing.(footmetrics.Gauge)
	}

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Inc()
		defer inFlight.Dec()
		sw := &statusWriter{ResponseWriter: w}
		handler.ServeHTTP(sw, r)
		requests.WithLabelValues(codeLabel(sw.status)).Inc()
	})
}

// register registers c; when an equal collector is already there it returns that one.
func register(reg footmetrics.Registerer, c footmetrics.Collector) (footmetrics.Collector, error) {
	err := reg.Register(c)
	var are footmetrics.AlreadyRegisteredError
	if errors.As(err, &are) {
		return are.ExistingCollector, nil
	}
	return nil, err
}

// codeLabel is the code label value for an HTTP status: 200 when the handler never set
// one, the number for a valid status, "unknown" otherwise (as client_golang labels it).
func codeLabel(status int) string {
	switch {
	case status == 0:
		return "200"
	case status >= 100 && status <= 599:
		return strconv.Itoa(status)
	}
	return "unknown"
}

// statusWriter records the status a handler answers with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
