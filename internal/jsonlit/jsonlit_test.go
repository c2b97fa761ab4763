package jsonlit

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// stringInputs are literals made to trip the scanner: every escape, surrogate pairs and halves,
// invalid UTF-8, controls, and runs that cross the eight-byte steps.
var stringInputs = []string{
	`""`, `"a"`, `"plain ascii longer than eight bytes"`, `"a\"b\\c\/d\be\ff\ng\rh\ti"`, `"\u00e9\u00E9"`,
	`"\ud83d\ude00"`, `"\ud800"`, `"\udc00"`, `"\ud800\u0041"`, `"\ud800\ud800\udc00"`, `"\ud800\\udc00"`, `"\ufffd"`,
	`"é and ü"`, "\"\xff\"", "\"\xed\xa0\x80\"", "\"ok\xc3\"", `"\u12"`, `"\uzzzz"`, `"\x41"`, `"\'"`, `"`, `"abc`,
	`"abc\`, "\"tab\there\"", "\"new\nline\"", "\"\x7f\"", `"12345678\"12345678"`, `"1234567\\"`, `"€€€€€€€€€"`,
}

// surrogatesPaired is the strict scan's definition of its surrogate rule, by another route:
// the literal's escapes as tokens, each high surrogate followed at once by a low one.
func surrogatesPaired(lit string) bool {
	toks := regexp.MustCompile(`\\u[0-9A-Fa-f]{4}|\\.|[^\\]`).FindAllString(lit, -1)
	for i := 0; i < len(toks); i++ {
		r := hexTok(toks[i])
		if r < 0 || !utf16.IsSurrogate(r) {
			continue
		}
		if i+1 < len(toks) && utf16.DecodeRune(r, hexTok(toks[i+1])) != utf8.RuneError {
			i++
			continue
		}
		return false
	}
	return true
}

func hexTok(t string) rune {
	if len(t) != 6 || t[1] != 'u' {
		return -1
	}
	n, _ := strconv.ParseUint(t[2:], 16, 32)
	return rune(n)
}

// checkString: a lenient scan accepts exactly the string literals encoding/json accepts and
// Append decodes them as it does; End finds the same end; a strict scan accepts those of them that are valid UTF-8 with
// paired surrogate escapes; Next, rune by rune, agrees with Append.
func checkString(t *testing.T, lit []byte) {
	t.Helper()
	if len(lit) == 0 || lit[0] != '"' {
		return
	}
	lit = bytes.TrimRight(lit, " \t\n\r") // which encoding/json would skip
	end, flags, fault := String(lit, 0, false)
	whole := fault == 0 && end == len(lit)
	var want string
	werr := json.Unmarshal(lit, &want)
	if whole != (werr == nil) {
		t.Fatalf("String(%q) = %d, %v; encoding/json: %v", lit, end, fault, werr)
	}
	if fault != 0 && (end < 0 || end > len(lit)) {
		t.Fatalf("String(%q): fault %v at %d, out of the input", lit, fault, end)
	}
	if !whole {
		return
	}
	if e, esc := End(lit, 0); e != end || esc != (flags&Escaped != 0) {
		t.Fatalf("End(%q) = %d, %v; String: %d, flags %b", lit, e, esc, end, flags)
	}
	// In a document, with quotes and backslashes after the literal.
	if e, _ := End(append(lit[:len(lit):len(lit)], `,"\\"\`...), 0); e != end {
		t.Fatalf("End(%q followed by more) = %d; String: %d", lit, e, end)
	}
	body := lit[1 : len(lit)-1]
	if got := string(Append(nil, body)); got != want {
		t.Fatalf("Append(%q) = %q, encoding/json %q", body, got, want)
	}
	var rs []rune
	for i := 0; i < len(body); {
		var r rune
		r, i = Next(body, i)
		rs = append(rs, r)
	}
	if string(rs) != want {
		t.Fatalf("Next over %q = %q, encoding/json %q", body, string(rs), want)
	}
	plain := true
	for _, c := range body {
		plain = plain && c < utf8.RuneSelf && c != '\\'
	}
	if plain != (flags == 0) {
		t.Fatalf("String(%q) flags %b, plain %v", lit, flags, plain)
	}
	send, _, sfault := String(lit, 0, true)
	strictOK := utf8.Valid(lit) && surrogatesPaired(string(lit))
	if (sfault == 0 && send == len(lit)) != strictOK {
		t.Fatalf("strict String(%q) = %d, %v; want accepted %v", lit, send, sfault, strictOK)
	}
}

func TestString(t *testing.T) {
	for _, s := range stringInputs {
		checkString(t, []byte(s))
	}
	// Each kind of byte the eight-byte step stops at, at every position of a word.
	for pos := range 17 {
		for _, special := range []string{`"`, `\n`, "\x01", "é", "\xff", `\u00e9`} {
			lit := `"` + strings.Repeat("a", pos) + special + strings.Repeat("b", 9) + `"`
			checkString(t, []byte(lit))
			checkString(t, []byte(lit[:len(lit)-1])) // unterminated
		}
	}
}

