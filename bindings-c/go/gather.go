package footmetrics

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
)

// gathering collects metric families and the errors met on the way, applying to every
// metric that does not come from a footmetrics family the checks a scraper relies on: one
// type and help per name, valid labels, no series twice, no name that collides with a
// histogram's or summary's own series.
type gathering struct {
	pedantic bool
	families map[string]*dto.MetricFamily
	series   map[string]struct{} // name, label pairs and timestamp of every metric taken
	errs     prometheus.MultiError
}

// gather reads the registry's collectors; with all false, only those the core does not
// render (what WriteTo appends to the core's output).
func (r *Registry) gather(all bool) ([]*dto.MetricFamily, error) {
	r.mu.RLock()
	var ours []*vecCore
	var checked []*entry
	for _, e := range r.byID {
		switch {
		case e.family != nil && (all || !e.inCore):
			ours = append(ours, e.family)
		case e.family == nil:
			checked = append(checked, e)
		}
	}
	unchecked := append([]Collector(nil), r.unchecked...)
	var registered map[uint64]struct{}
	if r.pedantic {
		registered = make(map[uint64]struct{}, len(r.descIDs))
		for k := range r.descIDs {
			registered[k] = struct{}{}
		}
	}
	r.mu.RUnlock()

	g := &gathering{pedantic: r.pedantic, families: map[string]*dto.MetricFamily{}, series: map[string]struct{}{}}
	for _, v := range ours {
		g.addFamily(v)
	}
	g.collect(checked, unchecked, registered)
	return g.result()
}

// addFamily writes a footmetrics family's series straight from their cells.
func (g *gathering) addFamily(v *vecCore) {
	children := v.children()
	if len(children) == 0 {
		return
	}
	mf := g.families[v.fqName]
	if mf == nil {
		mf = &dto.MetricFamily{Name: &v.fqName, Help: &v.help, Type: v.kind.dtoType().Enum()}
		g.families[v.fqName] = mf
	}
	for _, c := range children {
		m := &dto.Metric{}
		if err := c.metric().Write(m); err != nil {
			g.errs = append(g.errs, fmt.Errorf("error collecting metric %s: %w", v.desc, err))
			continue
		}
		mf.Metric = append(mf.Metric, m)
	}
}

func (k kind) dtoType() dto.MetricType {
	switch k {
	case kindCounter:
		return dto.MetricType_COUNTER
	case kindGauge:
		return dto.MetricType_GAUGE
	case kindHistogram:
		return dto.MetricType_HISTOGRAM
	default:
		return dto.MetricType_SUMMARY
	}
}

// collect runs every other collector's Collect in its own goroutine (a collector may block
// until its metrics are read), recovers a collector's panic as an error (the metrics it sent
// before are kept), and returns once every goroutine has ended.
func (g *gathering) collect(checked []*entry, unchecked []Collector, registered map[uint64]struct{}) {
	if len(checked)+len(unchecked) == 0 {
		return
	}
	checkedCh := make(chan prometheus.Metric, 64)
	uncheckedCh := make(chan prometheus.Metric, 64)
	var panics []error
	var panicMu sync.Mutex
	run := func(wg *sync.WaitGroup, c Collector, ch chan<- prometheus.Metric) {
		defer wg.Done()
		defer func() {
			if p := recover(); p != nil {
				panicMu.Lock()
				panics = append(panics, fmt.Errorf("collector %T panicked while collecting: %v", c, p))
				panicMu.Unlock()
			}
		}()
		c.Collect(ch)
	}
	var wgChecked, wgUnchecked sync.WaitGroup
	for _, e := range checked {
		wgChecked.Add(1)
		go run(&wgChecked, e.c, checkedCh)
	}
	for _, c := range unchecked {
		wgUnchecked.Add(1)
		go run(&wgUnchecked, c, uncheckedCh)
	}
	go func() { wgChecked.Wait(); close(checkedCh) }()
	go func() { wgUnchecked.Wait(); close(uncheckedCh) }()
	for checkedCh != nil || uncheckedCh != nil {
		select {
		case m, ok := <-checkedCh:
			if !ok {
				checkedCh = nil
				continue
			}
			g.add(m, registered)
		case m, ok := <-uncheckedCh:
			if !ok {
				uncheckedCh = nil
				continue
			}
			g.add(m, nil)
		}
	}
	g.errs = append(g.errs, panics...)
}

