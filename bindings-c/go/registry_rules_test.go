package footmetrics_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	fm "github.com/footanalytics/footmetrics/bindings-c/go"
	"github.com/footanalytics/footmetrics/bindings-c/go/promhttp"
	"github.com/prometheus/client_golang/prometheus"
	cgpromhttp "github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// registerer is what both libraries' registries offer.
type registerer interface {
	prometheus.Registerer
	prometheus.Gatherer
}

// outcome classifies a Register result the way callers branch on it.
func outcome(err error) string {
	var are prometheus.AlreadyRegisteredError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &are):
		return "already registered"
	default:
		return "error"
	}
}

// Each case registers two collectors, built by the same code for both libraries, and must
// get the same outcome from both registries.
func TestRegistrationRulesMatchClientGolang(t *testing.T) {
	type pair struct{ first, second prometheus.Collector }
	type build struct {
		counterVec func(prometheus.CounterOpts, []string) prometheus.Collector
		counter    func(prometheus.CounterOpts) prometheus.Collector
		gauge      func(prometheus.GaugeOpts) prometheus.Collector
	}
	ours := build{
		counterVec: func(o prometheus.CounterOpts, l []string) prometheus.Collector { return fm.NewCounterVec(o, l) },
		counter:    func(o prometheus.CounterOpts) prometheus.Collector { return fm.NewCounter(o) },
		gauge:      func(o prometheus.GaugeOpts) prometheus.Collector { return fm.NewGauge(o) },
	}
	theirs := build{
		counterVec: func(o prometheus.CounterOpts, l []string) prometheus.Collector { return prometheus.NewCounterVec(o, l) },
		counter:    func(o prometheus.CounterOpts) prometheus.Collector { return prometheus.NewCounter(o) },
		gauge:      func(o prometheus.GaugeOpts) prometheus.Collector { return prometheus.NewGauge(o) },
	}
	cases := map[string]func(b build) pair{
		"equal vectors": func(b build) pair {
			o := prometheus.CounterOpts{Name: "jobs_total", Help: "Jobs."}
			return pair{b.counterVec(o, []string{"queue"}), b.counterVec(o, []string{"queue"})}
		},
		"other label names": func(b build) pair {
			o := prometheus.CounterOpts{Name: "jobs_total", Help: "Jobs."}
			return pair{b.counterVec(o, []string{"queue"}), b.counterVec(o, []string{"worker"})}
		},
		"other help": func(b build) pair {
			return pair{
				b.counter(prometheus.CounterOpts{Name: "jobs_total", Help: "Jobs."}),
				b.counter(prometheus.CounterOpts{Name: "jobs_total", Help: "Jobs done."}),
			}
		},
		"const label shards": func(b build) pair {
			return pair{
				b.counter(prometheus.CounterOpts{Name: "jobs_total", Help: "Jobs.", ConstLabels: prometheus.Labels{"shard": "1"}}),
				b.counter(prometheus.CounterOpts{Name: "jobs_total", Help: "Jobs.", ConstLabels: prometheus.Labels{"shard": "2"}}),
			}
		},
		"other const label names": func(b build) pair {
			return pair{
				b.counter(prometheus.CounterOpts{Name: "jobs_total", Help: "Jobs.", ConstLabels: prometheus.Labels{"shard": "1"}}),
				b.counter(prometheus.CounterOpts{Name: "jobs_total", Help: "Jobs.", ConstLabels: prometheus.Labels{"zone": "1"}}),
			}
		},
		"same name, other kind": func(b build) pair {
			return pair{
				b.counter(prometheus.CounterOpts{Name: "jobs", Help: "Jobs."}),
				b.gauge(prometheus.GaugeOpts{Name: "jobs", Help: "Jobs."}),
			}
		},
		"invalid name": func(b build) pair {
			return pair{
				b.counter(prometheus.CounterOpts{Name: "ok_total", Help: "Fine."}),
				b.counter(prometheus.CounterOpts{Name: "ok_total", Help: "Fine.", ConstLabels: prometheus.Labels{"__reserved": "x"}}),
			}
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			results := map[string][2]string{}
			for lib, b := range map[string]build{"footmetrics": ours, "client_golang": theirs} {
				var reg registerer = fm.NewRegistry()
				if lib == "client_golang" {
					reg = prometheus.NewRegistry()
				}
				p := mk(b)
				results[lib] = [2]string{outcome(reg.Register(p.first)), outcome(reg.Register(p.second))}
				if _, err := reg.Gather(); err != nil {
					t.Errorf("%s: Gather after the registrations: %v", lib, err)
				}
			}
			if results["footmetrics"] != results["client_golang"] {
				t.Errorf("footmetrics %v, client_golang %v", results["footmetrics"], results["client_golang"])
			}
		})
	}
}

