// Command portkey compares the shipped dataplane binary's OpenAI → Anthropic translation with
// the Portkey AI gateway and with the binary's own OpenAI passthrough, against the same fake
// upstream and load generator, in one run.
package main

// What it measures
//
// Portkey is npm @portkey-ai/gateway. Measured: throughput at a fixed concurrency and added p50/p99 latency (over calling the upstream directly) at
// concurrency 1, for a non-streaming and a streamed (SSE) reply. Every server is its own
// process on loopback. The dataplane is ./cmd/dataplane (built by hack/bench/portkey.sh or
// given with -dataplane), run as a user runs it: routing, metrics and the JSON access log
// (stdout, discarded) on. -handlers adds the provider handlers alone on a plain http.Server in
// a process of their own (the measurement before issue 18), to show what the binary adds.
// -pin N compares the gateways at an equal CPU budget instead (pin.go): each gateway under test
// on the first N CPUs, the load generator and fake upstream on the others. The driver is cheap
// so that it, not the gateway, sets the rate less often: the lean load generator
// (loadgen.RunLean) and a fake upstream that writes pre-rendered streams in segments of several
// events (upstream.go); -driver nethttp -segment 0 is the driver before the seventh session.
// Run it through hack/bench/portkey.sh, which installs Portkey:
//
//	go run ./hack/bench/portkey -portkey /tmp/x/node_modules/@portkey-ai/gateway -duration 3s -rounds 5

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"github.com/infergw/gwctl/hack/bench/loadgen"
	"io"
	"log"
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
	"time"

	"github.com/infergw/gwctl/dataplane/bootstrap"
	"github.com/infergw/gwctl/dataplane/llm/anthropic"
	"github.com/infergw/gwctl/dataplane/llm/openai"
	"github.com/infergw/gwctl/dataplane/proxy"
)

