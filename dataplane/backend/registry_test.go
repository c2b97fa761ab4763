package backend

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/gateway"
)

type closer struct {
	http.Handler
	closed *int
}

func (c closer) Close() error { *c.closed++; return nil }

func TestRegistry(t *testing.T) {
	cfg := &gateway.Config{Backends: map[string]*gateway.Backend{
		"Service/ns/a:80": {ID: "Service/ns/a:80", Kind: gateway.KindService},
		"MCP/ns/tools":    {ID: "MCP/ns/tools", Kind: gateway.KindMCP},
	}}
	closed := 0
	r := NewRegistry()
	r.Register(gateway.KindService, func(b *gateway.Backend) (http.Handler, error) {
		return closer{Handler: http.NotFoundHandler(), closed: &closed}, nil
	})
	set, err := r.Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	set.Handlers["MCP/ns/tools"].ServeHTTP(w, httptest.NewRequest("POST", "/mcp", nil))
	if w.Code != 501 || !strings.Contains(w.Body.String(), "kind MCP) is not served by this dataplane build") {
		t.Fatalf("unregistered kind: %d %s", w.Code, w.Body)
	}
	if err := set.Close(); err != nil || closed != 1 {
		t.Fatalf("close: %v, closed %d", err, closed)
	}

	cfg.Backends["Static/ns/x"] = &gateway.Backend{ID: "Static/ns/x", Kind: gateway.KindStatic}
	r.Register(gateway.KindStatic, func(b *gateway.Backend) (http.Handler, error) { return nil, errors.New("boom") })
	if _, err := r.Build(cfg); err == nil || !strings.Contains(err.Error(), "backend Static/ns/x: boom") {
		t.Fatalf("factory error: %v", err)
	}
	if closed != 2 {
		t.Fatalf("handlers built before a failure must be closed (closed %d)", closed)
	}
}
