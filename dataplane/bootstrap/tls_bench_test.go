package bootstrap

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/internal/testenv"
)

// BenchmarkHTTPSRouteLatency is what HTTPS adds to a route at concurrency 1: the same route (a
// 1 KB upstream response through the whole dataplane) on an HTTP and an HTTPS listener, one
// request at a time on kept-alive HTTP/1.1 connections, alternating between them so a loaded
// machine slows both alike. It reports both p50 and p99 and the p99 HTTPS adds.
//
//	go test ./dataplane/bootstrap -run '^$' -bench HTTPSRouteLatency -benchtime 5000x
func BenchmarkHTTPSRouteLatency(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1024)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) }))
	defer up.Close()
	ca := testenv.NewCA(b, "bench")
	kp := ca.Issue(b, testenv.Leaf{Names: []string{"api.example.com"}})
	cfg := `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  listeners:
  - {name: http, port: 80, protocol: HTTP, hostname: api.example.com}
  - {name: https, port: 443, protocol: HTTPS, hostname: api.example.com, tls: {certificateRefs: [{name: api}]}}
---
` + httpRoute("r", "  rules: [{backendRefs: [{name: up, port: 80}]}]") + secretYAML("default", "api", kp)
	dir := b.TempDir()
	writeConfig(b, dir, cfg)
	_, addrs, _ := startPorts(b, Settings{Config: []string{dir}, DisableAccessLog: true,
		Resolve: map[string]string{"up.default": strings.TrimPrefix(up.URL, "http://")}}, 80, 443)
	plain := tlsClient(nil, addrs[80], nil)
	secure := tlsClient(ca.Pool(), addrs[443], func(c *tls.Config) { c.ServerName = "api.example.com"; c.NextProtos = []string{"http/1.1"} })
	defer plain.CloseIdleConnections()
	defer secure.CloseIdleConnections()
	one := func(c *http.Client, url string) time.Duration {
		start := time.Now()
		resp, err := c.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return time.Since(start)
	}
	one(plain, "http://api.example.com/")
	one(secure, "https://api.example.com/")
	httpLat, httpsLat := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			httpLat = append(httpLat, one(plain, "http://api.example.com/"))
			httpsLat = append(httpsLat, one(secure, "https://api.example.com/"))
		} else {
			httpsLat = append(httpsLat, one(secure, "https://api.example.com/"))
			httpLat = append(httpLat, one(plain, "http://api.example.com/"))
		}
	}
	b.StopTimer()
	q := func(d []time.Duration, p float64) float64 {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return float64(d[int(p*float64(len(d)-1))].Microseconds())
	}
	b.ReportMetric(q(httpLat, 0.5), "http-p50-µs")
	b.ReportMetric(q(httpsLat, 0.5), "https-p50-µs")
	b.ReportMetric(q(httpLat, 0.99), "http-p99-µs")
	b.ReportMetric(q(httpsLat, 0.99), "https-p99-µs")
	b.ReportMetric(q(httpsLat, 0.99)-q(httpLat, 0.99), "added-p99-µs")
}
