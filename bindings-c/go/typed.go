package footmetrics

import "github.com/prometheus/client_golang/prometheus"

// typedVec gives every vector client_golang's methods, handing children out as T (Counter,
// Gauge or Observer); wrap turns the shared child record into the kind's type.
type typedVec[T any] struct {
	*vecCore
	wrap func(*child) T
}

// WithLabelValues returns the child for these label values (in label-name order),
// creating it on first use; it panics on a wrong number of values, as client_golang does.
func (v typedVec[T]) WithLabelValues(lvs ...string) T {
	c, err := v.resolve(lvs)
	mustNot(err)
	return v.wrap(c)
}

// With is WithLabelValues with the labels given by name.
func (v typedVec[T]) With(labels prometheus.Labels) T {
	c, err := v.resolveLabels(labels)
	mustNot(err)
	return v.wrap(c)
}

// GetMetricWithLabelValues is WithLabelValues returning an error instead of panicking.
func (v typedVec[T]) GetMetricWithLabelValues(lvs ...string) (T, error) {
	return v.get(v.resolve(lvs))
}

// GetMetricWith is With returning an error instead of panicking.
func (v typedVec[T]) GetMetricWith(labels prometheus.Labels) (T, error) {
	return v.get(v.resolveLabels(labels))
}

func (v typedVec[T]) get(c *child, err error) (T, error) {
	if err != nil {
		var zero T
		return zero, err
	}
	return v.wrap(c), nil
}

// DeleteLabelValues removes the series; it reports whether it existed.
func (v typedVec[T]) DeleteLabelValues(lvs ...string) bool { return v.delete(lvs) }

// Delete removes the series with these labels; it reports whether it existed.
func (v typedVec[T]) Delete(labels prometheus.Labels) bool { return v.deleteLabels(labels) }

// Reset removes every series.
func (v typedVec[T]) Reset() { v.reset() }
