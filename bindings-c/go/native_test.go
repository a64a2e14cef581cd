package footmetrics_test

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	fm "github.com/footanalytics/footmetrics/bindings-c/go"
	fmhttp "github.com/footanalytics/footmetrics/bindings-c/go/promhttp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// The Accept header Prometheus sends with --enable-feature=native-histograms.
const nativeAccept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7," +
	"text/plain;version=0.0.4;q=0.3,*/*;q=0.2"

// nativeView is everything of a histogram dto the native comparison looks at, written out so
// that a difference shows where it is. Floats are written exactly (NaN and infinities as such).
func nativeView(h *dto.Histogram) string {
	var b strings.Builder
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	fmt.Fprintf(&b, "count=%d sum=%s schema=%d zero_threshold=%s zero_count=%d\n",
		h.GetSampleCount(), f(h.GetSampleSum()), h.GetSchema(), f(h.GetZeroThreshold()), h.GetZeroCount())
	for _, bk := range h.GetBucket() {
		fmt.Fprintf(&b, "le=%s:%d ", f(bk.GetUpperBound()), bk.GetCumulativeCount())
	}
	spans := func(name string, ss []*dto.BucketSpan, ds []int64) {
		fmt.Fprintf(&b, "\n%s spans:", name)
		for _, s := range ss {
			fmt.Fprintf(&b, " (%d,%d)", s.GetOffset(), s.GetLength())
		}
		fmt.Fprintf(&b, "\n%s deltas: %v", name, ds)
	}
	spans("positive", h.GetPositiveSpan(), h.GetPositiveDelta())
	spans("negative", h.GetNegativeSpan(), h.GetNegativeDelta())
	return b.String()
}

// bucketCounts expands spans and deltas into counts by bucket key.
func bucketCounts(spans []*dto.BucketSpan, deltas []int64) map[int32]int64 {
	out := map[int32]int64{}
	key, count, d := int32(0), int64(0), 0
	for _, s := range spans {
		key += s.GetOffset()
		for j := uint32(0); j < s.GetLength() && d < len(deltas); j++ {
			count += deltas[d]
			d++
			out[key] = count
			key++
		}
	}
	return out
}

// nativeDiff says where two native histograms differ: the header, and the first few
// buckets whose counts differ.
func nativeDiff(want, got *dto.Histogram) string {
	head := func(h *dto.Histogram) string { v, _, _ := strings.Cut(nativeView(h), "\n"); return v }
	var b strings.Builder
	fmt.Fprintf(&b, "\nclient_golang: %s\nfootmetrics:   %s", head(want), head(got))
	for _, sign := range []string{"positive", "negative"} {
		w, g := bucketCounts(want.PositiveSpan, want.PositiveDelta), bucketCounts(got.PositiveSpan, got.PositiveDelta)
		if sign == "negative" {
			w, g = bucketCounts(want.NegativeSpan, want.NegativeDelta), bucketCounts(got.NegativeSpan, got.NegativeDelta)
		}
		n := 0
		for k := int32(-20000); k < 200000 && n < 8; k++ {
			if w[k] != g[k] {
				fmt.Fprintf(&b, "\n%s bucket %d (upper bound %g): client_golang %d, footmetrics %d", sign, k,
					math.Exp2(float64(k)/math.Exp2(float64(want.GetSchema()))), w[k], g[k])
				n++
			}
		}
	}
	if v1, v2 := nativeView(want), nativeView(got); v1 != v2 && !strings.Contains(b.String(), "bucket") {
		fmt.Fprintf(&b, "\nsame counts per bucket, other encoding:\n%s\n---\n%s", v1, v2)
	}
	return b.String()
}

// gatherHistogram is the one histogram of the one family g gathers.
func gatherHistogram(t *testing.T, g prometheus.Gatherer) *dto.Histogram {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 1 || len(mfs[0].Metric) != 1 || mfs[0].Metric[0].Histogram == nil {
		t.Fatalf("want one histogram, gathered %v", mfs)
	}
	return mfs[0].Metric[0].Histogram
}