func main() {
	duration := flag.Duration("duration", 3*time.Second, "length of each measurement")
	rounds := flag.Int("rounds", 3, "rounds; targets alternate within a round and the median of each figure is reported")
	conc := flag.Int("concurrency", 16, "connections for the throughput runs")
	pk := flag.String("portkey", "", "directory of the installed @portkey-ai/gateway package")
	node := flag.String("node", "node", "Node.js binary for Portkey")
	only := flag.String("only", "", "comma-separated substrings; run only the targets whose name contains one (the upstream always runs); for iterating")
	baseline := flag.Bool("baseline", false, "add a bare httputil.ReverseProxy in front of the upstream's OpenAI endpoint (the floor for the passthrough)")
	reply := flag.String("reply", "", "json or stream: measure only that reply (default both)")
	bin := flag.String("dataplane", "", "dataplane binary to measure (default: go build ./cmd/dataplane into a temp dir)")
	compare := flag.String("compare", "", "a second dataplane binary (e.g. built from the previous commit) measured side by side as \"before\"")
	handlers := flag.Bool("handlers", false, "add the provider handlers alone on a plain http.Server (no routing, metrics or access log) in their own process, as a diagnostic of what the binary adds")
	driverName := flag.String("driver", "lean", "load generator: lean (one pre-rendered request per write, replies read into a 64 KiB buffer and checked for their usage and end; loadgen.RunLean) or nethttp (net/http's client, the rig before the seventh session; checks the status only)")
	segment := flag.Int("segment", 1400, "the fake upstream writes a stream in whole events of at most this many bytes per write (TCP segments of several events, as a real provider's stream arrives); 0: one write per event (the rig before the seventh session)")
	driverBefore := flag.Bool("driver-before", false, "add a \"direct (before)\" row: the upstream called with net/http's client and one write per event (the driver before the seventh session), beside \"direct\" with -driver and -segment")
	driverProfile := flag.String("driverprofile", "", "write CPU profiles of the load generator and of the fake upstream during the first round's throughput runs of the direct and dataplane translate rows to PREFIX-<reply>-<target>-{loadgen,upstream}.pprof")
	profile := flag.String("cpuprofile", "", "write CPU profiles of the dataplane binary's first throughput run of the translation to PREFIX-<reply>.pprof (from its --debug-addr)")
	tuneGC := flag.Bool("tunegc", true, "run the -handlers process with bootstrap.TuneGC, as cmd/dataplane does; false: Go's default GC")
	pin := flag.Int("pin", 0, "N > 0: equal CPU budget. Run every gateway under test (dataplane binaries, -handlers, -baseline, Portkey's node) on the first N CPUs (taskset -c; Go gateways with GOMAXPROCS=N) and the load generator with the fake upstream on the other CPUs, so throughput compares gateways at the same CPU; the gateway CPU and driver CPU columns show which side was saturated")
	var dpEnv envList
	flag.Var(&dpEnv, "dataplane-env", "KEY=VALUE (repeatable): environment for the -dataplane binary only, not the -compare one (e.g. -dataplane-env GOGC=off -compare <same binary> shows what garbage collection adds)")
	pinSelfCPUs := flag.String("pin-self", "", "internal: a spawned gateway role pins itself to these CPUs (with -pin's GOMAXPROCS)")
	role := flag.String("role", "", "internal: run as the upstream, handlers or baseline process")
	up := flag.String("upstream", "", "internal: upstream address for the proxy roles")
	flag.Parse()
	var err error
	switch {
	case *role != "":
		if *pinSelfCPUs != "" {
			if err = pinSelf(*pinSelfCPUs, *pin); err != nil {
				break
			}
		}
		err = child(*role, *up, *tuneGC, *segment)
	case *driverName != "lean" && *driverName != "nethttp":
		err = fmt.Errorf("-driver %q: want lean or nethttp", *driverName)
	case *pk == "" && (*only == "" || strings.Contains(strings.ToLower(*only), "portkey")):
		err = fmt.Errorf("-portkey (the installed @portkey-ai/gateway directory) is required; use hack/bench/portkey.sh")
	default:
		err = run(options{duration: *duration, rounds: *rounds, conc: *conc, pkDir: *pk, node: *node, reply: *reply, only: *only, baseline: *baseline, profile: *profile, driverProfile: *driverProfile, driver: *driverName, segment: *segment, driverBefore: *driverBefore, bin: *bin, compare: *compare, handlers: *handlers, tuneGC: *tuneGC, pin: *pin, dpEnv: dpEnv})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// child serves one role on a loopback port, prints the address, and exits when stdin closes.
func child(role, up string, tuneGC bool, segment int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var addr string
	var err error
	switch role {
	case "upstream":
		addr, err = serveUpstream(ctx, segment)
	case "handlers":
		if tuneGC {
			bootstrap.TuneGC()
		}
		addr, err = serveDataplane(ctx, up)
	case "baseline":
		addr, err = loadgen.Serve(ctx, bare(up))
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

// serveDataplane serves the provider handlers alone (the -handlers diagnostic): the Anthropic
// translation under /anthropic/ and the OpenAI passthrough under /openai/, both calling the
// fake upstream, with the handlers' defaults and the upstream transport the dataplane gives
// its provider backends.
func serveDataplane(ctx context.Context, up string) (string, error) {
	host, port, err := splitAddr(up)
	if err != nil {
		return "", err
	}
	key := func() (string, error) { return "sk-bench", nil }
	client := &http.Client{Transport: proxy.NewEgressTransport()} // what the dataplane's provider backends use
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
	return loadgen.Serve(ctx, mux)
}

// bare is the floor for the passthrough: a stock single-host ReverseProxy with the same tuned
// transport as the dataplane's client, mapping /openai/… to the upstream's /….
func bare(up string) http.Handler {
	p := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: up})
	p.Transport = &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, DisableCompression: true, IdleConnTimeout: 90 * time.Second}
	p.ErrorLog = log.New(io.Discard, "", 0)
	return http.StripPrefix("/openai", p)
}

// writeConfig writes the dataplane's resources into dir: an Anthropic and an OpenAI
// AgentgatewayBackend on the fake upstream (plain HTTP: a host on a port other than 443), routed
// by the prefixes /anthropic and /openai (the handlers only look at the path's last segments).
func writeConfig(dir, up string) error {
	host, port, err := splitAddr(up)
	if err != nil {
		return err
	}
	var sb strings.Builder
	sb.WriteString("apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: bench}\nspec:\n  listeners: [{name: http, port: 80, protocol: HTTP}]\n")
	for _, p := range []string{"anthropic", "openai"} {
		fmt.Fprintf(&sb, "---\napiVersion: agentgateway.dev/v1alpha1\nkind: AgentgatewayBackend\nmetadata: {name: %s, namespace: bench}\nspec:\n  ai:\n    provider:\n      %s: {}\n      host: %s\n      port: %d\n  policies:\n    auth: {key: sk-bench}\n", p, p, host, port)
		fmt.Fprintf(&sb, "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: %s, namespace: bench}\nspec:\n  parentRefs: [{name: gw}]\n  rules:\n  - matches: [{path: {type: PathPrefix, value: /%s}}]\n    backendRefs: [{group: agentgateway.dev, kind: AgentgatewayBackend, name: %s}]\n", p, p, p)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "resources.yaml"), []byte(sb.String()), 0o644)
}

