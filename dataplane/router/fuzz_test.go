package router

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzQueryValue checks the allocation-free query reader against net/url.
func FuzzQueryValue(f *testing.F) {
	for _, s := range []string{"a=1&b=2", "a=1&a=2", "q=a%20b&x", "a+b=c+d", "=x&a", "a=%zz", ""} {
		f.Add(s, "a")
	}
	f.Fuzz(func(t *testing.T, raw, name string) {
		got, ok := queryValue(raw, name)
		vals, err := url.ParseQuery(raw)
		if err != nil || strings.Contains(raw, ";") {
			return // invalid escapes: net/url drops the pair, we keep the raw text
		}
		want, wok := vals[name]
		if ok != wok || (ok && got != want[0]) {
			t.Fatalf("queryValue(%q, %q) = %q, %v; net/url says %q, %v", raw, name, got, ok, want, wok)
		}
	})
}

func FuzzRequestHost(f *testing.F) {
	for _, s := range []string{"Example.COM:8080", "[::1]:80", "a.b.", "", ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		got := requestHost(h)
		if strings.IndexFunc(got, func(r rune) bool { return 'A' <= r && r <= 'Z' }) >= 0 {
			t.Fatalf("requestHost(%q) = %q is not lower case", h, got)
		}
		if strings.HasSuffix(got, ".") && !strings.HasSuffix(h, "..") && !strings.Contains(h, ":") {
			t.Fatalf("requestHost(%q) = %q keeps the trailing dot", h, got)
		}
	})
}