// The reuse idiom: an AlreadyRegisteredError names the collector registered first, also
// when either registration went through client_golang's wrapping registerer.
func TestAlreadyRegisteredNamesTheOriginal(t *testing.T) {
	opts := fm.CounterOpts{Name: "reused_total", Help: "Reused."}
	r := fm.NewRegistry()
	original := fm.NewCounterVec(opts, []string{"a"})
	if err := prometheus.WrapRegistererWith(prometheus.Labels{"site": "x"}, r).Register(original); err != nil {
		t.Fatal(err)
	}
	opts.ConstLabels = prometheus.Labels{"site": "x"}
	err := r.Register(fm.NewCounterVec(opts, []string{"a"}))
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) || are.ExistingCollector != original {
		t.Fatalf("got %v (existing %T), want an AlreadyRegisteredError naming the original", err, are.ExistingCollector)
	}
}

// Shards of one name are written under one header, and each keeps its own series.
func TestConstLabelShardsShareOneFamily(t *testing.T) {
	r := fm.NewRegistry()
	a := fm.NewCounter(fm.CounterOpts{Name: "pages_total", Help: "Pages.", ConstLabels: prometheus.Labels{"shard": "a"}})
	b := fm.NewCounter(fm.CounterOpts{Name: "pages_total", Help: "Pages.", ConstLabels: prometheus.Labels{"shard": "b"}})
	other := fm.NewGauge(fm.GaugeOpts{Name: "depth", Help: "Depth."})
	r.MustRegister(a, b, other)
	a.Add(2)
	b.Add(3)
	other.Set(7)
	for _, f := range []fm.Format{fm.FormatText, fm.FormatOpenMetrics} {
		var buf bytes.Buffer
		if err := r.WriteTo(&buf, f); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if n := strings.Count(out, "# TYPE pages"); n != 1 {
			t.Errorf("format %d: %d TYPE lines for pages_total:\n%s", f, n, out)
		}
		for _, want := range []string{`pages_total{shard="a"} 2`, `pages_total{shard="b"} 3`, "depth 7"} {
			if !strings.Contains(out, want) {
				t.Errorf("format %d: missing %q in:\n%s", f, want, out)
			}
		}
	}
	// Unregistering one shard leaves the other exported.
	if !r.Unregister(fm.NewCounter(fm.CounterOpts{Name: "pages_total", Help: "Pages.", ConstLabels: prometheus.Labels{"shard": "a"}})) {
		t.Fatal("an equal collector did not unregister shard a")
	}
	mfs, err := r.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, mf := range mfs {
		got[mf.GetName()] = len(mf.GetMetric())
	}
	if got["pages_total"] != 1 || got["depth"] != 1 {
		t.Errorf("after unregistering shard a: %v", got)
	}
}

// Unregister takes any collector with equal descriptors, and the series stop being exported.
func TestUnregisterByEqualDescriptor(t *testing.T) {
	r := fm.NewRegistry()
	opts := fm.GaugeOpts{Name: "temp_celsius", Help: "Temperature."}
	g := fm.NewGaugeVec(opts, []string{"room"})
	r.MustRegister(g)
	g.WithLabelValues("kitchen").Set(21)
	if !r.Unregister(fm.NewGaugeVec(opts, []string{"room"})) {
		t.Fatal("Unregister of an equal vector returned false")
	}
	var buf bytes.Buffer
	if err := r.WriteTo(&buf, fm.FormatText); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "temp_celsius") {
		t.Errorf("still exported after Unregister:\n%s", buf.String())
	}
	if r.Unregister(g) {
		t.Error("a second Unregister returned true")
	}
}