func splitAddr(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("upstream address %q: %w", addr, err)
	}
	n, err := strconv.Atoi(p)
	return h, n, err
}

// startPortkey runs the installed gateway on a free loopback port with the runtime patches of
// portkeyPreload, and waits until it answers.
func startPortkey(dir, node string, pin pinning) (*loadgen.Proc, error) {
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
	cmd := pin.command(node, "-r", preload, filepath.Join(dir, "build", "start-server.js"), "--port="+port, "--headless")
	cmd.Env = append(os.Environ(), "NODE_ENV=production")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting Portkey: %w", err)
	}
	p := &loadgen.Proc{Cmd: cmd, Addr: addr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			return p, nil
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("portkey did not answer on %s within 30s: %w\n%s", addr, err, logs.String())
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
	proc    *loadgen.Proc
	// nethttp: measured with net/http's client (-driver nethttp, or the -driver-before row).
	nethttp bool
	debug   string // a dataplane binary's --debug-addr (garbage collection figures)
}

type options struct {
	duration    time.Duration
	rounds      int
	conc        int
	pkDir, node string
	reply, only string
	baseline    bool
	profile     string
	// driverProfile is -driverprofile's prefix.
	driverProfile string
	driver        string
	segment       int
	driverBefore  bool
	bin           string
	compare       string
	handlers      bool
	tuneGC        bool
	pin           int
	dpEnv         []string
}

// envList is a repeatable KEY=VALUE flag.
type envList []string

func (e *envList) String() string { return strings.Join(*e, " ") }

func (e *envList) Set(v string) error {
	if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
		return fmt.Errorf("%q: want KEY=VALUE", v)
	}
	*e = append(*e, v)
	return nil
}

// wants reports whether the target named name is selected by -only.
func (o options) wants(name string) bool {
	if o.only == "" {
		return true
	}
	for _, s := range strings.Split(o.only, ",") {
		if s != "" && strings.Contains(strings.ToLower(name), strings.ToLower(s)) {
			return true
		}
	}
	return false
}

