// Command proxy compares the shipped dataplane binary with two httputil.ReverseProxy
// baselines, a stock one and one that pools its copy buffers, on the same loopback upstream,
// with the same Go load generator, in one run.
package main

// What it measures
//
// Measured: throughput at a fixed concurrency and added p50/p99 latency at concurrency 1, for 1 KB and 16 KB bodies and a streamed (SSE)
// response. The dataplane is ./cmd/dataplane built by the harness (or -dataplane PATH), run as
// a user runs it: routing (20 routes), metrics and JSON access logs (stdout, discarded) on.
// Each target is its own process; CPU/req is that process's user+system time per request.
//
//	go run ./hack/bench/proxy -duration 3s -rounds 5 -concurrency 32
//
// -trace DIR writes an execution trace of the first pooled proxy and dataplane (GWCTL_TRACE) for
// their whole life, to count the goroutine and thread hand-offs per request:
//
//	go run ./hack/bench/proxy -latency-only -scenario 1KB -rounds 1 -duration 500ms -trace /tmp/tr
//	go tool trace /tmp/tr/dataplane.trace
//	(cd hack/bench/tracecount && go run . /tmp/tr/pooled.trace /tmp/tr/dataplane.trace)

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/infergw/gwctl/hack/bench/loadgen"
)