// schemaOf is the schema client_golang picks for a bucket factor (the largest whose growth
// factor 2^(2^-schema) does not exceed it), for making boundary values.
func schemaOf(factor float64) int {
	return int(math.Max(-4, math.Min(8, -math.Floor(math.Log2(math.Log2(factor))))))
}

// ulpGap: client_golang's boundaries within a power of two (its nativeHistogramBounds table,
// schemas 1 to 8) are 0 to 4 ulps below the correctly rounded 2^(i/2^schema - 1) that the
// core computes (341 of its 510 entries differ), so a value that close below such a boundary
// lands one bucket higher in client_golang. Values near those boundaries stay further away;
// powers of two, exact in both, are tested exactly on the boundary.
const ulpGap = 8

// nativeValues is a seeded mix: magnitudes from 1e-12 to 1e12, both signs, zeros, values
// within the default zero threshold, bucket boundaries of the schema (2^(k/2^schema), and
// powers of two, which are boundaries at every schema) and their neighbours, and +Inf.
func nativeValues(rng *rand.Rand, schema, n int) []float64 {
	out := make([]float64, 0, n)
	for len(out) < n {
		var v float64
		switch rng.Intn(10) {
		case 0:
			v = 0
		case 1:
			v = math.Ldexp(1, rng.Intn(60)-30) // a power of two
		case 2:
			// Near a boundary 2^(k/2^schema): exactly on it where it is a power of two (every
			// boundary at schema <= 0), else ulpGap ulps to either side (see ulpGap).
			k := rng.Intn(200) - 100
			v = math.Exp2(float64(k) / math.Exp2(float64(schema)))
			if schema > 0 && k%(1<<schema) != 0 {
				v = math.Float64frombits(math.Float64bits(v) + uint64(ulpGap))
				if rng.Intn(2) == 0 {
					v = math.Float64frombits(math.Float64bits(v) - uint64(2*ulpGap))
				}
			} else if rng.Intn(3) == 0 {
				v = math.Nextafter(v, math.Inf(rng.Intn(2)*2-1)) // one ulp off an exact boundary
			}
		case 3:
			v = rng.Float64() * 1e-40 // inside the default zero threshold, 2^-128
		case 4:
			if rng.Intn(50) == 0 {
				v = math.Inf(1)
			} else {
				v = rng.NormFloat64()
			}
		default:
			v = math.Pow(10, rng.Float64()*24-12)
		}
		if rng.Intn(4) == 0 {
			v = -v
		}
		out = append(out, v)
	}
	return out
}

