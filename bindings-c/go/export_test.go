package footmetrics

// CoreCatalogForTest exposes coreCatalog to the external tests.
var CoreCatalogForTest = coreCatalog

// CounterIntWordForTest is a counter's integer word in shard 0, the one Go writes.
func CounterIntWordForTest(c Counter) *uint64 { return (*uint64)(c.(*counter).cells) }

// CounterWordLimitForTest is the integer word's limit (see counter.go).
const CounterWordLimitForTest = intWordLimit
