package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// waitingLog is an access log whose line for a request waits until the client has its response.
type waitingLog struct {
	received chan struct{}
	late     atomic.Bool
}

func (h *waitingLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *waitingLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *waitingLog) WithGroup(string) slog.Handler            { return h }
func (h *waitingLog) Handle(_ context.Context, r slog.Record) error {
	wait := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "path" && a.Value.String() == "/wait" {
			wait = true
		}
		return true
	})
	if wait {
		select {
		case <-h.received:
		case <-time.After(5 * time.Second):
			h.late.Store(true)
		}
	}
	return nil
}

// TestResponseBeforeAccessLine: an HTTP/1.1 response of declared length reaches the client
// before the request's access line is written (it was written when the handler had returned,
// after the line), and a response net/http frames itself keeps the Content-Length net/http
// computes for it.
func TestResponseBeforeAccessLine(t *testing.T) {
	h := &waitingLog{received: make(chan struct{})}
	s := New(Options{AccessLog: slog.New(h)})
	body := []byte("0123456789")
	s.Swap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/wait" {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		_, _ = w.Write(body)
	}), nil)
	srv := httptest.NewServer(s)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/wait")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	close(h.received)
	if err != nil || string(got) != string(body) {
		t.Fatalf("got %q %v", got, err)
	}
	if h.late.Load() {
		t.Fatal("the response reached the client only after its access line")
	}
	resp, err = http.Get(srv.URL + "/framed")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ContentLength != int64(len(body)) || len(resp.TransferEncoding) != 0 {
		t.Errorf("a response net/http frames: length %d, transfer encoding %v", resp.ContentLength, resp.TransferEncoding)
	}
}
