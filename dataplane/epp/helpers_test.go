package epp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/infergw/gwctl/dataplane/pool"
	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
)

// startSims starts n vLLM simulators on loopback.
func startSims(t testing.TB, n int, cfg vllmsim.Config) []string {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
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
		addrs[i] = s.Addr()
	}
	return addrs
}

// startPool starts a pool over addrs and waits until the in-process picker can pick.
func startPool(t testing.TB, name string, addrs []string, fm pool.FailureMode, sc pool.SchedulerConfig) *pool.Pool {
	t.Helper()
	p, err := pool.New(pool.Config{Name: name, Source: pool.StaticSource(addrs), FailureMode: fm, Scheduler: sc, ExposeServedEndpoint: true}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	waitFor(t, 5*time.Second, "pool ready", func() bool {
		k, err := p.Pick(context.Background(), pool.PickRequest{})
		if err != nil {
			return false
		}
		k.Release()
		return true
	})
	return p
}

// serveGRPC serves an ext_proc server on loopback and returns its address: the dataplane's
// Server as Serve runs it (h2Server unless GWCTL_NOFAST=eppserver), a fake with grpc-go.
func serveGRPC(t testing.TB, srv extprocv3.ExternalProcessorServer) string {
	t.Helper()
	addr, stop := serveStoppable(t, srv)
	t.Cleanup(stop)
	return addr
}

// serveStoppable is serveGRPC with the server's stop returned (stopping twice is harmless).
func serveStoppable(t testing.TB, srv extprocv3.ExternalProcessorServer) (string, func()) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := srv.(*Server); ok && fastServer {
		h := newH2Server(s, nil, nil, int(s.maxBody)+1<<20, nil)
		go func() { _ = h.Serve(lis) }()
		return lis.Addr().String(), h.Stop
	}
	g := grpc.NewServer(ServerOptions()...)
	extprocv3.RegisterExternalProcessorServer(g, srv)
	go func() { _ = g.Serve(lis) }()
	return lis.Addr().String(), g.Stop
}

// testGateway is the dataplane side: an EPP client serving a pool on loopback HTTP.
type testGateway struct {
	c   *Client
	reg *prometheus.Registry
	url string
}

func startGateway(t testing.TB, p *pool.Pool, eppAddr string, fm pool.FailureMode, opts Options) *testGateway {
	t.Helper()
	reg := prometheus.NewRegistry()
	c, err := NewClient(opts, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	srv := httptest.NewServer(c.Handler(p, Picker{Address: eppAddr, FailureMode: fm}))
	t.Cleanup(srv.Close)
	return &testGateway{c: c, reg: reg, url: srv.URL}
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

func chatBody(model, prompt string, stream bool) []byte {
	b, _ := json.Marshal(map[string]any{
		"model": model, "stream": stream, "max_tokens": 4,
		"messages": []map[string]string{{"role": "user", "content": prompt}},
	})
	return b
}

type result struct {
	status  int
	header  http.Header
	body    string
	errType string
}

// post sends a chat completion and reads the whole answer.
func post(t testing.TB, url string, body []byte, hdr map[string]string) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/v1/chat/completions", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatal(err)
	}
	r := result{status: resp.StatusCode, header: resp.Header, body: string(b)}
	var e struct {
		Error struct{ Type string } `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil {
		r.errType = e.Error.Type
	}
	return r
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// sseText concatenates the content deltas of a streamed chat completion.
func sseText(body string) string {
	var b strings.Builder
	for _, line := range strings.Split(body, "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var ch struct {
			Choices []struct {
				Delta struct{ Content string } `json:"delta"`
			} `json:"choices"`
		}
		if json.Unmarshal([]byte(data), &ch) == nil && len(ch.Choices) > 0 {
			b.WriteString(ch.Choices[0].Delta.Content)
		}
	}
	return b.String()
}