// TestStringFaults pins the fault and its offset, which the strict reader's errors report.
func TestStringFaults(t *testing.T) {
	type faultCase struct {
		in     string
		strict bool
		fault  Fault
		at     int // where the fault is; without one, the end of the literal
	}
	for _, c := range []faultCase{
		{`"abc`, false, Unterminated, 4},
		{`"abc\`, false, Unterminated, 4},
		{"\"a\nb\"", false, Control, 2},
		{`"a\u12x4"`, false, BadUnicodeEscape, 2},
		{`"a\x"`, false, BadEscape, 2},
		{`"ab\ud800"`, true, LoneSurrogate, 3},
		{`"ab\udc00\ud800"`, true, LoneSurrogate, 3},
		{`"ab\ud800"`, false, 0, 10},
		{"\"a\xffb\"", true, BadUTF8, 2},
		{"\"a\xffb\"", false, 0, 5},
		{`"ok" trailing`, true, 0, 4},
	} {
		end, _, fault := String([]byte(c.in), 0, c.strict)
		if fault != c.fault || end != c.at {
			t.Errorf("String(%q, strict %v) = %d, %q; want %d, %q", c.in, c.strict, end, fault, c.at, c.fault)
		}
	}
}

// FuzzString checks String, Append and Next against encoding/json (seeds: stringInputs and
// testdata/fuzz/FuzzString).
func FuzzString(f *testing.F) {
	for _, s := range stringInputs {
		f.Add([]byte(s))
	}
	f.Fuzz(checkString)
}

// checkNumber: Number takes in a whole input exactly when it is a JSON number (a valid document
// that starts with a sign or a digit and ends without whitespace).
func checkNumber(t *testing.T, b []byte) {
	t.Helper()
	end := Number(b, 0)
	want := json.Valid(b) && len(b) > 0 && (b[0] == '-' || '0' <= b[0] && b[0] <= '9') && b[len(b)-1] > ' '
	if (end == len(b)) != want || end > len(b) || end < -1 {
		t.Fatalf("Number(%q) = %d; a JSON number: %v", b, end, want)
	}
}

func TestNumber(t *testing.T) {
	for _, s := range []string{`0`, `-0`, `12`, `-`, `01`, `1.`, `1.5`, `.5`, `1e`, `1e+`, `1e+5`, `1E-05`, `-1.5e3`, `1x`, `--1`, `+1`, ``, `1.5.5`} {
		checkNumber(t, []byte(s))
	}
	if got := Number([]byte(`[12,3]`), 1); got != 3 {
		t.Errorf("Number in an array = %d, want 3", got)
	}
}

// FuzzNumber checks Number against encoding/json.
func FuzzNumber(f *testing.F) {
	for _, s := range []string{`0`, `-12.5e+3`, `01`, `1.`, `1e`} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkNumber)
}

func TestHexAndEscape(t *testing.T) {
	if Hex("x00e9", 1, 4) != 0xe9 || Hex([]byte("FFFFFFFF"), 0, 8) != 0xFFFFFFFF || Hex("12g4", 0, 4) != -1 || Hex("12", 0, 4) != -1 {
		t.Error("Hex")
	}
	for c, want := range map[byte]byte{'n': '\n', '/': '/', '"': '"', 't': '\t', 'b': '\b'} {
		if got, ok := Escape(c); !ok || got != want {
			t.Errorf("Escape(%q) = %q, %v", c, got, ok)
		}
	}
	if _, ok := Escape('x'); ok {
		t.Error(`Escape('x') accepted`)
	}
}
