package server

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAccessLinesFlushWhenIdle: with Options.AccessLogBuffer, a request's line is written as
// soon as its response is done and no other request is in flight, and held while one is, over
// HTTP/1.1 and h2c.
func TestAccessLinesFlushWhenIdle(t *testing.T) {
	for _, h2c := range []bool{false, true} {
		t.Run(map[bool]string{false: "http1", true: "h2c"}[h2c], func(t *testing.T) {
			var out writes
			lw := NewLineWriter(&out, time.Hour)
			entered, release := make(chan struct{}), make(chan struct{})
			addr := startEdge(t, Options{AccessLog: slog.New(slog.NewJSONHandler(lw, nil)), AccessLogBuffer: lw},
				http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/slow" {
						close(entered)
						<-release
					}
				}))
			c := loopbackClient(t, h2c)
			get := func(c *http.Client, path string) {
				resp, err := c.Get("http://" + addr + path)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			get(c, "/alone")
			if got := waitWrites(&out, 1); len(got) != 1 || !strings.Contains(got[0], `"path":"/alone"`) {
				t.Fatalf("a request on an idle server: writes %q, want its line", got)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				get(loopbackClient(t, h2c), "/slow")
			}()
			<-entered
			// A connection reads its next request only after the previous one's ConnState hook
			// has run: had the first /beside's line been written, it would be there by now.
			get(c, "/beside")
			get(c, "/beside")
			if got := out.all(); len(got) != 1 {
				t.Fatalf("a line written while another request is in flight: %q", got)
			}
			close(release)
			<-done
			got := waitWrites(&out, 2)
			if len(got) != 2 || strings.Count(got[1], `"path":"/beside"`) != 2 || !strings.Contains(got[1], `"path":"/slow"`) {
				t.Fatalf("after the last request: writes %q, want its line and the held ones in one", got)
			}
		})
	}
}

// blockingWriter blocks every Write until release is closed.
type blockingWriter struct {
	writes
	release chan struct{}
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	<-b.release
	return b.writes.Write(p)
}

// TestAccessLogWriteAfterResponse: on HTTP/1.1 the access log's write (to a pipe a log
// collector may be slow to read) is not on the response's path: the client has the whole
// response, a chunked one included, while that write is blocked. (HTTP/2 runs the ConnState
// hook before it flushes the stream's last frame.)
func TestAccessLogWriteAfterResponse(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stream bool
	}{{"buffered", false}, {"chunked", true}} {
		t.Run(tc.name, func(t *testing.T) {
			out := &blockingWriter{release: make(chan struct{})}
			lw := NewLineWriter(out, time.Hour)
			addr := startEdge(t, Options{AccessLog: slog.New(slog.NewJSONHandler(lw, nil)), AccessLogBuffer: lw},
				http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					_, _ = io.WriteString(w, "first ")
					if tc.stream {
						w.(http.Flusher).Flush()
					}
					_, _ = io.WriteString(w, "last")
				}))
			defer close(out.release) // before startEdge's cleanup, which waits for the drain
			c := loopbackClient(t, false)
			c.Timeout = 5 * time.Second
			resp, err := c.Get("http://" + addr + "/")
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || string(body) != "first last" {
				t.Fatalf("response while the log write is blocked: %q, %v", body, err)
			}
		})
	}
}

// loopbackClient is a client with a transport of its own: HTTP/1.1, or h2c when h2c is set.
func loopbackClient(t *testing.T, h2c bool) *http.Client {
	t.Helper()
	var p http.Protocols
	p.SetHTTP1(!h2c)
	p.SetUnencryptedHTTP2(h2c)
	tr := &http.Transport{Protocols: &p}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// waitWrites polls out until it holds n writes or 5 seconds have passed, and returns them.
func waitWrites(out *writes, n int) []string {
	deadline := time.Now().Add(5 * time.Second)
	for len(out.all()) < n && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond) // polling for the hook's write, bounded by the deadline
	}
	return out.all()
}
