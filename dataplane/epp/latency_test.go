package epp

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/bootstrap"
	"github.com/infergw/gwctl/dataplane/pool"
	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
	"github.com/infergw/gwctl/internal/procstat"
)

// The pick-latency comparison needs a quiet machine, so it only runs with
//
//	go test ./dataplane/epp -run TestPickLatency -epp.latency -v
var (
	latencyFlag   = flag.Bool("epp.latency", false, "compare the added latency of a pick in-process and through the EPP client (slow)")
	latencyN      = flag.Int("epp.latency.n", 4000, "picks per cell")
	latencyBin    = flag.String("epp.latency.bin", "", "the dataplane binary whose `dataplane epp` the separate-process row calls (default: go build ./cmd/dataplane into a temporary directory)")
	latencyEnv    = flag.String("epp.latency.env", "", "extra environment of the `dataplane epp` process, space-separated (e.g. GOGC=400); it inherits this process's")
	latencyTail   = flag.Bool("epp.latency.tail", false, "after the table, look into the c=1 tail of the separate-process row: slow picks against garbage collections of either process and the scrape ticks' phase")
	latencySims   = flag.String("epp.latency.sims", "process", "where the eight simulators all rows pick among run: process (a process of their own, as model servers are other machines) or here (this measuring process, whose every scrape tick then also serves the pools' metrics requests)")
	latencyScrape = flag.Duration("epp.latency.scrape", 50*time.Millisecond, "scrape interval of every pool of the comparison (50ms is the default of the dataplane and of `dataplane epp`)")
)