// The same observations into a client_golang native histogram and into ours with the same
// options give the same histogram (schema, zero bucket, count, sum, spans, deltas, classic
// buckets) after every batch: for schemas 8 down to -1, both zero-threshold sentinels, with
// classic buckets too, and past a bucket limit (halving the resolution, widening the zero
// bucket, resetting).
func TestNativeHistogramMatchesClientGolang(t *testing.T) {
	cases := []struct {
		name string
		opts prometheus.HistogramOpts
	}{
		{"factor 1.1", prometheus.HistogramOpts{NativeHistogramBucketFactor: 1.1}},
		{"factor 1.01", prometheus.HistogramOpts{NativeHistogramBucketFactor: 1.01}},
		{"factor 2", prometheus.HistogramOpts{NativeHistogramBucketFactor: 2}},
		{"factor 4, a negative schema", prometheus.HistogramOpts{NativeHistogramBucketFactor: 4}},
		{"factor 1.0001, schema 8", prometheus.HistogramOpts{NativeHistogramBucketFactor: 1.0001}},
		{"zero threshold 1e-3", prometheus.HistogramOpts{NativeHistogramBucketFactor: 1.1, NativeHistogramZeroThreshold: 1e-3}},
		{"zero threshold zero", prometheus.HistogramOpts{NativeHistogramBucketFactor: 1.1,
			NativeHistogramZeroThreshold: prometheus.NativeHistogramZeroThresholdZero}},
		{"with classic buckets", prometheus.HistogramOpts{NativeHistogramBucketFactor: 1.1,
			Buckets: []float64{-1, 0, 0.001, 0.5, 1, 2, 100}}},
		{"bucket limit halves", prometheus.HistogramOpts{NativeHistogramBucketFactor: 1.1,
			NativeHistogramMaxBucketNumber: 40}},
		{"bucket limit halves at schema 8", prometheus.HistogramOpts{NativeHistogramBucketFactor: 1.0001,
			NativeHistogramMaxBucketNumber: 100}},
		{"bucket limit widens the zero bucket", prometheus.HistogramOpts{NativeHistogramBucketFactor: 1.1,
			NativeHistogramMaxBucketNumber: 40, NativeHistogramMaxZeroThreshold: 1e-3}},
		{"bucket limit widens the zero bucket to a large threshold", prometheus.HistogramOpts{NativeHistogramBucketFactor: 1.01,
			NativeHistogramMaxBucketNumber: 30, NativeHistogramMaxZeroThreshold: 100}},
		{"bucket limit resets", prometheus.HistogramOpts{NativeHistogramBucketFactor: 1.1,
			NativeHistogramMaxBucketNumber: 40, NativeHistogramMinResetDuration: time.Nanosecond}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.Name, opts.Help = "native_seconds", "native"
			theirs := prometheus.NewHistogram(opts)
			cg := prometheus.NewRegistry()
			cg.MustRegister(theirs)
			ours, err := fm.NewHistogramE(opts)
			if err != nil {
				t.Fatal(err)
			}
			reg := fm.NewRegistry()
			reg.MustRegister(ours)
			rng := rand.New(rand.NewSource(int64(1000 + i)))
			schema := schemaOf(opts.NativeHistogramBucketFactor)
			for batch := 0; batch < 6; batch++ {
				for _, v := range nativeValues(rng, schema, 1500) {
					theirs.Observe(v)
					ours.Observe(v)
				}
				theirH, ourH := gatherHistogram(t, cg), gatherHistogram(t, reg)
				if a, b := theirH.GetZeroThreshold(), ourH.GetZeroThreshold(); opts.NativeHistogramMaxZeroThreshold > 0 && a != b {
					// A widened zero threshold is a bucket boundary: see ulpGap.
					if d := int64(math.Float64bits(b)) - int64(math.Float64bits(a)); d < 0 || d > 4 {
						t.Fatalf("batch %d: zero threshold %v, client_golang's %v", batch, b, a)
					}
					ourH.ZeroThreshold = theirH.ZeroThreshold
				}
				if want, got := nativeView(theirH), nativeView(ourH); got != want {
					t.Fatalf("batch %d differs: %s", batch, nativeDiff(theirH, ourH))
				}
			}
			h := gatherHistogram(t, reg)
			if opts.NativeHistogramMaxBucketNumber > 0 {
				n := 0
				for _, s := range append(h.PositiveSpan, h.NegativeSpan...) {
					n += int(s.GetLength())
				}
				// Past the limit only when even the lowest resolution (schema -4) holds more.
				if n > int(opts.NativeHistogramMaxBucketNumber) && h.GetSchema() != -4 {
					t.Fatalf("%d buckets over the limit of %d", n, opts.NativeHistogramMaxBucketNumber)
				}
				reset := opts.NativeHistogramMinResetDuration > 0 && h.GetSampleCount() < 6*1500
				limited := reset || h.GetSchema() < int32(schema) ||
					h.GetZeroThreshold() > prometheus.DefNativeHistogramZeroThreshold
				if !limited {
					t.Fatalf("the limit was never hit: schema %d, zero threshold %g", h.GetSchema(), h.GetZeroThreshold())
				}
			}
		})
	}
}

