package promhttp

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	footmetrics "github.com/footanalytics/footmetrics/bindings-c/go"
	"github.com/prometheus/client_golang/prometheus"
	cgpromhttp "github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// The instrumentation of http.Handlers and http.RoundTrippers with footmetrics vectors, as
// client_golang's promhttp instruments them: the same functions, options and label rules.
// A vector may be partitioned by "code" (the response status) and "method" (the request
// method), plus the labels named by WithLabelFromCtx/WithLabelFromRequest; any other label
// must be curried away beforehand, or the Instrument function panics.

// RoundTripperFunc, InstrumentTrace and InstrumentRoundTripperTrace are client_golang's: they
// call plain functions, no metric.
type (
	RoundTripperFunc = cgpromhttp.RoundTripperFunc
	InstrumentTrace  = cgpromhttp.InstrumentTrace
)

// InstrumentRoundTripperTrace is client_golang's.
var InstrumentRoundTripperTrace = cgpromhttp.InstrumentRoundTripperTrace

// LabelValueFromRequest computes a label value from a request.
type LabelValueFromRequest func(*http.Request) string

// LabelValueFromCtx computes a label value from a request's context.
type LabelValueFromCtx func(context.Context) string

// Option configures an Instrument function.
type Option interface{ apply(*instrumentOptions) }

type optionFunc func(*instrumentOptions)

func (f optionFunc) apply(o *instrumentOptions) { f(o) }

type instrumentOptions struct {
	extraMethods []string
	exemplar     func(*http.Request) prometheus.Labels
	extraLabels  map[string]LabelValueFromRequest
}

func newInstrumentOptions(opts []Option) *instrumentOptions {
	o := &instrumentOptions{
		exemplar:    func(*http.Request) prometheus.Labels { return nil },
		extraLabels: map[string]LabelValueFromRequest{},
	}
	for _, opt := range opts {
		opt.apply(o)
	}
	return o
}

// WithExtraMethods adds request methods, beyond the standard ones, that the "method" label
// keeps (lower-cased) instead of "unknown".
func WithExtraMethods(methods ...string) Option {
	return optionFunc(func(o *instrumentOptions) { o.extraMethods = methods })
}

// WithExemplarFromRequest attaches the labels fn returns as an exemplar to each
// observation (nil: no exemplar).
func WithExemplarFromRequest(fn func(*http.Request) prometheus.Labels) Option {
	return optionFunc(func(o *instrumentOptions) { o.exemplar = fn })
}

// WithExemplarFromContext is WithExemplarFromRequest reading the request's context.
func WithExemplarFromContext(fn func(context.Context) prometheus.Labels) Option {
	return optionFunc(func(o *instrumentOptions) {
		o.exemplar = func(r *http.Request) prometheus.Labels { return fn(r.Context()) }
	})
}

// WithLabelFromRequest sets label name from each request; the vector must have the label.
func WithLabelFromRequest(name string, fn LabelValueFromRequest) Option {
	return optionFunc(func(o *instrumentOptions) { o.extraLabels[name] = fn })
}

// WithLabelFromCtx sets label name from each request's context.
func WithLabelFromCtx(name string, fn LabelValueFromCtx) Option {
	return optionFunc(func(o *instrumentOptions) {
		o.extraLabels[name] = func(r *http.Request) string { return fn(r.Context()) }
	})
}

// dynamicLabels curries the extra labels away for the label check.
func (o *instrumentOptions) dynamicLabels() prometheus.Labels {
	l := prometheus.Labels{}
	for name := range o.extraLabels {
		l[name] = ""
	}
	return l
}

// labels are the label values of one request; the extra labels are read from from (the
// request, or for a round trip the response's request).
func (o *instrumentOptions) labels(code, method bool, r, from *http.Request, status int) prometheus.Labels {
	l := prometheus.Labels{}
	if code {
		l["code"] = codeValue(status)
	}
	if method {
		l["method"] = methodValue(r.Method, o.extraMethods)
	}
	for name, fn := range o.extraLabels {
		l[name] = fn(from)
	}
	return l
}

// usedLabels reports whether the (curried) vector c is partitioned by "code" and "method",
// and panics, as client_golang, when it has any other label left or an invalid descriptor.
func usedLabels(c prometheus.Collector, curry func(prometheus.Labels) error) (code, method bool) {
	descs := make(chan *prometheus.Desc, 2)
	c.Describe(descs)
	close(descs)
	if len(descs) != 1 {
		panic(fmt.Sprintf("the collector provided %d descriptions, want one", len(descs)))
	}
	desc := <-descs
	if err := desc.Err(); err != nil {
		panic(err)
	}
	// The variable label names, found by building a metric of the descriptor with as many
	// values as it takes.
	var m prometheus.Metric
	var err error
	values := []string{}
	for m, err = prometheus.NewConstMetric(desc, prometheus.UntypedValue, 0); err != nil; {
		if len(values) > 64 {
			panic(err)
		}
		values = append(values, labelProbe)
		m, err = prometheus.NewConstMetric(desc, prometheus.UntypedValue, 0, values...)
	}
	var pm dto.Metric
	if err := m.Write(&pm); err != nil {
		panic(err)
	}
	for _, p := range pm.GetLabel() {
		name := p.GetName()
		if p.GetValue() != labelProbe || curry(prometheus.Labels{name: "x"}) != nil {
			continue // a const label, or curried away
		}
		switch name {
		case "code":
			code = true
		case "method":
			method = true
		default:
			panic(fmt.Sprintf("metric partitioned with non-supported label %q: only code and method are allowed", name))
		}
	}
	return code, method
}

