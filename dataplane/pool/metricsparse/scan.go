package metricsparse

import (
	"bytes"
	"math"
	"strconv"
	"unicode/utf8"
)

// scan reads the picker's lines (picked) without the exposition parser when every one is a
// # TYPE line (gauge, counter or untyped) or a sample of one of the families in the shape
// servers print, name{label="value",...} value. At anything else (an escape in a label value,
// a timestamp, a second TYPE line, another family's line that mentions a name) ok is false and
// the exposition parser decides, so what scan returns is what that parser's reading gives
// (FuzzParse compares the two). The exposition parser costs a scrape about 20 µs and 240
// allocations for the simulator's exposition; scan about a tenth (BenchmarkParse).
func scan(b []byte) (m Metrics, ok bool) {
	var (
		typed, seen        [len(families)]bool
		kv, kvLegacy       = math.Inf(-1), math.Inf(-1)
		hasKV, hasKVLegacy bool
		lora               = math.Inf(-1)
		loraLabels         []label // of the series with the largest value
		cacheLabels        []label // of the family's first series
		labels             [16]label
		loraBuf, cacheBuf  [16]label
	)
	for len(b) > 0 {
		n := bytes.IndexByte(b, '\n')
		if n < 0 {
			return Metrics{}, false
		}
		line := b[:n]
		b = b[n+1:]
		if len(line) > 0 && line[0] == '#' {
			rest, found := bytes.CutPrefix(line, typeLine)
			name, typ, _ := bytes.Cut(rest, []byte(" "))
			f := family(name)
			if !found || f < 0 || typed[f] || seen[f] || !(string(typ) == "gauge" || string(typ) == "counter" || string(typ) == "untyped") {
				return Metrics{}, false
			}
			typed[f] = true
			continue
		}
		end := bytes.IndexAny(line, "{ ")
		if end < 0 {
			return Metrics{}, false
		}
		f := family(line[:end])
		if f < 0 {
			return Metrics{}, false
		}
		seen[f] = true
		ls, rest, good := sampleLabels(line[end:], labels[:0])
		if !good {
			return Metrics{}, false
		}
		v, good := sampleValue(rest)
		if !good {
			return Metrics{}, false
		}
		nan := math.IsNaN(v)
		switch string(families[f]) {
		case MetricWaiting:
			if !nan {
				m.Waiting += v
				m.HasWaiting = true
			}
		case MetricRunning:
			if !nan {
				m.Running += v
				m.HasRunning = true
			}
		case MetricKVUsage:
			if !nan && v > kv {
				kv, hasKV = v, true
			}
		case MetricKVUsageLegacy:
			if !nan && v > kvLegacy {
				kvLegacy, hasKVLegacy = v, true
			}
		case MetricLoRA:
			if !nan && v > lora {
				lora, loraLabels = v, append(loraBuf[:0], ls...)
			}
		case MetricCacheConfig:
			if cacheLabels == nil {
				cacheLabels = append(cacheBuf[:0], ls...)
			}
		}
	}
	switch {
	case hasKV:
		m.KVUsage, m.HasKVUsage = clamp01(kv), true
	case hasKVLegacy:
		m.KVUsage, m.HasKVUsage = clamp01(kvLegacy), true
	}
	if loraLabels != nil {
		m.HasLoRA = true
		for _, l := range loraLabels {
			switch string(l.name) {
			case "max_lora":
				m.MaxLoRA = atoiPositive(string(l.value))
			case "running_lora_adapters":
				m.RunningAdapters = splitList(string(l.value))
			case "waiting_lora_adapters":
				m.WaitingAdapters = splitList(string(l.value))
			}
		}
	}
	for _, l := range cacheLabels {
		switch string(l.name) {
		case "block_size":
			m.BlockSize = atoiPositive(string(l.value))
		case "num_gpu_blocks":
			m.NumGPUBlocks = atoiPositive(string(l.value))
		}
	}
	return m, true
}

var typeLine = []byte("# TYPE ")

type label struct{ name, value []byte }

// family is the index of name in families, or -1.
func family(name []byte) int {
	for i, f := range families {
		if bytes.Equal(name, f) {
			return i
		}
	}
	return -1
}

// sampleLabels reads `{a="x",b="y"}` (or nothing) at the start of s up to the space before the
// value; good is false at any other shape: an escape or invalid UTF-8, an empty set, a trailing comma, a
// repeated or reserved name, more labels than ls holds.
func sampleLabels(s []byte, ls []label) (_ []label, rest []byte, good bool) {
	if s[0] == ' ' {
		return ls, s[1:], true
	}
	s = s[1:] // '{'
	for {
		eq := bytes.IndexByte(s, '=')
		if eq < 0 || !labelName(s[:eq]) || len(ls) == cap(ls) || eq+1 >= len(s) || s[eq+1] != '"' {
			return nil, nil, false
		}
		name := s[:eq]
		for _, l := range ls {
			if bytes.Equal(l.name, name) {
				return nil, nil, false
			}
		}
		s = s[eq+2:]
		q := bytes.IndexByte(s, '"')
		if q < 0 || bytes.IndexByte(s[:q], '\\') >= 0 || !utf8.Valid(s[:q]) {
			return nil, nil, false
		}
		ls = append(ls, label{name, s[:q]})
		s = s[q+1:]
		switch {
		case len(s) >= 2 && s[0] == '}' && s[1] == ' ':
			return ls, s[2:], true
		case len(s) > 0 && s[0] == ',':
			s = s[1:]
		default:
			return nil, nil, false
		}
	}
}

// labelName is whether s is a legacy label name, not reserved (__name__ and the like).
func labelName(s []byte) bool {
	if len(s) == 0 || (len(s) >= 2 && s[0] == '_' && s[1] == '_') {
		return false
	}
	for i, c := range s {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// sampleValue reads the value that ends a sample line: a float as the exposition parser takes
// it, without a timestamp.
func sampleValue(s []byte) (float64, bool) {
	if len(s) == 0 || bytes.ContainsAny(s, " \t\r_pP") {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(s), 64)
	return v, err == nil
}
