package h1server_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/h1server"
)

// served runs one server with h and returns its address.
func serve(t *testing.T, hs *http.Server) (*h1server.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &h1server.Server{HTTP: hs}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v, want http.ErrServerClosed", err)
		}
	})
	return s, ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// The requests the fast loop serves itself, and those it hands to net/http.
func TestFastPathServes(t *testing.T) {
	kind := make(chan string, 1)
	_, addr := serve(t, newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind <- fmt.Sprintf("%T", w)
	}), 56<<10))
	for _, tc := range []struct {
		req  string
		fast bool
	}{
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nab", true},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n", true},
		{"GET / HTTP/1.0\r\nHost: a\r\n\r\n", false},
		{"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", false},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nab", false},
		{"GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("x", 5000) + "\r\n\r\n", false},
	} {
		c := dial(t, addr)
		io.WriteString(c, tc.req)
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%q: %v", tc.req, err)
		}
		res.Body.Close()
		got := <-kind
		if fast := got == "*h1server.response"; fast != tc.fast {
			t.Errorf("%.60q: served by %s, fast %v", tc.req, got, tc.fast)
		}
	}
}

// After a request, an HTTP/2 preface does not switch the connection to HTTP/2 (net/http looks
// for it only at a connection's start; a hand-off would start net/http anew): it is closed.
func TestPrefaceAfterRequest(t *testing.T) {
	_, addr := serve(t, newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }), 56<<10))
	c := dial(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(res.Body)
	if rest, err := io.ReadAll(br); err != nil || len(rest) > 0 {
		t.Errorf("after the preface: %q, %v; want the connection closed", rest, err)
	}
}

// With ReadTimeout or WriteTimeout set, net/http serves every connection.
func TestTimeoutsGoToNetHTTP(t *testing.T) {
	kind := make(chan string, 1)
	hs := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { kind <- fmt.Sprintf("%T", w) }), 56<<10)
	hs.WriteTimeout = time.Minute
	_, addr := serve(t, hs)
	c := dial(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
		t.Fatal(err)
	}
	if got := <-kind; got == "*h1server.response" {
		t.Errorf("served by %s with WriteTimeout set", got)
	}
}

// A client that goes away while its handler waits cancels the request's context within 2 s (in
// one to two bgDelay), as with net/http; with a body read first, and with none.
func TestClientGoneCancels(t *testing.T) {
	for _, req := range []string{
		"GET /wait HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /wait HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
		"POST /wait HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	} {
		started := make(chan struct{})
		cancelled := make(chan error, 1)
		_, addr := serve(t, newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			close(started)
			select {
			case <-r.Context().Done():
				cancelled <- r.Context().Err()
			case <-time.After(2 * time.Second):
				cancelled <- errors.New("not cancelled within 2s")
			}
		}), 56<<10))
		c := dial(t, addr)
		io.WriteString(c, req)
		<-started
		c.Close()
		if err := <-cancelled; !errors.Is(err, context.Canceled) {
			t.Errorf("%.40q: %v", req, err)
		}
	}
}

// A byte the background read takes (the start of a pipelined request) is the next request's.
func TestBackgroundReadKeepsByte(t *testing.T) {
	bg := make(chan struct{}, 4)
	h1server.SetBGReadHook(func() { bg <- struct{}{} })
	t.Cleanup(func() { h1server.SetBGReadHook(nil) })
	release := make(chan struct{})
	_, addr := serve(t, newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/wait" {
			<-release
		}
		io.WriteString(w, r.URL.Path)
	}), 56<<10))
	c := dial(t, addr)
	io.WriteString(c, "GET /wait HTTP/1.1\r\nHost: a\r\n\r\n")
	<-bg
	io.WriteString(c, "GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
	close(release)
	br := bufio.NewReader(c)
	for _, want := range []string{"/wait", "/next"} {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		if string(b) != want {
			t.Errorf("got %q, want %q", b, want)
		}
	}
}

