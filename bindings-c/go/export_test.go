package footmetrics

// CoreCatalogForTest exposes coreCatalog to the external tests.
var CoreCatalogForTest = coreCatalog
