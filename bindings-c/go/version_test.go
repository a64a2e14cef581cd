package footmetrics_test

import (
	"os"
	"regexp"
	"testing"

	prometheus "github.com/footanalytics/footmetrics/bindings-c/go"
)

// The Go module is released with the Rust workspace: the same version, read from the
// workspace's Cargo.toml.
func TestVersion(t *testing.T) {
	manifest, err := os.ReadFile("../../Cargo.toml")
	if err != nil {
		t.Fatal(err)
	}
	section := regexp.MustCompile(`(?ms)^\[workspace\.package\]\n(.*?)(?:^\[|\z)`).FindSubmatch(manifest)
	if section == nil {
		t.Fatal("Cargo.toml has no [workspace.package] section")
	}
	version := regexp.MustCompile(`(?m)^version\s*=\s*"([^"]+)"`).FindSubmatch(section[1])
	if version == nil {
		t.Fatal("Cargo.toml's [workspace.package] has no version")
	}
	if got, want := prometheus.Version, string(version[1]); got != want {
		t.Errorf("footmetrics.Version = %q, the workspace's Cargo.toml says %q", got, want)
	}
	if !regexp.MustCompile(`^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`).MatchString(prometheus.Version) {
		t.Errorf("Version %q is not a semantic version a module tag can carry", prometheus.Version)
	}
}
