package pool

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
)

func TestEndpointDiesAndComesBack(t *testing.T) {
	sims := startFleet(t, 3, fastSim())
	sc := fastSched()
	sc.ScrapeInterval = 200 * time.Millisecond // the proxy, not the scraper, must notice the death
	p, srv := startPool(t, Config{Source: addrs(sims), Scheduler: sc}, 3)
	system := strings.Repeat("shared system prompt ", 40)
	res, err := doChat(context.Background(), srv.Client(), srv.URL, chatBody("sim-model", system, "q", 2, true), nil)
	if err != nil || res.status != 200 {
		t.Fatalf("warm-up: %+v %v", res, err)
	}
	var victim *vllmsim.Server
	for _, s := range sims {
		if s.Addr() == res.served {
			victim = s
		}
	}
	victim.Kill()
	// Prefix affinity still points at the dead endpoint: the request must fall back.
	res, err = doChat(context.Background(), srv.Client(), srv.URL, chatBody("sim-model", system, "q", 2, true), nil)
	if err != nil || res.status != 200 || res.served == victim.Addr() {
		t.Fatalf("after kill: %+v %v", res, err)
	}
	if p.candidates() != 2 {
		t.Fatalf("dead endpoint still a candidate (%d candidates)", p.candidates())
	}
	for range 10 {
		res, err := doChat(context.Background(), srv.Client(), srv.URL, chatBody("sim-model", "other", "q", 1, false), nil)
		if err != nil || res.status != 200 {
			t.Fatalf("while one endpoint is dead: %+v %v", res, err)
		}
	}
	if err := victim.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "revived endpoint back among the candidates", func() bool { return p.candidates() == 3 })
}

func TestStaleMetricsFailOpenAndFailClose(t *testing.T) {
	sims := startFleet(t, 2, fastSim())
	pOpen, open := startPool(t, Config{Name: "ns/open", FailureMode: FailOpen, Source: addrs(sims), Scheduler: fastSched()}, 2)
	pClose, closed := startPool(t, Config{Name: "ns/close", Source: addrs(sims), Scheduler: fastSched()}, 2)
	for _, s := range sims {
		s.SetFaults(vllmsim.Faults{MetricsStall: true})
	}
	waitFor(t, 3*time.Second, "stale metrics drop every endpoint", func() bool { return pOpen.candidates() == 0 && pClose.candidates() == 0 })

	body := chatBody("sim-model", "s", "u", 1, false)
	res, err := doChat(context.Background(), closed.Client(), closed.URL, body, nil)
	if err != nil || res.status != http.StatusServiceUnavailable || res.errType != "service_unavailable" {
		t.Fatalf("FailClose: %+v %v", res, err)
	}
	res, err = doChat(context.Background(), open.Client(), open.URL, body, nil)
	if err != nil || res.status != http.StatusOK {
		t.Fatalf("FailOpen: %+v %v", res, err)
	}

	for _, s := range sims {
		s.SetFaults(vllmsim.Faults{})
	}
	waitFor(t, 3*time.Second, "fresh metrics again", func() bool { return pClose.candidates() == 2 })
	if res, err = doChat(context.Background(), closed.Client(), closed.URL, body, nil); err != nil || res.status != http.StatusOK {
		t.Fatalf("FailClose after recovery: %+v %v", res, err)
	}
}

func TestFailOpenWithMetricsErrors(t *testing.T) {
	sims := startFleet(t, 2, fastSim())
	p, srv := startPool(t, Config{FailureMode: FailOpen, Source: addrs(sims), Scheduler: fastSched()}, 2)
	for _, s := range sims {
		s.SetFaults(vllmsim.Faults{MetricsError: true})
	}
	waitFor(t, 3*time.Second, "failing scrapes drop every endpoint", func() bool { return p.candidates() == 0 })
	res, err := doChat(context.Background(), srv.Client(), srv.URL, chatBody("sim-model", "s", "u", 1, false), nil)
	if err != nil || res.status != http.StatusOK {
		t.Fatalf("FailOpen with failing scrapes: %+v %v", res, err)
	}
}

// saturate starts long requests on every endpoint and returns a func that cancels them.
func saturate(t *testing.T, url string, n int) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = doChat(ctx, http.DefaultClient, url, chatBody("sim-model", fmt.Sprintf("filler %d", i), "u", 500, true), nil)
		}()
	}
	return func() { cancel(); wg.Wait() }
}

