package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/infergw/gwctl/dataplane/llm/anthropic/anthropictest"
)

var (
	soakDuration = flag.Duration("soak.duration", 0, "run TestSoak for this long (0 skips it; make soak sets 10m, make soak-ci 60s)")
	soakReport   = flag.String("soak.report", "", "write TestSoak's figures as JSON to this file")
)

// soakClass is one kind of request in the mixed load, sent at a fixed interval.
type soakClass struct {
	Name     string
	Interval time.Duration
	send     func(ctx context.Context) error
}

// SoakWindow is one sampling interval's figures.
type SoakWindow struct {
	AtSeconds  float64               `json:"at_s"`
	Goroutines int                   `json:"goroutines"`
	HeapMiB    float64               `json:"heap_inuse_mib"`
	FDs        int                   `json:"fds"`
	Requests   int                   `json:"requests"`
	Errors     int                   `json:"errors"`
	LatencyMs  map[string][3]float64 `json:"latency_ms_p50_p95_p99"`
	lat        map[string][]float64
}

// SoakResult is what make soak prints and checks.
type SoakResult struct {
	Duration          string       `json:"duration"`
	Requests          int          `json:"requests"`
	Errors            int          `json:"unexpected_errors"`
	ErrorSamples      []string     `json:"error_samples,omitempty"`
	GoroutineSlope    float64      `json:"goroutines_per_min"`
	HeapSlopeMiB      float64      `json:"heap_mib_per_min"`
	FDGrowth          int          `json:"fd_growth"`
	LogErrors         int          `json:"error_log_lines"`
	SecretInLogs      bool         `json:"secret_in_logs"`
	P50FirstLastMs    [2]float64   `json:"p50_first_last_third_ms"`
	P99FirstLastMs    [2]float64   `json:"p99_first_last_third_ms"`
	Windows           []SoakWindow `json:"windows"`
	Failures          []string     `json:"failures,omitempty"`
	ChatPerSecond     float64      `json:"requests_per_s"`
	SampleIntervalSec float64      `json:"sample_interval_s"`
}

// soakLog counts the dataplane's log lines without keeping them: a soak must not grow a buffer.
type soakLog struct {
	lines, errors atomic.Int64
	secret        atomic.Bool
	mu            sync.Mutex
	lastErr       string
}

func (l *soakLog) Write(p []byte) (int, error) {
	l.lines.Add(int64(bytes.Count(p, []byte("\n"))))
	if bytes.Contains(p, []byte(`"level":"ERROR"`)) {
		l.errors.Add(1)
		l.mu.Lock()
		l.lastErr = string(p)
		l.mu.Unlock()
	}
	if bytes.Contains(p, []byte(providerKey)) || bytes.Contains(p, []byte(clientToken)) {
		l.secret.Store(true)
	}
	return len(p), nil
}