type panickyCollector struct{ desc *prometheus.Desc }

func (c panickyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c panickyCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, 1)
	panic("sensor gone")
}

type mislabelled struct{ desc *prometheus.Desc }

func (c mislabelled) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c mislabelled) Collect(ch chan<- prometheus.Metric) {
	other := prometheus.NewDesc("not_described", "Labels.", []string{"b"}, nil)
	ch <- prometheus.MustNewConstMetric(other, prometheus.GaugeValue, 1, "x")
}

// A collector's panic becomes a Gather error and what it sent before is kept; a pedantic
// registry refuses metrics whose descriptor was never registered, as client_golang's does.
func TestGatherErrorsMatchClientGolang(t *testing.T) {
	for _, lib := range []string{"footmetrics", "client_golang"} {
		var reg, pedantic registerer = fm.NewRegistry(), fm.NewPedanticRegistry()
		if lib == "client_golang" {
			reg, pedantic = prometheus.NewRegistry(), prometheus.NewPedanticRegistry()
		}
		reg.MustRegister(panickyCollector{prometheus.NewDesc("sensor", "Sensor.", nil, nil)})
		mfs, err := reg.Gather()
		if err == nil || !strings.Contains(err.Error(), "sensor gone") {
			t.Errorf("%s: panic not reported: %v", lib, err)
		}
		if len(mfs) != 1 || mfs[0].GetName() != "sensor" {
			t.Errorf("%s: metric sent before the panic lost: %v", lib, mfs)
		}
		pedantic.MustRegister(mislabelled{prometheus.NewDesc("wrong_labels", "Labels.", []string{"a"}, nil)})
		if _, err := pedantic.Gather(); err == nil {
			t.Errorf("%s: pedantic registry took a metric of an unregistered descriptor", lib)
		}
	}
}

// A Registry is a Collector: one registry registered in another is gathered through it.
func TestRegistryInsideRegistry(t *testing.T) {
	outer, inner := fm.NewRegistry(), fm.NewRegistry()
	c := fm.NewCounter(fm.CounterOpts{Name: "inner_total", Help: "Inner."})
	inner.MustRegister(c)
	c.Add(5)
	outer.MustRegister(inner)
	mfs, err := outer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 1 || mfs[0].GetMetric()[0].GetCounter().GetValue() != 5 {
		t.Fatalf("gathered %v", mfs)
	}
	if !outer.Unregister(inner) {
		t.Fatal("Unregister of the inner registry failed")
	}
	if mfs, _ := outer.Gather(); len(mfs) != 0 {
		t.Errorf("still gathered after Unregister: %v", mfs)
	}
}

// Gather writes footmetrics families from their cells, with the types and values set.
func TestGatherReadsCells(t *testing.T) {
	r := fm.NewRegistry()
	h := fm.NewHistogramVec(fm.HistogramOpts{Name: "lat_seconds", Help: "Latency.", Buckets: []float64{0.1, 1}}, []string{"op"})
	r.MustRegister(h)
	h.WithLabelValues("get").Observe(0.5)
	h.WithLabelValues("get").Observe(2)
	mfs, err := r.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 1 || mfs[0].GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("gathered %v", mfs)
	}
	hist := mfs[0].GetMetric()[0].GetHistogram()
	if hist.GetSampleCount() != 2 || hist.GetSampleSum() != 2.5 || hist.GetBucket()[1].GetCumulativeCount() != 1 {
		t.Errorf("histogram %v", hist)
	}
}

