package mcp

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/infergw/gwctl/internal/testenv"
)

// everything is a running @modelcontextprotocol/server-everything on loopback.
type everything struct {
	*testenv.Everything
	URL string
}

// startEverything runs server-everything in the given transport mode ("streamableHttp" or "sse")
// on a free loopback port (internal/testenv), and stops it at cleanup.
func startEverything(t testing.TB, mode string) *everything {
	t.Helper()
	e := testenv.StartEverything(t, mode)
	return &everything{Everything: e, URL: e.URL}
}

func (e *everything) stop() { e.Stop() }

var testKey = bytes.Repeat([]byte{0x42}, 32)

// serveGateway serves a handler for cfg on a loopback httptest server.
func serveGateway(t testing.TB, cfg Config) (*Handler, *httptest.Server) {
	t.Helper()
	if cfg.SessionKey == nil {
		cfg.SessionKey = testKey
	}
	h, err := New(cfg, Deps{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// roundRobin sends successive requests to different gateway replicas.
type roundRobin struct {
	mu    sync.Mutex
	hosts []string
	n     int
	seen  map[string]int
}

func (rr *roundRobin) RoundTrip(req *http.Request) (*http.Response, error) {
	rr.mu.Lock()
	host := rr.hosts[rr.n%len(rr.hosts)]
	rr.n++
	if rr.seen == nil {
		rr.seen = map[string]int{}
	}
	rr.seen[host]++
	rr.mu.Unlock()
	r := req.Clone(req.Context())
	r.URL.Host = host
	r.Host = host
	return http.DefaultTransport.RoundTrip(r)
}
