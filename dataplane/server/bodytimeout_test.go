package server

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// bodyThenStream reads the request body, then streams for longer than the body timeout.
type bodyThenStream struct{ stream time.Duration }

func (h bodyThenStream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, err := io.ReadAll(r.Body); err != nil {
		w.WriteHeader(http.StatusRequestTimeout)
		return
	}
	w.WriteHeader(200)
	deadline := time.Now().Add(h.stream)
	for time.Now().Before(deadline) {
		if r.Context().Err() != nil {
			_, _ = w.Write([]byte("canceled\n")) // the connection's read failed under the response
			return
		}
		_, _ = w.Write([]byte("tick\n"))
		w.(http.Flusher).Flush()
		time.Sleep(50 * time.Millisecond) // the stream's own pace
	}
	_, _ = w.Write([]byte("end\n"))
}

func serveOn(t testing.TB, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// A body trickled slower than the timeout loses its connection; a fast body followed by a
// stream longer than the timeout is not cut.
func TestRequestBodyTimeout(t *testing.T) {
	s := New(Options{RequestBodyTimeout: 300 * time.Millisecond, ShutdownTimeout: time.Second})
	s.Swap(bodyThenStream{stream: 700 * time.Millisecond}, nil)
	// On a traffic listener and behind an http.Server of someone else's.
	other := httptest.NewServer(s)
	defer other.Close()
	for name, addr := range map[string]string{"traffic listener": serveOn(t, s), "other server": strings.TrimPrefix(other.URL, "http://")} {
		t.Run(name, func(t *testing.T) { testBodyTimeout(t, addr) })
	}
}

func testBodyTimeout(t *testing.T, addr string) {
	c := postPartial(t, addr)
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := 0; i < 40; i++ { // one byte every 100 ms: never finishes within 300 ms
		if _, err := c.Write([]byte("x")); err != nil {
			break
		}
		time.Sleep(100 * time.Millisecond) // the slow client's pace
		if time.Since(start) > 2*time.Second {
			break
		}
	}
	status, err := bufio.NewReader(c).ReadString('\n')
	if time.Since(start) > 3*time.Second {
		t.Fatalf("slow body held the connection for %v", time.Since(start))
	}
	if err == nil && !strings.Contains(status, "408") {
		t.Fatalf("slow body answered %q", status)
	}

	resp, err := http.Post("http://"+addr+"/", "text/plain", strings.NewReader("quick body"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !strings.HasSuffix(string(body), "end\n") {
		t.Fatalf("stream after a quick body: %d %q %v", resp.StatusCode, body, err)
	}
	// Nor is the stream of a request without a body.
	resp, err = http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !strings.HasSuffix(string(body), "end\n") {
		t.Fatalf("stream without a body: %d %q %v", resp.StatusCode, body, err)
	}
}

// A handler that answers without reading the body leaves it to net/http, which drains it
// after the handler returns: a body trickled slower than the timeout still loses its
// connection then, rather than holding it for as long as the client likes.
func TestRequestBodyTimeoutUnreadBody(t *testing.T) {
	s := New(Options{RequestBodyTimeout: 300 * time.Millisecond, ShutdownTimeout: time.Second})
	s.Swap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	}), nil)
	c := postPartial(t, serveOn(t, s))
	start := time.Now()
	closed := make(chan struct{})
	go func() { // the server's answer, then the end of the connection
		defer close(closed)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.Copy(io.Discard, c)
	}()
	for i := 0; i < 40; i++ { // one byte every 100 ms: never finishes within 300 ms
		select {
		case <-closed:
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("unread slow body held the connection for %v", d)
			}
			return
		default:
		}
		if _, err := c.Write([]byte("x")); err != nil {
			break
		}
		time.Sleep(100 * time.Millisecond) // the slow client's pace
	}
	<-closed
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("unread slow body held the connection for %v", d)
	}
}

// On h2c the timeout cuts the stream's body, not the connection: a trickled body gets 408
// from the handler, and a quick body's long response stream is not cut.
func TestRequestBodyTimeoutHTTP2(t *testing.T) {
	s := New(Options{RequestBodyTimeout: 300 * time.Millisecond, ShutdownTimeout: time.Second})
	s.Swap(bodyThenStream{stream: 700 * time.Millisecond}, nil)
	addr := serveOn(t, s)
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}

	pr, pw := io.Pipe()
	defer pw.Close()
	go func() {
		for i := 0; i < 20; i++ { // one byte every 100 ms: never finishes within 300 ms
			if _, err := pw.Write([]byte("x")); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond) // the slow client's pace
		}
		pw.Close()
	}()
	start := time.Now()
	resp, err := c.Post("http://"+addr+"/", "text/plain", pr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusRequestTimeout || time.Since(start) > 1500*time.Millisecond {
		t.Fatalf("slow body over HTTP/%d: %d after %v", resp.ProtoMajor, resp.StatusCode, time.Since(start))
	}

	resp, err = c.Post("http://"+addr+"/", "text/plain", strings.NewReader("quick body"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !strings.HasSuffix(string(body), "end\n") {
		t.Fatalf("stream after a quick body: %d %q %v", resp.StatusCode, body, err)
	}
}

// postPartial opens a connection to addr and sends a POST's head declaring 100 body bytes and
// the first 2 of them; the connection closes when the test ends.
func postPartial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab"); err != nil {
		t.Fatal(err)
	}
	return c
}
