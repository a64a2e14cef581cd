// Package promhttp mirrors client_golang's promhttp for footmetrics registries: code that
// serves `promhttp.Handler()` keeps working with only its import changed.
package promhttp

import (
	"net/http"

	footmetrics "github.com/footanalytics/footmetrics/bindings-c/go"
)

// HandlerOpts is accepted for source compatibility; footmetrics handlers need no options.
type HandlerOpts struct{}

// Handler serves the default footmetrics registry.
func Handler() http.Handler { return footmetrics.Handler() }

// HandlerFor serves reg.
func HandlerFor(reg *footmetrics.Registry, _ HandlerOpts) http.Handler { return reg.Handler() }
