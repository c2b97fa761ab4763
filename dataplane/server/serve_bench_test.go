package server

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// sink is a ResponseWriter that keeps nothing, so the benchmark measures the server, not a
// recorder.
type sink struct{ h http.Header }

func (s *sink) Header() http.Header         { return s.h }
func (s *sink) Write(p []byte) (int, error) { return len(p), nil }
func (s *sink) WriteHeader(int)             {}
func (s *sink) Flush()                      {}

// BenchmarkServeOverhead is what Server.serve adds to a request (path check, request id,
// body limit and deadline, metrics, the JSON access line into a LineWriter) over calling the
// handler alone (…/bare), as cmd/dataplane configures it.
func BenchmarkServeOverhead(b *testing.B) {
	body := []byte(strings.Repeat("x", 1024))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt, ok := w.(interface{ SetRoute(string, string) }); ok {
			rt.SetRoute("bench/chat/rule0", "Service/bench/up:80")
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	lw := NewLineWriter(io.Discard, 100*time.Millisecond)
	s := New(Options{
		AccessLog: NewJSONAccessLog(lw, slog.LevelInfo), AccessLogBuffer: lw,
		Metrics: NewMetrics(prometheus.NewRegistry()), MaxRequestBody: 1 << 20,
	})
	s.Swap(h, nil)
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{{"bare", h}, {"server", s}} {
		b.Run(tc.name, func(b *testing.B) {
			w := &sink{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				r, _ := http.NewRequest(http.MethodPost, "http://gw/v1/chat/completions", strings.NewReader(`{"model":"m"}`))
				r.RemoteAddr, r.RequestURI = "127.0.0.1:50000", "/v1/chat/completions"
				tc.h.ServeHTTP(w, r)
			}
		})
	}
}
