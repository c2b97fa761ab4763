// Command proxy compares the dataplane with a bare httputil.ReverseProxy on the same loopback
// upstream, with the same Go load generator, in one run.
package main

// What it measures
//
// Measured: throughput at a fixed concurrency and added p50/p99 latency at concurrency 1, for 1 KB and 16 KB bodies and a streamed (SSE)
// response. The dataplane runs with routing (20 routes), metrics and JSON access logs (written
// to /dev/null) on.
//
//	go run ./hack/bench/proxy -duration 3s -rounds 3 -concurrency 32

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"github.com/infergw/gwctl/hack/bench/loadgen"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/infergw/gwctl/dataplane/bootstrap"
)

func main() {
	duration := flag.Duration("duration", 3*time.Second, "length of each measurement")
	rounds := flag.Int("rounds", 3, "rounds; targets alternate within a round and the median of each figure is reported")
	conc := flag.Int("concurrency", 32, "connections for the throughput runs")
	chunks := flag.Int("stream-chunks", 20, "SSE events in the streamed response")
	role := flag.String("role", "", "internal: run as the upstream, baseline or dataplane process")
	up := flag.String("upstream", "", "internal: upstream address for the proxy roles")
	flag.Parse()
	var err error
	if *role != "" {
		err = child(*role, *up, *chunks)
	} else {
		err = run(*duration, *rounds, *conc, *chunks)
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
	var addr string
	var err error
	switch role {
	case "upstream":
		addr, err = loadgen.Serve(ctx, upstream(chunks))
	case "baseline":
		addr, err = loadgen.Serve(ctx, bare(up))
	case "dataplane":
		var stop func()
		addr, stop, err = dataplane(ctx, up)
		if err == nil {
			defer stop()
		}
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
}

func run(duration time.Duration, rounds, conc, chunks int) error {
	up, err := loadgen.Spawn("-role", "upstream", "-upstream", "", "-stream-chunks", strconv.Itoa(chunks))
	if err != nil {
		return err
	}
	defer up.Stop()
	baseline, err := loadgen.Spawn("-role", "baseline", "-upstream", up.Addr, "-stream-chunks", strconv.Itoa(chunks))
	if err != nil {
		return err
	}
	defer baseline.Stop()
	dp, err := loadgen.Spawn("-role", "dataplane", "-upstream", up.Addr, "-stream-chunks", strconv.Itoa(chunks))
	if err != nil {
		return err
	}
	defer dp.Stop()
	procs := map[string]*loadgen.Proc{"direct": up, "baseline": baseline, "dataplane": dp}

	targets := []target{{"direct", "http://" + up.Addr}, {"baseline", "http://" + baseline.Addr}, {"dataplane", "http://" + dp.Addr}}
	scenarios := []scenario{{"1 KB", "/v1/chat/completions?size=1024"}, {"16 KB", "/v1/chat/completions?size=16384"}, {"stream", "/v1/chat/completions?stream=1"}}
	fmt.Printf("# dataplane vs httputil.ReverseProxy, %s, %d CPUs, %s per run, %d rounds (median of each figure), throughput at c=%d, latency at c=1\n",
		runtime.Version(), runtime.NumCPU(), duration, rounds, conc)
	fmt.Printf("# each target is its own process; CPU/req is that process's user+system time per request in the throughput run\n\n")
	fmt.Println("| scenario | target | req/s (c=" + strconv.Itoa(conc) + ") | CPU/req | p50 c=1 | p99 c=1 | added p50 | added p99 | errors |")
	fmt.Println("|---|---|--:|--:|--:|--:|--:|--:|--:|")
	for _, sc := range scenarios {
		thr := map[string][]loadgen.Result{}
		lat := map[string][]loadgen.Result{}
		for round := range rounds {
			// Rotate the order so no target always runs right after the same one.
			for i := range targets {
				tg := targets[(i+round)%len(targets)]
				p := procs[tg.name]
				c0 := p.CPU()
				r := loadgen.Run(chatRequest(tg.base+sc.path), conc, duration)
				if n := r.RPS * duration.Seconds(); n > 0 {
					r.CPU = time.Duration(float64(p.CPU()-c0) / n)
				}
				thr[tg.name] = append(thr[tg.name], r)
				lat[tg.name] = append(lat[tg.name], loadgen.Run(chatRequest(tg.base+sc.path), 1, duration))
			}
		}
		direct := loadgen.Median(lat["direct"])
		var base, mine loadgen.Result
		for _, tg := range targets {
			t, l := loadgen.Median(thr[tg.name]), loadgen.Median(lat[tg.name])
			added50, added99 := "", ""
			if tg.name != "direct" {
				added50, added99 = loadgen.Micros(l.P50-direct.P50), loadgen.Micros(l.P99-direct.P99)
			}
			errs := t.Errors + l.Errors
			fmt.Printf("| %s | %s | %.0f | %s | %s | %s | %s | %s | %d |\n", sc.name, tg.name, t.RPS, loadgen.Micros(t.CPU), loadgen.Micros(l.P50), loadgen.Micros(l.P99), added50, added99, errs)
			switch tg.name {
			case "baseline":
				base = loadgen.Result{RPS: t.RPS, P50: l.P50, P99: l.P99, CPU: t.CPU}
			case "dataplane":
				mine = loadgen.Result{RPS: t.RPS, P50: l.P50, P99: l.P99, CPU: t.CPU}
			}
		}
		fmt.Printf("| %s | **dataplane / baseline** | **%.2fx** | %.2fx | %.2fx | **%.2fx** | | | |\n", sc.name,
			mine.RPS/base.RPS, float64(mine.CPU)/float64(base.CPU), float64(mine.P50)/float64(base.P50), float64(mine.P99)/float64(base.P99))
	}
	return nil
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

// bare is the baseline: a stock single-host ReverseProxy with the tuned transport of the
// published comparisons (large idle pool, compression off).
func bare(up string) http.Handler {
	p := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: up})
	p.Transport = &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, DisableCompression: true, IdleConnTimeout: 90 * time.Second}
	p.ErrorLog = log.New(io.Discard, "", 0)
	return p
}