const labelProbe = "\x00footmetrics-label-probe\x00"

func checkCounter(c *footmetrics.CounterVec) (bool, bool) {
	return usedLabels(c, func(l prometheus.Labels) error { _, err := c.CurryWith(l); return err })
}

func checkObserver(o prometheus.ObserverVec) (bool, bool) {
	return usedLabels(o, func(l prometheus.Labels) error { _, err := o.CurryWith(l); return err })
}

// codeValue is the "code" label of a status: client_golang's spelling (0, never written,
// is 200; outside 100-599 is "unknown").
func codeValue(status int) string {
	switch {
	case status == 0:
		return "200"
	case status >= 100 && status <= 599:
		return strconv.Itoa(status)
	default:
		return "unknown"
	}
}

var standardMethods = map[string]bool{
	"get": true, "put": true, "head": true, "post": true, "delete": true,
	"connect": true, "options": true, "notify": true, "trace": true, "patch": true,
}

// methodValue is the "method" label: a standard method in all-upper or all-lower case, or
// an extra method in any case, lower-cased; anything else is "unknown" (so that clients
// cannot create series at will).
func methodValue(m string, extra []string) string {
	if lower := strings.ToLower(m); standardMethods[lower] && (m == lower || m == strings.ToUpper(m)) {
		return lower
	}
	for _, e := range extra {
		if strings.EqualFold(m, e) {
			return strings.ToLower(m)
		}
	}
	return "unknown"
}

func observe(o prometheus.Observer, v float64, exemplar prometheus.Labels) {
	if eo, ok := o.(prometheus.ExemplarObserver); ok && exemplar != nil {
		eo.ObserveWithExemplar(v, exemplar)
		return
	}
	o.Observe(v)
}

func add(c prometheus.Counter, v float64, exemplar prometheus.Labels) {
	if ea, ok := c.(prometheus.ExemplarAdder); ok && exemplar != nil {
		ea.AddWithExemplar(v, exemplar)
		return
	}
	c.Add(v)
}

// InstrumentHandlerInFlight counts the requests next is serving in g.
func InstrumentHandlerInFlight(g prometheus.Gauge, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.Inc()
		defer g.Dec()
		next.ServeHTTP(w, r)
	})
}

// InstrumentHandlerCounter counts the requests next served in counter, by code and/or
// method if the vector has those labels.
func InstrumentHandlerCounter(counter *footmetrics.CounterVec, next http.Handler, opts ...Option) http.HandlerFunc {
	o := newInstrumentOptions(opts)
	code, method := checkCounter(counter.MustCurryWith(o.dynamicLabels()))
	return func(w http.ResponseWriter, r *http.Request) {
		out, d := wrapWriter(w, nil)
		next.ServeHTTP(out, r)
		add(counter.With(o.labels(code, method, r, r, d.status)), 1, o.exemplar(r))
	}
}

// InstrumentHandlerDuration observes how long next took to serve each request, in seconds.
func InstrumentHandlerDuration(obs prometheus.ObserverVec, next http.Handler, opts ...Option) http.HandlerFunc {
	o := newInstrumentOptions(opts)
	code, method := checkObserver(obs.MustCurryWith(o.dynamicLabels()))
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		out, d := wrapWriter(w, nil)
		next.ServeHTTP(out, r)
		observe(obs.With(o.labels(code, method, r, r, d.status)), time.Since(start).Seconds(), o.exemplar(r))
	}
}

// InstrumentHandlerTimeToWriteHeader observes the seconds until next wrote the response
// header (explicitly or by its first Write or Flush); a request whose header is never
// written is not observed.
func InstrumentHandlerTimeToWriteHeader(obs prometheus.ObserverVec, next http.Handler, opts ...Option) http.HandlerFunc {
	o := newInstrumentOptions(opts)
	code, method := checkObserver(obs.MustCurryWith(o.dynamicLabels()))
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		out, _ := wrapWriter(w, func(status int) {
			observe(obs.With(o.labels(code, method, r, r, status)), time.Since(start).Seconds(), o.exemplar(r))
		})
		next.ServeHTTP(out, r)
	}
}

