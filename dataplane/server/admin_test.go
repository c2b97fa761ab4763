package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Issue #15: /configz (routes, upstream addresses, JWKS, policies) was served on the admin
// address, which binds every interface for probes and Prometheus. The admin listener serves
// /healthz, /readyz and /metrics only; the debug listener serves the debug endpoints only.
func TestAdminAndDebugListeners(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := New(Options{Metrics: NewMetrics(reg), Gatherer: reg, ShutdownTimeout: 2 * time.Second,
		DebugHandlers: map[string]http.Handler{"/configz": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"config":{}}`)
		})}})
	s.Swap(http.NotFoundHandler(), nil)
	var lns [3]net.Listener
	for i := range lns {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[i] = ln
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.ServeListeners(ctx, Listeners{Bindings: []Binding{{Listener: lns[0]}}, Admin: lns[1], Debug: lns[2]})
	}()
	t.Cleanup(func() { cancel(); <-done })
	traffic, admin, debug := "http://"+lns[0].Addr().String(), "http://"+lns[1].Addr().String(), "http://"+lns[2].Addr().String()
	for _, tc := range []struct {
		url    string
		status int
	}{
		{admin + "/healthz", 200}, {admin + "/readyz", 200}, {admin + "/metrics", 200},
		{admin + "/configz", 404}, {admin + "/debug/pprof/", 404},
		{debug + "/configz", 200},
		{debug + "/metrics", 404}, {debug + "/healthz", 404},
		{traffic + "/configz", 404}, {traffic + "/metrics", 404},
	} {
		resp, err := http.Get(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("GET %s = %d, want %d", tc.url, resp.StatusCode, tc.status)
		}
	}
}
