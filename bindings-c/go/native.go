package footmetrics

/*
#include "footmetrics.h"
*/
import "C"

import (
	"math"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// A native histogram observes without a cgo call: Go follows the core's lock-free protocol
// (fm_native_view in footmetrics.h, the core's native::raw) with sync/atomic on the core's
// memory, and calls into the core only for what needs its lock (a key outside the window,
// a new bucket past the bucket limit).

// nativeBuffer is one of the two buffers' addresses (fm_native_buffer).
type nativeBuffer struct {
	layout    *C.fm_native_layout // contents change only while the buffer is cold
	zero      *uint64
	sum       *uint64
	skipped   *uint64
	populated *uint32
	classic   unsafe.Pointer // classicLen counts, or nil
}

// nativeView is a native child's addresses (fm_native_view), stable while its handle lives.
type nativeView struct {
	hotAndStarted *uint64
	spilled       *uint32
	maxBuckets    uint32
	buffers       [2]nativeBuffer
}

// newNativeView reads the view of native child h.
func newNativeView(h *C.fm_child) (*nativeView, error) {
	var v C.fm_native_view
	if err := call(func() C.fm_result { return C.fm_child_native_view(h, &v) }); err != nil {
		return nil, err
	}
	nv := &nativeView{
		hotAndStarted: (*uint64)(unsafe.Pointer(v.hot_and_started)),
		spilled:       (*uint32)(unsafe.Pointer(v.spilled)),
		maxBuckets:    uint32(v.max_buckets),
	}
	for i, b := range v.buffers {
		nv.buffers[i] = nativeBuffer{
			layout:    b.layout,
			zero:      (*uint64)(unsafe.Pointer(b.zero)),
			sum:       (*uint64)(unsafe.Pointer(b.sum)),
			skipped:   (*uint64)(unsafe.Pointer(b.skipped)),
			populated: (*uint32)(unsafe.Pointer(b.populated)),
			classic:   unsafe.Pointer(b.classic),
		}
	}
	return nv, nil
}

// observeNative records v in native histogram h: the protocol of fm_native_view, step by
// step. NaN is ignored (as the core does).
func (h *histogram) observeNative(v float64) {
	if v != v {
		return
	}
	nv := h.nativeView
	// 1. Start: the value before the add names the hot buffer (AddUint64 returns the new one).
	n := atomic.AddUint64(nv.hotAndStarted, 1) - 1
	b := &nv.buffers[n>>63]
	l := b.layout
	zt := float64(l.zero_threshold)
	if !(v > zt || v < -zt) {
		// 2. The zero bucket.
		h.addSumAndClassic(b, v)
		atomic.AddUint64(b.zero, 1)
		runtime.KeepAlive(h)
		return
	}
	// 3. The key and its window.
	key := nativeKey(v, int32(l.schema), unsafe.Pointer(l.bounds), unsafe.Pointer(l.below))
	var i uint32
	var counts, present unsafe.Pointer
	if v > 0 {
		i = uint32(key - int32(l.pos_base))
		if i >= uint32(l.pos_len) {
			h.observeSkipped(b, v)
			return
		}
		counts, present = unsafe.Pointer(l.pos_counts), unsafe.Pointer(l.pos_present)
	} else {
		i = uint32(key - int32(l.neg_base))
		if i >= uint32(l.neg_len) {
			h.observeSkipped(b, v)
			return
		}
		counts, present = unsafe.Pointer(l.neg_counts), unsafe.Pointer(l.neg_present)
	}
	// 4. Sum and classic bucket, the touched bit (before the count), then the count, which
	// completes the observation: the layout is not read after it.
	h.addSumAndClassic(b, v)
	word := (*uint64)(unsafe.Add(present, uintptr(i/64)*8))
	m := uint64(1) << (i % 64)
	created := atomic.LoadUint64(word)&m == 0 && atomic.OrUint64(word, m)&m == 0
	var p uint32
	if created {
		p = atomic.AddUint32(b.populated, 1) // the new value, as the protocol's p
	}
	atomic.AddUint64((*uint64)(unsafe.Add(counts, uintptr(i)*8)), 1)
	// 5. A new bucket past the limit: the core applies the limit under its lock.
	if created && nv.maxBuckets > 0 && p+atomic.LoadUint32(nv.spilled) > nv.maxBuckets {
		C.fm_child_native_bucket_created(h.handle, C.uint32_t(p), C.double(v))
	}
	runtime.KeepAlive(h)
}

// observeSkipped is step 3's end: v's key is outside the window; the start completes as
// skipped and the core records v under its lock.
func (h *histogram) observeSkipped(b *nativeBuffer, v float64) {
	atomic.AddUint64(b.skipped, 1)
	C.fm_child_native_observe_skipped(h.handle, C.double(v))
	runtime.KeepAlive(h)
}

// addSumAndClassic adds v to the buffer's sum and, with classic buckets, 1 to the first
// bucket whose bound is >= v (+Inf last).
func (h *histogram) addSumAndClassic(b *nativeBuffer, v float64) {
	addFloat(b.sum, v)
	if b.classic != nil {
		atomic.AddUint64((*uint64)(unsafe.Add(b.classic, uintptr(classicIndex(h.vec.bounds, v))*8)), 1)
	}
}

// nativeKey is the bucket key of |v| (finite or infinite, neither zero nor NaN) at schema,
// computed as the core's bucket_key: frexp by bits (subnormals scaled into the normal range
// first); for a positive schema the fraction's place among bounds (2^schema of them) from
// the below table (2^(schema+1) cells of [0.5, 1)) and one comparison; for schema <= 0 the
// exponent rounded up to a multiple of 2^-schema. Infinities get the key after MaxFloat64's.
func nativeKey(v float64, schema int32, bounds, below unsafe.Pointer) int32 {
	bits := math.Float64bits(v) &^ (1 << 63)
	inf := bits == 0x7ff<<52
	if inf {
		bits = math.Float64bits(math.MaxFloat64)
	}
	exp := int32(bits >> 52)
	if exp == 0 {
		// Subnormal: scale by 2^64 into the normal range.
		bits = math.Float64bits(math.Float64frombits(bits) * 0x1p64)
		exp = int32(bits>>52) - 64
	}
	exp -= 1022 // frexp's exponent: |v| = frac * 2^exp, frac in [0.5, 1)
	mantissa := bits & (1<<52 - 1)
	var key int32
	if schema > 0 {
		frac := math.Float64frombits(mantissa | 1022<<52)
		n := int32(1) << schema
		i := int32(*(*uint16)(unsafe.Add(below, uintptr(mantissa>>(51-schema))*2)))
		if i < n && *(*float64)(unsafe.Add(bounds, uintptr(i)*8)) < frac {
			i++
		}
		key = i + (exp-1)*n
	} else {
		key = exp
		if mantissa == 0 { // frac == 0.5: the power of two closes the bucket below
			key--
		}
		key = (key + (1 << -schema) - 1) >> -schema
	}
	if inf {
		key++
	}
	return key
}

// The functions below expose the core's side to the tests (which cannot use cgo).

// coreBucketKey is the core's key of v at schema (fm_native_bucket_key).
func coreBucketKey(v float64, schema int32) (int32, error) {
	var k C.int32_t
	err := call(func() C.fm_result { return C.fm_native_bucket_key(C.double(v), C.int32_t(schema), &k) })
	return int32(k), err
}

// coreUpperBound is the core's upper bound of bucket key at schema (fm_native_upper_bound).
func coreUpperBound(key, schema int32) (float64, error) {
	var u C.double
	err := call(func() C.fm_result { return C.fm_native_upper_bound(C.int32_t(key), C.int32_t(schema), &u) })
	return float64(u), err
}

// goBucketKey is nativeKey with the tables of h's hot buffer, and its schema.
func (h *histogram) goBucketKey(v float64) (key, schema int32) {
	nv := h.nativeView
	l := nv.buffers[atomic.LoadUint64(nv.hotAndStarted)>>63].layout
	key = nativeKey(v, int32(l.schema), unsafe.Pointer(l.bounds), unsafe.Pointer(l.below))
	runtime.KeepAlive(h)
	return key, int32(l.schema)
}

// observeCore records v with one call into the core (fm_child_observe), as Observe did
// before the protocol: the reference the tests compare Observe with.
func (h *histogram) observeCore(v float64) {
	C.fm_child_observe(h.handle, C.double(v))
	runtime.KeepAlive(h)
}
