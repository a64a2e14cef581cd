package footmetrics

import "github.com/prometheus/client_golang/prometheus"

// CurryWith returns the vector with these labels fixed: its label-value methods then take
// only the remaining labels (in the same order). The curried vector shares the family with
// v, so register one of them only (collecting either yields every series); Reset on either
// removes every series. As client_golang, currying a label twice or an unknown label is an
// error.
func (v *CounterVec) CurryWith(labels prometheus.Labels) (*CounterVec, error) {
	t, err := v.curryWith(labels)
	if err != nil {
		return nil, err
	}
	return &CounterVec{t}, nil
}

// MustCurryWith is CurryWith panicking on error.
func (v *CounterVec) MustCurryWith(labels prometheus.Labels) *CounterVec {
	c, err := v.CurryWith(labels)
	mustNot(err)
	return c
}

// CurryWith: see CounterVec.CurryWith.
func (v *GaugeVec) CurryWith(labels prometheus.Labels) (*GaugeVec, error) {
	t, err := v.curryWith(labels)
	if err != nil {
		return nil, err
	}
	return &GaugeVec{t}, nil
}

// MustCurryWith is CurryWith panicking on error.
func (v *GaugeVec) MustCurryWith(labels prometheus.Labels) *GaugeVec {
	c, err := v.CurryWith(labels)
	mustNot(err)
	return c
}

// CurryWith: see CounterVec.CurryWith. The result is a *HistogramVec.
func (v *HistogramVec) CurryWith(labels prometheus.Labels) (prometheus.ObserverVec, error) {
	t, err := v.curryWith(labels)
	if err != nil {
		return nil, err
	}
	return &HistogramVec{t}, nil
}

// MustCurryWith is CurryWith panicking on error.
func (v *HistogramVec) MustCurryWith(labels prometheus.Labels) prometheus.ObserverVec {
	c, err := v.CurryWith(labels)
	mustNot(err)
	return c
}

// CurryWith: see CounterVec.CurryWith. The result is a *SummaryVec.
func (v *SummaryVec) CurryWith(labels prometheus.Labels) (prometheus.ObserverVec, error) {
	t, err := v.curryWith(labels)
	if err != nil {
		return nil, err
	}
	return &SummaryVec{t}, nil
}

// MustCurryWith is CurryWith panicking on error.
func (v *SummaryVec) MustCurryWith(labels prometheus.Labels) prometheus.ObserverVec {
	c, err := v.CurryWith(labels)
	mustNot(err)
	return c
}

// Both observer vectors are client_golang ObserverVecs.
var (
	_ prometheus.ObserverVec = (*HistogramVec)(nil)
	_ prometheus.ObserverVec = (*SummaryVec)(nil)
)
