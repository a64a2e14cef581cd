package footmetrics

import (
	"fmt"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// typedVec gives every vector client_golang's methods, handing children out as T (Counter,
// Gauge or Observer); wrap turns the shared child record into the kind's type.
//
// A curried vector's vecCore is a copy with its own curry sharing the vecState (the one core
// family and its children) of the vector it was curried from, as client_golang's curried
// vectors share their metric map.
type typedVec[T any] struct {
	*vecCore
	wrap func(*child) T
}

type curried struct {
	index int
	value string
}

// constrain applies V2's label constraints to the value of label index i.
func (v typedVec[T]) constrain(i int, value string) string {
	if v.constraints != nil && v.constraints[i] != nil {
		return v.constraints[i](value)
	}
	return value
}

// full turns the uncurried label values into the family's, curried values included.
func (v typedVec[T]) full(lvs []string) ([]string, error) {
	if len(v.curry) == 0 && v.constraints == nil {
		return lvs, nil
	}
	if want := len(v.labelNames) - len(v.curry); len(lvs) != want {
		return nil, labelCountError(want, slices.Clone(lvs))
	}
	out := make([]string, len(v.labelNames))
	j, k := 0, 0
	for i := range out {
		if k < len(v.curry) && v.curry[k].index == i {
			out[i] = v.curry[k].value
			k++
			continue
		}
		out[i] = v.constrain(i, lvs[j])
		j++
	}
	return out, nil
}

// fullLabels is full for a label map, which must name exactly the uncurried labels.
func (v typedVec[T]) fullLabels(labels prometheus.Labels) ([]string, error) {
	if want := len(v.labelNames) - len(v.curry); len(labels) != want {
		return nil, labelCountError(want, map[string]string(labels))
	}
	out := make([]string, len(v.labelNames))
	k := 0
	for i, name := range v.labelNames {
		val, ok := labels[name]
		if k < len(v.curry) && v.curry[k].index == i {
			if ok {
				return nil, &Error{Code: CodeInvalidLabel, asIs: true, Message: fmt.Sprintf("label name %q is already curried", name)}
			}
			out[i] = v.curry[k].value
			k++
			continue
		}
		if !ok {
			return nil, &Error{Code: CodeInvalidLabel, asIs: true, Message: fmt.Sprintf("label name %q missing in label map", name)}
		}
		out[i] = v.constrain(i, val)
	}
	return out, nil
}

func (v typedVec[T]) resolveValues(lvs []string) (*child, error) {
	full, err := v.full(lvs)
	if err != nil {
		return nil, err
	}
	return v.resolve(full)
}

func (v typedVec[T]) resolveMap(labels prometheus.Labels) (*child, error) {
	if len(v.curry) == 0 && v.constraints == nil {
		return v.resolveLabels(labels)
	}
	full, err := v.fullLabels(labels)
	if err != nil {
		return nil, err
	}
	return v.resolve(full)
}

// WithLabelValues returns the child for these label values (in label-name order, curried
// labels left out), creating it on first use; it panics on a wrong number of values, as
// client_golang does.
func (v typedVec[T]) WithLabelValues(lvs ...string) T {
	c, err := v.resolveValues(lvs)
	mustNot(err)
	return v.wrap(c)
}

// With is WithLabelValues with the labels given by name.
func (v typedVec[T]) With(labels prometheus.Labels) T {
	c, err := v.resolveMap(labels)
	mustNot(err)
	return v.wrap(c)
}

// GetMetricWithLabelValues is WithLabelValues returning an error instead of panicking.
func (v typedVec[T]) GetMetricWithLabelValues(lvs ...string) (T, error) {
	return v.get(v.resolveValues(lvs))
}

// GetMetricWith is With returning an error instead of panicking.
func (v typedVec[T]) GetMetricWith(labels prometheus.Labels) (T, error) {
	return v.get(v.resolveMap(labels))
}

func (v typedVec[T]) get(c *child, err error) (T, error) {
	if err != nil {
		var zero T
		return zero, err
	}
	return v.wrap(c), nil
}

// DeleteLabelValues removes the series; it reports whether it existed.
func (v typedVec[T]) DeleteLabelValues(lvs ...string) bool {
	full, err := v.full(lvs)
	return err == nil && v.delete(full)
}

// Delete removes the series with these labels; it reports whether it existed.
func (v typedVec[T]) Delete(labels prometheus.Labels) bool {
	if len(v.curry) == 0 && v.constraints == nil {
		return v.deleteLabels(labels)
	}
	full, err := v.fullLabels(labels)
	return err == nil && v.delete(full)
}

// DeletePartialMatch removes every series whose labels include all of these, and returns
// how many it removed. As in client_golang, a curried label never matches when called on a
// curried vector (call it on the base vector to match curried labels), and the other labels
// are matched across the whole family.
func (v typedVec[T]) DeletePartialMatch(labels prometheus.Labels) int {
	type want struct {
		index int
		value string
	}
	wants := make([]want, 0, len(labels))
	for name, value := range labels {
		i := -1
		for j, n := range v.labelNames {
			if n == name {
				i = j
			}
		}
		if i < 0 {
			return 0
		}
		for _, c := range v.curry {
			if c.index == i {
				return 0
			}
		}
		wants = append(wants, want{i, v.constrain(i, value)})
	}
	n := 0
	for _, c := range v.children() {
		match := true
		for _, w := range wants {
			match = match && c.values[w.index] == w.value
		}
		if match && v.delete(c.values) {
			n++
		}
	}
	return n
}

// Reset removes every series (of the whole family, even on a curried vector).
func (v typedVec[T]) Reset() { v.reset() }

// curryWith is CurryWith for any kind: the returned vector shares the family.
func (v typedVec[T]) curryWith(labels prometheus.Labels) (typedVec[T], error) {
	var next []curried
	k := 0
	for i, name := range v.labelNames {
		val, ok := labels[name]
		if k < len(v.curry) && v.curry[k].index == i {
			if ok {
				return typedVec[T]{}, fmt.Errorf("label name %q is already curried", name)
			}
			next = append(next, v.curry[k])
			k++
			continue
		}
		if ok {
			next = append(next, curried{i, v.constrain(i, val)})
		}
	}
	if n := len(v.curry) + len(labels) - len(next); n > 0 {
		return typedVec[T]{}, fmt.Errorf("%d unknown label(s) found during currying", n)
	}
	cp := *v.vecCore
	cp.curry = next
	return typedVec[T]{vecCore: &cp, wrap: v.wrap}, nil
}
