package epp

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/infergw/gwctl/dataplane/pool"
	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
)

// The dataplane's EPP client against its own EPP server, each with its own pool of the same
// simulators, over loopback HTTP and gRPC, in every processing mode.
func TestClientAgainstServer(t *testing.T) {
	sims := startSims(t, 3, vllmsim.Config{})
	eppPool := startPool(t, "default/vllm", sims, pool.FailClose, pool.SchedulerConfig{})
	reg := prometheus.NewRegistry()
	srv, err := NewServer(eppPool, 0, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	eppAddr := serveGRPC(t, srv)
	gwPool := startPool(t, "default/vllm", sims, pool.FailClose, pool.SchedulerConfig{})

	for _, tc := range []struct {
		mode   string
		stream bool
	}{
		{"full-duplex", true},
		{"full-duplex", false},
		{"buffered", true},
		{"headers", false},
	} {
		name := tc.mode
		if tc.stream {
			name += "/stream"
		}
		t.Run(name, func(t *testing.T) {
			mode, err := ParseMode(tc.mode)
			if err != nil {
				t.Fatal(err)
			}
			gw := startGateway(t, gwPool, eppAddr, pool.FailClose, Options{Mode: mode})
			before := testutil.ToFloat64(srv.metrics.requests.WithLabelValues("default/vllm", "picked"))
			r := post(t, gw.url, chatBody("sim-model", strings.Repeat("hello world ", 40), tc.stream), nil)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			served := r.header.Get(pool.HeaderServed)
			if !contains(sims, served) {
				t.Fatalf("served by %q, not a simulator of the pool %v", served, sims)
			}
			if tc.stream && sseText(r.body) == "" {
				t.Fatalf("streamed answer has no content: %.300s", r.body)
			}
			// Counted once the proxy returns, which may be after the client has the whole reply.
			picked := gw.c.metrics.requests.WithLabelValues("default/vllm", "picked")
			waitFor(t, 5*time.Second, "the client to count the pick", func() bool { return testutil.ToFloat64(picked) >= 1 })
			if n := testutil.ToFloat64(picked); n != 1 {
				t.Errorf("client picked = %v, want 1", n)
			}
			if n := testutil.ToFloat64(srv.metrics.requests.WithLabelValues("default/vllm", "picked")) - before; n != 1 {
				t.Errorf("server picked = %v, want 1", n)
			}
			if n := testutil.CollectAndCount(gw.c.metrics.pick); n != 1 {
				t.Errorf("pick latency series = %d, want 1", n)
			}
		})
	}
}
