package pool

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/pool/pooltest"
	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
)

var poolLog = flag.Bool("pool.log", false, "log pool warnings to stderr in tests")

// startFleet starts n simulators on loopback and stops them at cleanup.
func startFleet(t testing.TB, n int, cfg vllmsim.Config) []*vllmsim.Server {
	t.Helper()
	sims := make([]*vllmsim.Server, n)
	for i := range sims {
		c := cfg
		c.Seed = uint64(i + 1)
		s, err := vllmsim.New(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		sims[i] = s
	}
	return sims
}

func addrs(sims []*vllmsim.Server) StaticSource {
	out := make(StaticSource, len(sims))
	for i, s := range sims {
		out[i] = s.Addr()
	}
	return out
}

// startPool builds and starts a pool, serves it on loopback and waits until want endpoints are candidates.
func startPool(t testing.TB, cfg Config, want int) (*Pool, *httptest.Server) {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "default/test"
	}
	cfg.ExposeServedEndpoint = true
	var logger *slog.Logger
	if *poolLog {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p, err := New(cfg, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	waitFor(t, 5*time.Second, fmt.Sprintf("%d candidates", want), func() bool { return p.candidates() == want })
	return p, srv
}

// candidates counts endpoints that may be picked now.
func (p *Pool) candidates() int {
	n := 0
	for _, e := range *p.eps.Load() {
		if e.candidate(time.Now(), &p.cfg.Scheduler) {
			n++
		}
	}
	return n
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond) // polling interval, not a wait for an event
	}
}

type chatResult struct {
	status  int
	served  string
	body    string
	ttft    time.Duration
	e2e     time.Duration
	outTok  int
	cached  int
	chunks  int
	errType string
}

func chatBody(model, system, user string, maxTokens int, stream bool) []byte {
	return pooltest.ChatBody(model, system, user, maxTokens, stream)
}

// doChat posts a chat completion and reads it to the end, measuring TTFT on the first content chunk.
func doChat(ctx context.Context, client *http.Client, url string, body []byte, hdr map[string]string) (chatResult, error) {
	r, err := pooltest.DoChat(ctx, client, url, body, hdr)
	return chatResult{status: r.Status, served: r.Served, body: r.Body, ttft: r.TTFT, e2e: r.E2E, outTok: r.OutTok,
		cached: r.Cached, chunks: r.Chunks, errType: r.ErrType}, err
}