// TestPickLatency measures what deciding an endpoint costs a request: the in-process pick
// (parse, score, pick, as ServeHTTP does) against the EPP client's request phase (stream open,
// headers and body sent, pick read, body back, stream closed) to the dataplane's EPP server on
// loopback, at concurrency 1 and 32, with a chat body of a 1,000-token prompt. The EPP server
// runs twice: in this process (both ends of the exchange share one runtime) and as deployed, the
// built `dataplane epp` binary in a process of its own over the same eight simulators. The
// simulators run in a process of their own too (-epp.latency.sims=process), as model servers
// are other machines: in this process each scrape tick of the EPP process would make the
// measuring process serve metrics requests while it waits on a pick (-epp.latency.sims=here,
// the rig's figures before). The rows are measured in alternating rounds so that a shared machine's swings hit them alike,
// each row's pools built for its turn and closed after it: the measuring process then holds
// what the deployed dataplane holds, the in-process picker's pool scraping every interval, or,
// with an EPP deciding (FailClose), the dataplane's pool scraping once a second
// (FailCloseScrapeInterval) and, in the same-process row, the EPP server's pool.
// Both processes collect garbage as the dataplane does (bootstrap.TuneGC's GOGC=400) unless
// GOGC is set: GOGC=100 shows Go's default.
// CPU/pick is process CPU time (user + system, the pools' scrapes included) per pick, this
// process's plus the EPP process's: unlike the percentiles, it holds up on a loaded machine.
func TestPickLatency(t *testing.T) {
	if !*latencyFlag {
		t.Skip("pick latency comparison runs only with -epp.latency")
	}
	// This process stands in for the dataplane, which (like `dataplane epp`) runs with
	// bootstrap.TuneGC's GOGC unless GOGC is set: so does the measurement.
	gogc := os.Getenv("GOGC")
	if gogc == "" {
		gogc = strconv.Itoa(bootstrap.GCPercent) + " (bootstrap.TuneGC)"
		defer debug.SetGCPercent(debug.SetGCPercent(bootstrap.GCPercent))
	}
	sc := pool.SchedulerConfig{ScrapeInterval: *latencyScrape}
	var sims *simProcess
	switch *latencySims {
	case "process":
		sims = startSimProcess(t, 8)
	case "here":
	default:
		t.Fatalf("-epp.latency.sims %q: want process or here", *latencySims)
	}
	simAddrs := []string(nil)
	var simCPU0 time.Duration
	if sims != nil {
		simAddrs, simCPU0 = sims.addrs, procCPU(sims.pid)
	} else {
		simAddrs = startSims(t, 8, vllmsim.Config{})
	}
	child := startEPPProcess(t, simAddrs, *latencyScrape)
	c := newPickClient(t)
	body := pickBody()
	// The dataplane's own pool when an EPP decides with FailClose, scraping as wiring has it.
	gwSC := sc
	gwSC.ScrapeInterval = max(sc.ScrapeInterval, FailCloseScrapeInterval)
	pools := 0
	newPool := func(sc pool.SchedulerConfig) *pool.Pool {
		pools++
		return startPool(t, fmt.Sprintf("latency/%d", pools), simAddrs, pool.FailClose, sc)
	}
	{
		gw := newPool(gwSC)
		viaChild := viaPicker(c, gw, child.addr, body)
		waitFor(t, 10*time.Second, "the dataplane epp process to pick", func() bool { return viaChild() == nil })
		_ = gw.Close()
	}
	idle := idleScrapeCPU(child, len(simAddrs), *latencyScrape)

	// Each row's pools (and the same-process EPP server) exist only while its cells are
	// measured, so that this process holds what the deployed configuration holds: the
	// in-process picker's pool scraping every interval; with an EPP, the dataplane's pool
	// scraping once a second (FailClose), plus, in the same-process row, the EPP server's pool.
	type row struct {
		name  string
		setup func() (f func() error, done func())
		proc  *eppProcess // the EPP's process, when not this one
	}
	rows := []row{
		{"in-process", func() (func() error, func()) {
			p := newPool(sc)
			return inProcessPick(p, body), func() { _ = p.Close() }
		}, nil},
		{"EPP client → dataplane epp, same process", func() (func() error, func()) {
			ep := newPool(sc)
			srv, err := NewServer(ep, 0, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			addr, stop := serveStoppable(t, srv)
			gw := newPool(gwSC)
			return viaPicker(c, gw, addr, body), func() { stop(); _ = gw.Close(); _ = ep.Close() }
		}, nil},
		{"EPP client → `dataplane epp` process", func() (func() error, func()) {
			gw := newPool(gwSC)
			return viaPicker(c, gw, child.addr, body), func() { _ = gw.Close() }
		}, child},
	}
	concs := []int{1, 32}
	const rounds = 4
	type cell struct {
		ds                 []time.Duration
		cpu, childCPU      time.Duration
		gcs, childGCs, pks int
		allocs, bytes      uint64 // this process's
	}
	cells := make([][]cell, len(rows))
	for i := range rows {
		cells[i] = make([]cell, len(concs))
	}
	for j, conc := range concs {
		for range rounds {
			for i, r := range rows {
				f, done := r.setup()
				for range 200 { // warm connections, prefix index and caches
					if err := f(); err != nil {
						t.Fatal(err)
					}
				}
				c := &cells[i][j]
				cpu0, ms0 := procstat.CPU(), memStats()
				var ccpu0 time.Duration
				var cgc0 int
				if r.proc != nil {
					ccpu0, cgc0 = r.proc.cpu(), r.proc.gcs()
				}
				ds, _ := measure(t, conc, *latencyN/rounds, f)
				c.cpu += procstat.CPU() - cpu0
				ms1 := memStats()
				c.gcs += int(ms1.NumGC - ms0.NumGC)
				c.allocs += ms1.Mallocs - ms0.Mallocs
				c.bytes += ms1.TotalAlloc - ms0.TotalAlloc
				if r.proc != nil {
					c.childCPU += r.proc.cpu() - ccpu0
					c.childGCs += r.proc.gcs() - cgc0
				}
				c.ds = append(c.ds, ds...)
				c.pks += len(ds)
				done()
			}
		}
	}
	var b strings.Builder
	where := "in this process (CPU/pick includes serving the scrapes)"
	if sims != nil {
		where = fmt.Sprintf("in a process of their own (%s CPU for all rows' scrapes, not in CPU/pick)", procCPU(sims.pid)-simCPU0)
	}
	fmt.Fprintf(&b, "\nload average %s; GOGC %s, GOMEMLIMIT %q; epp process env %q; scrape interval %v (the dataplane's pool with an EPP: %v); %d picks per cell; simulators %s; idle `dataplane epp` process %s\n",
		loadavg(), gogc, os.Getenv("GOMEMLIMIT"), *latencyEnv, *latencyScrape, gwSC.ScrapeInterval, *latencyN, where, idle)
	b.WriteString("\n| picker | c=1 p50 | c=1 p99 | c=32 p50 | c=32 p99 | CPU/pick c=1 | CPU/pick c=32 | GCs per 1k picks c=1 | allocs, bytes/pick here c=1 |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	cpuOf := func(c cell) string {
		n := time.Duration(max(1, c.pks))
		if c.childCPU == 0 && c.childGCs == 0 {
			return us(c.cpu / n)
		}
		return fmt.Sprintf("%s (%s + %s)", us((c.cpu+c.childCPU)/n), us(c.cpu/n), us(c.childCPU/n))
	}
	gcsOf := func(c cell) string {
		per := func(g int) string { return strconv.FormatFloat(1000*float64(g)/float64(max(1, c.pks)), 'f', 1, 64) }
		if c.childCPU == 0 && c.childGCs == 0 {
			return per(c.gcs)
		}
		return per(c.gcs) + " + " + per(c.childGCs)
	}
	for i, r := range rows {
		cs := cells[i]
		n := uint64(max(1, cs[0].pks))
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %d, %d B |\n", r.name, us(pctl(cs[0].ds, 0.5)), us(pctl(cs[0].ds, 0.99)),
			us(pctl(cs[1].ds, 0.5)), us(pctl(cs[1].ds, 0.99)), cpuOf(cs[0]), cpuOf(cs[1]), gcsOf(cs[0]), cs[0].allocs/n, cs[0].bytes/n)
	}
	for i := 1; i < len(rows); i++ {
		d := func(j int, q float64) string { return us(pctl(cells[i][j].ds, q) - pctl(cells[0][j].ds, q)) }
		dc := func(j int) string {
			n := time.Duration(max(1, cells[i][j].pks))
			return us((cells[i][j].cpu+cells[i][j].childCPU)/n - cells[0][j].cpu/time.Duration(max(1, cells[0][j].pks)))
		}
		fmt.Fprintf(&b, "| added (%s − in-process) | %s | %s | %s | %s | %s | %s | | |\n", strings.TrimPrefix(rows[i].name, "EPP client → "), d(0, 0.5), d(0, 0.99), d(1, 0.5), d(1, 0.99), dc(0), dc(1))
	}
	if *latencyTail {
		gw := newPool(gwSC)
		b.WriteString(tailCauses(t, viaPicker(c, gw, child.addr, body), child, *latencyN))
		_ = gw.Close()
	}
	fmt.Fprint(os.Stdout, b.String())
}

