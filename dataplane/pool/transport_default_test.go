package pool

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/infergw/gwctl/dataplane/h1"
	"github.com/infergw/gwctl/pkg/fastpath"
)

// TestDefaultTransport: without a Transport of its own, a pool reaches plain model servers
// through dataplane/h1 (net/http's Transport with GWCTL_NOFAST=h1client), for requests and
// scrapes alike, and adds no Accept-Encoding: bodies pass through as the model server sent them.
func TestDefaultTransport(t *testing.T) {
	p, err := New(Config{Name: "default/t", Source: StaticSource{}, Scheduler: fastSched()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := p.proxy.Transport.(*fallbackTransport).base
	if _, isH1 := base.(*h1.Transport); isH1 != fastpath.Enabled(fastpath.H1Client) {
		t.Errorf("h1client on: %v, but the pool's transport is %T", fastpath.Enabled(fastpath.H1Client), base)
	}
	if p.scrapeClient.Transport != base {
		t.Errorf("scrapes go through %T, requests through %T", p.scrapeClient.Transport, base)
	}
	var enc []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		enc = r.Header.Values("Accept-Encoding")
		_, _ = w.Write([]byte("ok"))
	}))
	defer up.Close()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, up.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(enc) != 0 {
		t.Errorf("the model server got Accept-Encoding %q, want none", enc)
	}
}
