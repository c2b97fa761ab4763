package pool

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/pool/metricsparse"
)

// benchPool is a pool with n endpoints holding fresh metrics and a warm prefix index, no I/O.
func benchPool(b *testing.B, n int, sc SchedulerConfig) *Pool {
	b.Helper()
	p, err := New(Config{Name: "bench", Source: StaticSource{}, Scheduler: sc}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	eps := make([]*endpoint, n)
	now := time.Now().Add(time.Hour) // fresh for the whole benchmark
	for i := range eps {
		e := &endpoint{addr: fmt.Sprintf("10.0.%d.%d:8000", i/256, i%256), slot: p.index.addSlot(31250)}
		e.record(metricsparse.Metrics{
			Waiting: float64(rng.IntN(4)), Running: float64(rng.IntN(8)), KVUsage: rng.Float64() * 0.7,
			HasWaiting: true, HasRunning: true, HasKVUsage: true, HasLoRA: true, MaxLoRA: 4,
			RunningAdapters: []string{"a"}, BlockSize: 16, NumGPUBlocks: 31250,
		}, now)
		eps[i] = e
	}
	p.eps.Store(&eps)
	return p
}

func benchPrompt(groups int) [][]uint64 {
	out := make([][]uint64, groups)
	for g := range out {
		prompt := []byte(strings.Repeat(fmt.Sprintf("group %d system prompt ", g), 1000)[:16000]) // 4,000 tokens
		out[g] = hashBlocks(nil, "m", prompt, 64, 256)
	}
	return out
}

// BenchmarkPick measures one scheduling decision (candidates, views, admission, the four scorers
// including the prefix match, max-score picker with fallbacks, in-flight update) for a
// 4,000-token prompt (250 blocks). Learning the pick is BenchmarkLearn.
func BenchmarkPick(b *testing.B) {
	for _, n := range []int{16, 128} {
		b.Run(fmt.Sprintf("endpoints=%d", n), func(b *testing.B) {
			p := benchPool(b, n, DefaultScheduler())
			prompts := benchPrompt(32)
			for i, h := range prompts { // warm index: each prompt learned somewhere
				p.index.learn(i%n, h)
			}
			req := &request{model: "m", adapter: "a", hasBody: true, tokens: 4000}
			now := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				req.hashes = prompts[i%len(prompts)]
				d, err := p.schedule(req, now)
				if err != nil {
					b.Fatal(err)
				}
				d.order[0].inFlight.Add(-1)
				d.order[0].tokens.Add(-d.tokens)
			}
		})
	}
}

// BenchmarkLearn measures teaching the prefix index a 4,000-token prompt the endpoint already
// holds (250 LRU touches), the common case after a prefix-affine pick.
func BenchmarkLearn(b *testing.B) {
	p := benchPool(b, 16, DefaultScheduler())
	prompts := benchPrompt(32)
	for i, h := range prompts {
		p.index.learn(i%16, h)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.index.learn(i%16, prompts[i%len(prompts)])
	}
}

// BenchmarkHashPrompt measures cutting and chain-hashing a 4,000-token prompt (16,000 bytes, 250 blocks).
func BenchmarkHashPrompt(b *testing.B) {
	prompt := []byte(strings.Repeat("The quick brown fox jumps over the lazy dog. ", 400)[:16000])
	buf := make([]uint64, 0, 256)
	b.SetBytes(int64(len(prompt)))
	b.ReportAllocs()
	for b.Loop() {
		buf = hashBlocks(buf[:0], "Qwen/Qwen3-32B", prompt, 64, 256)
	}
	if len(buf) != 250 {
		b.Fatalf("%d blocks", len(buf))
	}
}

// BenchmarkParseRequest measures buffering and decoding a chat body with a 4,000-token prompt.
func BenchmarkParseRequest(b *testing.B) {
	p := benchPool(b, 1, DefaultScheduler())
	body := chatBody("m", strings.Repeat("system prompt text ", 800)[:14000], strings.Repeat("q", 2000), 100, true)
	buf := make([]uint64, 0, 256)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req := &request{body: body}
		if err := p.decodeBody(req, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScrape is one scrape of one endpoint as the scrape loop makes it (request, response
// over a kept-alive loopback connection, parse), against a server that answers with a real vLLM
// server's exposition; the server's side runs in this process too.
func BenchmarkScrape(b *testing.B) {
	body, err := os.ReadFile("metricsparse/testdata/vllm-full.prom")
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }))
	defer srv.Close()
	p, err := New(Config{Name: "bench", Source: StaticSource{}, Scheduler: DefaultScheduler()}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	addr := srv.Listener.Addr().String()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.scrape(context.Background(), addr); err != nil {
			b.Fatal(err)
		}
	}
}
