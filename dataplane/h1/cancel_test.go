package h1_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/infergw/gwctl/dataplane/h1"
	"github.com/infergw/gwctl/dataplane/proxy"
)

// fullBacklog returns the address of a listener that never accepts and whose accept queue is
// full: a dial to it waits for a SYN-ACK that does not come.
func fullBacklog(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	for range 32 {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return addr // this dial timed out: the queue is full
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatalf("%s: 32 connections queued, the accept queue never filled", addr)
	return ""
}

// silent accepts connections and never reads or writes.
func silent(t *testing.T) (addr string, accepted <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 16)
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			ch <- struct{}{}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String(), ch
}

// endless is a request body of unknown length that never ends; it signals once 1 MiB of it is
// on its way (the write goes on until the socket buffers are full).
type endless struct {
	n    atomic.Int64
	full chan struct{}
	once sync.Once
}

func (e *endless) Read(p []byte) (int, error) {
	if e.n.Add(int64(len(p))) > 1<<20 {
		e.once.Do(func() { close(e.full) })
	}
	return len(p), nil
}

// TestCancel: the request context's cancel or deadline ends a blocked dial, write, header read or
// body read at once, with the cause proxy.Classify expects, and leaves no goroutine behind.
func TestCancel(t *testing.T) {
	type stage struct {
		name string
		// start sends a request with ctx and returns once it is blocked where the stage says;
		// the error is RoundTrip's or the body read's.
		run func(t *testing.T, tr http.RoundTripper, ctx context.Context, blocked chan<- struct{}) error
	}
	stages := []stage{
		{"dial", func(t *testing.T, tr http.RoundTripper, ctx context.Context, blocked chan<- struct{}) error {
			addr := fullBacklog(t)
			close(blocked) // the dial cannot complete
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/", nil)
			_, err := tr.RoundTrip(req)
			return err
		}},
		{"write", func(t *testing.T, tr http.RoundTripper, ctx context.Context, blocked chan<- struct{}) error {
			addr, _ := silent(t)
			body := &endless{full: make(chan struct{})}
			go func() { <-body.full; close(blocked) }()
			req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/", io.NopCloser(body))
			_, err := tr.RoundTrip(req)
			return err
		}},
		{"header read", func(t *testing.T, tr http.RoundTripper, ctx context.Context, blocked chan<- struct{}) error {
			var once sync.Once
			up := newRawUpstream(t, func(int, int, *http.Request) (string, bool) {
				once.Do(func() { close(blocked) })
				return "", false // no answer
			})
			req, _ := http.NewRequestWithContext(ctx, "GET", up.URL(), nil)
			_, err := tr.RoundTrip(req)
			return err
		}},
		{"body read", func(t *testing.T, tr http.RoundTripper, ctx context.Context, blocked chan<- struct{}) error {
			up := newRawUpstream(t, always("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nabc", false))
			req, _ := http.NewRequestWithContext(ctx, "GET", up.URL(), nil)
			res, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatalf("RoundTrip: %v", err)
			}
			defer res.Body.Close()
			close(blocked)
			_, err = io.ReadAll(res.Body)
			return err
		}},
	}
	for _, st := range stages {
		for _, how := range []struct {
			name  string
			cause proxy.Cause
			is    error
		}{{"cancel", proxy.CauseCanceled, context.Canceled}, {"deadline", proxy.CauseTimeout, context.DeadlineExceeded}} {
			t.Run(st.name+"/"+how.name, func(t *testing.T) {
				tr := h1.New(proxy.NewTransport())
				defer tr.CloseIdleConnections()
				ctx := &ending{done: make(chan struct{}), err: how.is}
				blocked := make(chan struct{})
				errc := make(chan error, 1)
				go func() { errc <- st.run(t, tr, ctx, blocked) }()
				<-blocked
				ctx.end()
				var err error
				select {
				case err = <-errc:
				case <-time.After(10 * time.Second):
					t.Fatal("not interrupted after 10 s")
				}
				if err == nil || !errors.Is(err, how.is) {
					t.Errorf("error %v, want one that is %v", err, how.is)
				}
				if c := proxy.Classify(ctx, err); c != how.cause {
					t.Errorf("Classify: %s, want %s (error %v)", c, how.cause, err)
				}
				tr.CloseIdleConnections()
				noLeak(t)
			})
		}
	}
}

// ending is a request context that ends when the test says, with err: context.Canceled as a
// client that goes away, context.DeadlineExceeded as a route timeout that expires.
type ending struct {
	done chan struct{}
	err  error
	mu   sync.Mutex
	over bool
}

func (e *ending) end() {
	e.mu.Lock()
	e.over = true
	e.mu.Unlock()
	close(e.done)
}

func (e *ending) Deadline() (time.Time, bool) { return time.Time{}, false }
func (e *ending) Done() <-chan struct{}       { return e.done }
func (e *ending) Value(any) any               { return nil }
func (e *ending) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.over {
		return e.err
	}
	return nil
}

// TestConnectRefused: a dial that fails is a connect failure for proxy.Classify, as net/http's.
func TestConnectRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, rt := range []http.RoundTripper{proxy.NewTransport(), h1.New(proxy.NewTransport())} {
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		_, err := rt.RoundTrip(req)
		if c := proxy.Classify(req.Context(), err); c != proxy.CauseConnect {
			t.Errorf("%T: Classify %s, want connect (error %v)", rt, c, err)
		}
	}
}

// TestCloseDuringRead: closing a body while another goroutine's Read waits on the upstream ends
// that Read at once and closes the connection.
func TestCloseDuringRead(t *testing.T) {
	up := newRawUpstream(t, always("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nabc", false))
	tr := h1.New(proxy.NewTransport())
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest("GET", up.URL(), nil)
	res, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(res.Body)
		got <- err
	}()
	waitFor(t, 5*time.Second, "the reader to wait on the upstream", func() bool {
		buf := make([]byte, 1<<16)
		return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "h1.(*body).Read")
	})
	res.Body.Close()
	select {
	case err := <-got:
		if err == nil {
			t.Error("Read after Close: no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read not ended by Close")
	}
	waitFor(t, 5*time.Second, "the upstream to see the connection closed", func() bool { _, open, _ := up.stats(); return open == 0 })
	noLeak(t)
}
