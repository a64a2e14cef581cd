package footmetrics_test

import (
	"math"
	"math/rand"
	"sync"
	"testing"

	fm "github.com/footanalytics/footmetrics/bindings-c/go"
	"github.com/prometheus/client_golang/prometheus"
)

// factorOfSchema is a bucket factor whose schema is s (a hair above 2^(2^-s)).
func factorOfSchema(s int) float64 { return math.Exp2(math.Exp2(-float64(s))) * (1 + 1e-12) }

// Observe computes a native bucket key in Go (frexp by bits, the fraction tables of a
// positive schema, exponent arithmetic otherwise); it gives the core's key for every
// bucket's upper bound and its neighbours one ulp away on either side, both signs, at every
// schema -4..8, and for subnormals, the extremes, infinities and random bit patterns.
func TestNativeKeyInGoIsTheCoresKey(t *testing.T) {
	rng := rand.New(rand.NewSource(24))
	for s := -4; s <= 8; s++ {
		h := fm.NewHistogram(fm.HistogramOpts{Name: "keys", Help: "h", NativeHistogramBucketFactor: factorOfSchema(s),
			NativeHistogramZeroThreshold: fm.NativeHistogramZeroThresholdZero})
		if !fm.NativeObservesInGoForTest(h) {
			t.Fatal("a native histogram does not observe in Go")
		}
		mismatches, checked := 0, 0
		check := func(v float64) {
			goKey, coreKey, schema, err := fm.NativeKeysForTest(h, v)
			if err != nil {
				t.Fatalf("core key of %v: %v", v, err)
			}
			if schema != int32(s) {
				t.Fatalf("factor %v: schema %d, want %d", factorOfSchema(s), schema, s)
			}
			checked++
			if goKey != coreKey && mismatches < 10 {
				mismatches++
				t.Errorf("schema %d: key of %v (%#x): Go %d, core %d", s, v, math.Float64bits(v), goKey, coreKey)
			}
		}
		lowest, err := fm.NativeCoreKeyForTest(math.SmallestNonzeroFloat64, int32(s))
		if err != nil {
			t.Fatal(err)
		}
		highest, err := fm.NativeCoreKeyForTest(math.MaxFloat64, int32(s))
		if err != nil {
			t.Fatal(err)
		}
		for k := lowest - 1; k <= highest; k++ {
			u, err := fm.NativeUpperBoundForTest(k, int32(s))
			if err != nil {
				t.Fatalf("bound of %d at schema %d: %v", k, s, err)
			}
			for _, v := range []float64{u, math.Nextafter(u, 0), math.Nextafter(u, math.Inf(1))} {
				if v != 0 {
					check(v)
					check(-v)
				}
			}
		}
		for _, v := range []float64{math.SmallestNonzeroFloat64, 2 * math.SmallestNonzeroFloat64,
			math.Float64frombits(1<<52 - 1), math.Float64frombits(1 << 52), math.Float64frombits(1<<51 + 3),
			math.MaxFloat64, math.Inf(1), math.Inf(-1), 1, 0.5, 2, 3} {
			check(v)
			check(-v)
		}
		for i := 0; i < 20000; i++ {
			v := math.Float64frombits(rng.Uint64() &^ (1 << 63))
			switch {
			case i%4 == 0:
				v = math.Float64frombits(rng.Uint64() & (1<<52 - 1)) // a subnormal
			case i%4 == 1:
				v = math.Pow(10, rng.Float64()*40-20)
			}
			if v != 0 && !math.IsNaN(v) {
				check(v)
			}
		}
		if checked < 20000 {
			t.Fatalf("schema %d: only %d values checked", s, checked)
		}
	}
}

