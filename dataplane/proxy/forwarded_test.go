package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// upstreamRecorder is a loopback upstream that keeps the headers of every request it gets.
func upstreamRecorder(t *testing.T) (addr string, seen func() []*http.Request) {
	t.Helper()
	var mu sync.Mutex
	var reqs []*http.Request
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reqs = append(reqs, r.Clone(r.Context()))
		mu.Unlock()
	}))
	t.Cleanup(up.Close)
	return strings.TrimPrefix(up.URL, "http://"), func() []*http.Request {
		mu.Lock()
		defer mu.Unlock()
		return append([]*http.Request(nil), reqs...)
	}
}

// Issue #15: the client's X-Real-IP reached the upstream unchanged while X-Forwarded-* were
// overwritten. Every header in which a client claims its address, the host or scheme it used, a
// rewritten path or an instruction to a sidecar is dropped; the gateway states the client's
// address (X-Forwarded-For, X-Real-Ip), host and scheme itself.
func TestForwardingHeadersAreTheGateways(t *testing.T) {
	addr, seen := upstreamRecorder(t)
	gw := httptest.NewServer(New(addr, Options{}))
	t.Cleanup(gw.Close)
	req, _ := http.NewRequest("GET", gw.URL+"/v1/models", nil)
	req.Host = "api.example.com"
	spoofed := map[string]string{
		"X-Real-IP":                      "203.0.113.7",
		"X-Forwarded-For":                "203.0.113.7",
		"X-Forwarded-Host":               "evil.example",
		"X-Forwarded-Proto":              "https",
		"X-Forwarded-Port":               "443",
		"X-Forwarded-Prefix":             "/admin",
		"X-Forwarded-Server":             "evil",
		"X-Forwarded-Uri":                "/admin",
		"Forwarded":                      "for=203.0.113.7;host=evil.example;proto=https",
		"X-Original-URL":                 "/admin",
		"X-Original-Uri":                 "/admin",
		"X-Original-Host":                "evil.example",
		"X-Original-Forwarded-For":       "203.0.113.7",
		"X-Rewrite-URL":                  "/admin",
		"X-Envoy-Retry-On":               "5xx",
		"x-envoy-max-retries":            "100",
		"X-Envoy-Upstream-Rq-Timeout-Ms": "999999",
		"X-Client-IP":                    "203.0.113.7",
		"True-Client-IP":                 "203.0.113.7",
		"X-Cluster-Client-IP":            "203.0.113.7",
		"CF-Connecting-IP":               "203.0.113.7",
		"Fastly-Client-IP":               "203.0.113.7",
	}
	for k, v := range spoofed {
		req.Header.Set(k, v)
	}
	req.Header.Set("X-Tenant", "blue")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	reqs := seen()
	if resp.StatusCode != 200 || len(reqs) != 1 {
		t.Fatalf("status %d, %d upstream requests", resp.StatusCode, len(reqs))
	}
	h := reqs[0].Header
	want := map[string]string{
		"X-Real-Ip": "127.0.0.1", "X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": "api.example.com",
		"X-Forwarded-Proto": "http", "X-Tenant": "blue",
	}
	for k, v := range want {
		if got := h.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("upstream %s = %q, want %q", k, got, v)
		}
	}
	for k := range spoofed {
		if _, kept := want[http.CanonicalHeaderKey(k)]; !kept && h.Get(k) != "" {
			t.Errorf("upstream got the client's %s: %q", k, h.Get(k))
		}
	}
	if reqs[0].Host != "api.example.com" || reqs[0].URL.Path != "/v1/models" {
		t.Errorf("upstream got %s %s", reqs[0].Host, reqs[0].URL.Path)
	}
}

// Issue #15: CONNECT was forwarded as "CONNECT / HTTP/1.1". The proxy never sends CONNECT or
// TRACE, whatever the handlers before it let through.
func TestProxyNeverSendsRefusedMethods(t *testing.T) {
	addr, seen := upstreamRecorder(t)
	gw := httptest.NewServer(New(addr, Options{}))
	t.Cleanup(gw.Close)
	for _, line := range []string{"CONNECT upstream.example:443 HTTP/1.1", "CONNECT / HTTP/1.1", "TRACE / HTTP/1.1"} {
		c, err := net.Dial("tcp", strings.TrimPrefix(gw.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.WriteString(c, line+"\r\nHost: gw\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		b, _ := io.ReadAll(resp.Body)
		c.Close()
		if resp.StatusCode != 405 || resp.Header.Get("Allow") == "" || !strings.Contains(string(b), `"param":null,"code":null`) {
			t.Errorf("%s: %d %s", line, resp.StatusCode, b)
		}
	}
	if n := len(seen()); n != 0 {
		t.Errorf("the upstream got %d requests", n)
	}
}
