package pool

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
)

// metricsServer is a simulator behind a loopback server that counts its metrics requests and
// its connections; stall makes its metrics requests hang until the test ends.
type metricsServer struct {
	*httptest.Server
	scrapes, conns, open atomic.Int64
	stall                atomic.Bool
}

func startMetricsServer(t *testing.T, h func(http.ResponseWriter, *http.Request)) *metricsServer {
	t.Helper()
	sim, err := vllmsim.New(vllmsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ms := &metricsServer{}
	end := make(chan struct{})
	ms.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ms.scrapes.Add(1)
		if ms.stall.Load() {
			<-end
			return
		}
		if h != nil {
			h(w, r)
			return
		}
		sim.ServeHTTP(w, r)
	}))
	ms.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			ms.conns.Add(1)
			ms.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			ms.open.Add(-1)
		}
	}
	ms.Start()
	t.Cleanup(func() { close(end); ms.Close() })
	return ms
}

func (ms *metricsServer) addr() string { return ms.Listener.Addr().String() }

func startScraping(t *testing.T, src Source, sc SchedulerConfig) *Pool {
	t.Helper()
	p, err := New(Config{Name: "ns/scrape", Source: src, Scheduler: sc, ResolveInterval: 10 * time.Millisecond}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func (p *Pool) endpoint(addr string) *endpoint {
	for _, e := range *p.eps.Load() {
		if e.addr == addr {
			return e
		}
	}
	return nil
}

// Every endpoint is scraped each interval, over one kept connection (batched scrapes), and the
// pool's Close closes those connections.
func TestScrapeRoundsReachEveryEndpoint(t *testing.T) {
	servers := make([]*metricsServer, 4)
	var src StaticSource
	for i := range servers {
		servers[i] = startMetricsServer(t, nil)
		src = append(src, servers[i].addr())
	}
	sc := DefaultScheduler()
	sc.ScrapeInterval = 10 * time.Millisecond
	p := startScraping(t, src, sc)
	start := time.Now()
	waitFor(t, 10*time.Second, "30 scrapes of every endpoint", func() bool {
		for _, s := range servers {
			if s.scrapes.Load() < 30 {
				return false
			}
		}
		return true
	})
	// 30 intervals of 10ms: a round that skipped an endpoint would take it to 60 intervals.
	elapsed := time.Since(start)
	for i, s := range servers {
		if n := s.scrapes.Load(); float64(n) < 0.5*float64(elapsed/sc.ScrapeInterval) {
			t.Errorf("endpoint %d: %d scrapes in %v of %v intervals", i, n, elapsed, sc.ScrapeInterval)
		}
		if n := s.conns.Load(); p.batch && n != 1 {
			t.Errorf("endpoint %d: %d connections for %d scrapes, want them kept", i, n, s.scrapes.Load())
		}
		if e := p.endpoint(s.addr()); e == nil || !e.candidate(time.Now(), &p.cfg.Scheduler) {
			t.Errorf("endpoint %d is not a candidate", i)
		}
	}
	_ = p.Close()
	if !p.batch {
		return // the pool's HTTP client keeps its idle connections
	}
	waitFor(t, 5*time.Second, "the servers' connections to close", func() bool {
		for _, s := range servers {
			if s.open.Load() != 0 {
				return false
			}
		}
		return true
	})
}

// An endpoint whose metrics stall holds back no other endpoint's samples: the round goes on
// without it, each interval, and it leaves the candidates after its scrapes time out.
func TestScrapeStallHoldsBackNoOther(t *testing.T) {
	stalled := startMetricsServer(t, nil)
	others := []*metricsServer{startMetricsServer(t, nil), startMetricsServer(t, nil)}
	src := StaticSource{stalled.addr(), others[0].addr(), others[1].addr()} // the stalled one's reply is read first
	sc := DefaultScheduler()
	sc.ScrapeInterval = 10 * time.Millisecond
	sc.ScrapeTimeout = 300 * time.Millisecond
	sc.UnhealthyAfter = 2
	p := startScraping(t, src, sc)
	waitFor(t, 10*time.Second, "every endpoint's kept connection", func() bool { return stalled.scrapes.Load() >= 5 && others[1].scrapes.Load() >= 5 })
	stalled.stall.Store(true)
	e := p.endpoint(stalled.addr())
	n0 := []int64{others[0].scrapes.Load(), others[1].scrapes.Load()}
	start := time.Now()
	waitFor(t, 10*time.Second, "the stalled endpoint to leave the candidates", func() bool { return !e.candidate(time.Now(), &p.cfg.Scheduler) })
	elapsed := time.Since(start)
	if elapsed < sc.ScrapeTimeout {
		t.Fatalf("the stalled endpoint left after %v, before its scrape could time out", elapsed)
	}
	for i, o := range others {
		n := o.scrapes.Load() - n0[i]
		if float64(n) < 0.5*float64(elapsed/sc.ScrapeInterval) {
			t.Errorf("endpoint %d: %d scrapes in the %v the stalled one took to leave (interval %v)", i+1, n, elapsed, sc.ScrapeInterval)
		}
		if e := p.endpoint(o.addr()); !e.candidate(time.Now(), &p.cfg.Scheduler) {
			t.Errorf("endpoint %d left the candidates beside the stalled one", i+1)
		}
	}
}

// A kept connection the server closed while it was idle is no failed scrape: the endpoint is
// scraped on a new one at once.
func TestScrapeConnClosedByServer(t *testing.T) {
	sim, err := vllmsim.New(vllmsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	// Each reply ends its connection without saying so (no "Connection: close"), as a server
	// does that closes idle connections between two scrapes.
	ms := startMetricsServer(t, func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, r)
		nc, bw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer nc.Close()
		fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", rec.Body.Len(), rec.Body.Bytes())
		_ = bw.Flush()
	})
	sc := DefaultScheduler()
	sc.ScrapeInterval = 5 * time.Millisecond
	p := startScraping(t, StaticSource{ms.addr()}, sc)
	var mu sync.Mutex
	waitFor(t, 10*time.Second, "20 scrapes", func() bool {
		mu.Lock()
		defer mu.Unlock()
		if e := p.endpoint(ms.addr()); e != nil && e.fails.Load() != 0 {
			t.Fatalf("%d failed scrapes", e.fails.Load())
		}
		return ms.scrapes.Load() >= 20
	})
	if n := testutil.ToFloat64(p.metrics.scrapeErrors.WithLabelValues(ms.addr())); n != 0 {
		t.Fatalf("%v scrape errors counted", n)
	}
}

// An endpoint added to the pool is scraped at once, not at the next tick; one that leaves it
// is no longer scraped and its kept connection (batched scrapes) is closed.
func TestScrapeEndpointsComeAndGo(t *testing.T) {
	a, b := startMetricsServer(t, nil), startMetricsServer(t, nil)
	var src switchSource
	src.set(a.addr())
	sc := DefaultScheduler()
	sc.ScrapeInterval = time.Hour // only Start and the additions scrape
	p := startScraping(t, &src, sc)
	waitFor(t, 5*time.Second, "a's first scrape", func() bool { return a.scrapes.Load() == 1 })
	src.set(a.addr(), b.addr())
	waitFor(t, 5*time.Second, "b's scrape when it joined", func() bool {
		e := p.endpoint(b.addr())
		return e != nil && e.last.Load() != nil
	})
	if p.batch {
		waitFor(t, 5*time.Second, "b's kept connection", func() bool { return b.open.Load() == 1 })
	}
	src.set(a.addr())
	waitFor(t, 5*time.Second, "b to leave", func() bool { return p.endpoint(b.addr()) == nil })
	if n := b.scrapes.Load(); n != 1 {
		t.Errorf("b was scraped %d times, want once (when it joined)", n)
	}
	if p.batch {
		waitFor(t, 5*time.Second, "b's connection to close", func() bool { return b.open.Load() == 0 })
	}
}

// switchSource is a Source whose endpoints the test sets.
type switchSource struct {
	mu    sync.Mutex
	addrs []string
}

func (s *switchSource) set(addrs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addrs = addrs
}

func (s *switchSource) Endpoints(context.Context, []int) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.addrs...), nil
}

// An endpoint the pool's HTTP client would reach through a proxy (HTTP_PROXY) is scraped
// through that client, not on a kept connection of its own.
func TestScrapeProxiedEndpointUsesTheClient(t *testing.T) {
	ms := startMetricsServer(t, nil)
	sc := DefaultScheduler()
	sc.ScrapeInterval = 5 * time.Millisecond
	p, err := New(Config{Name: "ns/proxied", Source: StaticSource{ms.addr()}, Scheduler: sc}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var asked atomic.Int64
	// Only the pool's choice is faked: the client itself still connects directly.
	p.scrapeProxy = func(*http.Request) (*url.URL, error) { asked.Add(1); return url.Parse("http://proxy.invalid:3128") }
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	waitFor(t, 10*time.Second, "10 scrapes", func() bool { return ms.scrapes.Load() >= 10 })
	e := p.endpoint(ms.addr())
	e.scraping.Lock()
	kept := e.conn != nil
	e.scraping.Unlock()
	if kept || (p.batch && asked.Load() == 0) {
		t.Fatalf("kept connection %v, proxy asked %d times: want the pool's client for every scrape", kept, asked.Load())
	}
}
