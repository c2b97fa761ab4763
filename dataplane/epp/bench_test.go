package epp

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/pool"
	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
	"github.com/infergw/gwctl/internal/procstat"
)

// pickBench is the setup the pick benchmarks and TestPickLatency share: eight simulators, a pool
// picked in-process, the same fleet behind the dataplane's EPP server on loopback, and a client
// that calls it. Each func decides one endpoint for a chat body of a 1,000-token prompt.
type pickBench struct {
	inProcess, throughEPP func() error
	sims                  []string
	// via calls the EPP at addr as throughEPP calls the one in this process.
	via func(addr string) func() error
}

// newPickBench sets a pickBench up over the simulators at sims; nil starts eight in this process.
func newPickBench(t testing.TB, sc pool.SchedulerConfig, sims []string) pickBench {
	t.Helper()
	if sims == nil {
		sims = startSims(t, 8, vllmsim.Config{})
	}
	eppPool := startPool(t, "bench/epp", sims, pool.FailClose, sc)
	srv, err := NewServer(eppPool, 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	eppAddr := serveGRPC(t, srv)
	gwPool := startPool(t, "bench/gw", sims, pool.FailClose, sc)
	c := newPickClient(t)
	body := pickBody()
	via := func(addr string) func() error { return viaPicker(c, gwPool, addr, body) }
	return pickBench{inProcess: inProcessPick(gwPool, body), throughEPP: via(eppAddr), sims: sims, via: via}
}

// newPickClient is the EPP client of the pick benchmarks.
func newPickClient(t testing.TB) *Client {
	t.Helper()
	// A deadline far past any pick: on a loaded machine a stalled process must show in the
	// percentiles, not end the measurement (the default 1s is the faults tests' concern).
	c, err := NewClient(Options{Timeout: 10 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// pickBody is what every pick decides for: a chat body of a 1,000-token prompt.
func pickBody() []byte {
	return chatBody("sim-model", strings.Repeat("a shared system prompt ", 174)[:4000], false)
}

// inProcessPick decides in p as its ServeHTTP does.
func inProcessPick(p *pool.Pool, body []byte) func() error {
	hdr := http.Header{"Content-Type": {"application/json"}}
	return func() error {
		k, err := p.Pick(context.Background(), pool.PickRequest{Header: hdr, Body: body})
		if err != nil {
			return err
		}
		k.Release()
		return nil
	}
}

// viaPicker decides for gw through the EPP at addr as the dataplane's handler does (the
// request phase of an exchange, then its end).
func viaPicker(c *Client, gw *pool.Pool, addr string, body []byte) func() error {
	h := c.Handler(gw, Picker{Address: addr}).(*handler)
	return func() error {
		r, _ := http.NewRequest(http.MethodPost, "http://gw/v1/chat/completions", nil)
		r.Header.Set("Content-Type", "application/json")
		ex, err := c.exchange(context.Background(), h, r, body)
		if ex != nil {
			ex.close()
		}
		return err
	}
}

// BenchmarkPick is the cost of deciding an endpoint in-process and through the EPP client to
// the dataplane's EPP server (both sides of the exchange run in this process, so CPU and
// allocations per op are the whole exchange's):
//
//	go test ./dataplane/epp -run '^$' -bench Pick -benchmem
//
// With -epp.latency.bin PATH (a built dataplane) it also picks through `dataplane epp` run as its
// own process (epp-process), whose allocations per op are the client's side alone.
func BenchmarkPick(b *testing.B) {
	// Scrapes once a second (metrics kept fresh for an hour) so that the CPU and allocations per
	// op are the pick's, not the two pools' scrapes of eight model servers.
	pb := newPickBench(b, pool.SchedulerConfig{ScrapeInterval: time.Second, StalenessThreshold: time.Hour, SaturationStaleness: time.Hour}, nil)
	type benchCase struct {
		name  string
		f     func() error
		child *eppProcess // the EPP's process, when not this one
	}
	cases := []benchCase{{"in-process", pb.inProcess, nil}, {"epp", pb.throughEPP, nil}}
	if *latencyBin != "" {
		// `dataplane epp` as its own process: the allocations per op are the client's alone
		// (with this process's scrapes and simulators).
		child := startEPPProcess(b, pb.sims, time.Second)
		f := pb.via(child.addr)
		waitFor(b, 10*time.Second, "the dataplane epp process to pick", func() bool { return f() == nil })
		cases = append(cases, benchCase{"epp-process", f, child})
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := procstat.CPU()
			r0, w0 := procstat.Syscalls("self")
			var ccpu0 time.Duration
			var cr0, cw0 int64
			if bc.child != nil {
				ccpu0 = bc.child.cpu()
				cr0, cw0 = procstat.Syscalls(strconv.Itoa(bc.child.pid))
			}
			for b.Loop() {
				if err := bc.f(); err != nil {
					b.Fatal(err)
				}
			}
			// Reads and writes (socket syscalls, mostly) per pick: each is a wakeup on the
			// other side, what the percentiles' tails are made of.
			r1, w1 := procstat.Syscalls("self")
			b.ReportMetric(float64(r1-r0)/float64(b.N), "reads/op")
			b.ReportMetric(float64(w1-w0)/float64(b.N), "writes/op")
			if bc.child != nil {
				// The EPP process's side of the same picks (its scrapes, once a second,
				// included): how often each pick wakes it, and what it burns.
				cr1, cw1 := procstat.Syscalls(strconv.Itoa(bc.child.pid))
				b.ReportMetric(float64(cr1-cr0)/float64(b.N), "epp-reads/op")
				b.ReportMetric(float64(cw1-cw0)/float64(b.N), "epp-writes/op")
				b.ReportMetric(float64(bc.child.cpu()-ccpu0)/float64(b.N), "epp-cpu-ns/op")
			}
			// CPU time per pick (user + system, every goroutine of the process) holds up on a
			// loaded machine where wall time per op does not.
			b.ReportMetric(float64(procstat.CPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