func main() {
	duration := flag.Duration("duration", 3*time.Second, "length of each measurement")
	rounds := flag.Int("rounds", 5, "rounds; targets alternate within a round and the median of each figure is reported")
	conc := flag.Int("concurrency", 32, "connections for the throughput runs")
	chunks := flag.Int("stream-chunks", 20, "SSE events in the streamed response")
	bin := flag.String("dataplane", "", "dataplane binary to measure (default: go build ./cmd/dataplane into a temp dir)")
	compare := flag.String("compare", "", "a second dataplane binary (e.g. built from the previous commit) measured side by side as \"before\"")
	only := flag.String("scenario", "", "run only this scenario (1KB, 16KB or stream)")
	instances := flag.Int("instances", 1, "processes of each proxy (stock, pooled, dataplane, before), all alternating: figures are medians over every round of every instance, so one process that happens to run slow (at c=1 two identical processes can differ by 10-20 % on a loaded machine) does not decide a ratio")
	latencyOnly := flag.Bool("latency-only", false, "measure only at c=1 (no throughput runs; req/s, CPU/req and I/O calls/req are then the c=1 run's)")
	traceDir := flag.String("trace", "", "write an execution trace (runtime/trace, GWCTL_TRACE) of the first pooled ReverseProxy and dataplane (and before) process, for their whole life, to DIR/<target>.trace: the goroutine hand-offs per request (count them with `go tool trace`)")
	profile := flag.String("cpuprofile", "", "write CPU and allocation profiles of the dataplane's first throughput run of each scenario to PREFIX-<scenario>.pprof and PREFIX-<scenario>.allocs.pprof (from its --debug-addr)")
	role := flag.String("role", "", "internal: run as the upstream or a baseline process")
	up := flag.String("upstream", "", "internal: upstream address for the baseline roles")
	flag.Parse()
	var err error
	if *role != "" {
		err = child(*role, *up, *chunks)
	} else {
		err = run(options{duration: *duration, rounds: *rounds, conc: *conc, chunks: *chunks, bin: *bin, compare: *compare, only: *only, profile: *profile,
			instances: max(*instances, 1), latencyOnly: *latencyOnly, trace: *traceDir})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// child serves one role on a loopback port, prints the address, and exits when stdin closes.
func child(role, up string, chunks int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if path := os.Getenv("GWCTL_TRACE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := trace.Start(f); err != nil {
			return err
		}
		defer f.Close()
		defer trace.Stop()
	}
	var addr string
	var err error
	switch role {
	case "upstream":
		addr, err = loadgen.Serve(ctx, upstream(chunks))
	case "baseline":
		addr, err = loadgen.Serve(ctx, bare(up, false))
	case "pooled":
		addr, err = loadgen.Serve(ctx, bare(up, true))
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		return err
	}
	fmt.Println(addr)
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

type scenario struct {
	name, path string
}

type target struct {
	name, base string
	proc       *loadgen.Proc
}

type options struct {
	duration     time.Duration
	rounds, conc int
	chunks       int
	bin, only    string
	compare      string
	profile      string
	instances    int
	latencyOnly  bool
	trace        string
}

// traced sets GWCTL_TRACE, which the dataplane and this program's baseline roles read, for the
// processes started next: the first instance of each target, when -trace is set.
func (o options) traced(instance int, name string) {
	if o.trace == "" || instance > 0 {
		_ = os.Unsetenv("GWCTL_TRACE")
		return
	}
	_ = os.Setenv("GWCTL_TRACE", filepath.Join(o.trace, name+".trace"))
}

func run(o options) error {
	work, err := os.MkdirTemp("", "bench-proxy")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if o.bin == "" {
		if o.bin, err = loadgen.BuildDataplane(work); err != nil {
			return err
		}
	}
	chunks := strconv.Itoa(o.chunks)
	up, err := loadgen.Spawn("-role", "upstream", "-stream-chunks", chunks)
	if err != nil {
		return err
	}
	defer up.Stop()
	cfg := filepath.Join(work, "config")
	if err := writeConfig(cfg); err != nil {
		return err
	}
	targets := []target{{"direct", "http://" + up.Addr, up}}
	var dp *loadgen.Dataplane // the first instance: profiles come from it
	defer os.Unsetenv("GWCTL_TRACE")
	for inst := range o.instances {
		for _, role := range []string{"baseline", "pooled"} {
			o.traced(inst+map[string]int{"baseline": 1}[role], role)
			p, err := loadgen.Spawn("-role", role, "-upstream", up.Addr)
			if err != nil {
				return err
			}
			defer p.Stop()
			name := map[string]string{"baseline": "stock", "pooled": "pooled"}[role]
			targets = append(targets, target{name, "http://" + p.Addr, p})
		}
		o.traced(inst, "dataplane")
		d, err := loadgen.StartDataplane(o.bin, cfg, []string{"up.bench=" + up.Addr})
		if err != nil {
			return err
		}
		defer d.Stop()
		if dp == nil {
			dp = d
		}
		targets = append(targets, target{"dataplane", "http://" + d.Addr, d.Proc})
		if o.compare != "" {
			o.traced(inst, "before")
			before, err := loadgen.StartDataplane(o.compare, cfg, []string{"up.bench=" + up.Addr})
			if err != nil {
				return err
			}
			defer before.Stop()
			targets = append(targets, target{"before", "http://" + before.Addr, before.Proc})
		}
	}
	// One row per name, in the order of the first instance.
	var names []string
	for _, tg := range targets[:1+(len(targets)-1)/o.instances] {
		names = append(names, tg.name)
	}
	scenarios := []scenario{{"1KB", "/v1/chat/completions?size=1024"}, {"16KB", "/v1/chat/completions?size=16384"}, {"stream", "/v1/chat/completions?stream=1"}}
	fmt.Printf("# dataplane binary vs httputil.ReverseProxy (stock; pooled = BufferPool set), %s, %d CPUs, %s per run, %d rounds (median of each figure), throughput at c=%d, latency at c=1, %d process(es) of each proxy\n",
		runtime.Version(), runtime.NumCPU(), o.duration, o.rounds, o.conc, o.instances)
	if o.latencyOnly {
		fmt.Printf("# -latency-only: req/s, CPU/req and I/O calls/req are those of the c=1 runs\n")
	}
	fmt.Printf("# each target is its own process; CPU/req is that process's user+system time per request in the throughput run\n")
	fmt.Printf("# load average at start: %s\n\n", loadgen.LoadAverage())
	fmt.Println("| scenario | target | req/s (c=" + strconv.Itoa(o.conc) + ") | CPU/req | I/O calls/req | p50 c=1 | p99 c=1 | added p50 | added p99 | errors |")
	fmt.Println("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
	var summary []string
	for _, sc := range scenarios {
		if o.only != "" && o.only != sc.name {
			continue
		}
		thr := map[string][]loadgen.Result{}
		lat := map[string][]loadgen.Result{}
		for round := range o.rounds {
			// Rotate the order so no target always runs right after the same one.
			for i := range targets {
				tg := targets[(i+round)%len(targets)]
				var prof, allocs <-chan error
				if o.profile != "" && round == 0 && tg.proc == dp.Proc && !o.latencyOnly {
					prof = dp.CPUProfile(o.profile+"-"+sc.name+".pprof", o.duration)
					allocs = allocProfile(dp.Debug, o.profile+"-"+sc.name+".allocs.pprof", o.duration)
				}
				if o.latencyOnly {
					r := loadgen.RunOn(tg.proc, chatRequest(tg.base+sc.path), 1, o.duration)
					lat[tg.name] = append(lat[tg.name], r)
					r.Errors = 0 // counted once, in lat
					thr[tg.name] = append(thr[tg.name], r)
					continue
				}
				r := loadgen.RunOn(tg.proc, chatRequest(tg.base+sc.path), o.conc, o.duration)
				if prof != nil {
					if err := <-prof; err != nil {
						return fmt.Errorf("cpu profile: %w", err)
					}
					if err := <-allocs; err != nil {
						return fmt.Errorf("allocation profile: %w", err)
					}
				}
				thr[tg.name] = append(thr[tg.name], r)
				lat[tg.name] = append(lat[tg.name], loadgen.Run(chatRequest(tg.base+sc.path), 1, o.duration))
			}
		}
		direct := loadgen.Median(lat["direct"])
		got := map[string]loadgen.Result{}
		for _, name := range names {
			tg := target{name: name}
			t, l := loadgen.Median(thr[tg.name]), loadgen.Median(lat[tg.name])
			added50, added99 := "", ""
			if tg.name != "direct" {
				added50, added99 = loadgen.Micros(l.P50-direct.P50), loadgen.Micros(l.P99-direct.P99)
			}
			errs := t.Errors + l.Errors
			fmt.Printf("| %s | %s | %.0f | %s | %.2f | %s | %s | %s | %s | %d |\n", sc.name, tg.name, t.RPS, loadgen.Micros(t.CPU), t.IO, loadgen.Micros(l.P50), loadgen.Micros(l.P99), added50, added99, errs)
			got[tg.name] = loadgen.Result{RPS: t.RPS, P50: l.P50, P99: l.P99, CPU: t.CPU, IO: t.IO}
		}
		mine := got["dataplane"]
		for _, b := range []string{"pooled", "stock", "before"} {
			base, ok := got[b]
			if !ok {
				continue
			}
			summary = append(summary, fmt.Sprintf("| %s | %s | **%.2fx** | %.2fx | %.2f vs %.2f | %.2fx | **%.2fx** |", sc.name, b,
				mine.RPS/base.RPS, float64(mine.CPU)/float64(base.CPU), mine.IO, base.IO, float64(mine.P50)/float64(base.P50), float64(mine.P99)/float64(base.P99)))
		}
	}
	fmt.Printf("\n# load average at end: %s\n\n", loadgen.LoadAverage())
	fmt.Println("| scenario | dataplane ÷ | req/s (goal >= 1.0 vs pooled) | CPU/req | I/O calls/req | p50 c=1 | p99 c=1 (goal <= 1.0 vs pooled) |")
	fmt.Println("|---|---|--:|--:|--:|--:|--:|")
	for _, s := range summary {
		fmt.Println(s)
	}
	return nil
}

// allocProfile fetches the allocations of the next duration (a delta profile: go tool pprof
// -sample_index=alloc_objects) from the dataplane's debug listener into path, in the background.
func allocProfile(debug, path string, duration time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() {
		secs := max(int(duration.Round(time.Second)/time.Second), 1)
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/allocs?seconds=%d", debug, secs))
		if err != nil {
			done <- err
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			done <- fmt.Errorf("status %d", resp.StatusCode)
			return
		}
		b, err := io.ReadAll(resp.Body)
		if err == nil {
			err = os.WriteFile(path, b, 0o644)
		}
		done <- err
	}()
	return done
}

// upstream answers ?size=N with N bytes of JSON-ish body, or ?stream=1 with chunks SSE events
// flushed one by one.
func upstream(chunks int) http.Handler {
	bodies := map[string][]byte{}
	for _, n := range []int{1024, 16384} {
		bodies[strconv.Itoa(n)] = bytes.Repeat([]byte("x"), n)
	}
	event := []byte("data: {\"choices\":[{\"delta\":{\"content\":\"token\"}}]}\n\n")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		q := r.URL.Query()
		if q.Get("stream") != "" {
			w.Header().Set("Content-Type", "text/event-stream")
			f := w.(http.Flusher)
			for range chunks {
				_, _ = w.Write(event)
				f.Flush()
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(bodies[q.Get("size")])
	})
}

// bare is a baseline: a single-host ReverseProxy with the tuned transport of the published
// comparisons (large idle pool, compression off); pooled adds what the dataplane's proxy has,
// a sync.Pool of 32 KB copy buffers (the stock proxy allocates one per request).
func bare(up string, pooled bool) http.Handler {
	p := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: up})
	p.Transport = &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, DisableCompression: true, IdleConnTimeout: 90 * time.Second}
	p.ErrorLog = log.New(io.Discard, "", 0)
	if pooled {
		p.BufferPool = &bufferPool{}
	}
	return p
}

