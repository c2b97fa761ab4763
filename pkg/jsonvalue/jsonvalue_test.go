package jsonvalue

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/infergw/gwctl/pkg/manifest"
)

func checkAppend(t *testing.T, v any) {
	t.Helper()
	want, werr := json.Marshal(v)
	got, gerr := appendValue(nil, v) // the fast path, whatever GWCTL_NOFAST says
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("%#v: encoding/json error %v, appendJSON error %v", v, werr, gerr)
	}
	if werr == nil && !bytes.Equal(got, want) {
		t.Fatalf("%#v:\n got %s\nwant %s", v, got, want)
	}
}

func TestAppendMatchesEncodingJSON(t *testing.T) {
	for _, v := range []any{
		nil, true, false, "", "plain", "quote\" back\\ nl\n tab\t cr\r bs\b ff\f nul\x00 esc\x1b del\x7f",
		"<html> & 'x'", "bad utf8 \xff\xfe end", "\u2028\u2029 é 日本 🎉", int64(0), int64(-1), int64(math.MaxInt64), int64(math.MinInt64),
		0.5, -0.5, 1e20, 1e21, 1e-6, 1e-7, 123456789.125, math.SmallestNonzeroFloat64, math.MaxFloat64, -1e-300,
		math.NaN(), math.Inf(1),
		[]any{}, map[string]any{}, []any{int64(1), "a", nil, []any{map[string]any{"z": 1.5, "a": []any{}}}},
		map[string]any{"b": int64(2), "a": map[string]any{"<k>": "v", "": nil}, "é": true},
		map[string]any{"ch": make(chan int)},
	} {
		checkAppend(t, v)
	}
}

// FuzzAppend: on anything the manifest decoder produces, Append writes what
// encoding/json.Marshal writes.
func FuzzAppend(f *testing.F) {
	for _, s := range []string{"a: 1\nb: [x, 2.5, null, true]\n", "s: \"<\\u2028>\"\nf: 1e300\nn: -0.0\n", "k: {\"a b\": 'c'}\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := manifest.ParseMapping("fuzz.yaml", data, manifest.DefaultLimits)
		if err != nil {
			return
		}
		checkAppend(t, objs.Content)
	})
}