func TestShedding(t *testing.T) {
	simCfg := fastSim()
	simCfg.MaxNumSeqs = 1
	simCfg.DecodePerToken = 20 * time.Millisecond
	for _, tc := range []struct {
		name  string
		sched SchedulerConfig
	}{
		{"saturation filter", fastSched()},
		{"reference admission", func() SchedulerConfig {
			s := ReferenceScheduler()
			s.ScrapeInterval, s.StalenessThreshold = 5*time.Millisecond, 300*time.Millisecond
			return s
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sims := startFleet(t, 2, simCfg)
			p, srv := startPool(t, Config{Source: addrs(sims), Scheduler: tc.sched, Objectives: map[string]int{"batch": -1, "chat": 10}}, 2)
			sheddable := map[string]string{HeaderObjective: "batch"}
			// Not saturated: a sheddable request is served.
			if res, err := doChat(context.Background(), srv.Client(), srv.URL, chatBody("sim-model", "s", "u", 1, false), sheddable); err != nil || res.status != 200 {
				t.Fatalf("unsaturated sheddable: %+v %v", res, err)
			}
			for _, s := range sims {
				stop := saturate(t, "http://"+s.Addr(), 8)
				defer stop()
			}
			waitFor(t, 5*time.Second, "every endpoint over the queue threshold", func() bool {
				for _, s := range sims {
					if s.Stats().Waiting < 7 {
						return false
					}
				}
				return true
			})
			waitFor(t, time.Second, "scrape sees the queues", func() bool {
				for _, e := range *p.eps.Load() {
					if s := e.last.Load(); s == nil || s.m.Waiting < 7 {
						return false
					}
				}
				return true
			})
			res, err := doChat(context.Background(), srv.Client(), srv.URL, chatBody("sim-model", "s", "u", 1, false), sheddable)
			if err != nil || res.status != http.StatusTooManyRequests || res.errType != "rate_limit_exceeded" {
				t.Fatalf("saturated sheddable: %+v %v", res, err)
			}
			// A non-sheddable request is admitted (streaming headers arrive before it is scheduled on the server).
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/chat/completions",
				strings.NewReader(string(chatBody("sim-model", "s", "u", 1, true))))
			req.Header.Set(HeaderObjective, "chat")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("saturated critical request: status %d", resp.StatusCode)
			}
		})
	}
}

func TestInFlightSpreadsBursts(t *testing.T) {
	// Three endpoints are busy with one long request each, one is idle: the scraped metrics make
	// the idle one best for every request of a burst that arrives before the next scrape.
	for _, tc := range []struct {
		name    string
		sched   SchedulerConfig
		maxIdle int // most burst requests the idle endpoint may get
		minIdle int
	}{
		{"in-flight accounting", fastSched(), 6, 0},
		{"reference", ReferenceScheduler(), 12, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			simCfg := fastSim()
			simCfg.MaxNumSeqs = 2
			sims := startFleet(t, 4, simCfg)
			sc := tc.sched
			sc.ScrapeInterval, sc.StalenessThreshold = time.Hour, time.Hour // freeze metrics during the burst
			sc.ScrapeTimeout = 5 * time.Second                              // the one scrape must not fail on a slow machine
			p, srv := startPool(t, Config{Source: addrs(sims), Scheduler: sc}, 4)
			for i, s := range sims[1:] {
				stop := saturate(t, "http://"+s.Addr(), 1)
				defer stop()
				waitFor(t, 2*time.Second, fmt.Sprintf("sim %d busy", i+1), func() bool { return s.Stats().Running == 1 })
			}
			for _, e := range *p.eps.Load() {
				p.scrapeOnce(context.Background(), e)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var mu sync.Mutex
			served := map[string]int{}
			var open []*http.Response
			defer func() {
				for _, r := range open {
					r.Body.Close()
				}
			}()
			var wg sync.WaitGroup
			for i := range 12 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/chat/completions",
						strings.NewReader(string(chatBody("sim-model", fmt.Sprintf("burst prompt %d", i), "u", 300, true))))
					resp, err := srv.Client().Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					served[resp.Header.Get(HeaderServed)]++
					open = append(open, resp) // keep the request in flight until the burst is over
					mu.Unlock()
				}()
				time.Sleep(time.Millisecond) // requests arrive one after another, as in a burst
			}
			wg.Wait()
			idle := served[sims[0].Addr()]
			if idle > tc.maxIdle || idle < tc.minIdle {
				t.Fatalf("idle endpoint got %d of 12 burst requests (served %v), want %d..%d", idle, served, tc.minIdle, tc.maxIdle)
			}
		})
	}
}

