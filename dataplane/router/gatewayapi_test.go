package router

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/gateway"
)

// A RequestRedirect without scheme and port keeps the listener's port the client reached (the
// Gateway API's rule), also when it names another hostname; a scheme without a port takes the
// scheme's well-known port.
func TestRedirectPort(t *testing.T) {
	cases := []struct {
		name, host string
		rd         gateway.Redirect
		want       string
	}{
		{"hostname, listener on 8080", "gw.example.com:8080", gateway.Redirect{Hostname: "example.org", StatusCode: 302}, "http://example.org:8080/p"},
		{"hostname, default port", "gw.example.com", gateway.Redirect{Hostname: "example.org", StatusCode: 302}, "http://example.org/p"},
		{"nothing set, listener on 8080", "gw.example.com:8080", gateway.Redirect{StatusCode: 302}, "http://gw.example.com:8080/p"},
		{"scheme https, no port", "gw.example.com:8080", gateway.Redirect{Scheme: "https", Hostname: "example.org", StatusCode: 302}, "https://example.org/p"},
		{"port 8443", "gw.example.com", gateway.Redirect{Port: 8443, StatusCode: 302}, "http://gw.example.com:8443/p"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://"+tc.host+"/p", nil)
			w := httptest.NewRecorder()
			redirect(&tc.rd, "", w, r)
			if got := w.Header().Get("Location"); got != tc.want || w.Code != 302 {
				t.Errorf("Location = %q (%d), want %q", got, w.Code, tc.want)
			}
		})
	}
}

// A HEAD request no route matches is a bare 404: no JSON content type over an empty body.
func TestHeadNotFound(t *testing.T) {
	tb, err := New(&gateway.Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ method, ctype string }{{"HEAD", ""}, {"GET", "application/json"}} {
		w := httptest.NewRecorder()
		tb.ServeHTTP(w, httptest.NewRequest(tc.method, "http://gw.example.com/", nil))
		if w.Code != 404 || w.Header().Get("Content-Type") != tc.ctype {
			t.Errorf("%s: %d, Content-Type %q; want 404, %q", tc.method, w.Code, w.Header().Get("Content-Type"), tc.ctype)
		}
	}
}

// On a port with listeners of several hostnames, a request is served only by the routes of the
// most specific listener its host matches (listener isolation): a route of the catch-all
// listener does not answer a host a wildcard listener claims.
func TestListenerIsolation(t *testing.T) {
	gw := strings.Replace(base, "listeners: [{name: http, port: 80, protocol: HTTP}]",
		`listeners: [{name: any, port: 80, protocol: HTTP}, {name: wild, port: 80, protocol: HTTP, hostname: "*.example.com"}]`, 1)
	src := "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r-any, namespace: ns}\nspec:\n  parentRefs: [{name: gw, sectionName: any}]\n  rules:\n  - matches: [{path: {type: PathPrefix, value: /any}}]\n" + toA + "\n---\n" +
		"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r-wild, namespace: ns}\nspec:\n  parentRefs: [{name: gw, sectionName: wild}]\n  rules:\n  - matches: [{path: {type: PathPrefix, value: /wild}}]\n" + toB + "\n---\n"
	tb := buildWith(t, gw, src)
	cases := []struct{ host, target, want string }{
		{"other.org", "/any", "a"},
		{"bar.example.com", "/wild", "b"},
		{"bar.example.com", "/any", "404"},
		{"other.org", "/wild", "404"},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "http://"+tc.host+tc.target, nil)
		w := httptest.NewRecorder()
		tb.ServePort(w, r, 80)
		got := w.Header().Get("X-Backend")
		if got == "" {
			got = strconv.Itoa(w.Code)
		}
		if got != tc.want {
			t.Errorf("%s%s on port 80: %s, want %s", tc.host, tc.target, got, tc.want)
		}
	}
}