func run(o options) error {
	duration, rounds, conc := o.duration, o.rounds, o.conc
	var pin pinning
	if o.pin > 0 {
		var err error
		if pin, err = newPinning(o.pin); err != nil {
			return err
		}
		if err := pin.pinDriver(); err != nil { // before the upstream starts: it inherits the driver CPUs
			return err
		}
	}
	up, err := loadgen.Spawn("-role", "upstream", "-upstream", "", "-segment", strconv.Itoa(o.segment))
	if err != nil {
		return err
	}
	defer up.Stop()
	targets := []target{{name: "direct (upstream)", path: "http://" + up.Addr + "/v1/chat/completions", proc: up}}
	if o.driverBefore {
		targets = append(targets, target{name: "direct (before: net/http, event per write)", path: "http://" + up.Addr + "/v1/chat/completions?segment=0", proc: up, nethttp: true})
	}
	if o.baseline && o.wants("bare ReverseProxy") {
		bp, err := loadgen.Spawn(append([]string{"-role", "baseline", "-upstream", up.Addr}, pin.childArgs()...)...)
		if err != nil {
			return err
		}
		defer bp.Stop()
		targets = append(targets, target{name: "bare ReverseProxy", path: "http://" + bp.Addr + "/openai/v1/chat/completions", proc: bp})
	}
	var dp *loadgen.Dataplane
	if o.wants("dataplane passthrough") || o.wants("dataplane translate") {
		work, err := os.MkdirTemp("", "bench-portkey")
		if err != nil {
			return err
		}
		defer os.RemoveAll(work)
		if o.bin == "" {
			if o.bin, err = loadgen.BuildDataplane(work); err != nil {
				return err
			}
		}
		cfg := filepath.Join(work, "config")
		if err := writeConfig(cfg, up.Addr); err != nil {
			return err
		}
		bin, err := pin.wrap(work, "dataplane", o.bin, o.dpEnv)
		if err != nil {
			return err
		}
		if dp, err = loadgen.StartDataplane(bin, cfg, nil); err != nil {
			return err
		}
		defer dp.Stop()
		for _, tg := range []target{
			{name: "dataplane passthrough", path: "http://" + dp.Addr + "/openai/v1/chat/completions", proc: dp.Proc, debug: dp.Debug},
			{name: "dataplane translate", path: "http://" + dp.Addr + "/anthropic/v1/chat/completions", proc: dp.Proc, debug: dp.Debug},
		} {
			if o.wants(tg.name) {
				targets = append(targets, tg)
			}
		}
		if o.compare != "" {
			cmp, err := pin.wrap(work, "before", o.compare, nil)
			if err != nil {
				return err
			}
			before, err := loadgen.StartDataplane(cmp, cfg, nil)
			if err != nil {
				return err
			}
			defer before.Stop()
			for _, tg := range []target{
				{name: "before passthrough", path: "http://" + before.Addr + "/openai/v1/chat/completions", proc: before.Proc, debug: before.Debug},
				{name: "before translate", path: "http://" + before.Addr + "/anthropic/v1/chat/completions", proc: before.Proc, debug: before.Debug},
			} {
				if o.wants(tg.name) {
					targets = append(targets, tg)
				}
			}
		}
	}
	if o.handlers {
		hp, err := loadgen.Spawn(append([]string{"-role", "handlers", "-upstream", up.Addr, "-tunegc=" + strconv.FormatBool(o.tuneGC)}, pin.childArgs()...)...)
		if err != nil {
			return err
		}
		defer hp.Stop()
		for _, tg := range []target{
			{name: "handlers passthrough", path: "http://" + hp.Addr + "/openai/v1/chat/completions", proc: hp},
			{name: "handlers translate", path: "http://" + hp.Addr + "/anthropic/v1/chat/completions", proc: hp},
		} {
			if o.wants(tg.name) {
				targets = append(targets, tg)
			}
		}
	}
	if o.wants("Portkey translate") {
		pk, err := startPortkey(o.pkDir, o.node, pin)
		if err != nil {
			return err
		}
		defer pk.Stop()
		portkeyHeaders := http.Header{
			"X-Portkey-Provider":    {"anthropic"},
			"X-Portkey-Custom-Host": {"http://" + up.Addr + "/v1"},
			"Authorization":         {"Bearer sk-bench"},
		}
		targets = append(targets, target{name: "Portkey translate", path: "http://" + pk.Addr + "/v1/chat/completions", headers: portkeyHeaders, proc: pk})
	}
	if o.driver == "nethttp" {
		for i := range targets {
			targets[i].nethttp = true
		}
	}
	if err := check(targets); err != nil {
		return err
	}
	pkDir, node := o.pkDir, o.node

	fmt.Printf("# dataplane vs Portkey %s (Node %s), %s, %d CPUs, %s per run, %d rounds (median), throughput at c=%d, latency at c=1\n",
		portkeyVersion(pkDir), nodeVersion(node), runtime.Version(), runtime.NumCPU(), duration, rounds, conc)
	fmt.Printf("# request: %d-byte OpenAI agent turn (tools, tool results, image); reply: Anthropic Message / %d-event SSE stream\n", len(chatRequest), bytes.Count(anthropicStream(), []byte("\n\n")))
	events := splitEvents(anthropicStream())
	if o.segment > 0 {
		fmt.Printf("# fake upstream: streams in writes of whole events of at most %d bytes (%d writes for the %d events, %d bytes)", o.segment, segments(events, o.segment), len(events), len(anthropicStream()))
	} else {
		fmt.Printf("# fake upstream: streams one write per event (%d writes)", len(events))
	}
	if o.driver == "nethttp" {
		fmt.Println("; load generator: net/http's client (status checked)")
	} else {
		fmt.Println("; load generator: lean (pre-rendered request, 64 KiB reads, status and the reply's usage and end checked)")
	}
	if len(o.dpEnv) > 0 {
		fmt.Printf("# the dataplane binary (not -compare's) runs with %s\n", strings.Join(o.dpEnv, " "))
	}
	if pin.on() {
		fmt.Printf("# pinned (-pin %d): gateways on CPUs %s (GOMAXPROCS=%d for Go), load generator + fake upstream on CPUs %s; allowed CPUs now:", o.pin, pin.gateway, pin.gatewayCPUs, pin.driver)
		for _, tg := range targets {
			fmt.Printf(" %s %s;", tg.name, allowedCPUs(tg.proc.Cmd.Process.Pid))
		}
		fmt.Printf(" load generator %s\n", allowedCPUs(os.Getpid()))
	} else {
		fmt.Println("# not pinned: gateways, load generator and fake upstream share all CPUs (-pin 1 compares at equal CPU)")
	}
	fmt.Printf("# load average at start: %s\n\n", loadgen.LoadAverage())
	fmt.Println("# gateway CPU: the target's CPU time ÷ run time (100% = one CPU busy); driver CPU: the load generator's and the fake upstream's together")
	fmt.Println("| reply | target | req/s (c=" + strconv.Itoa(conc) + ") | CPU/req | gateway CPU | driver CPU | I/O calls/req | p50 c=1 | p99 c=1 | added p50 | added p99 | errors |")
	fmt.Println("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	var summary, sides, gcRows, driverRows []string
	for _, stream := range []bool{false, true} {
		body, label := chatRequest, "json"
		if stream {
			body, label = streamRequest(), "stream"
		}
		if o.reply != "" && o.reply != label {
			continue
		}
		thr := map[string][]loadgen.Result{}
		driver := map[string][]float64{} // the driver's CPU share in each throughput run
		gcThr, gcLat := map[string][]gcPerRequest{}, map[string][]gcPerRequest{}
		lat := map[string][]loadgen.Result{}
		for round := range rounds {
			for j := range targets {
				i := (j + round) % len(targets)
				tg := targets[i]
				var prof <-chan error
				if o.profile != "" && dp != nil && round == 0 && tg.name == "dataplane translate" {
					prof = dp.CPUProfile(o.profile+"-"+label+".pprof", duration)
				}
				var stopDriver func() error
				if o.driverProfile != "" && round == 0 && (tg.proc == up || tg.name == "dataplane translate") {
					if stopDriver, err = profileDriver(fmt.Sprintf("%s-%s-%s", o.driverProfile, label, slug(tg.name)), up.Addr, duration); err != nil {
						return err
					}
				}
				self0, up0 := selfCPU(), up.CPU()
				g0 := gcOf(tg)
				r := measure(tg, body, stream, conc, duration, true)
				g1 := gcOf(tg)
				used := selfCPU() - self0 + up.CPU() - up0
				driver[tg.name] = append(driver[tg.name], float64(used)/float64(duration))
				if stopDriver != nil {
					if err := stopDriver(); err != nil {
						return fmt.Errorf("driver cpu profile: %w", err)
					}
				}
				if prof != nil {
					if err := <-prof; err != nil {
						return fmt.Errorf("cpu profile: %w", err)
					}
				}
				thr[tg.name] = append(thr[tg.name], r)
				l := measure(tg, body, stream, 1, duration, false)
				lat[tg.name] = append(lat[tg.name], l)
				if tg.debug != "" {
					g2 := gcOf(tg)
					gcThr[tg.name] = append(gcThr[tg.name], g0.per(g1, r.RPS*duration.Seconds()))
					gcLat[tg.name] = append(gcLat[tg.name], g1.per(g2, l.RPS*duration.Seconds()))
				}
			}
		}
		direct := loadgen.Median(lat[targets[0].name])
		got := map[string]loadgen.Result{}
		for i, tg := range targets {
			t, l := loadgen.Median(thr[tg.name]), loadgen.Median(lat[tg.name])
			added50, added99 := "", ""
			if i > 0 && tg.proc != up {
				added50, added99 = loadgen.Micros(l.P50-direct.P50), loadgen.Micros(l.P99-direct.P99)
			}
			cpu, busy := loadgen.Micros(t.CPU), fmt.Sprintf("%.0f%%", 100*t.RPS*t.CPU.Seconds())
			if tg.proc == up {
				cpu, busy = "", "" // the upstream's own CPU, not a gateway's
			}
			fmt.Printf("| %s | %s | %.0f | %s | %s | %.0f%% | %.2f | %s | %s | %s | %s | %d |\n", label, tg.name, t.RPS, cpu, busy, 100*median(driver[tg.name]), t.IO, loadgen.Micros(l.P50), loadgen.Micros(l.P99), added50, added99, t.Errors+l.Errors)
			if t, ok := gcThr[tg.name]; ok {
				a, b := medianGC(t), medianGC(gcLat[tg.name])
				gcRows = append(gcRows, fmt.Sprintf("| %s | %s | %.0f B | %.2f | %.0f µs | %.2f | %.0f µs |", label, tg.name, a.bytes, a.gcPer1k, a.pauseMicros, b.gcPer1k, b.pauseMicros))
			}
			if tg.proc == up && t.RPS > 0 {
				share := median(driver[tg.name])
				driverRows = append(driverRows, fmt.Sprintf("| %s | %s | %.0f | %.0f%% | %s |", label, tg.name, t.RPS, 100*share, loadgen.Micros(time.Duration(share/t.RPS*float64(time.Second)))))
			}
			got[tg.name] = loadgen.Result{RPS: t.RPS, P50: l.P50 - direct.P50, P99: l.P99 - direct.P99, CPU: t.CPU, IO: t.IO}
		}
		for _, kind := range []string{"passthrough", "translate"} {
			mine := got["dataplane "+kind]
			for _, other := range []string{"before", "handlers"} {
				b, ok := got[other+" "+kind]
				if !ok || mine.RPS == 0 || b.RPS == 0 {
					continue
				}
				sides = append(sides, fmt.Sprintf("| %s | %s | %s | %.2fx | %.2fx | %.2f vs %.2f | %s vs %s | %s vs %s |", label, kind, other,
					mine.RPS/b.RPS, float64(mine.CPU)/float64(b.CPU), mine.IO, b.IO, loadgen.Micros(mine.P50), loadgen.Micros(b.P50), loadgen.Micros(mine.P99), loadgen.Micros(b.P99)))
			}
		}
		tr, pt, pkr := got["dataplane translate"], got["dataplane passthrough"], got["Portkey translate"]
		if tr.RPS == 0 || pt.RPS == 0 || pkr.RPS == 0 {
			continue // a partial run (-only): no comparison
		}
		summary = append(summary,
			fmt.Sprintf("| %s | %.1fx (goal >= 10x) | %s (goal <= 1/10) | %.2fx | %.1fx |", label,
				tr.RPS/pkr.RPS, ratio(tr.P99, pkr.P99), tr.RPS/pt.RPS, float64(pkr.CPU)/float64(tr.CPU)))
	}
	fmt.Printf("\n# load average at end: %s\n\n", loadgen.LoadAverage())
	fmt.Println("| reply | translate req/s ÷ Portkey | translate added p99 ÷ Portkey's | translate req/s ÷ passthrough | Portkey CPU/req ÷ translate |")
	fmt.Println("|---|--:|--:|--:|--:|")
	for _, s := range summary {
		fmt.Println(s)
	}
	if o.driverBefore {
		printTable("# the driver alone (load generator + fake upstream, no gateway): its CPU per request, the load on the machine a gateway row adds to it",
			"| reply | driver | req/s | driver CPU | driver CPU/req |", "|---|---|--:|--:|--:|", driverRows)
	}
	if len(gcRows) > 0 {
		c := strconv.Itoa(conc)
		printTable("# garbage collection in the dataplane binaries (runtime.MemStats from --debug-addr); medians of the rounds",
			"| reply | target | allocated/req (c="+c+") | GC cycles per 1k req (c="+c+") | longest GC pause (c="+c+") | GC cycles per 1k req (c=1) | longest GC pause (c=1) |",
			"|---|---|--:|--:|--:|--:|--:|", gcRows)
	}
	if len(sides) > 0 {
		printTable("", "| reply | path | dataplane ÷ | req/s | CPU/req | I/O calls/req | added p50 | added p99 |", "|---|---|---|--:|--:|--:|--:|--:|", sides)
	}
	return nil
}

// printTable prints a blank line, the comment line title (if any), a markdown table's head and
// rows.
func printTable(title, head, sep string, rows []string) {
	fmt.Println()
	if title != "" {
		fmt.Println(title)
	}
	fmt.Println(head)
	fmt.Println(sep)
	for _, r := range rows {
		fmt.Println(r)
	}
}

// gcOf reads the garbage collection counters of a dataplane binary target (zero for others,
// or when they cannot be read: the figures are a diagnostic, not worth failing the run).
func gcOf(tg target) gcStats {
	if tg.debug == "" {
		return gcStats{}
	}
	g, err := readGCStats(tg.debug)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: garbage collection figures:", err)
	}
	return g
}