type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v := b.p.Get(); v != nil {
		return *v.(*[]byte)
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

// writeConfig writes the dataplane's resources into dir: one Gateway and 20 HTTPRoutes, 19
// of which match a header the benchmark never sends, all to the Service up.bench (--resolve).
func writeConfig(dir string) error {
	var sb strings.Builder
	sb.WriteString("apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: bench}\nspec:\n  listeners: [{name: http, port: 80, protocol: HTTP}]\n---\n")
	for i := range 19 {
		fmt.Fprintf(&sb, "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r%d, namespace: bench}\nspec:\n  parentRefs: [{name: gw}]\n  rules:\n  - matches: [{path: {type: PathPrefix, value: /v1/chat}, headers: [{name: X-Tenant, value: \"t%d\"}]}]\n    backendRefs: [{name: up, port: 80}]\n---\n", i, i)
	}
	sb.WriteString("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: chat, namespace: bench}\nspec:\n  parentRefs: [{name: gw}]\n  rules:\n  - matches: [{path: {type: PathPrefix, value: /v1/chat}}]\n    backendRefs: [{name: up, port: 80}]\n")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "routes.yaml"), []byte(sb.String()), 0o644)
}

// chatRequest makes the benchmark's small chat request to u.
func chatRequest(u string) func() *http.Request {
	return func() *http.Request {
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Content-Type", "application/json")
		return req
	}
}
