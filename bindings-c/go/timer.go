package footmetrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
)

// ContextTimer is client_golang's Timer (NewTimer here is prometheus.NewTimer) that also
// links the observation to the OpenTelemetry span active in a context: Go has no ambient
// span, so the context carries it.
type ContextTimer struct {
	begin    time.Time
	observer prometheus.Observer
	ctx      context.Context
}

// NewTimerWithContext starts timing into o; ObserveDuration attaches the trace and span ids
// of ctx's sampled OpenTelemetry span as an exemplar when o keeps exemplars (footmetrics
// histograms do).
func NewTimerWithContext(ctx context.Context, o prometheus.Observer) *ContextTimer {
	return &ContextTimer{begin: time.Now(), observer: o, ctx: ctx}
}

// ObserveDuration observes the time since the timer started, in seconds, and returns it.
func (t *ContextTimer) ObserveDuration() time.Duration {
	d := time.Since(t.begin)
	if t.observer == nil {
		return d
	}
	if e, ok := t.observer.(prometheus.ExemplarObserver); ok && t.ctx != nil {
		if sc := trace.SpanContextFromContext(t.ctx); sc.IsValid() && sc.IsSampled() {
			e.ObserveWithExemplar(d.Seconds(), prometheus.Labels{
				"trace_id": sc.TraceID().String(),
				"span_id":  sc.SpanID().String(),
			})
			return d
		}
	}
	t.observer.Observe(d.Seconds())
	return d
}