// ConnState sees what net/http's server reports: New, then Active and Idle per request, then
// Closed.
func TestConnStates(t *testing.T) {
	run := func(serveFn func(*http.Server, net.Listener) func()) []http.ConnState {
		var mu sync.Mutex
		var states []http.ConnState
		closed := make(chan struct{})
		hs := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }), 56<<10)
		hs.ConnState = func(_ net.Conn, s http.ConnState) {
			mu.Lock()
			states = append(states, s)
			mu.Unlock()
			if s == http.StateClosed {
				close(closed)
			}
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		stop := serveFn(hs, ln)
		defer stop()
		c := dial(t, ln.Addr().String())
		br := bufio.NewReader(c)
		for range 2 {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			io.ReadAll(res.Body)
		}
		c.Close()
		<-closed
		mu.Lock()
		defer mu.Unlock()
		return states
	}
	want := run(func(hs *http.Server, ln net.Listener) func() {
		go hs.Serve(ln)
		return func() { hs.Close() }
	})
	got := run(func(hs *http.Server, ln net.Listener) func() {
		s := &h1server.Server{HTTP: hs}
		go s.Serve(ln)
		return func() { s.Close() }
	})
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("h1server states %v, net/http %v", got, want)
	}
}

// Shutdown closes idle connections at once, lets an active request finish with
// "Connection: close" and returns once it has; Serve returns http.ErrServerClosed.
func TestShutdown(t *testing.T) {
	inHandler := make(chan struct{})
	release := make(chan struct{})
	s, addr := serve(t, newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(inHandler)
			<-release
		}
		io.WriteString(w, "done")
	}), 56<<10))
	idle := dial(t, addr)
	io.WriteString(idle, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	idleBR := bufio.NewReader(idle)
	res, err := http.ReadResponse(idleBR, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(res.Body)
	active := dial(t, addr)
	io.WriteString(active, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
	<-inHandler

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	if _, err := idleBR.ReadByte(); err != io.EOF {
		t.Errorf("idle connection at shutdown: read %v, want EOF", err)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	default:
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("the listener still accepts after Shutdown")
	}
	close(release)
	br := bufio.NewReader(active)
	res, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	if string(b) != "done" || !res.Close {
		t.Errorf("in-flight response %q, close %v; want done, close", b, res.Close)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after the last response: read %v, want EOF", err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// Shutdown gives up at its context's deadline; Close then cuts the request in flight.
func TestShutdownDeadlineThenClose(t *testing.T) {
	inHandler := make(chan struct{})
	s, addr := serve(t, newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(inHandler)
		<-r.Context().Done()
	}), 56<<10))
	c := dial(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	<-inHandler
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v, want the deadline", err)
	}
	s.Close()
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("connection still open after Close")
	}
}

// ReadHeaderTimeout closes a connection whose head does not come in time, IdleTimeout one
// that sends no next request; neither gets a reply, as with net/http.
func TestTimeouts(t *testing.T) {
	hs := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }), 56<<10)
	hs.ReadHeaderTimeout = 100 * time.Millisecond
	hs.IdleTimeout = 100 * time.Millisecond
	_, addr := serve(t, hs)
	for _, tc := range []struct{ name, send string }{
		{"nothing", ""},
		{"cut head", "GET / HTTP/1.1\r\nHost: a\r\n"},
		{"idle after a request", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
	} {
		c := dial(t, addr)
		io.WriteString(c, tc.send)
		start := time.Now()
		b, err := io.ReadAll(c)
		if err != nil || time.Since(start) > 5*time.Second {
			t.Errorf("%s: %v after %v", tc.name, err, time.Since(start))
		}
		if tc.name != "idle after a request" && len(b) > 0 {
			t.Errorf("%s: got %q, want no reply", tc.name, b)
		}
	}
}

// A panic in a handler is logged (http.ErrAbortHandler is not) and closes the connection.
func TestPanicLogged(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	hs := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/abort" {
			panic(http.ErrAbortHandler)
		}
		panic("boom")
	}), 56<<10)
	hs.ErrorLog = log.New(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), "", 0)
	_, addr := serve(t, hs)
	for _, path := range []string{"/abort", "/boom"} {
		c := dial(t, addr)
		io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: a\r\n\r\n")
		if b, _ := io.ReadAll(c); len(b) != 0 {
			t.Errorf("%s: got %q", path, b)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(logs.String(), "http: panic serving 127.0.0.1:"); n != 1 || !strings.Contains(logs.String(), ": boom\n") {
		t.Errorf("log %q: want one panic line, for boom", logs.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