// add takes one metric of a collector; registered, in a pedantic registry, holds the
// descriptor ids the metric's descriptor must be among.
func (g *gathering) add(metric prometheus.Metric, registered map[uint64]struct{}) {
	if err := g.process(metric, registered); err != nil {
		g.errs = append(g.errs, err)
	}
}

func (g *gathering) process(metric prometheus.Metric, registered map[uint64]struct{}) error {
	desc := metric.Desc()
	info := infoOf(desc)
	if info.err != nil {
		return fmt.Errorf("error collecting metric %s: %w", desc, info.err)
	}
	m := &dto.Metric{}
	if err := metric.Write(m); err != nil {
		return fmt.Errorf("error collecting metric %s: %w", desc, err)
	}
	name := info.fqName
	t, ok := metricType(m)
	if !ok {
		return fmt.Errorf("empty metric collected: %s", m)
	}
	mf := g.families[name]
	if mf != nil {
		if mf.GetHelp() != info.help {
			return fmt.Errorf("collected metric %s %s has help %q but should have %q", name, m, info.help, mf.GetHelp())
		}
		if mf.GetType() != t {
			return fmt.Errorf("collected metric %s %s should be a %s", name, m, mf.GetType())
		}
	} else {
		if err := g.checkCollisions(name, t); err != nil {
			return err
		}
		help := info.help
		mf = &dto.MetricFamily{Name: &name, Help: &help, Type: t.Enum()}
	}
	if err := g.checkLabels(name, m); err != nil {
		return err
	}
	if registered != nil {
		if _, ok := registered[info.id]; !ok {
			return fmt.Errorf("collected metric %s %s with unregistered descriptor %s", name, m, desc)
		}
	}
	if g.pedantic {
		if err := checkAgainstDesc(name, m, info); err != nil {
			return err
		}
	}
	key := seriesKey(name, m)
	if _, dup := g.series[key]; dup {
		return fmt.Errorf("collected metric %q { %s} was collected before with the same name and label values", name, m)
	}
	g.series[key] = struct{}{}
	g.families[name] = mf
	mf.Metric = append(mf.Metric, m)
	return nil
}

func metricType(m *dto.Metric) (dto.MetricType, bool) {
	switch {
	case m.Gauge != nil:
		return dto.MetricType_GAUGE, true
	case m.Counter != nil:
		return dto.MetricType_COUNTER, true
	case m.Summary != nil:
		return dto.MetricType_SUMMARY, true
	case m.Untyped != nil:
		return dto.MetricType_UNTYPED, true
	case m.Histogram != nil:
		return dto.MetricType_HISTOGRAM, true
	}
	return 0, false
}

// checkCollisions refuses a new family whose name is one of the series names of an existing
// histogram or summary, or the reverse.
func (g *gathering) checkCollisions(name string, t dto.MetricType) error {
	for _, suffix := range []string{"_count", "_sum", "_bucket"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		if other := g.families[base]; other != nil {
			switch other.GetType() {
			case dto.MetricType_SUMMARY:
				if suffix != "_bucket" {
					return fmt.Errorf("collected metric named %q collides with previously collected summary named %q", name, base)
				}
			case dto.MetricType_HISTOGRAM:
				return fmt.Errorf("collected metric named %q collides with previously collected histogram named %q", name, base)
			}
		}
	}
	if t == dto.MetricType_SUMMARY || t == dto.MetricType_HISTOGRAM {
		kind := "summary"
		suffixes := []string{"_count", "_sum"}
		if t != dto.MetricType_SUMMARY {
			kind = "histogram"
			suffixes = append(suffixes, "_bucket")
		}
		for _, s := range suffixes {
			if g.families[name+s] != nil {
				return fmt.Errorf("collected %s named %q collides with previously collected metric named %q", kind, name, name+s)
			}
		}
	}
	return nil
}

