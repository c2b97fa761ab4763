package router

import (
	"net/http/httptest"
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