func dataplane(ctx context.Context, up string) (addr string, stop func(), err error) {
	var sb strings.Builder
	sb.WriteString("apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: bench}\nspec:\n  listeners: [{name: http, port: 80, protocol: HTTP}]\n---\n")
	for i := range 19 {
		fmt.Fprintf(&sb, "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r%d, namespace: bench}\nspec:\n  parentRefs: [{name: gw}]\n  rules:\n  - matches: [{path: {type: PathPrefix, value: /v1/chat}, headers: [{name: X-Tenant, value: \"t%d\"}]}]\n    backendRefs: [{name: up, port: 80}]\n---\n", i, i)
	}
	sb.WriteString("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: chat, namespace: bench}\nspec:\n  parentRefs: [{name: gw}]\n  rules:\n  - matches: [{path: {type: PathPrefix, value: /v1/chat}}]\n    backendRefs: [{name: up, port: 80}]\n")
	dir, err := os.MkdirTemp("", "dataplane-bench")
	if err != nil {
		return "", nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "routes.yaml"), []byte(sb.String()), 0o644); err != nil {
		return "", nil, err
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return "", nil, err
	}
	d := bootstrap.New(bootstrap.Settings{
		Config: []string{dir}, Resolve: map[string]string{"up.bench": up},
		MaxRequestBody: 32 << 20, WatchInterval: time.Hour,
	}, slog.New(slog.NewJSONHandler(devnull, nil)))
	if _, err := d.Load(); err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = d.Run(rctx, ln, nil); close(done) }()
	return ln.Addr().String(), func() { cancel(); <-done; devnull.Close(); os.RemoveAll(dir) }, nil
}

// chatRequest makes the benchmark's small chat request to u.
func chatRequest(u string) func() *http.Request {
	return func() *http.Request {
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Content-Type", "application/json")
		return req
	}
}
