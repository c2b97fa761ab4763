package jsonscan

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/infergw/gwctl/dataplane/jsonstrict"
)

// checkAgainstEncodingJSON reads b as a value, a string and an integer, and fails where the
// Scanner accepts what encoding/json refuses or reads differently.
func checkAgainstEncodingJSON(t *testing.T, b []byte) {
	t.Helper()
	s := Scanner{B: b}
	if ok := s.Skip(0) && s.End(); ok != json.Valid(b) && (ok || bytes.Count(b, []byte("[")) < maxDepth) {
		t.Errorf("Skip+End of %q: %v, json.Valid %v", b, ok, json.Valid(b))
	}
	s = Scanner{B: b}
	if got, ok := s.Str(); ok && s.End() {
		var want string
		if err := json.Unmarshal(b, &want); err != nil || got != want {
			t.Errorf("Str(%q) = %q, encoding/json %q (%v)", b, got, want, err)
		}
	}
	if jsonstrict.Check(b) == nil {
		// What the strict reader accepted, a Checked scanner reads as the validating one does.
		s, c := Scanner{B: b}, Scanner{B: b, Checked: true}
		if s.Skip(0) != c.Skip(0) || s.I != c.I {
			t.Errorf("Checked Skip of %q ends at %d, the validating one at %d", b, c.I, s.I)
		}
		s, c = Scanner{B: b}, Scanner{B: b, Checked: true}
		if v, ok := s.Str(); ok {
			if cv, cok := c.Str(); !cok || cv != v || c.I != s.I {
				t.Errorf("Checked Str(%q) = %q, %v; the validating one %q", b, cv, cok, v)
			}
		}
	}
	s = Scanner{B: b}
	got, ok := s.Int64()
	ok = ok && s.End()
	var want int64
	err := json.Unmarshal(b, &want)
	if ok && (err != nil || got != want) {
		t.Errorf("Int64(%q) = %d, encoding/json %d (%v)", b, got, want, err)
	}
	if !ok && err == nil && len(bytes.TrimSpace(b)) > 0 && string(bytes.TrimSpace(b)) != "null" {
		t.Errorf("Int64(%q) declined what encoding/json reads as %d", b, want)
	}
}

func TestScannerMatchesEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`0`, `-0`, `12`, `-12`, `1.5`, `1e3`, `123456789012345678`, `1234567890123456789`, `9223372036854775808`,
		`-9223372036854775808`, `01`, `"a"`, `"a\"b\\c\/\n\u00e9"`, `"\ud800"`, `"é"`, "\"\xff\"", `"`, `"\\"`, `"a\\\"b"`,
		`"€ and \u20ac"`, `{"ké":"v\"","k":["x\\"]}`,
		`{}`, `{"a":[1,{"b":null}],"c":true}`, `{"a":1,}`, `[1,2]`, `[1 2]`, `tru`, `nul`,
	} {
		checkAgainstEncodingJSON(t, []byte(in))
	}
}

func TestObjectRefusesDuplicatesByFields(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{`{"a":1,"b":2}`, true},
		{`{"a":1,"a":2}`, false},
		{`{"\u0061":1}`, false}, // a key with escapes might be a known one in disguise
	} {
		s := Scanner{B: []byte(tc.in)}
		var seen Fields
		got := s.Object(func(k string) bool {
			bit := uint(0)
			if k == "b" {
				bit = 1
			}
			_, ok := s.Int64()
			return seen.First(bit) && ok
		}) && s.End()
		if got != tc.want {
			t.Errorf("%s: %v, want %v", tc.in, got, tc.want)
		}
	}
}

func FuzzScanner(f *testing.F) {
	for _, s := range []string{`{"a":[1,"x",null,true,1.5e3]}`, `"a\u00e9\n"`, `-42`, `12345678901234567890`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		checkAgainstEncodingJSON(t, b)
	})
}
