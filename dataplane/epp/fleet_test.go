package epp

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/infergw/gwctl/dataplane/pool"
	"github.com/infergw/gwctl/dataplane/pool/pooltest"
)

// The fleet comparison takes minutes, so it only runs with
//
//	go test ./dataplane/epp -run TestFleet -epp.fleet -v -timeout 30m
//
// and one cell, e.g.: -epp.fleet.lwepp -epp.fleet.loads 1.2 -epp.fleet.pickers lwepp
var (
	fleetFlag  = flag.Bool("epp.fleet", false, "compare the in-process picker with the EPP server driven over ext_proc on the simulated fleet (slow)")
	fleetLoads = flag.String("epp.fleet.loads", "0.5,0.8,1.0,1.2", "offered loads as fractions of fleet capacity")
	fleetLWEPP = flag.Bool("epp.fleet.lwepp", false, "add the Inference Extension's lwepp (needs make lwepp and make kube-bins)")
	fleetOnly  = flag.String("epp.fleet.pickers", "", "run only the pickers whose name contains this (e.g. lwepp)")
)

// TestFleet runs the pool-picking benchmark's workload (pooltest: 8 simulated vLLM servers,
// shared_prefix 150x5, Poisson arrivals) through the in-process picker, through the EPP client
// calling the dataplane's own EPP server (same default scheduler) over ext_proc, and with
// -epp.fleet.lwepp through the EPP client calling the Inference Extension's lwepp.
func TestFleet(t *testing.T) {
	if !*fleetFlag {
		t.Skip("fleet comparison runs only with -epp.fleet")
	}
	// One port on 127.0.0.2… so lwepp, which knows the pool by Pod IP and target port, can serve it.
	sims, addrs := loopbackFleet(t, pooltest.Endpoints, pooltest.Sim())
	ideal, _ := pooltest.Capacity(pooltest.Sim())
	prompts := pooltest.SharedPrefixWorkload(42)

	type picker struct {
		name  string
		serve func(t *testing.T) (url string, failOpen func() float64, stop func())
	}
	pickers := []picker{
		{"in-process (gwctl default)", func(t *testing.T) (string, func() float64, func()) {
			p := startPool(t, "fleet/in-process", addrs, pool.FailOpen, pool.DefaultScheduler())
			srv := httptest.NewServer(p)
			return srv.URL, func() float64 { return 0 }, func() { srv.Close(); _ = p.Close() }
		}},
	}
	for _, mode := range []string{"full-duplex", "buffered"} {
		pickers = append(pickers, picker{"EPP client (" + mode + ") → dataplane epp", func(t *testing.T) (string, func() float64, func()) {
			m, err := ParseMode(mode)
			if err != nil {
				t.Fatal(err)
			}
			eppPool := startPool(t, "fleet/epp", addrs, pool.FailOpen, pool.DefaultScheduler())
			s, err := NewServer(eppPool, 0, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			eppAddr := serveGRPC(t, s)
			gwPool := startPool(t, "fleet/gw", addrs, pool.FailOpen, pool.DefaultScheduler())
			c, err := NewClient(Options{Mode: m}, nil)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(c.Handler(gwPool, Picker{Address: eppAddr, FailureMode: pool.FailOpen}))
			fo := func() float64 { return testutil.ToFloat64(c.metrics.requests.WithLabelValues("fleet/gw", "fail_open")) }
			return srv.URL, fo, func() { srv.Close(); _ = c.Close(); _ = gwPool.Close(); _ = eppPool.Close() }
		}})
	}
	if *fleetLWEPP {
		eppAddr, _ := startLWEPP(t, "lwepp-fleet", addrs)
		pickers = append(pickers, picker{"EPP client (full-duplex) → GIE lwepp v1.6.2 (round-robin)", func(t *testing.T) (string, func() float64, func()) {
			gwPool := startPool(t, "fleet/lwepp", addrs, pool.FailOpen, pool.DefaultScheduler())
			c, err := NewClient(Options{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			h := c.Handler(gwPool, Picker{Address: eppAddr, FailureMode: pool.FailOpen})
			// lwepp answers "no pods available" until it has synced the pool's Pods.
			waitFor(t, 30*time.Second, "lwepp to pick", func() bool {
				r, _ := http.NewRequest(http.MethodPost, "http://gw/v1/chat/completions", nil)
				ex, err := c.exchange(context.Background(), h.(*handler), r, chatBody("sim-model", "ready?", false))
				if ex != nil {
					ex.close()
				}
				return err == nil
			})
			srv := httptest.NewServer(h)
			fo := func() float64 {
				return testutil.ToFloat64(c.metrics.requests.WithLabelValues("fleet/lwepp", "fail_open"))
			}
			return srv.URL, fo, func() { srv.Close(); _ = c.Close(); _ = gwPool.Close() }
		}})
	}

	var b strings.Builder
	fmt.Fprintf(&b, "\nFleet: pooltest (%d simulated vLLM endpoints); workload shared_prefix %dx%d, %d requests per cell; 100%% = %.1f req/s.\n\n",
		pooltest.Endpoints, pooltest.Groups, pooltest.PerGroup, len(prompts), ideal)
	b.WriteString("| load | req/s | picker | TTFT p50 | TTFT p90 | E2E p90 | output tok/s | prefix hit | errors | fell open |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, f := range strings.Split(*fleetLoads, ",") {
		var load float64
		if _, err := fmt.Sscan(f, &load); err != nil {
			t.Fatalf("bad -epp.fleet.loads %q", *fleetLoads)
		}
		for _, pk := range pickers {
			if !strings.Contains(pk.name, *fleetOnly) {
				continue
			}
			for _, s := range sims {
				s.ResetCache()
			}
			url, failOpen, stop := pk.serve(t)
			rs, elapsed := pooltest.OpenLoop(url, prompts, load*ideal, uint64(load*1000))
			fo := failOpen()
			stop()
			var ttft, e2e []time.Duration
			tokens, errs := 0, 0
			for _, r := range rs {
				if r.Status != http.StatusOK || r.OutTok == 0 {
					if errs++; errs <= 3 {
						t.Logf("%s: failed request: status %d, %d chunks, body %.200q", pk.name, r.Status, r.Chunks, r.Body)
					}
					continue
				}
				ttft = append(ttft, r.TTFT)
				e2e = append(e2e, r.E2E)
				tokens += r.OutTok
			}
			var prompt, cached int
			for _, s := range sims {
				st := s.Stats()
				prompt += st.PromptTokens
				cached += st.CachedTokens
			}
			hit := 0.0
			if prompt > 0 {
				hit = float64(cached) / float64(prompt)
			}
			fmt.Fprintf(&b, "| %.0f%% | %.1f | %s | %s | %s | %s | %.0f | %.1f%% | %d | %.0f |\n", load*100, load*ideal, pk.name,
				ms(pooltest.Percentile(ttft, 0.5)), ms(pooltest.Percentile(ttft, 0.9)), ms(pooltest.Percentile(e2e, 0.9)),
				float64(tokens)/elapsed.Seconds(), hit*100, errs, fo)
			t.Logf("%s @%.0f%%: ttft p90 %v", pk.name, load*100, pooltest.Percentile(ttft, 0.9))
		}
	}
	fmt.Fprint(os.Stdout, b.String())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", d.Seconds()*1000) }