// An empty native histogram with a zero threshold of zero still looks native (client_golang
// adds an empty span), and a vector's children each keep their own buckets.
func TestNativeHistogramEmptyAndVec(t *testing.T) {
	opts := prometheus.HistogramOpts{Name: "empty_seconds", Help: "h", NativeHistogramBucketFactor: 1.1,
		NativeHistogramZeroThreshold: prometheus.NativeHistogramZeroThresholdZero}
	theirs := prometheus.NewHistogram(opts)
	ours := fm.NewHistogram(opts)
	var a, b dto.Metric
	if err := theirs.Write(&a); err != nil {
		t.Fatal(err)
	}
	if err := ours.(prometheus.Metric).Write(&b); err != nil {
		t.Fatal(err)
	}
	if want, got := nativeView(a.Histogram), nativeView(b.Histogram); got != want {
		t.Fatalf("client_golang:\n%s\nfootmetrics:\n%s", want, got)
	}

	// An observation with an exemplar counts once, in the native buckets too.
	ours.(prometheus.ExemplarObserver).ObserveWithExemplar(0.25, prometheus.Labels{"trace_id": "abc"})
	theirs.(prometheus.ExemplarObserver).ObserveWithExemplar(0.25, prometheus.Labels{"trace_id": "abc"})
	a, b = dto.Metric{}, dto.Metric{}
	_, _ = theirs.Write(&a), ours.(prometheus.Metric).Write(&b)
	if want, got := nativeView(a.Histogram), nativeView(b.Histogram); got != want {
		t.Fatalf("after an exemplar\nclient_golang:\n%s\nfootmetrics:\n%s", want, got)
	}
	exemplars := func(h *dto.Histogram) string {
		var out []string
		for _, e := range h.Exemplars {
			out = append(out, fmt.Sprintf("%v %v", e.GetValue(), e.GetLabel()))
		}
		return strings.Join(out, "; ")
	}
	if want, got := exemplars(a.Histogram), exemplars(b.Histogram); got != want || got == "" {
		t.Fatalf("native exemplars: client_golang %q, footmetrics %q", want, got)
	}
	// Past NativeHistogramMaxExemplars (default 10) both keep 10 (client_golang's choice of
	// which is its own; footmetrics keeps the latest).
	for i := 0; i < 25; i++ {
		v := float64(i + 1)
		ours.(prometheus.ExemplarObserver).ObserveWithExemplar(v, prometheus.Labels{"trace_id": strconv.Itoa(i)})
		theirs.(prometheus.ExemplarObserver).ObserveWithExemplar(v, prometheus.Labels{"trace_id": strconv.Itoa(i)})
	}
	a, b = dto.Metric{}, dto.Metric{}
	_, _ = theirs.Write(&a), ours.(prometheus.Metric).Write(&b)
	if len(a.Histogram.Exemplars) != 10 || len(b.Histogram.Exemplars) != 10 {
		t.Fatalf("native exemplars kept: client_golang %d, footmetrics %d", len(a.Histogram.Exemplars), len(b.Histogram.Exemplars))
	}
	if last := b.Histogram.Exemplars[9]; last.GetValue() != 25 {
		t.Fatalf("the latest exemplar is not kept: %v", b.Histogram.Exemplars)
	}

	vopts := prometheus.HistogramOpts{Name: "vec_seconds", Help: "h", NativeHistogramBucketFactor: 1.5}
	tv := prometheus.NewHistogramVec(vopts, []string{"route"})
	ov, err := fm.NewHistogramVecE(vopts, []string{"route"})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(7))
	for i := 0; i < 3000; i++ {
		route := []string{"a", "b", "c"}[rng.Intn(3)]
		v := rng.ExpFloat64()
		tv.WithLabelValues(route).Observe(v)
		ov.WithLabelValues(route).Observe(v)
	}
	for _, route := range []string{"a", "b", "c"} {
		var x, y dto.Metric
		_ = tv.WithLabelValues(route).(prometheus.Metric).Write(&x)
		_ = ov.WithLabelValues(route).(prometheus.Metric).Write(&y)
		if want, got := nativeView(x.Histogram), nativeView(y.Histogram); got != want {
			t.Fatalf("route %s\nclient_golang:\n%s\nfootmetrics:\n%s", route, want, got)
		}
	}
}

// decodeProto decodes a delimited protobuf body into families by name.
func decodeProto(t *testing.T, body io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	dec := expfmt.NewDecoder(body, expfmt.NewFormat(expfmt.TypeProtoDelim))
	out := map[string]*dto.MetricFamily{}
	for {
		mf := &dto.MetricFamily{}
		if err := dec.Decode(mf); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		out[mf.GetName()] = mf
	}
}

