package router

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/gateway"
	"github.com/infergw/gwctl/pkg/manifest"
)

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

// BenchmarkRoute measures matching among 50 routes (prefix, header and regex rules on exact
// and wildcard hostnames) and dispatch to a no-op backend.
func BenchmarkRoute(b *testing.B) {
	var sb strings.Builder
	for i := range 50 {
		n := strconv.Itoa(i)
		sb.WriteString(route("r"+n, `  hostnames: [api`+n+`.example.com, "*.svc`+n+`.example.com"]
  rules:
  - matches: [{path: {type: PathPrefix, value: /v1/models/`+n+`}, headers: [{name: X-Tenant, value: t`+n+`}]}]
`+toA+`
  - matches: [{path: {type: RegularExpression, value: "/v2/[a-z]+/`+n+`"}}]
`+toB+`
  - matches: [{path: {type: PathPrefix, value: /v1}}]
`+toC))
	}
	objs, err := manifest.Parse("b.yaml", []byte(base+sb.String()), manifest.DefaultLimits)
	if err != nil {
		b.Fatal(err)
	}
	cfg, fs := gateway.Compile(objs, gateway.Options{})
	if finding.HasErrors(fs, false) {
		b.Fatal(fs)
	}
	hs := map[string]http.Handler{}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for id := range cfg.Backends {
		hs[id] = ok
	}
	tb, err := New(cfg, Options{Backends: hs})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("POST", "http://api25.example.com/v1/chat/completions", nil)
	r.Header.Set("X-Tenant", "t25")
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		tb.ServeHTTP(w, r)
	}
}
