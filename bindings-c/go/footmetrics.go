// Package footmetrics is the Go face of the footmetrics core (Rust, through its C ABI in
// ../include/footmetrics.h), shaped like client_golang's prometheus package: code written for
// client_golang runs with only its import changed:
//
//	import prometheus "github.com/footanalytics/footmetrics/bindings-c/go"
//
// Series live in the core's atomic cells, which never move. A resolved child (the result of
// WithLabelValues or With) keeps a pointer to its cells and updates them with sync/atomic, so
// Inc, Add, Set and Observe never cross into C. Only a label set seen for the first time, a
// delete, and a scrape call the library. Rendering /metrics is done by the core.
//
// Every vector, standalone metric and child also implements prometheus.Collector, so it can
// join an existing client_golang registry; and a Registry implements prometheus.Gatherer.
//
// In the repository the package links target/release/libfootmetrics.a (link_repo.go), which
// must be built first: `make go` (cargo build --release -p footmetrics-c). The module users
// get (`make dist-go`) carries the prebuilt library instead; see docs/go.md.
package footmetrics

/*
#include <stdlib.h>
#include "footmetrics.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
)

// client_golang accepts any non-empty UTF-8 metric and label name (Prometheus 3's rule), so
// the core does too in a Go program. Families whose names are not legacy names are written by
// Go, which escapes them as the scrape negotiates (see Registry.place).
func init() { C.fm_set_utf8_names(1) }

// Code is a result code of the C ABI (fm_result).
type Code int

// The result codes a Go caller can meet.
const (
	CodeNullArgument      Code = C.FM_ERR_NULL_ARGUMENT
	CodeInvalidUTF8       Code = C.FM_ERR_INVALID_UTF8
	CodeInvalidName       Code = C.FM_ERR_INVALID_NAME
	CodeInvalidLabel      Code = C.FM_ERR_INVALID_LABEL
	CodeLabelCount        Code = C.FM_ERR_LABEL_COUNT
	CodeInvalidValue      Code = C.FM_ERR_INVALID_VALUE
	CodeInvalidBuckets    Code = C.FM_ERR_INVALID_BUCKETS
	CodeInvalidOption     Code = C.FM_ERR_INVALID_OPTION
	CodeAlreadyRegistered Code = C.FM_ERR_ALREADY_REGISTERED
	CodeNotRegistered     Code = C.FM_ERR_NOT_REGISTERED
	CodeWrongKind         Code = C.FM_ERR_WRONG_KIND
	CodePanic             Code = C.FM_ERR_PANIC
)

// Error is a failure reported by the core: its code and message.
type Error struct {
	Code    Code
	Message string
	// asIs: Message is client_golang's wording, shown without the "footmetrics: " prefix.
	asIs bool
}

func (e *Error) Error() string {
	if e.asIs {
		return e.Message
	}
	return "footmetrics: " + e.Message
}

// Is lets errors.Is match on the code: errors.Is(err, &footmetrics.Error{Code: footmetrics.CodeLabelCount}).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// call runs one C ABI call and turns its result into an error carrying the message. The
// message is per OS thread, so the goroutine stays on its thread from the call to the read.
func call(f func() C.fm_result) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return check(f())
}

// check reads the calling thread's last error; see call.
func check(r C.fm_result) error {
	if r == C.FM_OK {
		return nil
	}
	var buf [512]C.char
	var n C.size_t
	C.fm_last_error(&buf[0], C.size_t(len(buf)), &n)
	msg := C.GoString(&buf[0])
	if msg == "" {
		msg = C.GoString(C.fm_result_message(C.int32_t(r)))
	}
	return &Error{Code: Code(r), Message: msg}
}

// cStrings copies Go strings into one C allocation holding an fm_str array followed by the
// bytes (cgo forbids passing Go memory that holds Go pointers). free releases it.
type cStrings struct {
	base unsafe.Pointer
	arr  *C.fm_str
	n    int
}

func newCStrings(values []string) cStrings {
	if len(values) == 0 {
		return cStrings{}
	}
	head := len(values) * int(unsafe.Sizeof(C.fm_str{}))
	total := head
	for _, v := range values {
		total += len(v)
	}
	base := C.malloc(C.size_t(total))
	if base == nil {
		panic("footmetrics: out of memory")
	}
	arr := unsafe.Slice((*C.fm_str)(base), len(values))
	off := head
	for i, v := range values {
		p := unsafe.Add(base, off)
		copy(unsafe.Slice((*byte)(p), len(v)), v)
		arr[i] = C.fm_str{ptr: (*C.char)(p), len: C.size_t(len(v))}
		off += len(v)
	}
	return cStrings{base: base, arr: &arr[0], n: len(values)}
}

func (s cStrings) free() {
	if s.base != nil {
		C.free(s.base)
	}
}

// cStr is an fm_str over a C copy of s, released by C.free on the returned pointer.
func cStr(s string) (C.fm_str, unsafe.Pointer) {
	if s == "" {
		return C.fm_str{}, nil
	}
	p := C.CBytes([]byte(s))
	return C.fm_str{ptr: (*C.char)(p), len: C.size_t(len(s))}, p
}

func mustNot(err error) {
	if err != nil {
		panic(err)
	}
}

// labelCountError is client_golang's error for a wrong number of label values (got is the
// []string or the Labels given), in its words. Callers pass a copy of a []string
// (slices.Clone): handing the caller's own slice to an interface would make every
// WithLabelValues allocate its variadic values, even when they are right.
func labelCountError(want int, got any) error {
	n := 0
	switch g := got.(type) {
	case []string:
		n = len(g)
	case map[string]string:
		n = len(g)
		got = prometheus.Labels(g)
	}
	return &Error{Code: CodeLabelCount, asIs: true,
		Message: fmt.Sprintf("inconsistent label cardinality: expected %d label values but got %d in %#v", want, n, got)}
}
