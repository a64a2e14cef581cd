package footmetrics

// CoreCatalogForTest exposes coreCatalog to the external tests.
var CoreCatalogForTest = coreCatalog

// CounterIntWordForTest is a counter's integer word in shard 0, the one Go writes.
func CounterIntWordForTest(c Counter) *uint64 { return (*uint64)(c.(*counter).cells) }

// CounterWordLimitForTest is the integer word's limit (see counter.go).
const CounterWordLimitForTest = intWordLimit

// NativeKeysForTest is the bucket key of v at native histogram h's schema as Observe
// computes it in Go (with the tables of h's hot buffer), the core's key of v at that schema
// (fm_native_bucket_key), and the schema.
func NativeKeysForTest(h Histogram, v float64) (goKey, coreKey, schema int32, err error) {
	goKey, schema = h.(*histogram).goBucketKey(v)
	coreKey, err = coreBucketKey(v, schema)
	return goKey, coreKey, schema, err
}

// NativeCoreKeyForTest is the core's key of v at schema (fm_native_bucket_key).
var NativeCoreKeyForTest = coreBucketKey

// NativeUpperBoundForTest is the core's upper bound of a bucket (fm_native_upper_bound).
var NativeUpperBoundForTest = coreUpperBound

// NativeObservesInGoForTest says whether h's Observe follows the native protocol in Go.
func NativeObservesInGoForTest(h Histogram) bool { return h.(*histogram).nativeView != nil }

// ObserveThroughCoreForTest records v with one call into the core (fm_child_observe).
func ObserveThroughCoreForTest(h Histogram, v float64) { h.(*histogram).observeCore(v) }
