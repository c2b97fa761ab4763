package kube

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/infergw/gwctl/dataplane/proxy"
	"github.com/infergw/gwctl/pkg/gateway"
)

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkServiceBackend: a Service backend in Kubernetes mode (the endpoint picked per request
// from the EndpointSlice snapshot) against file mode's (one fixed address), 1 KB responses from
// a loopback upstream. The request path should cost the same.
func BenchmarkServiceBackend(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1024)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) }))
	defer up.Close()
	addr := strings.TrimPrefix(up.URL, "http://")
	tr := proxy.NewTransport()
	newProxy := func(_, a string) http.Handler { return proxy.New(a, proxy.Options{Transport: tr}) }

	e := &Endpoints{}
	snap := map[string][]string{svcKey("ns", "up", 80): {addr}}
	e.snap.Store(&snap)
	kubeMode := e.ServiceHandler(&gateway.Backend{ID: "Service/ns/up:80",
		Service: &gateway.ServiceBackend{Namespace: "ns", Name: "up", Port: 80}}, newProxy)

	for _, tc := range []struct {
		name string
		h    http.Handler
	}{{"file", newProxy("", addr)}, {"kubernetes", kubeMode}} {
		b.Run(tc.name, func(b *testing.B) {
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("GET", "http://api.example.com/v1/models", nil)
				clear(w.h)
				tc.h.ServeHTTP(w, r)
			}
		})
	}
}