// Names outside the legacy character sets are accepted, as client_golang accepts them, and
// served as client_golang's handler serves them: escaped for a scraper that did not ask for
// UTF-8 names, quoted for one that did.
func TestUTF8NamesServedAsClientGolangServesThem(t *testing.T) {
	ours, theirs := fm.NewRegistry(), prometheus.NewRegistry()
	og := fm.NewGaugeVec(fm.GaugeOpts{Name: "room.temp", Help: "Temperature."}, []string{"room name"})
	tg := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "room.temp", Help: "Temperature."}, []string{"room name"})
	ours.MustRegister(og)
	theirs.MustRegister(tg)
	og.WithLabelValues("hall").Set(19)
	tg.WithLabelValues("hall").Set(19)
	for _, accept := range []string{"", "text/plain;version=1.0.0;escaping=allow-utf-8", "text/plain;version=0.0.4;escaping=dots"} {
		got := serveBody(t, promhttp.HandlerFor(ours, promhttp.HandlerOpts{}), accept)
		want := serveBody(t, cgpromhttp.HandlerFor(theirs, cgpromhttp.HandlerOpts{}), accept)
		if got != want {
			t.Errorf("Accept %q:\n got %q\nwant %q", accept, got, want)
		}
	}
}

func serveBody(t *testing.T, h http.Handler, accept string) string {
	t.Helper()
	req := httptest.NewRequest("GET", "/metrics", nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Header().Get("Content-Type") + "\n" + rec.Body.String()
}

// trio is a custom collector of three footmetrics gauges.
type trio struct{ a, b, c prometheus.Collector }

func (t trio) Describe(ch chan<- *prometheus.Desc) {
	t.a.Describe(ch)
	t.b.Describe(ch)
	t.c.Describe(ch)
}
func (t trio) Collect(ch chan<- prometheus.Metric) { t.a.Collect(ch); t.b.Collect(ch); t.c.Collect(ch) }

// A collector is identified by its descriptors together: collectors whose descriptors
// differ only in one const label value are all distinct (a weak combination of descriptor
// hashes makes them collide).
func TestCollectorsDifferingInOneConstLabelAreDistinct(t *testing.T) {
	r := fm.NewRegistry()
	for i := range 2000 {
		labels := prometheus.Labels{"pool": "p" + strings.Repeat("0", i%7) + string(rune('a'+i%26)) + strings.Repeat("z", i/26), "zone": "eu"}
		mk := func(name string) prometheus.Collector {
			return fm.NewGauge(fm.GaugeOpts{Name: name, Help: "Pool.", ConstLabels: labels})
		}
		if err := r.Register(trio{mk("pool_size"), mk("pool_busy"), mk("pool_idle")}); err != nil {
			t.Fatalf("collector %d (%v): %v", i, labels, err)
		}
	}
}

// A counter named without _total is written under its name, so a gauge may take the name
// with _total, as client_golang allows; both are served.
func TestCounterWithoutTotalLeavesTheTotalNameFree(t *testing.T) {
	for _, lib := range []string{"footmetrics", "client_golang"} {
		var reg registerer = fm.NewRegistry()
		counter := prometheus.Collector(fm.NewCounter(fm.CounterOpts{Name: "requests", Help: "Requests."}))
		gauge := prometheus.Collector(fm.NewGauge(fm.GaugeOpts{Name: "requests_total", Help: "A gauge."}))
		if lib == "client_golang" {
			reg = prometheus.NewRegistry()
			counter = prometheus.NewCounter(prometheus.CounterOpts{Name: "requests", Help: "Requests."})
			gauge = prometheus.NewGauge(prometheus.GaugeOpts{Name: "requests_total", Help: "A gauge."})
		}
		if err := reg.Register(counter); err != nil {
			t.Fatalf("%s: %v", lib, err)
		}
		if err := reg.Register(gauge); err != nil {
			t.Errorf("%s: the gauge was refused: %v", lib, err)
			continue
		}
		counter.(prometheus.Counter).Add(2)
		gauge.(prometheus.Gauge).Set(7)
		body := serveBody(t, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), "")
		for _, want := range []string{"# TYPE requests counter\nrequests 2\n", "# TYPE requests_total gauge\nrequests_total 7\n"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: missing %q in:\n%s", lib, want, body)
			}
		}
	}
}