// idleScrapeCPU is the CPU the EPP process spends per scrape while no pick runs (its scrapes of n
// endpoints are then nearly all it does), over a fixed window of at least 300 scrapes: /proc
// counts CPU in 10 ms ticks.
func idleScrapeCPU(p *eppProcess, n int, interval time.Duration) string {
	window := max(3*time.Second, interval*time.Duration(300/max(1, n)))
	cpu0, start := p.cpu(), time.Now()
	time.Sleep(window) // a measurement window, not a wait for an event
	scrapes := float64(n) * float64(time.Since(start)) / float64(interval)
	return fmt.Sprintf("%.0f µs CPU per scrape (%d endpoints, %v idle)", float64((p.cpu()-cpu0).Microseconds())/scrapes, n, window)
}

// tailCauses runs n picks at concurrency 1 through the EPP process and tells what the slowest
// 1% had in common: a garbage collection of this process (a cycle ended during the pick), one
// of the EPP process (its gctrace intervals), or a phase of the scrape interval (every pool's
// scrapes tick at a fixed phase, so slow picks caused by them crowd into a few phase bins).
// Under -test.trace each pick is logged at its end ("pick", its duration in ns), so a trace of
// the EPP process (GWCTL_TRACE in -epp.latency.env) can be read against the slow ones: both
// runtimes stamp their traces with the same monotonic clock.
func tailCauses(t *testing.T, f func() error, p *eppProcess, n int) string {
	type pick struct {
		start, d time.Duration
		gc       bool
	}
	sample := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	cycles := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	picks := make([]pick, 0, n)
	for range n {
		g0, s := cycles(), time.Now()
		if err := f(); err != nil {
			t.Fatal(err)
		}
		k := pick{start: s.Sub(p.started), d: time.Since(s), gc: cycles() != g0}
		if trace.IsEnabled() {
			trace.Log(context.Background(), "pick", strconv.FormatInt(int64(k.d), 10))
		}
		picks = append(picks, k)
	}
	ds := make([]time.Duration, len(picks))
	for i, k := range picks {
		ds[i] = k.d
	}
	p99 := pctl(ds, 0.99)
	gcs := p.gcIntervals()
	const bins = 10
	var slow, slowGC, slowChildGC, allGC, allChildGC int
	var phase [bins]int
	for _, k := range picks {
		childGC := slices.ContainsFunc(gcs, func(g [2]time.Duration) bool { return g[0] < k.start+k.d && k.start < g[1] })
		if k.gc {
			allGC++
		}
		if childGC {
			allChildGC++
		}
		if k.d < p99 {
			continue
		}
		slow++
		if k.gc {
			slowGC++
		}
		if childGC {
			slowChildGC++
		}
		phase[int(k.start%*latencyScrape)*bins/int(*latencyScrape)]++
	}
	pc := func(a, b int) string { return strconv.FormatFloat(100*float64(a)/float64(max(1, b)), 'f', 0, 64) + "%" }
	return fmt.Sprintf("\nc=1 tail through the `dataplane epp` process, %d picks, p99 %s: of the %d picks at or over it, %s overlapped a GC of this process (%s of all picks) and %s one of the EPP process (%s of all); "+
		"their phases in the %v scrape interval, in %d bins: %v (%s in the fullest bin; %s if unrelated)\n",
		len(picks), us(p99), slow, pc(slowGC, slow), pc(allGC, len(picks)), pc(slowChildGC, slow), pc(allChildGC, len(picks)),
		*latencyScrape, bins, phase, pc(slices.Max(phase[:]), slow), pc(1, bins))
}