// InstrumentHandlerRequestSize observes the approximate size of each request in bytes (URL,
// method, protocol, headers, host and the declared body length).
func InstrumentHandlerRequestSize(obs prometheus.ObserverVec, next http.Handler, opts ...Option) http.HandlerFunc {
	o := newInstrumentOptions(opts)
	code, method := checkObserver(obs.MustCurryWith(o.dynamicLabels()))
	return func(w http.ResponseWriter, r *http.Request) {
		out, d := wrapWriter(w, nil)
		next.ServeHTTP(out, r)
		observe(obs.With(o.labels(code, method, r, r, d.status)), float64(requestSize(r)), o.exemplar(r))
	}
}

// InstrumentHandlerResponseSize observes the bytes of each response body next wrote.
func InstrumentHandlerResponseSize(obs prometheus.ObserverVec, next http.Handler, opts ...Option) http.Handler {
	o := newInstrumentOptions(opts)
	code, method := checkObserver(obs.MustCurryWith(o.dynamicLabels()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out, d := wrapWriter(w, nil)
		next.ServeHTTP(out, r)
		observe(obs.With(o.labels(code, method, r, r, d.status)), float64(d.written), o.exemplar(r))
	})
}

func requestSize(r *http.Request) int {
	n := len(r.Method) + len(r.Proto) + len(r.Host)
	if r.URL != nil {
		n += len(r.URL.String())
	}
	for name, values := range r.Header {
		n += len(name)
		for _, v := range values {
			n += len(v)
		}
	}
	if r.ContentLength != -1 {
		n += int(r.ContentLength)
	}
	return n
}

// InstrumentRoundTripperInFlight counts the requests next has in flight in gauge.
func InstrumentRoundTripperInFlight(gauge prometheus.Gauge, next http.RoundTripper) RoundTripperFunc {
	return func(r *http.Request) (*http.Response, error) {
		gauge.Inc()
		defer gauge.Dec()
		return next.RoundTrip(r)
	}
}

// InstrumentRoundTripperCounter counts the requests next completed without error.
func InstrumentRoundTripperCounter(counter *footmetrics.CounterVec, next http.RoundTripper, opts ...Option) RoundTripperFunc {
	o := newInstrumentOptions(opts)
	code, method := checkCounter(counter.MustCurryWith(o.dynamicLabels()))
	return func(r *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(r)
		if err == nil {
			l := o.labels(code, method, r, resp.Request, resp.StatusCode)
			add(counter.With(l), 1, o.exemplar(r))
		}
		return resp, err
	}
}

// InstrumentRoundTripperDuration observes the seconds each request next completed without
// error took.
func InstrumentRoundTripperDuration(obs prometheus.ObserverVec, next http.RoundTripper, opts ...Option) RoundTripperFunc {
	o := newInstrumentOptions(opts)
	code, method := checkObserver(obs.MustCurryWith(o.dynamicLabels()))
	return func(r *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := next.RoundTrip(r)
		if err == nil {
			l := o.labels(code, method, r, resp.Request, resp.StatusCode)
			observe(obs.With(l), time.Since(start).Seconds(), o.exemplar(r))
		}
		return resp, err
	}
}

// instrumentedWriter records the status and body bytes of a response, and reports the
// first header write. It keeps Flush and Hijack of the writer it wraps (Unwrap serves
// http.ResponseController).
type instrumentedWriter struct {
	http.ResponseWriter
	status      int
	written     int64
	wroteHeader bool
	onHeader    func(int)
}

func (w *instrumentedWriter) WriteHeader(code int) {
	if !w.wroteHeader && w.onHeader != nil {
		w.onHeader(code)
	}
	w.status, w.wroteHeader = code, true
	w.ResponseWriter.WriteHeader(code)
}

func (w *instrumentedWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.written += int64(n)
	return n, err
}

func (w *instrumentedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type flushWriter struct{ *instrumentedWriter }

func (w flushWriter) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.ResponseWriter.(http.Flusher).Flush()
}

type hijackWriter struct{ *instrumentedWriter }

func (w hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.ResponseWriter.(http.Hijacker).Hijack()
}

type flushHijackWriter struct {
	flushWriter
	hijackWriter
}

// ResponseWriter methods are on both embedded values: pick one set.
func (w flushHijackWriter) Header() http.Header         { return w.flushWriter.Header() }
func (w flushHijackWriter) Write(b []byte) (int, error) { return w.flushWriter.Write(b) }
func (w flushHijackWriter) WriteHeader(code int)        { w.flushWriter.WriteHeader(code) }
func (w flushHijackWriter) Unwrap() http.ResponseWriter { return w.flushWriter.Unwrap() }

// wrapWriter wraps w for one request: the writer to hand the handler, and its record.
func wrapWriter(w http.ResponseWriter, onHeader func(int)) (http.ResponseWriter, *instrumentedWriter) {
	iw := &instrumentedWriter{ResponseWriter: w, onHeader: onHeader}
	_, flush := w.(http.Flusher)
	_, hijack := w.(http.Hijacker)
	switch {
	case flush && hijack:
		return flushHijackWriter{flushWriter{iw}, hijackWriter{iw}}, iw
	case flush:
		return flushWriter{iw}, iw
	case hijack:
		return hijackWriter{iw}, iw
	}
	return iw, iw
}
