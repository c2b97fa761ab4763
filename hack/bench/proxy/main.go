// Command proxy compares the dataplane with a bare httputil.ReverseProxy on the same loopback
// upstream, with the same Go load generator, in one run: throughput at a fixed concurrency and
// added p50/p99 latency at concurrency 1, for 1 KB and 16 KB bodies and a streamed (SSE)
// response. The dataplane runs with routing (20 routes), metrics and JSON access logs (written
// to /dev/null) on.
//
//	go run ./hack/bench/proxy -duration 3s -rounds 3 -concurrency 32
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
		addr, err = serve(ctx, upstream(chunks))
	case "baseline":
		addr, err = serve(ctx, bare(up))
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

// proc is a role running in its own process, so its CPU time can be read from /proc.
type proc struct {
	cmd   *exec.Cmd
	stdin io.Closer
	addr  string
}

func spawn(role, up string, chunks int) (*proc, error) {
	cmd := exec.Command(os.Args[0], "-role", role, "-upstream", up, "-stream-chunks", strconv.Itoa(chunks))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("%s did not start: %w", role, err)
	}
	return &proc{cmd: cmd, stdin: in, addr: strings.TrimSpace(line)}, nil
}

func (p *proc) stop() {
	p.stdin.Close()
	_ = p.cmd.Wait()
}

// cpu returns the process's user+system CPU time from /proc/<pid>/stat.
func (p *proc) cpu() time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100) // USER_HZ is 100 on Linux
}

type scenario struct {
	name, path string
}

type target struct {
	name, base string
}

type result struct {
	rps      float64
	p50, p99 time.Duration
	errors   int64
	cpu      time.Duration // proxy CPU per request (throughput runs)
}

func run(duration time.Duration, rounds, conc, chunks int) error {
	up, err := spawn("upstream", "", chunks)
	if err != nil {
		return err
	}
	defer up.stop()
	baseline, err := spawn("baseline", up.addr, chunks)
	if err != nil {
		return err
	}
	defer baseline.stop()
	dp, err := spawn("dataplane", up.addr, chunks)
	if err != nil {
		return err
	}
	defer dp.stop()
	procs := map[string]*proc{"direct": up, "baseline": baseline, "dataplane": dp}

	targets := []target{{"direct", "http://" + up.addr}, {"baseline", "http://" + baseline.addr}, {"dataplane", "http://" + dp.addr}}
	scenarios := []scenario{{"1 KB", "/v1/chat/completions?size=1024"}, {"16 KB", "/v1/chat/completions?size=16384"}, {"stream", "/v1/chat/completions?stream=1"}}
	fmt.Printf("# dataplane vs httputil.ReverseProxy, %s, %d CPUs, %s per run, %d rounds (median of each figure), throughput at c=%d, latency at c=1\n",
		runtime.Version(), runtime.NumCPU(), duration, rounds, conc)
	fmt.Printf("# each target is its own process; CPU/req is that process's user+system time per request in the throughput run\n\n")
	fmt.Println("| scenario | target | req/s (c=" + strconv.Itoa(conc) + ") | CPU/req | p50 c=1 | p99 c=1 | added p50 | added p99 | errors |")
	fmt.Println("|---|---|--:|--:|--:|--:|--:|--:|--:|")
	for _, sc := range scenarios {
		thr := map[string][]result{}
		lat := map[string][]result{}
		for round := range rounds {
			// Rotate the order so no target always runs right after the same one.
			for i := range targets {
				tg := targets[(i+round)%len(targets)]
				p := procs[tg.name]
				c0 := p.cpu()
				r := load(tg.base+sc.path, conc, duration)
				if n := r.rps * duration.Seconds(); n > 0 {
					r.cpu = time.Duration(float64(p.cpu()-c0) / n)
				}
				thr[tg.name] = append(thr[tg.name], r)
				lat[tg.name] = append(lat[tg.name], load(tg.base+sc.path, 1, duration))
			}
		}
		direct := median(lat["direct"])
		var base, mine result
		for _, tg := range targets {
			t, l := median(thr[tg.name]), median(lat[tg.name])
			added50, added99 := "", ""
			if tg.name != "direct" {
				added50, added99 = us(l.p50-direct.p50), us(l.p99-direct.p99)
			}
			errs := t.errors + l.errors
			fmt.Printf("| %s | %s | %.0f | %s | %s | %s | %s | %s | %d |\n", sc.name, tg.name, t.rps, us(t.cpu), us(l.p50), us(l.p99), added50, added99, errs)
			switch tg.name {
			case "baseline":
				base = result{rps: t.rps, p50: l.p50, p99: l.p99, cpu: t.cpu}
			case "dataplane":
				mine = result{rps: t.rps, p50: l.p50, p99: l.p99, cpu: t.cpu}
			}
		}
		fmt.Printf("| %s | **dataplane / baseline** | **%.2fx** | %.2fx | %.2fx | **%.2fx** | | | |\n", sc.name,
			mine.rps/base.rps, float64(mine.cpu)/float64(base.cpu), float64(mine.p50)/float64(base.p50), float64(mine.p99)/float64(base.p99))
	}
	return nil
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }

// median takes the median of each figure across rounds independently; errors are summed.
func median(rs []result) result {
	var rps []float64
	var p50, p99, cpu []time.Duration
	var out result
	for _, r := range rs {
		rps, p50, p99, cpu = append(rps, r.rps), append(p50, r.p50), append(p99, r.p99), append(cpu, r.cpu)
		out.errors += r.errors
	}
	slices.Sort(rps)
	slices.Sort(p50)
	slices.Sort(p99)
	slices.Sort(cpu)
	out.rps, out.p50, out.p99, out.cpu = rps[len(rps)/2], p50[len(p50)/2], p99[len(p99)/2], cpu[len(cpu)/2]
	return out
}

// load runs a closed loop of conc workers for d and measures every request to its last byte.
func load(u string, conc int, d time.Duration) result {
	tr := &http.Transport{MaxIdleConns: conc, MaxIdleConnsPerHost: conc, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	var errs atomic.Int64
	lat := make([][]time.Duration, conc)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 32<<10)
			for time.Now().Before(deadline) {
				t0 := time.Now()
				resp, err := c.Post(u, "application/json", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
				if err != nil {
					errs.Add(1)
					continue
				}
				for {
					if _, err := resp.Body.Read(buf); err != nil {
						break
					}
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs.Add(1)
					continue
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return result{errors: errs.Load()}
	}
	slices.Sort(all)
	return result{
		rps:    float64(len(all)) / d.Seconds(),
		p50:    all[len(all)/2],
		p99:    all[len(all)*99/100],
		errors: errs.Load(),
	}
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

// bare is the baseline: a stock single-host ReverseProxy with the tuned transport of the spec's
// measurements (large idle pool, compression off).
func bare(up string) http.Handler {
	p := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: up})
	p.Transport = &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, DisableCompression: true, IdleConnTimeout: 90 * time.Second}
	p.ErrorLog = log.New(io.Discard, "", 0)
	return p
}

func serve(ctx context.Context, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	s := &http.Server{Handler: h}
	go func() { _ = s.Serve(ln) }()
	go func() { <-ctx.Done(); s.Close() }()
	return ln.Addr().String(), nil
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
