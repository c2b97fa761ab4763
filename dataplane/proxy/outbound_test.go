package proxy

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/infergw/gwctl/internal/testenv"
)

// The outbound request of a plain POST: the URL on the target with the client's path and query,
// the forwarding headers, and the values of each its own (an append to one leaves the others).
func TestOutbound(t *testing.T) {
	f := &forwarder{target: url.URL{Scheme: "http", Host: "up:80"}}
	r := httptest.NewRequest("POST", "http://api.example.com/v1/chat/completions?x=1", nil)
	r.RemoteAddr = "10.0.0.7:5000"
	out := f.outbound(r, &call{})
	if got := out.URL.String(); got != "http://up:80/v1/chat/completions?x=1" || out.Host != "api.example.com" {
		t.Fatalf("outbound URL %q host %q", got, out.Host)
	}
	if r.URL.Host != "api.example.com" {
		t.Fatalf("the client's URL changed: %q", r.URL)
	}
	want := map[string]string{"X-Forwarded-For": "10.0.0.7", "X-Real-Ip": "10.0.0.7", "X-Forwarded-Host": "api.example.com", "X-Forwarded-Proto": "http"}
	for _, k := range []string{"X-Forwarded-For", "X-Real-Ip", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		out.Header.Add(k, "appended")
	}
	for k, v := range want {
		if vv := out.Header[k]; len(vv) != 2 || vv[0] != v || vv[1] != "appended" {
			t.Errorf("%s = %q, want [%q appended]", k, vv, v)
		}
	}
}

// The upstream request of a plain POST costs the request copy, its context, the header clone
// and the call (the URL and forwarding values inside it): a bound, so that a new allocation
// per request is a decision.
func TestOutboundAllocs(t *testing.T) {
	if testenv.RaceSlowdown > 1 || !fastForward {
		t.Skip("allocation counts differ under -race; the forwarder is off (GWCTL_NOFAST)")
	}
	f := &forwarder{target: url.URL{Scheme: "http", Host: "up:80"}}
	r := httptest.NewRequest("POST", "http://api.example.com/v1/chat/completions", nil)
	r.RemoteAddr = "10.0.0.7:5000"
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "sdk")
	w := httptest.NewRecorder()
	var out *http.Request
	allocs := testing.AllocsPerRun(200, func() {
		out = f.outbound(r, &call{w: w})
	})
	if out.URL.Host != "up:80" {
		t.Fatalf("outbound URL %q", out.URL)
	}
	if allocs > 8 {
		t.Fatalf("outbound: %v allocations per request, want at most 8", allocs)
	}
}

// untrusted names every header of the policy in any case, and no other.
func TestUntrusted(t *testing.T) {
	names := append(append([]string{}, untrustedHeaders...), "X-Forwarded-Port", "X-Original-Url", "X-Envoy-Retry-On")
	for _, k := range names {
		for _, v := range []string{k, strings.ToLower(k), strings.ToUpper(k)} {
			if !untrusted(v) {
				t.Errorf("%q passed", v)
			}
		}
	}
	for _, k := range []string{"", "Content-Type", "content-length", "Cookie", "Accept", "User-Agent", "Authorization", "Te", "X-Request-Id", "Forward", "F", "Xforwarded-For"} {
		if untrusted(k) {
			t.Errorf("%q removed", k)
		}
	}
}
