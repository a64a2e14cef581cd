package footmetrics

// How cgo finds the header and the library in the repository: the header in
// bindings-c/include, the static library cargo builds into target/release (`make go`).
//
// This is the only file that names them. `make dist-go` (dist.py) leaves it out of the module
// it writes to dist/go/footmetrics and puts link_dist.go in its place, which links the prebuilt
// library of the platform being built from the module's own build/<GOOS>-<GOARCH>/ folder.

/*
#cgo CFLAGS: -I${SRCDIR}/../include
#cgo LDFLAGS: ${SRCDIR}/../../target/release/libfootmetrics.a -lm -ldl -lpthread
*/
import "C"