func medianGC(rs []gcPerRequest) gcPerRequest {
	var b, g, p []float64
	for _, r := range rs {
		b, g, p = append(b, r.bytes), append(g, r.gcPer1k), append(p, r.pauseMicros)
	}
	return gcPerRequest{bytes: median(b), gcPer1k: median(g), pauseMicros: median(p)}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
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

// tails are what the last bytes of a complete reply hold, for the lean driver: the usage and,
// streamed, the final [DONE].
var tails = map[bool][][]byte{
	false: {[]byte(`"completion_tokens"`)},
	true:  {[]byte(`"completion_tokens"`), []byte("data: [DONE]")},
}

// measure drives target tg for d with conc workers and tg's driver; on: with tg's server CPU
// and I/O per request.
func measure(tg target, body []byte, stream bool, conc int, d time.Duration, on bool) loadgen.Result {
	if tg.nethttp {
		newReq := func() *http.Request { return newRequest(tg, body) }
		if on {
			return loadgen.RunOn(tg.proc, newReq, conc, d)
		}
		return loadgen.Run(newReq, conc, d)
	}
	l, err := loadgen.NewLean(newRequest(tg, body), tails[stream]...)
	if err != nil {
		return loadgen.Result{Errors: 1}
	}
	if on {
		return loadgen.RunLeanOn(tg.proc, l, conc, d)
	}
	return loadgen.RunLean(l, conc, d)
}

// slug is name in letters, digits and dashes, for file names.
func slug(name string) string {
	f := strings.FieldsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	})
	return strings.Join(f, "-")
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
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return fmt.Errorf("%s (stream=%v): reading the reply after %d bytes: %w", tg.name, stream, len(b), err)
			}
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
			if tg.nethttp {
				continue
			}
			l, err := loadgen.NewLean(newRequest(tg, body), tails[stream]...)
			if err == nil {
				_, err = l.Do()
			}
			if err != nil {
				return fmt.Errorf("%s (stream=%v), lean driver: %w; the reply's end: %q", tg.name, stream, err, b[max(len(b)-loadgen.TailBytes, 0):])
			}
		}
	}
	return nil
}
