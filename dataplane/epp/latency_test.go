package epp

import (
	"context"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/pool"
	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
)

// The pick-latency comparison needs a quiet machine, so it only runs with
//
//	go test ./dataplane/epp -run TestPickLatency -epp.latency -v
var (
	latencyFlag = flag.Bool("epp.latency", false, "compare the added latency of a pick in-process and through the EPP client (slow)")
	latencyN    = flag.Int("epp.latency.n", 4000, "picks per cell")
)

// TestPickLatency measures what deciding an endpoint costs a request: the in-process pick
// (parse, score, pick, as ServeHTTP does) against the EPP client's request phase (stream open,
// headers and body sent, pick read, body back) to the dataplane's own EPP server on loopback,
// at concurrency 1 and 32, with a chat body of a 1,000-token prompt.
func TestPickLatency(t *testing.T) {
	if !*latencyFlag {
		t.Skip("pick latency comparison runs only with -epp.latency")
	}
	sims := startSims(t, 8, vllmsim.Config{})
	eppPool := startPool(t, "bench/epp", sims, pool.FailClose, pool.SchedulerConfig{})
	srv, err := NewServer(eppPool, 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	eppAddr := serveGRPC(t, srv)
	gwPool := startPool(t, "bench/gw", sims, pool.FailClose, pool.SchedulerConfig{})
	c, err := NewClient(Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h := c.Handler(gwPool, Picker{Address: eppAddr}).(*handler)
	body := chatBody("sim-model", strings.Repeat("a shared system prompt ", 174)[:4000], false)

	inProcess := func() error {
		k, err := gwPool.Pick(context.Background(), pool.PickRequest{Header: http.Header{"Content-Type": {"application/json"}}, Body: body})
		if err != nil {
			return err
		}
		k.Release()
		return nil
	}
	throughEPP := func() error {
		r, _ := http.NewRequest(http.MethodPost, "http://gw/v1/chat/completions", nil)
		r.Header.Set("Content-Type", "application/json")
		ex, err := c.exchange(context.Background(), h, r, body)
		if ex != nil {
			ex.close()
		}
		return err
	}
	var b strings.Builder
	b.WriteString("\n| picker | concurrency | p50 | p90 | p99 | picks/s |\n|---|---|---|---|---|---|\n")
	for _, conc := range []int{1, 32} {
		for _, pk := range []struct {
			name string
			f    func() error
		}{{"in-process", inProcess}, {"EPP client → dataplane epp (ext_proc, loopback)", throughEPP}} {
			for range 200 { // warm connections, prefix index and caches
				if err := pk.f(); err != nil {
					t.Fatal(err)
				}
			}
			ds, elapsed := measure(t, conc, *latencyN, pk.f)
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %.0f |\n", pk.name, conc, us(pctl(ds, 0.5)), us(pctl(ds, 0.9)), us(pctl(ds, 0.99)),
				float64(len(ds))/elapsed.Seconds())
		}
	}
	fmt.Fprint(os.Stdout, b.String())
}

// measure runs n calls of f from conc goroutines and returns each call's duration.
func measure(t *testing.T, conc, n int, f func() error) ([]time.Duration, time.Duration) {
	t.Helper()
	out := make([][]time.Duration, conc)
	var wg sync.WaitGroup
	var failed sync.Once
	start := time.Now()
	for g := range conc {
		wg.Go(func() {
			for range n / conc {
				s := time.Now()
				if err := f(); err != nil {
					failed.Do(func() { t.Error(err) })
					return
				}
				out[g] = append(out[g], time.Since(s))
			}
		})
	}
	wg.Wait()
	return slices.Concat(out...), time.Since(start)
}

func pctl(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(math.Ceil(q*float64(len(s))))-1)]
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d.Microseconds())) }
