package epp

import (
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/pool"
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
// headers and body sent, pick read, body back, stream closed) to the dataplane's own EPP server
// on loopback, at concurrency 1 and 32 side by side, with a chat body of a 1,000-token prompt.
// CPU/pick is the process's CPU time (both ends of the exchange and the pools' scrapes) per
// pick: unlike the percentiles, it holds up on a loaded machine.
func TestPickLatency(t *testing.T) {
	if !*latencyFlag {
		t.Skip("pick latency comparison runs only with -epp.latency")
	}
	pb := newPickBench(t, pool.SchedulerConfig{})
	pickers := []struct {
		name string
		f    func() error
	}{{"in-process", pb.inProcess}, {"EPP client → dataplane epp (ext_proc, loopback)", pb.throughEPP}}
	concs := []int{1, 32}
	type cell struct{ p50, p99, cpu time.Duration }
	cells := make([][]cell, len(pickers))
	for i, pk := range pickers {
		for _, conc := range concs {
			for range 200 { // warm connections, prefix index and caches
				if err := pk.f(); err != nil {
					t.Fatal(err)
				}
			}
			cpu0 := processCPU()
			ds, _ := measure(t, conc, *latencyN, pk.f)
			cpu := (processCPU() - cpu0) / time.Duration(max(1, len(ds)))
			cells[i] = append(cells[i], cell{pctl(ds, 0.5), pctl(ds, 0.99), cpu})
		}
	}
	var b strings.Builder
	b.WriteString("\n| picker | c=1 p50 | c=1 p99 | c=32 p50 | c=32 p99 | CPU/pick c=1 | CPU/pick c=32 |\n|---|--:|--:|--:|--:|--:|--:|\n")
	row := func(name string, cs []cell) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", name, us(cs[0].p50), us(cs[0].p99), us(cs[1].p50), us(cs[1].p99), us(cs[0].cpu), us(cs[1].cpu))
	}
	for i, pk := range pickers {
		row(pk.name, cells[i])
	}
	// A difference of p99s is noise on a shared machine: the added row compares medians and CPU.
	fmt.Fprintf(&b, "| added by the EPP (difference) | %s | – | %s | – | %s | %s |\n",
		us(cells[1][0].p50-cells[0][0].p50), us(cells[1][1].p50-cells[0][1].p50), us(cells[1][0].cpu-cells[0][0].cpu), us(cells[1][1].cpu-cells[0][1].cpu))
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

func us(d time.Duration) string { return fmt.Sprintf("%d µs", d.Microseconds()) }
