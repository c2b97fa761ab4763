package h1_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// reply is what a raw upstream does for request n (from 0) on its connection c (from 0): the
// bytes it writes, and whether it closes the connection after them (reply "" and close: it
// closes without answering).
type reply func(c, n int, req *http.Request) (out string, closeAfter bool)

// rawUpstream is an HTTP/1.1 server on loopback that answers with exact bytes and records every
// byte it receives and every connection it accepts.
type rawUpstream struct {
	t     testing.TB
	ln    net.Listener
	reply reply
	early bool // answer before reading the request body (and read it after)
	quiet bool // record nothing (for benchmarks)

	mu       sync.Mutex
	received bytes.Buffer
	accepts  int
	open     int
	wg       sync.WaitGroup
	conns    map[net.Conn]bool
}

// newRawUpstream starts an upstream answering with r; set sets its options before it serves.
func newRawUpstream(t testing.TB, r reply, set ...func(*rawUpstream)) *rawUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &rawUpstream{t: t, ln: ln, reply: r, conns: map[net.Conn]bool{}}
	for _, f := range set {
		f(u)
	}
	u.wg.Add(1)
	go u.serve()
	t.Cleanup(u.close)
	return u
}

func (u *rawUpstream) URL() string { return "http://" + u.ln.Addr().String() }

func (u *rawUpstream) close() {
	u.ln.Close()
	u.mu.Lock()
	for c := range u.conns {
		c.Close()
	}
	u.mu.Unlock()
	u.wg.Wait()
}

func (u *rawUpstream) serve() {
	defer u.wg.Done()
	for {
		c, err := u.ln.Accept()
		if err != nil {
			return
		}
		u.mu.Lock()
		idx := u.accepts
		u.accepts++
		u.open++
		u.conns[c] = true
		u.mu.Unlock()
		u.wg.Add(1)
		go func() {
			defer u.wg.Done()
			defer func() {
				c.Close()
				u.mu.Lock()
				u.open--
				delete(u.conns, c)
				u.mu.Unlock()
			}()
			u.conn(idx, c)
		}()
	}
}

func (u *rawUpstream) conn(idx int, c net.Conn) {
	var r io.Reader = c
	if !u.quiet {
		r = io.TeeReader(c, recorder{u})
	}
	br := bufio.NewReader(r)
	var last string
	var lastBytes []byte
	for n := 0; ; n++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if !u.early {
			if _, err := io.Copy(io.Discard, req.Body); err != nil {
				return
			}
		}
		out, closeAfter := u.reply(idx, n, req)
		if out != last {
			last, lastBytes = out, []byte(out)
		}
		if out != "" {
			if _, err := c.Write(lastBytes); err != nil {
				return
			}
		}
		if u.early {
			if _, err := io.Copy(io.Discard, req.Body); err != nil {
				return
			}
		}
		if closeAfter {
			return
		}
	}
}

type recorder struct{ u *rawUpstream }

func (r recorder) Write(p []byte) (int, error) {
	r.u.mu.Lock()
	r.u.received.Write(p)
	r.u.mu.Unlock()
	return len(p), nil
}

func (u *rawUpstream) stats() (accepts, open int, received string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.accepts, u.open, u.received.String()
}

// waitFor polls cond until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// noLeak fails t when a goroutine of package h1 (one it started, or running its code) is still
// there after 5 s.
func noLeak(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(stacks, "gwctl/dataplane/h1.") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines of h1 left:\n%s", stacks)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