// eppProcess is `dataplane epp` running in a process of its own.
type eppProcess struct {
	addr    string
	pid     int
	started time.Time
	gc      atomic.Int64 // GC cycles it reported (GODEBUG=gctrace=1)

	mu     sync.Mutex
	gcList [][2]time.Duration // each cycle's interval since the child's runtime started
	gcSeen []time.Duration    // when its gctrace line arrived, since started
}

// gcIntervals are the GC cycles the process reported so far, in time since started. A line's
// @ time counts from the child runtime's start, a little after started; the offset is taken
// from the line that arrived soonest after its cycle ended.
func (p *eppProcess) gcIntervals() [][2]time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.gcList) == 0 {
		return nil
	}
	off := time.Duration(math.MaxInt64)
	for i, g := range p.gcList {
		off = min(off, p.gcSeen[i]-g[1])
	}
	out := make([][2]time.Duration, len(p.gcList))
	for i, g := range p.gcList {
		out[i] = [2]time.Duration{g[0] + off, g[1] + off}
	}
	return out
}

// gcInterval reads a gctrace line, "gc 7 @1.234s 0%: 0.011+0.52+0.004 ms clock, ...": the
// cycle's start since the process started and its wall-clock phases.
func gcInterval(line string) ([2]time.Duration, bool) {
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "gc" || !strings.HasPrefix(f[2], "@") {
		return [2]time.Duration{}, false
	}
	at, err := strconv.ParseFloat(strings.TrimSuffix(f[2][1:], "s"), 64)
	if err != nil {
		return [2]time.Duration{}, false
	}
	var ms float64
	for part := range strings.SplitSeq(f[4], "+") {
		v, err := strconv.ParseFloat(part, 64)
		if err != nil {
			return [2]time.Duration{}, false
		}
		ms += v
	}
	start := time.Duration(at * float64(time.Second))
	return [2]time.Duration{start, start + time.Duration(ms*float64(time.Millisecond))}, true
}

// startEPPProcess builds the dataplane (unless -epp.latency.bin names one) and runs `dataplane
// epp` in file mode over the simulators until the test ends.
func startEPPProcess(t testing.TB, sims []string, scrape time.Duration) *eppProcess {
	t.Helper()
	dir := t.TempDir()
	bin := *latencyBin
	if bin == "" {
		bin = filepath.Join(dir, "dataplane")
		out, err := exec.Command("go", "build", "-o", bin, "github.com/infergw/gwctl/cmd/dataplane").CombinedOutput()
		if err != nil {
			t.Fatalf("go build ./cmd/dataplane: %v\n%s", err, out)
		}
	}
	file := filepath.Join(dir, "pool.yaml")
	if err := os.WriteFile(file, []byte(poolResources(8000)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "epp", "--config", file, "--pool-endpoints", "vllm.inference="+strings.Join(sims, ";"),
		"--listen", "127.0.0.1:0", "--admin", "", "--pool-scrape-interval", scrape.String())
	cmd.Env = append(os.Environ(), strings.Fields(*latencyEnv)...)
	if !strings.Contains(os.Getenv("GODEBUG")+*latencyEnv, "gctrace") {
		cmd.Env = append(cmd.Env, "GODEBUG=gctrace=1")
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &eppProcess{pid: cmd.Process.Pid, started: started}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if iv, ok := gcInterval(sc.Text()); ok {
				p.gc.Add(1)
				p.mu.Lock()
				p.gcList = append(p.gcList, iv)
				p.gcSeen = append(p.gcSeen, time.Since(started))
				p.mu.Unlock()
			}
		}
	}()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "endpoint picker serving" {
				a, _ := m["ext_proc"].(string)
				addr <- a
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case p.addr = <-addr:
	case <-time.After(60 * time.Second):
		t.Fatal("dataplane epp did not log its ext_proc address within 60s")
	}
	return p
}

// cpu is the process's user and system CPU time so far.
func (p *eppProcess) cpu() time.Duration { return procCPU(p.pid) }

// procCPU is a process's user and system CPU time so far (/proc/<pid>/stat, in clock ticks of
// 10ms: enough for thousands of picks).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

func (p *eppProcess) gcs() int { return int(p.gc.Load()) }

func memStats() *runtime.MemStats {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return &ms
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
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
