package anthropic

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

var literalRunesSeeds = []string{
	`""`, `"plain"`, `"Voilà — é"`, `"😀"`, `"\ud83d\ude00"`, `"a\ud83dx"`, `"\ude00\ud83d"`, `"\ud83d\u0041"`,
	`"\ud83d\ud83d\ude00"`, `"tab\tnew\nquote\"back\\slash\/"`, `"\u00e9\u2028"`, "\"\xff\xfe bad\"", "\"\xe2\x82 cut\"",
	`"\uD83D\uDE00 upper hex"`,
}

func TestLiteralRunes(t *testing.T) {
	for _, lit := range literalRunesSeeds {
		checkLiteralRunes(t, []byte(lit))
	}
}

// checkLiteralRunes compares literalRunes with the character count of what encoding/json
// decodes the literal to.
func checkLiteralRunes(t *testing.T, lit []byte) {
	t.Helper()
	var s string
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' || !json.Valid(lit) || json.Unmarshal(lit, &s) != nil {
		return
	}
	if got, want := literalRunes(lit), utf8.RuneCountInString(s); got != want {
		t.Fatalf("literalRunes(%s) = %d, want %d (%q)", lit, got, want, s)
	}
}

// FuzzLiteralRunes: the streamed character count of a JSON string literal always equals the
// count of its decoded string, so streamed and non-streamed annotation offsets agree.
func FuzzLiteralRunes(f *testing.F) {
	for _, s := range literalRunesSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, lit []byte) { checkLiteralRunes(t, lit) })
}

func TestURLCitation(t *testing.T) {
	cases := []struct {
		in   citation
		url  string
		want bool
	}{
		{citation{Type: "web_search_result_location", URL: "https://a.example", Title: "A"}, "https://a.example", true},
		{citation{Type: "web_search_result_location"}, "", false},
		{citation{Type: "search_result_location", Source: "HTTPS://kb.example/x"}, "HTTPS://kb.example/x", true},
		{citation{Type: "search_result_location", Source: "kb://internal"}, "", false},
		{citation{Type: "char_location", URL: "https://ignored.example"}, "", false},
		{citation{Type: "page_location"}, "", false},
		{citation{Type: "content_block_location"}, "", false},
	}
	for _, tc := range cases {
		url, _, ok := tc.in.urlCitation()
		if ok != tc.want || url != tc.url {
			t.Errorf("%+v: got %q %v", tc.in, url, ok)
		}
	}
}
