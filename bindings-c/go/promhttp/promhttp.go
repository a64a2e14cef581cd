// Package promhttp mirrors client_golang's promhttp for footmetrics registries: code that
// serves `promhttp.Handler()` keeps working with only its import changed.
package promhttp

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"

	footmetrics "github.com/footanalytics/footmetrics/bindings-c/go"
)

// HandlerOpts are client_golang's handler options, with the same meaning and defaults.
type HandlerOpts struct {
	// ErrorLog, when set, receives every error met while serving.
	ErrorLog Logger
	// ErrorHandling says what a gathering error does: by default (HTTPErrorOnError) the
	// scrape gets a 500 with the error.
	ErrorHandling HandlerErrorHandling
	// Registry, when set, gets promhttp_metric_handler_errors_total{cause} registered in
	// it, counting gathering and encoding errors.
	Registry footmetrics.Registerer
	// DisableCompression turns gzip off even for scrapers that accept it.
	DisableCompression bool
	// OfferedCompressions lists the encodings offered (Identity and Gzip; Zstd is not
	// offered by footmetrics, see the README). Empty: both.
	OfferedCompressions []Compression
	// MaxRequestsInFlight caps concurrent scrapes; further ones get a 503. 0: no cap.
	MaxRequestsInFlight int
	// CoalesceGather is accepted; scrapes of a footmetrics registry are cheap enough that
	// each one renders on its own.
	CoalesceGather bool
	// Timeout answers a scrape that takes longer with a 503. 0: no timeout.
	Timeout time.Duration
	// EnableOpenMetrics lets a scraper that asks for OpenMetrics get it (off by default, as
	// in client_golang).
	EnableOpenMetrics bool
	// EnableOpenMetricsTextCreatedSamples adds _created samples to OpenMetrics output.
	EnableOpenMetricsTextCreatedSamples bool
	// ProcessStartTime is accepted for source compatibility and not used.
	ProcessStartTime time.Time
	// AcceptedFormats, when set, restricts negotiation to these formats' types.
	AcceptedFormats []expfmt.Format
}

// Logger is the minimal interface HandlerOpts.ErrorLog needs (a *log.Logger is one).
type Logger interface {
	Println(v ...any)
}

// HandlerErrorHandling says how a handler answers when gathering fails.
type HandlerErrorHandling int

const (
	// HTTPErrorOnError answers 500 with the error (and logs it with ErrorLog).
	HTTPErrorOnError HandlerErrorHandling = iota
	// ContinueOnError serves what could be gathered (and logs the error).
	ContinueOnError
	// PanicOnError panics with the error.
	PanicOnError
)

// Compression is a content encoding a handler may answer with.
type Compression string

const (
	Identity Compression = "identity"
	Gzip     Compression = "gzip"
	Zstd     Compression = "zstd"
)

// Handler serves the default footmetrics registry, instrumented as client_golang's
// promhttp.Handler is (see InstrumentMetricHandler): the scrape counter and in-flight
// gauge live in the default registry and are shared by every Handler.
func Handler() http.Handler {
	return InstrumentMetricHandler(footmetrics.DefaultRegisterer, HandlerFor(footmetrics.DefaultGatherer, HandlerOpts{}))
}

