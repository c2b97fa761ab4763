package proxy

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// writeCounter counts the writes on the transport's upstream connections.
type writeCounter struct {
	net.Conn
	writes *atomic.Int32
}

func (c writeCounter) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// TestSmallBodyGoesWithTheHead: a request body up to prereadMax leaves in the same write as the
// request head (net/http flushes the head of a streamed body on its own); a larger one is
// streamed as before. Either way the upstream gets the body exactly.
func TestSmallBodyGoesWithTheHead(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b)
	}))
	defer up.Close()
	var writes atomic.Int32
	tr := NewTransport()
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return writeCounter{c, &writes}, nil
	}
	h := New(strings.TrimPrefix(up.URL, "http://"), Options{Transport: tr})
	front := httptest.NewServer(h)
	defer front.Close()
	for _, tc := range []struct {
		size      int
		maxWrites int32
	}{{1024, 1}, {prereadMax, 3}, {prereadMax + 1, 0}} {
		writes.Store(0)
		body := bytes.Repeat([]byte("x"), tc.size)
		resp, err := http.Post(front.URL+"/", "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(got, body) {
			t.Errorf("%d bytes: status %d, %d bytes echoed", tc.size, resp.StatusCode, len(got))
		}
		// 64 KiB through a 32 KiB write buffer takes 3 writes, the head not on its own.
		if n := writes.Load(); tc.maxWrites > 0 && n > tc.maxWrites {
			t.Errorf("%d bytes: %d writes upstream, want at most %d", tc.size, n, tc.maxWrites)
		}
	}
}

// TestShortBodyNotForwarded: a body that ends before its Content-Length is a 502 and the
// upstream is never called.
func TestShortBodyNotForwarded(t *testing.T) {
	var called atomic.Bool
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called.Store(true) }))
	defer up.Close()
	h := New(strings.TrimPrefix(up.URL, "http://"), Options{})
	r := httptest.NewRequest("POST", "/", io.LimitReader(strings.NewReader("only ten b"), 10))
	r.ContentLength = 100
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusBadGateway || called.Load() {
		t.Fatalf("status %d, upstream called %v", w.Code, called.Load())
	}
}

// eofReader returns its data, then io.EOF on a read of its own, and records that EOF was seen
// (the server lifts the body-read deadline only then).
type eofReader struct {
	r       io.Reader
	sawEOF  bool
	withEOF bool // return EOF with the last bytes
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if e.withEOF && n > 0 && err == nil {
		if lr, ok := e.r.(*io.LimitedReader); ok && lr.N == 0 {
			err = io.EOF
		}
	}
	if err == io.EOF {
		e.sawEOF = true
	}
	return n, err
}

func TestPrereadReadsToEOF(t *testing.T) {
	for _, withEOF := range []bool{false, true} {
		r := &eofReader{r: io.LimitReader(strings.NewReader("hello world"), 11), withEOF: withEOF}
		b, err := preread(r, 11)
		if err != nil || string(b) != "hello world" || !r.sawEOF {
			t.Errorf("withEOF=%v: %q %v, EOF seen %v", withEOF, b, err, r.sawEOF)
		}
	}
}
