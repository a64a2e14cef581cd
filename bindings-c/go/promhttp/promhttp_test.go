package promhttp_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	footmetrics "github.com/footanalytics/footmetrics/bindings-c/go"
	"github.com/footanalytics/footmetrics/bindings-c/go/promhttp"
	"github.com/prometheus/client_golang/prometheus"
	cgpromhttp "github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape serves one plain-text scrape through h and parses it.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape answered %d: %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("parsing the scrape: %v\n%s", err, rec.Body)
	}
	return mfs
}

// shape lists "name type" for the families whose names start with one of the prefixes.
func shape(mfs map[string]*dto.MetricFamily, prefixes ...string) []string {
	var out []string
	for name, mf := range mfs {
		for _, p := range prefixes {
			if strings.HasPrefix(name, p) {
				out = append(out, name+" "+mf.GetType().String())
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// requests is promhttp_metric_handler_requests_total by code, and the in-flight gauge.
func requests(t *testing.T, mfs map[string]*dto.MetricFamily) (map[string]float64, float64) {
	t.Helper()
	byCode := map[string]float64{}
	for _, m := range mfs["promhttp_metric_handler_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "code" {
				byCode[l.GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	inFlight := mfs["promhttp_metric_handler_requests_in_flight"].GetMetric()
	if len(inFlight) != 1 {
		t.Fatalf("promhttp_metric_handler_requests_in_flight has %d series", len(inFlight))
	}
	return byCode, inFlight[0].GetGauge().GetValue()
}

// The default registries of client_golang and footmetrics, each scraped through its own
// promhttp.Handler(), expose the same go_*, process_* and promhttp_* families with the same
// types, and the scrape counters move alike.
func TestDefaultRegistryMatchesClientGolang(t *testing.T) {
	theirs, ours := cgpromhttp.Handler(), promhttp.Handler()
	theirFirst, ourFirst := scrape(t, theirs), scrape(t, ours)

	prefixes := []string{"go_", "process_", "promhttp_"}
	want, got := shape(theirFirst, prefixes...), shape(ourFirst, prefixes...)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("families differ\nclient_golang:\n%s\nfootmetrics:\n%s",
			strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
	t.Logf("%d go_*, process_* and promhttp_* families compared", len(want))
	for _, family := range []string{"go_goroutines gauge", "go_gc_duration_seconds SUMMARY",
		"go_info GAUGE", "go_memstats_alloc_bytes GAUGE",
		"promhttp_metric_handler_requests_total COUNTER",
		"promhttp_metric_handler_requests_in_flight GAUGE"} {
		name := strings.Fields(family)[0]
		if mf, ok := ourFirst[name]; !ok {
			t.Errorf("footmetrics has no %s", name)
		} else if typ := strings.Fields(family)[1]; !strings.EqualFold(mf.GetType().String(), typ) {
			t.Errorf("%s is a %s, want %s", name, mf.GetType(), typ)
		}
	}
	if shape(ourFirst, "process_") == nil && shape(theirFirst, "process_") != nil {
		t.Error("footmetrics has no process_* families")
	}

	theirBase, theirFlight := requests(t, theirFirst)
	ourBase, ourFlight := requests(t, ourFirst)
	if fmt.Sprint(ourBase) != fmt.Sprint(theirBase) || ourFlight != theirFlight {
		t.Errorf("first scrape: client_golang %v in flight %v, footmetrics %v in flight %v",
			theirBase, theirFlight, ourBase, ourFlight)
	}
	if ourFlight != 1 {
		t.Errorf("in flight during a scrape = %v, want 1 (the scrape itself)", ourFlight)
	}

	const n = 5
	for i := 0; i < n; i++ {
		scrape(t, theirs)
		scrape(t, promhttp.Handler()) // a new Handler shares the registered metrics
	}
	theirAfter, _ := requests(t, scrape(t, theirs))
	ourAfter, _ := requests(t, scrape(t, ours))
	for _, code := range []string{"200", "500", "503"} {
		if got, want := ourAfter[code]-ourBase[code], theirAfter[code]-theirBase[code]; got != want {
			t.Errorf("code %s moved by %v after %d scrapes, client_golang's by %v", code, got, n+1, want)
		}
	}
	if got := ourAfter["200"] - ourBase["200"]; got != n+1 {
		t.Errorf("code 200 moved by %v after %d scrapes", got, n+1)
	}
}

// Both InstrumentMetricHandlers count a wrapped handler's answers by the same code labels.
func TestInstrumentMetricHandlerCodesMatchClientGolang(t *testing.T) {
	statuses := []int{200, 503, 404, 0, 999}
	inner := func(i *int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			s := statuses[*i%len(statuses)]
			*i++
			if s != 0 {
				w.WriteHeader(s)
			}
		})
	}
	var ti, oi int
	theirReg, ourReg := prometheus.NewRegistry(), footmetrics.NewRegistry()
	theirs := cgpromhttp.InstrumentMetricHandler(theirReg, inner(&ti))
	ours := promhttp.InstrumentMetricHandler(ourReg, inner(&oi))
	for range statuses {
		for _, h := range []http.Handler{theirs, ours} {
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/metrics", nil))
		}
	}
	theirMFs, err := theirReg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	ourMFs, err := ourReg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := func(mfs []*dto.MetricFamily) map[string]*dto.MetricFamily {
		m := map[string]*dto.MetricFamily{}
		for _, mf := range mfs {
			m[mf.GetName()] = mf
		}
		return m
	}
	theirCodes, theirFlight := requests(t, byName(theirMFs))
	ourCodes, ourFlight := requests(t, byName(ourMFs))
	if fmt.Sprint(ourCodes) != fmt.Sprint(theirCodes) || ourFlight != theirFlight {
		t.Errorf("client_golang %v in flight %v, footmetrics %v in flight %v",
			theirCodes, theirFlight, ourCodes, ourFlight)
	}
	if ourCodes["200"] != 2 || ourCodes["unknown"] != 1 || ourFlight != 0 {
		t.Errorf("footmetrics counted %v, in flight %v", ourCodes, ourFlight)
	}
}
