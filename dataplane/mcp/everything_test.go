package mcp

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/infergw/gwctl/pkg/testenv"
)

// everything is a running @modelcontextprotocol/server-everything on loopback.
type everything struct {
	URL string
	cmd *exec.Cmd
	out *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startEverything runs server-everything in the given transport mode ("streamableHttp" or "sse")
// on a free loopback port, waits until it accepts connections, and stops it at cleanup.
func startEverything(t testing.TB, mode string) *everything {
	t.Helper()
	node, dir := testenv.NodeModule(t, "@modelcontextprotocol/server-everything")
	preload, err := filepath.Abs(filepath.Join("testdata", "loopback.cjs"))
	if err != nil {
		t.Fatal(err)
	}
	port := testenv.FreePort(t)
	cmd := exec.Command(node, "-r", preload, filepath.Join(dir, "dist", "index.js"), mode)
	// A minimal environment: the server's get-env tool would reveal anything passed here.
	cmd.Env = []string{"PORT=" + strconv.Itoa(port), "PATH=" + os.Getenv("PATH"), "NODE_ENV=test"}
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start server-everything: %v", err)
	}
	e := &everything{cmd: cmd, out: out}
	t.Cleanup(func() { e.stop() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server-everything did not listen on %s within 20s: %v\n%s", addr, err, out.String())
		}
		if cmd.ProcessState != nil {
			t.Fatalf("server-everything exited: %s", out.String())
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not a wait for an event
	}
	path := "/mcp"
	if mode == "sse" {
		path = "/sse"
	}
	e.URL = "http://" + addr + path
	return e
}

// stop kills the server and waits for it to exit.
func (e *everything) stop() {
	if e.cmd.Process == nil || e.cmd.ProcessState != nil {
		return
	}
	_ = e.cmd.Process.Signal(syscall.SIGKILL)
	_ = e.cmd.Wait()
}

var testKey = bytes.Repeat([]byte{0x42}, 32)

// serveGateway serves a handler for cfg on a loopback httptest server.
func serveGateway(t testing.TB, cfg Config) (*Handler, *httptest.Server) {
	t.Helper()
	if cfg.SessionKey == nil {
		cfg.SessionKey = testKey
	}
	h, err := New(cfg, Deps{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// roundRobin sends successive requests to different gateway replicas.
type roundRobin struct {
	mu    sync.Mutex
	hosts []string
	n     int
	seen  map[string]int
}

func (rr *roundRobin) RoundTrip(req *http.Request) (*http.Response, error) {
	rr.mu.Lock()
	host := rr.hosts[rr.n%len(rr.hosts)]
	rr.n++
	if rr.seen == nil {
		rr.seen = map[string]int{}
	}
	rr.seen[host]++
	rr.mu.Unlock()
	r := req.Clone(req.Context())
	r.URL.Host = host
	r.Host = host
	return http.DefaultTransport.RoundTrip(r)
}