// HandlerFor serves what g gathers, uninstrumented, with client_golang's negotiation
// (Prometheus text unless the scraper asks for protobuf, or for OpenMetrics with
// EnableOpenMetrics) and options. A footmetrics Registry's text and OpenMetrics are rendered
// by the core; any other Gatherer, and protobuf, go through Gather and expfmt.
func HandlerFor(g footmetrics.Gatherer, opts HandlerOpts) http.Handler {
	var errs *footmetrics.CounterVec
	if opts.Registry != nil {
		errs = footmetrics.NewCounterVec(footmetrics.CounterOpts{
			Name: "promhttp_metric_handler_errors_total",
			Help: "Total number of internal errors encountered by the promhttp metric handler.",
		}, []string{"cause"})
		errs.WithLabelValues("gathering")
		errs.WithLabelValues("encoding")
		if existing, err := register(opts.Registry, errs); err != nil {
			panic(err)
		} else if existing != nil {
			errs = existing.(*footmetrics.CounterVec)
		}
	}
	var slots chan struct{}
	if opts.MaxRequestsInFlight > 0 {
		slots = make(chan struct{}, opts.MaxRequestsInFlight)
	}
	h := http.HandlerFunc(func(rsp http.ResponseWriter, req *http.Request) {
		if slots != nil {
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
			default:
				http.Error(rsp, fmt.Sprintf("Limit of concurrent requests reached (%d), try again later.", opts.MaxRequestsInFlight), http.StatusServiceUnavailable)
				return
			}
		}
		format := negotiate(req, opts)
		var body bytes.Buffer
		gatherErr, encodeErr := render(&body, g, format, opts)
		if gatherErr != nil {
			if errs != nil {
				errs.WithLabelValues("gathering").Inc()
			}
			if opts.ErrorLog != nil {
				opts.ErrorLog.Println("error gathering metrics:", gatherErr)
			}
			switch opts.ErrorHandling {
			case PanicOnError:
				panic(gatherErr)
			case HTTPErrorOnError:
				httpError(rsp, gatherErr)
				return
			}
		}
		if encodeErr != nil {
			if errs != nil {
				errs.WithLabelValues("encoding").Inc()
			}
			if opts.ErrorLog != nil {
				opts.ErrorLog.Println("error encoding and sending metric family:", encodeErr)
			}
			if opts.ErrorHandling == PanicOnError {
				panic(encodeErr)
			}
			httpError(rsp, encodeErr)
			return
		}
		rsp.Header().Set("Content-Type", string(format))
		var out io.Writer = rsp
		if gzipAccepted(req, opts) {
			rsp.Header().Set("Content-Encoding", "gzip")
			gz := gzip.NewWriter(rsp)
			defer gz.Close()
			out = gz
		}
		if _, err := out.Write(body.Bytes()); err != nil && opts.ErrorLog != nil {
			opts.ErrorLog.Println("error writing metrics:", err)
		}
	})
	if opts.Timeout <= 0 {
		return h
	}
	return http.TimeoutHandler(h, opts.Timeout, fmt.Sprintf("Exceeded configured timeout of %v.\n", opts.Timeout))
}

// negotiate picks the format from the Accept header as client_golang does.
func negotiate(req *http.Request, opts HandlerOpts) expfmt.Format {
	var f expfmt.Format
	if opts.EnableOpenMetrics {
		f = expfmt.NegotiateIncludingOpenMetrics(req.Header)
	} else {
		f = expfmt.Negotiate(req.Header)
	}
	if len(opts.AcceptedFormats) > 0 {
		for _, a := range opts.AcceptedFormats {
			if a.FormatType() == f.FormatType() {
				return f
			}
		}
		return opts.AcceptedFormats[0]
	}
	return f
}

// render writes the exposition in format f: the core renders a footmetrics Registry's text
// and OpenMetrics; everything else is gathered and encoded by expfmt.
func render(w *bytes.Buffer, g footmetrics.Gatherer, f expfmt.Format, opts HandlerOpts) (gatherErr, encodeErr error) {
	if reg, ok := g.(*footmetrics.Registry); ok && !opts.EnableOpenMetricsTextCreatedSamples {
		switch f.FormatType() {
		case expfmt.TypeTextPlain, expfmt.TypeOpenMetrics:
			return reg.WriteFormat(w, f), nil
		}
	}
	mfs, gatherErr := g.Gather()
	var encOpts []expfmt.EncoderOption
	if opts.EnableOpenMetricsTextCreatedSamples {
		encOpts = append(encOpts, expfmt.WithCreatedLines())
	}
	enc := expfmt.NewEncoder(w, f, encOpts...)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return gatherErr, err
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		if err := c.Close(); err != nil {
			return gatherErr, err
		}
	}
	return gatherErr, nil
}

func gzipAccepted(req *http.Request, opts HandlerOpts) bool {
	if opts.DisableCompression {
		return false
	}
	if len(opts.OfferedCompressions) > 0 && !slices.Contains(opts.OfferedCompressions, Gzip) {
		return false
	}
	for _, part := range strings.Split(req.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// httpError answers 500 with the error, as client_golang's handler does.
func httpError(rsp http.ResponseWriter, err error) {
	rsp.Header().Del("Content-Encoding")
	http.Error(rsp, "An error has occurred while serving metrics:\n\n"+err.Error(), http.StatusInternalServerError)
}

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
