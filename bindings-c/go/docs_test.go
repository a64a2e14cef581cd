package footmetrics_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// docsSnippets holds the programs every Go block of README.md and docs/ is taken from
// (`make check-docs` holds them equal).
const docsSnippets = "../../docs/snippets/go"

// Every Go snippet builds as a program of its own module, as a user's would (this module by a
// replace directive), and runs; its own checks decide.
func TestDocsSnippetsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds separate programs; run without -short")
	}
	programs, err := filepath.Glob(filepath.Join(docsSnippets, "*.go"))
	if err != nil || len(programs) < 2 {
		t.Fatalf("expected the Go snippets in %s, found %v (%v)", docsSnippets, programs, err)
	}
	sort.Strings(programs)
	dir := programModule(t)
	for _, program := range programs {
		source, err := os.ReadFile(program)
		if err != nil {
			t.Fatal(err)
		}
		pkg := filepath.Join(dir, strings.TrimSuffix(filepath.Base(program), ".go"))
		if err := os.Mkdir(pkg, 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(pkg, "main.go"), string(source))
	}
	goCmd(t, dir, "mod", "tidy")
	goCmd(t, dir, "build", "-o", filepath.Join(dir, "bin")+string(filepath.Separator), "./...")
	for _, program := range programs {
		name := strings.TrimSuffix(filepath.Base(program), ".go")
		t.Run(name, func(t *testing.T) {
			run := exec.Command(filepath.Join(dir, "bin", name))
			run.Dir = dir
			if out, err := run.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", program, err, out)
			}
		})
	}
}

// programModule makes a module for programs of a user's, requiring this one through a replace
// directive (with this module's go.sum, so the build needs no new downloads).
func programModule(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	abs, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "go.mod"), fmt.Sprintf("module program\n\ngo 1.26.0\n\nrequire %s v0.0.0\n\nreplace %s => %s\n",
		modulePath, modulePath, abs))
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "go.sum"), string(sum))
	return dir
}

func goCmd(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
