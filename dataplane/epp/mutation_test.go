package epp

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/infergw/gwctl/dataplane/pool"
	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
)

// recorder is a model server that records what reaches it and answers "hello".
type recorder struct {
	mu     sync.Mutex
	header http.Header
	body   []byte
	length int64
	host   string
	path   string
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/metrics" {
		_, _ = io.WriteString(w, "vllm:num_requests_waiting 0\nvllm:num_requests_running 0\nvllm:kv_cache_usage_perc 0\n")
		return
	}
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.header, rc.body, rc.length, rc.host, rc.path = r.Header.Clone(), b, r.ContentLength, r.Host, r.URL.Path
	rc.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "hello")
}

// What the picker changes reaches the model server and the client; what it must not change
// does not; the picker sees no client credential and learns the served endpoint.
func TestClientMutations(t *testing.T) {
	rec := &recorder{}
	up := httptest.NewServer(rec)
	t.Cleanup(up.Close)
	upAddr := strings.TrimPrefix(up.URL, "http://")
	p := startPool(t, "ns/mut", []string{upAddr}, pool.FailClose, pool.SchedulerConfig{})

	f := &fakeEPP{}
	f.script = f.pick(picks{
		dest:         upAddr,
		setHeaders:   map[string]string{"x-epp-set": "yes", "host": "evil.example", ":path": "/admin", "content-length": "1", "bad\nname": "v"},
		removeHeader: []string{"x-remove-me"},
		body:         func(b []byte) []byte { return bytes.Replace(b, []byte(`"sim-model"`), []byte(`"rewritten-model"`), 1) },
		respHeader:   map[string]string{"x-epp-resp": "1"},
		respBody:     bytes.ToUpper,
	})
	gw := startGateway(t, p, serveGRPC(t, f), pool.FailClose, Options{})

	body := chatBody("sim-model", "hi", false)
	r := post(t, gw.url, body, map[string]string{
		"Authorization": "Bearer secret-token", "X-Remove-Me": "1",
		"X-Gateway-Destination-Endpoint": "127.0.0.1:1", // a client must not steer
	})
	if r.status != http.StatusOK || r.body != "HELLO" || r.header.Get("X-Epp-Resp") != "1" {
		t.Fatalf("client got %d %q (x-epp-resp %q), want 200 HELLO with the picker's response header", r.status, r.body, r.header.Get("X-Epp-Resp"))
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	want := bytes.Replace(body, []byte(`"sim-model"`), []byte(`"rewritten-model"`), 1)
	if !bytes.Equal(rec.body, want) || rec.length != int64(len(want)) {
		t.Errorf("upstream body %q (length %d), want the picker's %q", rec.body, rec.length, want)
	}
	if rec.host == "evil.example" || rec.path != "/v1/chat/completions" {
		t.Errorf("upstream host %q path %q: the picker must not reroute", rec.host, rec.path)
	}
	if rec.header.Get("X-Epp-Set") != "yes" || rec.header.Get("X-Remove-Me") != "" {
		t.Errorf("upstream headers %v: want x-epp-set and no x-remove-me", rec.header)
	}
	if got := rec.header.Get(KeyDestination); got != upAddr {
		t.Errorf("upstream %s = %q, want the picker's %q", KeyDestination, got, upAddr)
	}
	if rec.header.Get("Authorization") != "Bearer secret-token" {
		t.Errorf("the model server lost the client's Authorization")
	}

	var sawAuth bool
	served := ""
	for _, m := range f.messages() {
		for _, h := range m.GetRequestHeaders().GetHeaders().GetHeaders() {
			if h.GetKey() == "authorization" {
				sawAuth = true
			}
			if h.GetKey() == KeyDestination {
				t.Errorf("the client's %s reached the picker", KeyDestination)
			}
		}
		if s := readServed(m.GetMetadataContext()); s != "" {
			served = s
		}
	}
	if sawAuth {
		t.Error("the client's Authorization header was sent to the picker")
	}
	if served != upAddr {
		t.Errorf("served endpoint reported %q, want %q", served, upAddr)
	}
}

// A pool endpoint the dataplane cannot connect to is left out of the subset hint, and the
// picker is told to choose among the others.
func TestClientSubsetHint(t *testing.T) {
	sims := startSims(t, 1, vllmsim.Config{})
	dead := deadAddr(t)
	p, err := pool.New(pool.Config{Name: "ns/subset", Source: pool.StaticSource{sims[0], dead}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	waitFor(t, 5*time.Second, "the dead endpoint marked unreachable", func() bool { return p.Reachable() != nil })

	f := &fakeEPP{}
	f.script = f.pick(picks{dest: sims[0]})
	gw := startGateway(t, p, serveGRPC(t, f), pool.FailClose, Options{})
	if r := post(t, gw.url, chatBody("sim-model", "hi", false), nil); r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	first := f.messages()[0]
	subset, ok := readSubset(first.GetMetadataContext())
	if !ok || len(subset) != 1 || subset[0] != sims[0] {
		t.Fatalf("subset hint %v (sent %v), want only the reachable %s", subset, ok, sims[0])
	}
	if _, ok := first.GetRequest().(*extprocv3.ProcessingRequest_RequestHeaders); !ok {
		t.Fatalf("first message %T, want the request headers", first.GetRequest())
	}
}
