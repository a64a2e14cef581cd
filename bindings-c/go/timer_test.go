package footmetrics_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	fm "github.com/footanalytics/footmetrics/bindings-c/go"
)

func spanContext(t *testing.T, sampled bool) context.Context {
	t.Helper()
	tid, err := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	if err != nil {
		t.Fatal(err)
	}
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	flags := trace.TraceFlags(0)
	if sampled {
		flags = trace.FlagsSampled
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags})
	return trace.ContextWithSpanContext(context.Background(), sc)
}

var exemplarLine = regexp.MustCompile(`(?m)^job_seconds_bucket\{[^}]*\} \d+ # \{(span_id="[0-9a-f]+",trace_id="[0-9a-f]+")\} (\S+) \S+$`)

func TestTimerWithContextAttachesTheSampledSpan(t *testing.T) {
	r := fm.NewRegistry()
	h := fm.NewHistogramVec(fm.HistogramOpts{Name: "job_seconds", Help: "Jobs.", Buckets: []float64{0.5, 10}}, []string{"stage"})
	r.MustRegister(h)

	timer := fm.NewTimerWithContext(spanContext(t, true), h.WithLabelValues("load"))
	time.Sleep(2 * time.Millisecond)
	d := timer.ObserveDuration()
	fm.NewTimerWithContext(spanContext(t, false), h.WithLabelValues("load")).ObserveDuration()
	fm.NewTimerWithContext(context.Background(), h.WithLabelValues("load")).ObserveDuration()
	fm.NewTimer(h.WithLabelValues("load")).ObserveDuration()

	var b strings.Builder
	if err := r.WriteTo(&b, fm.FormatOpenMetrics); err != nil {
		t.Fatal(err)
	}
	got := exemplarLine.FindAllStringSubmatch(b.String(), -1)
	if len(got) != 1 || got[0][1] != `span_id="00f067aa0ba902b7",trace_id="4bf92f3577b34da6a3ce929d0e0e4736"` {
		t.Fatalf("want one exemplar of the sampled span, got %q in\n%s", got, b.String())
	}
	if !strings.Contains(b.String(), `job_seconds_count{stage="load"} 4`) {
		t.Fatalf("every timer observed:\n%s", b.String())
	}
	// The exemplar's value is the timed duration.
	if v, err := strconv.ParseFloat(got[0][2], 64); err != nil || v != d.Seconds() {
		t.Fatalf("exemplar value %s, timed %v", got[0][2], d.Seconds())
	}
	// The text format has no exemplars.
	b.Reset()
	_ = r.WriteTo(&b, fm.FormatText)
	if strings.Contains(b.String(), "trace_id") {
		t.Fatal("exemplar in the text format")
	}
}

func TestObserveWithExemplarIsClientGolangs(t *testing.T) {
	h := fm.NewHistogram(fm.HistogramOpts{Name: "x_seconds", Help: "X."})
	eo, ok := h.(prometheus.ExemplarObserver)
	if !ok {
		t.Fatal("footmetrics histograms are ExemplarObservers")
	}
	eo.ObserveWithExemplar(0.3, prometheus.Labels{"trace_id": "abc"})
	func() {
		defer func() {
			if recover() == nil {
				t.Error("invalid exemplar labels panic, as in client_golang")
			}
		}()
		eo.ObserveWithExemplar(0.3, prometheus.Labels{"trace_id": strings.Repeat("x", 129)}) // over 128 runes
	}()
	// client_golang v1.25 takes any UTF-8 label name in an exemplar ("bad-name" included);
	// so does footmetrics, without a panic.
	theirs := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "y_seconds", Help: "Y."}).(prometheus.ExemplarObserver)
	theirs.ObserveWithExemplar(0.3, prometheus.Labels{"bad-name": "x"})
	eo.ObserveWithExemplar(0.3, prometheus.Labels{"bad-name": "x"})
	r := fm.NewRegistry()
	r.MustRegister(h)
	var b strings.Builder
	_ = r.WriteTo(&b, fm.FormatText)
	if !strings.Contains(b.String(), "x_seconds_count 3") {
		t.Fatalf("every observation recorded:\n%s", b.String())
	}
}
