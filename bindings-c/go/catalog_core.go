package footmetrics

/*
#include "footmetrics.h"
*/
import "C"

import "unsafe"

// coreCatalog lists the catalog as the C library holds it (name and label names per
// index), so tests can check that the generated Go catalog agrees with it.
func coreCatalog() (names []string, labels [][]string) {
	for i := 0; i < int(C.fm_catalog_count()); i++ {
		var spec C.fm_catalog_spec
		if C.fm_catalog_get(C.size_t(i), &spec) != C.FM_OK {
			continue
		}
		names = append(names, C.GoStringN(spec.name.ptr, C.int(spec.name.len)))
		var ls []string
		for _, l := range unsafe.Slice(spec.label_names, int(spec.label_count)) {
			ls = append(ls, C.GoStringN(l.ptr, C.int(l.len)))
		}
		labels = append(labels, ls)
	}
	return names, labels
}
