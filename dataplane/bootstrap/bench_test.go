package bootstrap

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/proxy"
)

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Flush()                      {}

// BenchmarkRequestPath measures one proxied request (1 KB response from a loopback upstream)
// through the whole dataplane (server with metrics and a JSON access log, route table with 20
// routes, reverse proxy) against a bare httputil.ReverseProxy on the same upstream and
// transport settings. Allocations per request are the point; time includes the upstream.
func BenchmarkRequestPath(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1024)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer up.Close()
	addr := strings.TrimPrefix(up.URL, "http://")

	var routes strings.Builder
	routes.WriteString(gatewayYAML)
	for _, p := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s"} {
		routes.WriteString(httpRoute("route-"+p, `  rules:
  - matches: [{path: {type: PathPrefix, value: /`+p+`}, headers: [{name: X-Tenant, value: "`+p+`"}]}]
    backendRefs: [{name: up, port: 80}]`))
	}
	routes.WriteString(httpRoute("chat", `  rules:
  - matches: [{path: {type: PathPrefix, value: /v1/chat}}]
    backendRefs: [{name: up, port: 80}]`))
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(routes.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	d := New(Settings{Config: []string{dir}, Resolve: map[string]string{"up.default": addr}, MaxRequestBody: 32 << 20},
		slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if res, err := d.Load(); err != nil {
		if res != nil {
			b.Fatal(err, res.Findings)
		}
		b.Fatal(err)
	}
	bare := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: addr})
	bare.Transport = proxy.NewTransport()

	for _, tc := range []struct {
		name string
		h    http.Handler
	}{{"baseline", bare}, {"dataplane", d.Server}} {
		b.Run(tc.name, func(b *testing.B) {
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("POST", "http://api.example.com/v1/chat/completions", nil)
				clear(w.h)
				tc.h.ServeHTTP(w, r)
			}
		})
	}
}

// BenchmarkLoopback measures one request's full round trip at concurrency 1 (client ->
// proxy -> upstream -> proxy -> client, all over loopback, keep-alive): the dataplane served by
// its own listener (h2c-capable server, metrics, JSON access log) against a bare
// httputil.ReverseProxy on a plain http.Server, for 1 KB and 16 KB responses.
func BenchmarkLoopback(b *testing.B) {
	bodies := map[string][]byte{"1KB": bytes.Repeat([]byte("x"), 1024), "16KB": bytes.Repeat([]byte("x"), 16384)}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(bodies[r.URL.Query().Get("size")])
	}))
	defer up.Close()
	addr := strings.TrimPrefix(up.URL, "http://")

	dir := b.TempDir()
	cfg := gatewayYAML + httpRoute("chat", `  rules:
  - matches: [{path: {type: PathPrefix, value: /v1/chat}}]
    backendRefs: [{name: up, port: 80}]`)
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(cfg), 0o644); err != nil {
		b.Fatal(err)
	}
	d := New(Settings{Config: []string{dir}, Resolve: map[string]string{"up.default": addr}, WatchInterval: time.Hour},
		slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if _, err := d.Load(); err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = d.Run(ctx, ln, nil); close(done) }()
	defer func() { cancel(); <-done }()

	bare := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: addr})
	bare.Transport = proxy.NewTransport()
	bs := httptest.NewServer(bare)
	defer bs.Close()

	for _, size := range []string{"1KB", "16KB"} {
		for _, tc := range []struct{ name, base string }{{"baseline", bs.URL}, {"dataplane", "http://" + ln.Addr().String()}} {
			b.Run(size+"/"+tc.name, func(b *testing.B) {
				c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}
				u := tc.base + "/v1/chat/completions?size=" + size
				buf := make([]byte, 32<<10)
				b.ReportAllocs()
				for b.Loop() {
					resp, err := c.Get(u)
					if err != nil {
						b.Fatal(err)
					}
					for {
						if _, err := resp.Body.Read(buf); err != nil {
							break
						}
					}
					resp.Body.Close()
				}
			})
		}
	}
}