// The dataplane on the bundled platform (egress, mcp, the pool) with two vLLM simulators, a fake
// Anthropic and the MCP example server, under a fixed mixed load: zero unexpected errors,
// goroutines, heap and file descriptors flat, latency percentiles stable. Runs with
// -soak.duration (hack/soak).
func TestSoak(t *testing.T) {
	if *soakDuration <= 0 {
		t.Skip("soak runs with -soak.duration (make soak, make soak-ci)")
	}
	dur := *soakDuration
	fake := anthropictest.New(t, anthropictest.SchemaPath(t))
	fake.KeepRequests(false)
	fake.SetDefault(anthropictest.Reply{Body: []byte(okMessage)})
	iss := startIssuer(t)
	everything := startEverythingOrSkip(t)
	_, addrs := startSims(t, 2, "llama-3-8b-instruct")
	_, res := renderPlatform(t, []string{"egress", "mcp"}, append(append(egressSet(fake.Port), identitySet(iss.OIDCIssuer, iss.Port)...), "mcp.requests=1000", "mcp.bucket=1000"))
	logs := &soakLog{}
	gw := startGateway(t, res, gwOptions{
		Resolve:   map[string]string{"mcp-server-everything.mcp": everything, "dex.dex": "127.0.0.1:" + fmt.Sprint(iss.Port)},
		Pools:     map[string][]string{"vllm.inference": addrs},
		LogWriter: logs,
	})
	var token atomic.Pointer[string]
	refresh := func() { tok := iss.Token(t, ""); token.Store(&tok) }
	refresh()

	hc := &http.Client{Timeout: 30 * time.Second}
	postOK := func(ctx context.Context, body string, stream bool) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, gw.URL+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+clientToken)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, err = b.ReadFrom(resp.Body)
		if resp.StatusCode != 200 || err != nil {
			return fmt.Errorf("status %d, read %v: %.200s", resp.StatusCode, err, b.String())
		}
		if stream && !bytes.Contains(b.Bytes(), []byte("data: [DONE]")) {
			return fmt.Errorf("a stream without [DONE]: %.200s", b.String())
		}
		return nil
	}
	mcpHTTP := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+*token.Load())
		return http.DefaultTransport.RoundTrip(r)
	})}
	connect := func(ctx context.Context) (*sdk.ClientSession, error) {
		c := sdk.NewClient(&sdk.Implementation{Name: "soak", Version: "1"}, nil)
		return c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: gw.URL + "/mcp", HTTPClient: mcpHTTP, MaxRetries: -1}, nil)
	}
	long, err := connect(context.Background())
	if err != nil {
		t.Fatalf("mcp connect: %v", err)
	}
	defer long.Close()
	echo := func(ctx context.Context, s *sdk.ClientSession) error {
		r, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "soak"}})
		if err != nil {
			return err
		}
		if r.IsError {
			return fmt.Errorf("echo: tool error %+v", r.Content)
		}
		return nil
	}
	classes := []soakClass{
		{"chat", 50 * time.Millisecond, func(ctx context.Context) error {
			return postOK(ctx, chatBody("llama-3-8b-instruct", false), false)
		}},
		{"stream", 100 * time.Millisecond, func(ctx context.Context) error {
			return postOK(ctx, `{"model":"llama-3-8b-instruct","stream":true,"max_tokens":32,"messages":[{"role":"user","content":"stream please"}]}`, true)
		}},
		{"egress", 50 * time.Millisecond, func(ctx context.Context) error {
			return postOK(ctx, chatBody("claude-haiku-4-5", false), false)
		}},
		{"mcp", 100 * time.Millisecond, func(ctx context.Context) error { return echo(ctx, long) }},
		{"mcp-session", time.Second, func(ctx context.Context) error {
			s, err := connect(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			if _, err := s.ListTools(ctx, nil); err != nil {
				return err
			}
			return echo(ctx, s)
		}},
	}

	var mu sync.Mutex
	cur := &SoakWindow{lat: map[string][]float64{}}
	var total, errCount int
	var samples []string
	ctx, stop := context.WithTimeout(context.Background(), dur)
	defer stop()
	var wg sync.WaitGroup
	for _, c := range classes {
		wg.Add(1)
		go func(c soakClass) {
			defer wg.Done()
			tick := time.NewTicker(c.Interval)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				start := time.Now()
				rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				err := c.send(rctx)
				cancel()
				ms := float64(time.Since(start).Microseconds()) / 1000
				mu.Lock()
				total++
				cur.Requests++
				cur.lat[c.Name] = append(cur.lat[c.Name], ms)
				if err != nil {
					errCount++
					cur.Errors++
					if len(samples) < 10 {
						samples = append(samples, c.Name+": "+err.Error())
					}
				}
				mu.Unlock()
			}
		}(c)
	}

	interval := max(dur/20, 3*time.Second)
	began := time.Now()
	var windows []SoakWindow
	sample := func() {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		mu.Lock()
		w := cur
		cur = &SoakWindow{lat: map[string][]float64{}}
		mu.Unlock()
		w.AtSeconds = time.Since(began).Seconds()
		w.Goroutines = runtime.NumGoroutine()
		w.HeapMiB = float64(ms.HeapInuse) / (1 << 20)
		w.FDs = countFDs()
		w.LatencyMs = map[string][3]float64{}
		for name, l := range w.lat {
			w.LatencyMs[name] = [3]float64{pct(l, 50), pct(l, 95), pct(l, 99)}
		}
		windows = append(windows, *w)
		t.Logf("t=%4.0fs goroutines=%d heap=%.1fMiB fds=%d requests=%d errors=%d latency p50/p95/p99 ms %v",
			w.AtSeconds, w.Goroutines, w.HeapMiB, w.FDs, w.Requests, w.Errors, w.LatencyMs)
	}
	tick := time.NewTicker(interval)
	tokenTick := time.NewTicker(time.Minute)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tokenTick.C:
			refresh()
		case <-tick.C:
			sample()
		}
	}
	tick.Stop()
	tokenTick.Stop()
	wg.Wait()

	r := SoakResult{Duration: dur.String(), Requests: total, Errors: errCount, ErrorSamples: samples, Windows: windows,
		LogErrors: int(logs.errors.Load()), SecretInLogs: logs.secret.Load(), SampleIntervalSec: interval.Seconds(),
		ChatPerSecond: float64(total) / dur.Seconds()}
	// The first fifth warms up (connection pools, caches, JIT of the node servers).
	steady := windows[len(windows)/5:]
	var xs, gs, hs []float64
	for _, w := range steady {
		xs = append(xs, w.AtSeconds/60)
		gs = append(gs, float64(w.Goroutines))
		hs = append(hs, w.HeapMiB)
	}
	r.GoroutineSlope, r.HeapSlopeMiB = slope(xs, gs), slope(xs, hs)
	r.FDGrowth = steady[len(steady)-1].FDs - steady[0].FDs
	// Latency stability: the median over windows of each window's p50 and p99, first third of
	// the steady part against the last third (medians, so one noisy window on a shared machine
	// does not decide).
	windowPct := func(ws []SoakWindow, p float64) float64 {
		var per []float64
		for _, w := range ws {
			var all []float64
			for _, l := range w.lat {
				all = append(all, l...)
			}
			per = append(per, pct(all, p))
		}
		return pct(per, 50)
	}
	third := max(1, len(steady)/3)
	first, last := steady[:third], steady[len(steady)-third:]
	r.P50FirstLastMs = [2]float64{windowPct(first, 50), windowPct(last, 50)}
	r.P99FirstLastMs = [2]float64{windowPct(first, 99), windowPct(last, 99)}
	mins := dur.Minutes()
	fail := func(format string, a ...any) { r.Failures = append(r.Failures, fmt.Sprintf(format, a...)) }
	if r.Errors > 0 {
		fail("%d unexpected errors, e.g. %v", r.Errors, samples)
	}
	if r.LogErrors > 0 {
		logs.mu.Lock()
		fail("%d ERROR log lines, last: %s", r.LogErrors, logs.lastErr)
		logs.mu.Unlock()
	}
	if r.SecretInLogs {
		fail("a secret appeared in the logs")
	}
	// Flat: the fitted growth over the steady part stays within noise.
	if g := r.GoroutineSlope * mins * 0.8; g > 20 {
		fail("goroutines grow %.1f/min (%.0f over the run)", r.GoroutineSlope, g)
	}
	if h := r.HeapSlopeMiB * mins * 0.8; h > math.Max(8, 0.25*mean(hs)) {
		fail("heap grows %.2f MiB/min (%.1f MiB over the run)", r.HeapSlopeMiB, h)
	}
	if r.FDGrowth > 10 {
		fail("file descriptors grew by %d", r.FDGrowth)
	}
	if r.P50FirstLastMs[1] > 2*r.P50FirstLastMs[0]+10 {
		fail("p50 latency went from %.1f ms to %.1f ms", r.P50FirstLastMs[0], r.P50FirstLastMs[1])
	}
	if r.P99FirstLastMs[1] > 3*r.P99FirstLastMs[0]+50 {
		fail("p99 latency went from %.1f ms to %.1f ms", r.P99FirstLastMs[0], r.P99FirstLastMs[1])
	}
	if *soakReport != "" {
		b, _ := json.MarshalIndent(r, "", "  ")
		if err := os.WriteFile(*soakReport, b, 0o644); err != nil {
			t.Error(err)
		}
	}
	t.Logf("soak %s: %d requests (%.1f/s), %d errors, goroutines %+.2f/min, heap %+.3f MiB/min, fds %+d, p50 first/last %.1f/%.1f ms, p99 first/last %.1f/%.1f ms",
		dur, r.Requests, r.ChatPerSecond, r.Errors, r.GoroutineSlope, r.HeapSlopeMiB, r.FDGrowth, r.P50FirstLastMs[0], r.P50FirstLastMs[1], r.P99FirstLastMs[0], r.P99FirstLastMs[1])
	for _, f := range r.Failures {
		t.Error(f)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func countFDs() int {
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(es)
}

func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// slope is the least-squares slope of y over x.
func slope(x, y []float64) float64 {
	if len(x) < 2 {
		return 0
	}
	mx, my := mean(x), mean(y)
	var num, den float64
	for i := range x {
		num += (x[i] - mx) * (y[i] - my)
		den += (x[i] - mx) * (x[i] - mx)
	}
	if den == 0 {
		return 0
	}
	return num / den
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