// Many goroutines observing values across 33 octaves, both signs and zeros, into a native
// histogram with a bucket limit: the windows grow under them (a key outside the window
// goes to the core's lock, step 3 of the protocol) and the limit halves the resolution many
// times (step 5). At the end count, sum and zero bucket are exact, and every bucket holds
// exactly the values whose key it is at the final schema (the core's key); the same values
// observed one by one into client_golang give the same schema and histogram.
func TestNativeObserveSkippedAndLimitPathsFromGo(t *testing.T) {
	for _, c := range []struct {
		name string
		opts prometheus.HistogramOpts
	}{
		{"limit", prometheus.HistogramOpts{Name: "paths_seconds", Help: "h", NativeHistogramBucketFactor: 1.0001,
			NativeHistogramMaxBucketNumber: 40}},
		{"limit and classic buckets", prometheus.HistogramOpts{Name: "paths_seconds", Help: "h",
			NativeHistogramBucketFactor: 1.1, NativeHistogramMaxBucketNumber: 20, Buckets: []float64{0.001, 1, 100}}},
		{"no limit", prometheus.HistogramOpts{Name: "paths_seconds", Help: "h", NativeHistogramBucketFactor: 1.01}},
	} {
		t.Run(c.name, func(t *testing.T) {
			const writers, each = 8, 20000
			values := make([][]float64, writers)
			rng := rand.New(rand.NewSource(7))
			var sum float64
			zeros := uint64(0)
			for w := range values {
				for i := 0; i < each; i++ {
					// 11 significant bits, 2^-20 .. 2^13: every partial sum is exact, in any order.
					v := math.Ldexp(float64(1024+rng.Intn(1024)), rng.Intn(23)-30)
					switch rng.Intn(8) {
					case 0:
						v = 0
						zeros++
					case 1, 2:
						v = -v
					}
					values[w] = append(values[w], v)
					sum += v
				}
			}
			h := fm.NewHistogram(c.opts)
			reg := fm.NewRegistry()
			reg.MustRegister(h)
			var wg sync.WaitGroup
			for w := range values {
				wg.Add(1)
				go func(vs []float64) {
					defer wg.Done()
					for _, v := range vs {
						h.Observe(v)
					}
				}(values[w])
			}
			wg.Wait()
			got := gatherHistogram(t, reg)
			if got.GetSampleCount() != writers*each || got.GetSampleSum() != sum || got.GetZeroCount() != zeros {
				t.Fatalf("count %d sum %v zero %d, want %d %v %d", got.GetSampleCount(), got.GetSampleSum(),
					got.GetZeroCount(), writers*each, sum, zeros)
			}
			schema := got.GetSchema()
			if c.opts.NativeHistogramMaxBucketNumber > 0 && schema > 0 {
				t.Fatalf("the bucket limit did not halve the resolution enough: schema %d", schema)
			}
			pos, neg := map[int32]int64{}, map[int32]int64{}
			for _, vs := range values {
				for _, v := range vs {
					if v == 0 {
						continue
					}
					k, err := fm.NativeCoreKeyForTest(v, schema)
					if err != nil {
						t.Fatal(err)
					}
					if v > 0 {
						pos[k]++
					} else {
						neg[k]++
					}
				}
			}
			for sign, pair := range map[string][2]map[int32]int64{
				"positive": {pos, bucketCounts(got.PositiveSpan, got.PositiveDelta)},
				"negative": {neg, bucketCounts(got.NegativeSpan, got.NegativeDelta)},
			} {
				want, have := pair[0], pair[1]
				for k, n := range have {
					if n != want[k] {
						t.Errorf("%s bucket %d: %d, want %d", sign, k, n, want[k])
					}
				}
				for k, n := range want {
					if have[k] != n {
						t.Errorf("%s bucket %d: %d, want %d", sign, k, have[k], n)
					}
				}
			}
			if max := int(c.opts.NativeHistogramMaxBucketNumber); max > 0 && len(pos)+len(neg) > max {
				t.Errorf("%d buckets, limit %d", len(pos)+len(neg), max)
			}
			// client_golang, one by one.
			ref := prometheus.NewHistogram(c.opts)
			creg := prometheus.NewRegistry()
			creg.MustRegister(ref)
			for _, vs := range values {
				for _, v := range vs {
					ref.Observe(v)
				}
			}
			if want := gatherHistogram(t, creg); nativeView(want) != nativeView(got) {
				t.Fatalf("differs from client_golang:%s", nativeDiff(want, got))
			}
		})
	}
}

// Observe in Go and observe through the core (one cgo call, fm_child_observe) give the same
// histogram for the same values, one by one, at every schema -4..8, with and without classic
// buckets and a bucket limit.
func TestNativeObserveInGoMatchesTheCore(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for s := -4; s <= 8; s++ {
		for _, opts := range []fm.HistogramOpts{
			{Name: "a_seconds", Help: "h", NativeHistogramBucketFactor: factorOfSchema(s)},
			{Name: "a_seconds", Help: "h", NativeHistogramBucketFactor: factorOfSchema(s), Buckets: []float64{0.01, 1, 10},
				NativeHistogramMaxBucketNumber: 30, NativeHistogramZeroThreshold: fm.NativeHistogramZeroThresholdZero},
		} {
			inGo, viaCore := fm.NewHistogram(opts), fm.NewHistogram(opts)
			rg, rc := fm.NewRegistry(), fm.NewRegistry()
			rg.MustRegister(inGo)
			rc.MustRegister(viaCore)
			for i, v := range nativeValues(rng, s, 5000) {
				if i%50 == 0 {
					v = math.Float64frombits(rng.Uint64() & (1<<52 - 1)) // a subnormal
				}
				inGo.Observe(v)
				fm.ObserveThroughCoreForTest(viaCore, v)
			}
			inGo.Observe(math.NaN()) // ignored by both
			fm.ObserveThroughCoreForTest(viaCore, math.NaN())
			if want, got := gatherHistogram(t, rc), gatherHistogram(t, rg); nativeView(want) != nativeView(got) {
				t.Fatalf("schema %d %+v: Go differs from the core:%s", s, opts, nativeDiff(want, got))
			}
		}
	}
}