// Served over HTTP to a scraper that prefers protobuf (Prometheus with native histograms on),
// the registry's handler and promhttp's answer in delimited protobuf; decoded by client_model
// and expfmt, the native histogram is the one Gather gives (the core wrote the first, Go's
// dto the second), next to a family client_golang's collectors contribute.
func TestNativeHistogramServedAsProtobuf(t *testing.T) {
	reg := fm.NewRegistry()
	opts := fm.HistogramOpts{Name: "served_seconds", Help: "h", NativeHistogramBucketFactor: 1.1,
		Buckets: []float64{0.1, 1, 10}}
	h := fm.NewHistogramVec(opts, []string{"route"})
	reg.MustRegister(h)
	other := prometheus.NewGauge(prometheus.GaugeOpts{Name: "other_gauge", Help: "h"})
	other.Set(3)
	reg.MustRegister(prometheus.Collector(struct{ prometheus.Collector }{other})) // gathered by Go
	rng := rand.New(rand.NewSource(3))
	for _, v := range nativeValues(rng, 3, 5000) {
		h.WithLabelValues([]string{"a", "b"}[rng.Intn(2)]).Observe(v)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, mf := range mfs {
		if mf.GetName() == "served_seconds" {
			for _, m := range mf.Metric {
				want[m.Label[0].GetValue()] = nativeView(m.Histogram)
			}
		}
	}
	for name, handler := range map[string]http.Handler{
		"Registry.Handler":    reg.Handler(),
		"promhttp.HandlerFor": fmhttp.HandlerFor(reg, fmhttp.HandlerOpts{}),
	} {
		srv := httptest.NewServer(handler)
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("Accept", nativeAccept)
		rsp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if ct := rsp.Header.Get("Content-Type"); expfmt.ResponseFormat(rsp.Header).FormatType() != expfmt.TypeProtoDelim {
			t.Fatalf("%s: Content-Type %q is not delimited protobuf", name, ct)
		}
		got := decodeProto(t, rsp.Body)
		rsp.Body.Close()
		srv.Close()
		mf := got["served_seconds"]
		if mf == nil || mf.GetType() != dto.MetricType_HISTOGRAM || len(mf.Metric) != 2 {
			t.Fatalf("%s: served_seconds missing or wrong: %v", name, mf)
		}
		for _, m := range mf.Metric {
			if w, g := want[m.Label[0].GetValue()], nativeView(m.Histogram); g != w {
				t.Fatalf("%s: route %s\nGather:\n%s\nserved:\n%s", name, m.Label[0].GetValue(), w, g)
			}
		}
		if g := got["other_gauge"]; g == nil || g.Metric[0].GetGauge().GetValue() != 3 {
			t.Fatalf("%s: other_gauge missing or wrong: %v", name, g)
		}
	}
	// Text keeps the classic buckets.
	if text := render(t, reg, fm.FormatText); !strings.Contains(text, `served_seconds_bucket{route="a",le="1"} `) {
		t.Fatalf("no classic bucket in the text format:\n%s", text)
	}
}

// Bad native options are typed errors from the E constructors and Register, and panic where
// bad buckets panic (creating a child, NewHistogram), as client_golang panics for bad buckets.
func TestNativeHistogramBadOptions(t *testing.T) {
	bad := []prometheus.HistogramOpts{
		{NativeHistogramBucketFactor: 0.5},
		{NativeHistogramBucketFactor: 1},
		{NativeHistogramBucketFactor: -1.1},
		{NativeHistogramBucketFactor: math.NaN()},
		{NativeHistogramBucketFactor: math.Inf(1)},
		{NativeHistogramBucketFactor: 1.1, NativeHistogramZeroThreshold: math.NaN()},
		{NativeHistogramBucketFactor: 1.1, NativeHistogramZeroThreshold: math.Inf(1)},
		{NativeHistogramBucketFactor: 1.1, NativeHistogramMaxZeroThreshold: -1},
		{NativeHistogramBucketFactor: 1.1, NativeHistogramMaxZeroThreshold: math.NaN()},
		{NativeHistogramBucketFactor: 1.1, NativeHistogramMinResetDuration: -time.Second},
	}
	for i, opts := range bad {
		opts.Name, opts.Help = fmt.Sprintf("bad_%d_seconds", i), "h"
		field := "NativeHistogramBucketFactor"
		switch {
		case opts.NativeHistogramMinResetDuration != 0:
			field = "NativeHistogramMinResetDuration"
		case opts.NativeHistogramMaxZeroThreshold != 0:
			field = "NativeHistogramMaxZeroThreshold"
		case opts.NativeHistogramZeroThreshold != 0:
			field = "NativeHistogramZeroThreshold"
		}
		check := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, &fm.Error{Code: fm.CodeInvalidOption}) || !strings.Contains(err.Error(), field) {
				t.Errorf("case %d, %s: want an invalid-option error naming %s, got %v", i, what, field, err)
			}
		}
		_, err := fm.NewHistogramE(opts)
		check("NewHistogramE", err)
		_, err = fm.NewHistogramVecE(opts, []string{"l"})
		check("NewHistogramVecE", err)
		v := fm.NewHistogramVec(opts, []string{"l"})
		check("Register", fm.NewRegistry().Register(v))
		func() {
			defer func() { check("NewHistogram panic", asErr(recover())) }()
			fm.NewHistogram(opts)
		}()
		func() {
			defer func() { check("WithLabelValues panic", asErr(recover())) }()
			v.WithLabelValues("x")
		}()
	}
	// 0 leaves native buckets off: a classic histogram with DefBuckets, as client_golang.
	h, err := fm.NewHistogramE(prometheus.HistogramOpts{Name: "classic_seconds", Help: "h"})
	if err != nil {
		t.Fatal(err)
	}
	var m dto.Metric
	_ = h.(prometheus.Metric).Write(&m)
	if m.Histogram.Schema != nil || len(m.Histogram.Bucket) != len(prometheus.DefBuckets) {
		t.Fatalf("a histogram without native options: %v", m.Histogram)
	}
}

