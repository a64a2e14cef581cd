package footmetrics

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// newExemplar validates exemplar labels as client_golang does (valid label names not
// starting with "__", UTF-8 values, at most ExemplarMaxRunes runes of names and values in
// all) and builds the dto form Write reports, stamped now.
func newExemplar(v float64, labels prometheus.Labels) (*dto.Exemplar, error) {
	runes := 0
	pairs := make([]*dto.LabelPair, 0, len(labels))
	for name, value := range labels {
		if !model.UTF8Validation.IsValidLabelName(name) || strings.HasPrefix(name, model.ReservedLabelPrefix) {
			return nil, fmt.Errorf("exemplar label name %q is invalid", name)
		}
		if !utf8.ValidString(value) {
			return nil, fmt.Errorf("exemplar label value %q is not valid UTF-8", value)
		}
		runes += utf8.RuneCountInString(name) + utf8.RuneCountInString(value)
		pairs = append(pairs, &dto.LabelPair{Name: &name, Value: &value})
	}
	if runes > prometheus.ExemplarMaxRunes {
		return nil, fmt.Errorf("exemplar labels have %d runes, exceeding the limit of %d", runes, prometheus.ExemplarMaxRunes)
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].GetName() < pairs[j].GetName() })
	return &dto.Exemplar{Label: pairs, Value: &v, Timestamp: timestamppb.New(time.Now())}, nil
}
