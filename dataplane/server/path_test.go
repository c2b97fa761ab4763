package server

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestNormalizePath(t *testing.T) {
	cases := []struct{ in, want, err string }{
		{"", "/", ""},
		{"/", "/", ""},
		{"/a/b", "/a/b", ""},
		{"//a///b//", "/a/b/", ""},
		{"/a/./b/../c", "/a/c", ""},
		{"/a//../b", "/b", ""}, // slashes merge first, as nginx and Envoy's merge_slashes do
		{"/../../a", "/a", ""},
		{"/a/..", "/", ""},
		{"/a/b/..", "/a/", ""},
		{"/a/.", "/a/", ""},
		{"/...", "/...", ""},
		{"/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource/mcp", ""},
		{"/a/%2e%2e/.well-known/x", "/.well-known/x", ""},
		{"/%2e%2E/a/.%2e/b", "/b", ""},
		{"/%61%7e%2D%5f", "/a~-_", ""},
		{"/a%3fb%2c", "/a%3Fb%2C", ""},
		{"/%c3%a9", "/%C3%A9", ""},
		{"/a b\"[]", "/a%20b%22%5B%5D", ""},
		{"/a;b=1/c;d", "/a;b=1/c;d", ""},
		{"/a%3Bb", "/a%3Bb", ""},
		{"/%2F", "", "encoded slash"},
		{"/a%2fb", "", "encoded slash"},
		{"/a%5Cb", "", "backslash"},
		{"/a\\b", "", "backslash"},
		{"/a%00", "", "control"},
		{"/a\x00", "", "control"},
		{"/a%7F", "", "control"},
		{"/a%0d%0a", "", "control"},
		{"/a%zz", "", "malformed"},
		{"/a%4", "", "malformed"},
		{"/a%", "", "malformed"},
		{"*", "", "start with /"},
		{"a/b", "", "start with /"},
		{"/..;/a", "", "dot segment"},
		{"/.;x/a", "", "dot segment"},
		{"/;x/a", "", "dot segment"},
		{"/%2e%2e%3b/a", "", "dot segment"},
	}
	for _, tc := range cases {
		got, err := normalizePath(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("normalizePath(%q) = %q, %v; want error %q", tc.in, got, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("normalizePath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// The URL after normalizeRequest forwards (EscapedPath) exactly the normal form, and its Path
// is that form decoded.
func TestNormalizeRequestKeepsURLConsistent(t *testing.T) {
	for target, want := range map[string]string{
		"/a/%2e%2e/b%3bc?x=%2e%2e//": "/b%3Bc",
		"/a/../b!c":                  "/b!c",
		"/%62[x]":                    "/b%5Bx%5D",
		"/ok/path?q=1":               "/ok/path",
	} {
		r := httptest.NewRequest("GET", target, nil)
		query := r.URL.RawQuery
		if err := normalizeRequest(r); err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		dec, _ := url.PathUnescape(want)
		if r.URL.EscapedPath() != want || r.URL.Path != dec || r.URL.RawQuery != query {
			t.Errorf("%s: escaped %q path %q query %q; want %q", target, r.URL.EscapedPath(), r.URL.Path, r.URL.RawQuery, want)
		}
		if wantURI := r.URL.RequestURI(); r.RequestURI != wantURI && r.RequestURI != target {
			t.Errorf("%s: RequestURI %q, URL says %q", target, r.RequestURI, wantURI)
		}
	}
}

// FuzzNormalizePath checks the invariants of the normal form on any input.
func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"/", "//a/./b/../c/", "/%2e%2E/%41%7e", "/a;b/..;/c", "/a%3fb%zz", "/\\a", "/a%00", "/ä b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := normalizePath(in)
		if err != nil {
			return
		}
		again, err := normalizePath(out)
		if err != nil || again != out {
			t.Fatalf("not a fixpoint: %q → %q → %q, %v", in, out, again, err)
		}
		if out == "" || out[0] != '/' || strings.Contains(out, "//") {
			t.Fatalf("%q → %q: empty, relative or with //", in, out)
		}
		for _, seg := range strings.Split(out[1:], "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("%q → %q keeps a dot segment", in, out)
			}
		}
		for i := 0; i < len(out); i++ {
			c := out[i]
			if c == '%' {
				b := unhex(out[i+1])<<4 | unhex(out[i+2])
				if unreserved(b) || isLowerHex(out[i+1]) || isLowerHex(out[i+2]) || b == '/' || b == '\\' || b < 0x20 {
					t.Fatalf("%q → %q keeps escape %s", in, out, out[i:i+3])
				}
				i += 2
			} else if c != '/' && !pchar(c) {
				t.Fatalf("%q → %q has raw byte %q", in, out, c)
			}
		}
		dec, err := url.PathUnescape(out)
		if err != nil || strings.Count(dec, "/") != strings.Count(out, "/") {
			t.Fatalf("%q → %q decodes to %q, %v: segments differ", in, out, dec, err)
		}
	})
}

func BenchmarkNormalizePath(b *testing.B) {
	for _, p := range []string{"/v1/chat/completions", "/mcp/sessions/a%20b", "//v1/./x/../chat/%63ompletions"} {
		b.Run(p, func(b *testing.B) {
			r := httptest.NewRequest("GET", p, nil)
			u, uri := *r.URL, r.RequestURI
			b.ReportAllocs()
			for b.Loop() {
				*r.URL, r.RequestURI = u, uri
				if err := normalizeRequest(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
