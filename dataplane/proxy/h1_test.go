package proxy

import (
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/fastpath"
)

// TestDefaultTransportIsH1: without a Transport of its own, a proxy sends plain-HTTP requests
// through dataplane/h1 (which never calls the GotConn hook that net/http's Transport calls),
// and through net/http's Transport with GWCTL_NOFAST=h1client.
func TestDefaultTransportIsH1(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer up.Close()
	h := New(strings.TrimPrefix(up.URL, "http://"), Options{})
	for range 2 {
		gotConn := 0
		ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { gotConn++ }})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil).WithContext(ctx))
		if rec.Code != 200 || rec.Body.String() != "ok" {
			t.Fatalf("got %d %q", rec.Code, rec.Body)
		}
		if viaNetHTTP := gotConn > 0; viaNetHTTP == fastpath.Enabled(fastpath.H1Client) {
			t.Errorf("h1client on: %v, but net/http's Transport called GotConn %d times", fastpath.Enabled(fastpath.H1Client), gotConn)
		}
	}
}