func asErr(r any) error {
	if err, ok := r.(error); ok {
		return err
	}
	return fmt.Errorf("no error panic: %v", r)
}

// Goroutines observing while others gather: every reading is consistent (the count is the
// zero bucket plus the native buckets, the classic +Inf count is the count), and at the end
// nothing is lost, also while the bucket limit halves the resolution under the writers.
func TestNativeHistogramConcurrentReadsAreConsistent(t *testing.T) {
	opts := fm.HistogramOpts{Name: "busy_seconds", Help: "h", NativeHistogramBucketFactor: 1.01,
		NativeHistogramMaxBucketNumber: 50, Buckets: []float64{0.01, 1}}
	h := fm.NewHistogram(opts)
	reg := fm.NewRegistry()
	reg.MustRegister(h)
	const writers, each = 4, 20000
	check := func(hist *dto.Histogram) {
		n := hist.GetZeroCount()
		for _, c := range bucketCounts(hist.PositiveSpan, hist.PositiveDelta) {
			n += uint64(c)
		}
		for _, c := range bucketCounts(hist.NegativeSpan, hist.NegativeDelta) {
			n += uint64(c)
		}
		if n != hist.GetSampleCount() {
			t.Errorf("inconsistent reading: buckets hold %d, count %d", n, hist.GetSampleCount())
		}
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-done:
				return
			default:
				check(gatherHistogram(t, reg))
			}
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed))
			for i := 0; i < each; i++ {
				h.Observe((rng.Float64() - 0.3) * math.Pow(10, rng.Float64()*8-4))
			}
		}(int64(w))
	}
	wg.Wait()
	close(done)
	readers.Wait()
	final := gatherHistogram(t, reg)
	check(final)
	if final.GetSampleCount() != writers*each {
		t.Fatalf("count %d, want %d", final.GetSampleCount(), writers*each)
	}
	if final.GetSchema() >= 7 {
		t.Fatalf("the bucket limit never halved the resolution: schema %d", final.GetSchema())
	}
}
