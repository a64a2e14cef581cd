package footmetrics_test

import (
	"testing"

	fm "github.com/footanalytics/footmetrics/bindings-c/go"
	"github.com/prometheus/client_golang/prometheus"
)

// A footmetrics metric and a client_golang collector of the same name clash at registration,
// in either order, as two collectors of that name do in client_golang; unregistering the first
// frees the name.
func TestNameClashesWithClientGolangCollectorsAreRefused(t *testing.T) {
	opts := fm.GaugeOpts{Name: "mix", Help: "Mixed."}
	for _, ourFirst := range []bool{true, false} {
		r := fm.NewRegistry()
		ours := fm.NewGauge(opts)
		theirs := prometheus.NewGaugeFunc(prometheus.GaugeOpts(opts), func() float64 { return 1 })
		first, second := prometheus.Collector(ours), prometheus.Collector(theirs)
		if !ourFirst {
			first, second = second, first
		}
		if err := r.Register(first); err != nil {
			t.Fatalf("first registration (ours first: %v): %v", ourFirst, err)
		}
		if err := r.Register(second); err == nil {
			t.Errorf("ours first: %v: a second collector named mix was accepted", ourFirst)
		}
		if _, err := r.Gather(); err != nil {
			t.Errorf("ours first: %v: the refused collector still broke Gather: %v", ourFirst, err)
		}
		if !r.Unregister(first) {
			t.Fatalf("ours first: %v: unregister failed", ourFirst)
		}
		if err := r.Register(second); err != nil {
			t.Errorf("ours first: %v: the name stayed taken after unregister: %v", ourFirst, err)
		}
	}
	// The default registry's Go collector owns go_goroutines, as in client_golang.
	if err := fm.Register(fm.NewGauge(fm.GaugeOpts{Name: "go_goroutines", Help: "Mine."})); err == nil {
		t.Error("a footmetrics go_goroutines was accepted beside the Go collector's")
	}
}
