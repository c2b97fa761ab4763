package jsonvalue

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// encodingJSON is encoding/json's encoding of s, with or without HTML escaping.
func encodingJSON(t testing.TB, s string, html bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(html)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func checkString(t testing.TB, s string) {
	t.Helper()
	for _, tc := range []struct {
		html   bool
		append func([]byte, string) []byte
	}{{true, AppendString}, {false, AppendStringNoHTML}} {
		want := encodingJSON(t, s, tc.html)
		if got := tc.append([]byte("x"), s); !bytes.Equal(got[1:], want) || got[0] != 'x' {
			t.Fatalf("%q (html %v):\n got %s\nwant x%s", s, tc.html, got, want)
		}
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", "quote\" back\\ nl\n tab\t cr\r bs\b ff\f nul\x00 esc\x1b us\x1f del\x7f",
		"<html> & 'x'", "bad utf8 \xff\xfe end", "\u2028\u2029 é 日本 🎉", string([]byte{0xe2, 0x82}), "trailing \xe2",
	} {
		checkString(t, s)
	}
}

// TestAppendStringWordBoundaries puts each byte the eight-at-a-time skip must stop at in every
// position of runs that cross word boundaries.
func TestAppendStringWordBoundaries(t *testing.T) {
	for _, c := range []string{"\"", "\\", "\x00", "\x1f", " ", "\x7f", "<", ">", "&", "é", "\u2028", "\xff", "\xe2"} {
		for n := 0; n <= 25; n++ {
			for p := 0; p <= n; p++ {
				run := strings.Repeat("a", n)
				checkString(t, run[:p]+c+run[p:])
			}
		}
	}
}

func TestAppendStringHTML(t *testing.T) {
	if got := string(AppendString(nil, "<a&b>")); got != `"\u003ca\u0026b\u003e"` {
		t.Errorf("AppendString = %s", got)
	}
	if got := string(AppendStringNoHTML(nil, "<a&b>")); got != `"<a&b>"` {
		t.Errorf("AppendStringNoHTML = %s", got)
	}
}

func TestAppendStringAllocs(t *testing.T) {
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { _ = AppendStringNoHTML(buf[:0], "a \"quoted\" <line>\n\u2028 é") }); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}

// FuzzAppendString: both modes write what encoding/json writes, for any string.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"plain", "<\u2028>\xff\"\\\x00", "é😀\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkString(t, s) })
}

func BenchmarkAppendString(b *testing.B) {
	s := "The quick brown fox jumps over the lazy dog, \"twice\" & <again>.\n"
	buf := make([]byte, 0, 256)
	for _, tc := range []struct {
		name   string
		append func([]byte, string) []byte
	}{{"html", AppendString}, {"nohtml", AppendStringNoHTML}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			b.ReportAllocs()
			for b.Loop() {
				buf = tc.append(buf[:0], s)
			}
		})
	}
}