// checkLabels refuses invalid label names, values that are not UTF-8 and repeated names,
// and sorts the pairs by name (as exposition expects).
func (g *gathering) checkLabels(name string, m *dto.Metric) error {
	seen := make(map[string]struct{}, len(m.Label))
	for _, lp := range m.Label {
		n := lp.GetName()
		if !model.UTF8Validation.IsValidLabelName(n) {
			return fmt.Errorf("collected metric %q { %s} has a label with an invalid name: %s", name, m, n)
		}
		if !utf8.ValidString(lp.GetValue()) {
			return fmt.Errorf("collected metric %q { %s} has a label named %q whose value is not utf8: %#v", name, m, n, lp.GetValue())
		}
		if _, dup := seen[n]; dup {
			return fmt.Errorf("collected metric %q { %s} has two or more labels with the same name: %s", name, m, n)
		}
		seen[n] = struct{}{}
	}
	sort.Slice(m.Label, func(i, j int) bool { return m.Label[i].GetName() < m.Label[j].GetName() })
	return nil
}

// checkAgainstDesc (pedantic registries) checks that a metric carries exactly its
// descriptor's labels, with the const labels' values.
func checkAgainstDesc(name string, m *dto.Metric, info *descInfo) error {
	if len(m.Label) != len(info.constLabels)+len(info.varLabels) {
		return fmt.Errorf("collected metric %q { %s} has %d label pairs but its descriptor has %d label names", name, m, len(m.Label), len(info.constLabels)+len(info.varLabels))
	}
	have := make(map[string]string, len(m.Label))
	for _, lp := range m.Label {
		have[lp.GetName()] = lp.GetValue()
	}
	for _, p := range info.constLabels {
		if v, ok := have[p.name]; !ok || v != p.value {
			return fmt.Errorf("collected metric %q { %s} has const label %s not equal to %q of its descriptor", name, m, p.name, p.value)
		}
	}
	for _, n := range info.varLabels {
		if _, ok := have[n]; !ok {
			return fmt.Errorf("collected metric %q { %s} lacks label %q of its descriptor", name, m, n)
		}
	}
	return nil
}

func seriesKey(name string, m *dto.Metric) string {
	var b strings.Builder
	b.WriteString(name)
	for _, lp := range m.Label {
		b.WriteByte(0xff)
		b.WriteString(lp.GetName())
		b.WriteByte(0xfe)
		b.WriteString(lp.GetValue())
	}
	if m.TimestampMs != nil {
		fmt.Fprintf(&b, "\xff@%d", m.GetTimestampMs())
	}
	return b.String()
}

// result sorts families by name and each family's metrics by label values, then timestamp.
func (g *gathering) result() ([]*dto.MetricFamily, error) {
	out := make([]*dto.MetricFamily, 0, len(g.families))
	for _, mf := range g.families {
		sort.Slice(mf.Metric, func(i, j int) bool { return metricLess(mf.Metric[i], mf.Metric[j]) })
		out = append(out, mf)
	}
	sortFamilies(out)
	if len(g.errs) == 0 {
		return out, nil
	}
	return out, g.errs
}

func metricLess(a, b *dto.Metric) bool {
	for i := 0; i < len(a.Label) && i < len(b.Label); i++ {
		if av, bv := a.Label[i].GetValue(), b.Label[i].GetValue(); av != bv {
			return av < bv
		}
	}
	if len(a.Label) != len(b.Label) {
		return len(a.Label) < len(b.Label)
	}
	return a.GetTimestampMs() < b.GetTimestampMs()
}
