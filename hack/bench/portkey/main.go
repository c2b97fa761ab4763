// Command portkey compares the dataplane's OpenAI → Anthropic translation with the Portkey AI
// gateway (npm @portkey-ai/gateway) and with the dataplane's own OpenAI passthrough, against
// the same fake upstream and with the same Go load generator, in one run: throughput at a
// fixed concurrency and added p50/p99 latency (over calling the upstream directly) at
// concurrency 1, for a non-streaming and a streamed (SSE) reply. Every server is its own
// process on loopback. Run it through hack/bench/portkey.sh, which installs Portkey:
//
//	go run ./hack/bench/portkey -portkey /tmp/x/node_modules/@portkey-ai/gateway -duration 3s -rounds 3
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
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

	"github.com/infergw/gwctl/dataplane/llm/anthropic"
	"github.com/infergw/gwctl/dataplane/llm/openai"
)

func main() {
	duration := flag.Duration("duration", 3*time.Second, "length of each measurement")
	rounds := flag.Int("rounds", 3, "rounds; targets alternate within a round and the median of each figure is reported")
	conc := flag.Int("concurrency", 16, "connections for the throughput runs")
	pk := flag.String("portkey", "", "directory of the installed @portkey-ai/gateway package")
	node := flag.String("node", "node", "Node.js binary for Portkey")
	role := flag.String("role", "", "internal: run as the upstream or dataplane process")
	up := flag.String("upstream", "", "internal: upstream address for the dataplane role")
	flag.Parse()
	var err error
	switch {
	case *role != "":
		err = child(*role, *up)
	case *pk == "":
		err = fmt.Errorf("-portkey (the installed @portkey-ai/gateway directory) is required; use hack/bench/portkey.sh")
	default:
		err = run(*duration, *rounds, *conc, *pk, *node)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// child serves one role on a loopback port, prints the address, and exits when stdin closes.
func child(role, up string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var addr string
	var err error
	switch role {
	case "upstream":
		addr, err = serveUpstream(ctx)
	case "dataplane":
		addr, err = serveDataplane(ctx, up)
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

// serveDataplane serves the Anthropic translation under /anthropic/ and the OpenAI
// passthrough under /openai/, both calling the fake upstream, with the handlers' defaults.
func serveDataplane(ctx context.Context, up string) (string, error) {
	host, port, err := splitAddr(up)
	if err != nil {
		return "", err
	}
	key := func() (string, error) { return "sk-bench", nil }
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, DisableCompression: true, IdleConnTimeout: 90 * time.Second}}
	tr, err := anthropic.NewHandler(anthropic.Config{Host: host, Port: port, Plaintext: true, APIKey: key, Client: client})
	if err != nil {
		return "", fmt.Errorf("anthropic handler: %w", err)
	}
	pt, err := openai.NewHandler(openai.Config{Host: host, Port: port, Plaintext: true, APIKey: key, Client: client})
	if err != nil {
		return "", fmt.Errorf("openai handler: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/anthropic/", tr)
	mux.Handle("/openai/", pt)
	return serve(ctx, mux)
}

func splitAddr(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("upstream address %q: %w", addr, err)
	}
	n, err := strconv.Atoi(p)
	return h, n, err
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

// proc is a server in its own process, so its CPU time can be read from /proc.
type proc struct {
	cmd   *exec.Cmd
	stdin io.Closer
	addr  string
}

func spawn(role, up string) (*proc, error) {
	cmd := exec.Command(os.Args[0], "-role", role, "-upstream", up)
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
		_ = cmd.Wait()
		return nil, fmt.Errorf("%s did not start: %w", role, err)
	}
	return &proc{cmd: cmd, stdin: in, addr: strings.TrimSpace(line)}, nil
}

func (p *proc) stop() {
	if p.stdin != nil {
		p.stdin.Close()
	} else {
		_ = p.cmd.Process.Signal(os.Interrupt)
	}
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
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

// startPortkey runs the installed gateway on a free loopback port with the runtime patches of
// portkeyPreload, and waits until it answers.
func startPortkey(dir, node string) (*proc, error) {
	tmp, err := os.MkdirTemp("", "portkey-preload")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // node has read it once it answers (or has failed)
	preload := filepath.Join(tmp, "preload.cjs")
	if err := os.WriteFile(preload, []byte(portkeyPreload), 0o644); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(node, "-r", preload, filepath.Join(dir, "build", "start-server.js"), "--port="+port, "--headless")
	cmd.Env = append(os.Environ(), "NODE_ENV=production")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting Portkey: %w", err)
	}
	p := &proc{cmd: cmd, addr: addr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			return p, nil
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("Portkey did not answer on %s within 30s: %w\n%s", addr, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// portkeyPreload patches Portkey at runtime, without touching its files:
//   - listen on loopback only (@hono/node-server's serve() binds all interfaces);
//   - under Node 20, streamed replies fail with "TypeError: immutable": Portkey wraps the
//     upstream fetch Response as new Response(stream, upstreamResponse), @hono/node-server
//     1.19 keeps that init's Headers object (immutable on a fetch Response), and Portkey then
//     appends x-portkey-* headers to it. Returning fetch Responses with a mutable copy of
//     their headers avoids it.
const portkeyPreload = `
const net = require('net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...a) {
  if (typeof a[0] === 'number' || (typeof a[0] === 'string' && /^\d+$/.test(a[0]))) {
    if (a.length === 1 || typeof a[1] === 'function') a.splice(1, 0, '127.0.0.1');
    else if (a[1] == null || a[1] === '0.0.0.0' || a[1] === '::') a[1] = '127.0.0.1';
  }
  return listen.apply(this, a);
};
const nativeFetch = globalThis.fetch;
globalThis.fetch = async function (...a) {
  const r = await nativeFetch.apply(this, a);
  return new Response(r.body, { status: r.status, statusText: r.statusText, headers: new Headers(r.headers) });
};
`

type target struct {
	name    string
	path    string // chat completions URL path on the target
	headers http.Header
	proc    *proc
}

type result struct {
	rps      float64
	p50, p99 time.Duration
	errors   int64
	cpu      time.Duration // server CPU per request (throughput runs)
}

func run(duration time.Duration, rounds, conc int, pkDir, node string) error {
	up, err := spawn("upstream", "")
	if err != nil {
		return err
	}
	defer up.stop()
	dp, err := spawn("dataplane", up.addr)
	if err != nil {
		return err
	}
	defer dp.stop()
	pk, err := startPortkey(pkDir, node)
	if err != nil {
		return err
	}
	defer pk.stop()

	portkeyHeaders := http.Header{
		"X-Portkey-Provider":    {"anthropic"},
		"X-Portkey-Custom-Host": {"http://" + up.addr + "/v1"},
		"Authorization":         {"Bearer sk-bench"},
	}
	targets := []target{
		{name: "direct (upstream)", path: "http://" + up.addr + "/v1/chat/completions", proc: up},
		{name: "dataplane passthrough", path: "http://" + dp.addr + "/openai/v1/chat/completions", proc: dp},
		{name: "dataplane translate", path: "http://" + dp.addr + "/anthropic/v1/chat/completions", proc: dp},
		{name: "Portkey translate", path: "http://" + pk.addr + "/v1/chat/completions", headers: portkeyHeaders, proc: pk},
	}
	if err := check(targets); err != nil {
		return err
	}

	fmt.Printf("# dataplane vs Portkey %s (Node %s), %s, %d CPUs, %s per run, %d rounds (median), throughput at c=%d, latency at c=1\n",
		portkeyVersion(pkDir), nodeVersion(node), runtime.Version(), runtime.NumCPU(), duration, rounds, conc)
	fmt.Printf("# request: %d-byte OpenAI agent turn (tools, tool results, image); reply: Anthropic Message / %d-event SSE stream\n\n", len(chatRequest), bytes.Count(anthropicStream(), []byte("\n\n")))
	fmt.Println("| reply | target | req/s (c=" + strconv.Itoa(conc) + ") | CPU/req | p50 c=1 | p99 c=1 | added p50 | added p99 | errors |")
	fmt.Println("|---|---|--:|--:|--:|--:|--:|--:|--:|")
	var summary []string
	for _, stream := range []bool{false, true} {
		body, label := chatRequest, "json"
		if stream {
			body, label = streamRequest(), "stream"
		}
		thr := map[string][]result{}
		lat := map[string][]result{}
		for round := range rounds {
			for i := range targets {
				tg := targets[(i+round)%len(targets)]
				c0 := tg.proc.cpu()
				r := load(tg, body, conc, duration)
				if n := r.rps * duration.Seconds(); n > 0 {
					r.cpu = time.Duration(float64(tg.proc.cpu()-c0) / n)
				}
				thr[tg.name] = append(thr[tg.name], r)
				lat[tg.name] = append(lat[tg.name], load(tg, body, 1, duration))
			}
		}
		direct := median(lat[targets[0].name])
		got := map[string]result{}
		for i, tg := range targets {
			t, l := median(thr[tg.name]), median(lat[tg.name])
			added50, added99 := "", ""
			if i > 0 {
				added50, added99 = us(l.p50-direct.p50), us(l.p99-direct.p99)
			}
			cpu := us(t.cpu)
			if i == 0 {
				cpu = "" // the upstream's own CPU, not a gateway's
			}
			fmt.Printf("| %s | %s | %.0f | %s | %s | %s | %s | %s | %d |\n", label, tg.name, t.rps, cpu, us(l.p50), us(l.p99), added50, added99, t.errors+l.errors)
			got[tg.name] = result{rps: t.rps, p50: l.p50 - direct.p50, p99: l.p99 - direct.p99, cpu: t.cpu}
		}
		tr, pt, pkr := got["dataplane translate"], got["dataplane passthrough"], got["Portkey translate"]
		summary = append(summary,
			fmt.Sprintf("| %s | %.1fx (goal >= 10x) | %s (goal <= 1/10) | %.2fx | %.1fx |", label,
				tr.rps/pkr.rps, ratio(tr.p99, pkr.p99), tr.rps/pt.rps, float64(pkr.cpu)/float64(tr.cpu)))
	}
	fmt.Println()
	fmt.Println("| reply | translate req/s ÷ Portkey | translate added p99 ÷ Portkey's | translate req/s ÷ passthrough | Portkey CPU/req ÷ translate |")
	fmt.Println("|---|--:|--:|--:|--:|")
	for _, s := range summary {
		fmt.Println(s)
	}
	return nil
}

func ratio(a, b time.Duration) string {
	if b <= 0 {
		return "n/a"
	}
	if a <= 0 {
		return "≈0"
	}
	return fmt.Sprintf("1/%.0f", float64(b)/float64(a))
}

func portkeyVersion(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "package.json"))
	if i := bytes.Index(b, []byte(`"version": "`)); i >= 0 {
		rest := b[i+12:]
		if j := bytes.IndexByte(rest, '"'); j >= 0 {
			return string(rest[:j])
		}
	}
	return "?"
}

func nodeVersion(node string) string {
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
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

func newRequest(tg target, body []byte) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, tg.path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range tg.headers {
		req.Header[k] = v
	}
	return req
}

// check sends one request of each kind to every target and verifies it was translated: the
// reply carries the canned text and tool call (non-streaming) or the text deltas and the
// terminating [DONE] (streaming).
func check(targets []target) error {
	for _, tg := range targets {
		for _, stream := range []bool{false, true} {
			body := chatRequest
			if stream {
				body = streamRequest()
			}
			resp, err := http.DefaultClient.Do(newRequest(tg, body))
			if err != nil {
				return fmt.Errorf("%s: %w", tg.name, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := [][]byte{[]byte(`"tool_calls"`), []byte(`get_weather`), []byte("The forecast for tomorrow")}
			if stream {
				want = [][]byte{[]byte(`"delta"`), []byte(`word 59, `), []byte("data: [DONE]")}
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s (stream=%v): status %d: %.500s", tg.name, stream, resp.StatusCode, b)
			}
			for _, w := range want {
				if !bytes.Contains(b, w) {
					return fmt.Errorf("%s (stream=%v): reply lacks %q: %.800s", tg.name, stream, w, b)
				}
			}
		}
	}
	return nil
}

// load runs a closed loop of conc workers for d and measures every request to its last byte.
func load(tg target, body []byte, conc int, d time.Duration) result {
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
				resp, err := c.Do(newRequest(tg, body))
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
				if resp.StatusCode != http.StatusOK {
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
