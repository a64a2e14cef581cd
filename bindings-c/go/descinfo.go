package footmetrics

import (
	"errors"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// descInfo is what the registry needs to know about a descriptor. Descriptors are
// client_golang's type (custom collectors build them with NewDesc), whose fields are
// unexported: the registry reads them back from Desc.String, the one stable rendering of all
// of them, and the descriptor's construction error from NewConstMetric, which reports it
// before anything else.
type descInfo struct {
	fqName      string
	help        string
	constLabels []labelPair // sorted by name, as descriptors keep them
	varLabels   []string
	err         error
	// id identifies the series space: name and const label pairs. Two collectors may not
	// both describe one id.
	id uint64
	// dimHash identifies the shape: help and every label name. All descriptors of one name
	// must agree on it.
	dimHash uint64
}

type labelPair struct{ name, value string }

// descInfos caches parsed descriptors by pointer. Collectors that build a descriptor per
// scrape would grow it without end, so it is dropped whenever it passes descCacheLimit.
var descInfos struct {
	sync.Mutex
	m map[*prometheus.Desc]*descInfo
}

const descCacheLimit = 16384

func infoOf(d *prometheus.Desc) *descInfo {
	descInfos.Lock()
	info, ok := descInfos.m[d]
	descInfos.Unlock()
	if ok {
		return info
	}
	info = parseDesc(d)
	descInfos.Lock()
	if descInfos.m == nil || len(descInfos.m) >= descCacheLimit {
		descInfos.m = make(map[*prometheus.Desc]*descInfo)
	}
	descInfos.m[d] = info
	descInfos.Unlock()
	return info
}

var errUnreadableDesc = errors.New("descriptor cannot be read")

func parseDesc(d *prometheus.Desc) *descInfo {
	info := &descInfo{}
	if d == nil {
		info.err = errors.New("nil descriptor")
		return info
	}
	s := d.String()
	var ok bool
	if s, ok = strings.CutPrefix(s, "Desc{fqName: "); !ok {
		info.err = errUnreadableDesc
		return info
	}
	var unit string
	var err error
	if info.fqName, s, err = quoted(s, ", help: "); err == nil {
		if info.help, s, err = quoted(s, ", unit: "); err == nil {
			unit, s, err = quoted(s, ", constLabels: {")
		}
	}
	_ = unit
	if err != nil {
		info.err = errUnreadableDesc
		return info
	}
	// constLabels: name="value",name="value"} ... values are Go-quoted, names are not.
	for !strings.HasPrefix(s, "}") {
		eq := strings.Index(s, "=")
		if eq < 0 {
			info.err = errUnreadableDesc
			return info
		}
		name := s[:eq]
		var value string
		if value, s, err = quoted(s[eq+1:], ""); err != nil {
			info.err = errUnreadableDesc
			return info
		}
		info.constLabels = append(info.constLabels, labelPair{name, value})
		s = strings.TrimPrefix(s, ",")
	}
	s = strings.TrimPrefix(s, "}, variableLabels: {")
	s = strings.TrimSuffix(s, "}}")
	if s != "" {
		for _, n := range strings.Split(s, ",") {
			if strings.HasPrefix(n, "c(") && strings.HasSuffix(n, ")") {
				n = n[2 : len(n)-1] // a constrained label
			}
			info.varLabels = append(info.varLabels, n)
		}
	}
	// The construction error, if any, comes first from NewConstMetric when it is given as
	// many label values as the descriptor has variable labels.
	if _, err := prometheus.NewConstMetric(d, prometheus.UntypedValue, 0, make([]string, len(info.varLabels))...); err != nil {
		info.err = err
	}
	info.hash()
	return info
}

// quoted reads a Go-quoted string at the start of s, then expects sep after it.
func quoted(s, sep string) (string, string, error) {
	q, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", "", err
	}
	v, err := strconv.Unquote(q)
	if err != nil {
		return "", "", err
	}
	rest, ok := strings.CutPrefix(s[len(q):], sep)
	if !ok {
		return "", "", errUnreadableDesc
	}
	return v, rest, nil
}

// infoFor builds the descInfo of a footmetrics family directly (no parsing).
func infoFor(fqName, help string, constLabels prometheus.Labels, varLabels []string) *descInfo {
	info := &descInfo{fqName: fqName, help: help, varLabels: varLabels}
	for k, v := range constLabels {
		info.constLabels = append(info.constLabels, labelPair{k, v})
	}
	sort.Slice(info.constLabels, func(i, j int) bool { return info.constLabels[i].name < info.constLabels[j].name })
	info.hash()
	return info
}

// hash sets id and dimHash. A collector's id is the XOR of its descriptors' ids, so the hash
// must not be one whose outputs for similar inputs cancel under XOR: hash/maphash's do for
// names that differ in one place (four descriptors per collector that differed only in a const
// label value all XOR-ed to one id), xxhash's do not.
func (info *descInfo) hash() {
	h := xxhash.New()
	h.WriteString(info.fqName)
	for _, p := range info.constLabels {
		h.Write([]byte{0xff})
		h.WriteString(p.name)
		h.Write([]byte{0xfe})
		h.WriteString(p.value)
	}
	info.id = h.Sum64()
	h.Reset()
	h.WriteString(info.help)
	names := make([]string, 0, len(info.constLabels)+len(info.varLabels))
	for _, p := range info.constLabels {
		names = append(names, p.name)
	}
	names = append(names, info.varLabels...)
	sort.Strings(names)
	for _, n := range names {
		h.Write([]byte{0xff})
		h.WriteString(n)
	}
	info.dimHash = h.Sum64()
}