func TestBodylessAndUnbufferedRequests(t *testing.T) {
	sims := startFleet(t, 2, fastSim())
	sc := fastSched()
	sc.Weights = Weights{Queue: 1, KVCache: 1} // no scorer needs the body
	p, srv := startPool(t, Config{Source: addrs(sims), Scheduler: sc}, 2)
	r, _ := http.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
	r.ContentLength = 2
	if p.needsBody(r) {
		t.Fatal("body needed without prefix or LoRA scorers")
	}
	resp, err := srv.Client().Get(srv.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /v1/models: %d", resp.StatusCode)
	}
	// The body streams through untouched and reaches the model server.
	res, err := doChat(context.Background(), srv.Client(), srv.URL, chatBody("sim-model", "s", "u", 3, true), nil)
	if err != nil || res.status != 200 || res.outTok != 3 {
		t.Fatalf("unbuffered chat: %+v %v", res, err)
	}
}

func TestPoolMetrics(t *testing.T) {
	sims := startFleet(t, 2, fastSim())
	reg := prometheus.NewPedanticRegistry()
	p, err := New(Config{Name: "ns/m", Source: addrs(sims), Scheduler: fastSched()}, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	waitFor(t, 2*time.Second, "candidates", func() bool { return p.candidates() == 2 })
	rec := &discardWriter{h: http.Header{}}
	req, _ := http.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(string(chatBody("sim-model", "s", "u", 1, false))))
	req.ContentLength = int64(len(chatBody("sim-model", "s", "u", 1, false)))
	p.ServeHTTP(rec, req)
	if rec.status != 200 {
		t.Fatalf("status %d", rec.status)
	}
	if v := rec.h.Get(HeaderServed); v != "" {
		t.Fatalf("served endpoint %q revealed without ExposeServedEndpoint", v)
	}
	n, err := testutil.GatherAndCount(reg, "gwctl_pool_pick_duration_seconds", "gwctl_pool_requests_total",
		"gwctl_pool_endpoint_waiting", "gwctl_pool_endpoint_metrics_age_seconds", "gwctl_pool_endpoint_candidate", "gwctl_pool_endpoint_in_flight")
	if err != nil {
		t.Fatal(err)
	}
	if n != 1+1+2+2+2+2 {
		t.Fatalf("gathered %d series", n)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP gwctl_pool_requests_total Requests by picking outcome (picked, fail_open, forwarded: picked by an endpoint picker over ext_proc, shed, no_endpoint, bad_request, upstream_error).
# TYPE gwctl_pool_requests_total counter
gwctl_pool_requests_total{outcome="picked",pool="ns/m"} 1
`), "gwctl_pool_requests_total"); err != nil {
		t.Fatal(err)
	}

	// A reload builds the same pool again while the old one serves: the new pool takes over the
	// series (counters continue, endpoint gauges follow the new pool) instead of failing.
	p2, err := New(Config{Name: "ns/m", Source: addrs(sims[:1]), Scheduler: fastSched()}, nil, reg)
	if err != nil {
		t.Fatalf("rebuilding a pool of the same name: %v", err)
	}
	if err := p2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	p.Close()
	waitFor(t, 2*time.Second, "candidates", func() bool { return p2.candidates() == 1 })
	req, _ = http.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(string(chatBody("sim-model", "s", "u", 1, false))))
	req.ContentLength = int64(len(chatBody("sim-model", "s", "u", 1, false)))
	p2.ServeHTTP(rec, req)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP gwctl_pool_requests_total Requests by picking outcome (picked, fail_open, forwarded: picked by an endpoint picker over ext_proc, shed, no_endpoint, bad_request, upstream_error).
# TYPE gwctl_pool_requests_total counter
gwctl_pool_requests_total{outcome="picked",pool="ns/m"} 2
`), "gwctl_pool_requests_total"); err != nil {
		t.Fatal(err)
	}
	if n, _ := testutil.GatherAndCount(reg, "gwctl_pool_endpoint_candidate"); n != 1 {
		t.Fatalf("endpoint gauges after the rebuild: %d series, want the new pool's 1", n)
	}
}

type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	return len(b), nil
}
func (w *discardWriter) WriteHeader(s int) { w.status = s }
