package server

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestSwapReleasesIdleSnapshot(t *testing.T) {
	s := New(Options{})
	if s.Ready() {
		t.Fatal("ready before a config")
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 503 {
		t.Fatalf("no config: %d", w.Code)
	}

	var released atomic.Int32
	entered, proceed := make(chan struct{}), make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-proceed
		w.WriteHeader(200)
	})
	s.Swap(slow, func() { released.Add(1) })
	if !s.Ready() {
		t.Fatal("not ready after Swap")
	}
	done := make(chan struct{})
	go func() {
		s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		close(done)
	}()
	<-entered
	s.Swap(http.NotFoundHandler(), nil)
	if released.Load() != 0 {
		t.Fatal("released while a request was in flight")
	}
	close(proceed)
	<-done
	if released.Load() != 1 {
		t.Fatalf("released %d times after the last request", released.Load())
	}
	w = httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 404 {
		t.Fatalf("new handler not used: %d", w.Code)
	}
}

type routed struct{ status int }

func (h routed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.(interface{ SetRoute(string, string) }).SetRoute("ns/r/rule0", "Service/ns/a:80")
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(h.status)
	_, _ = io.WriteString(w, "data: x\n\n")
	w.(http.Flusher).Flush()
}

func TestMetricsAndBodyLimit(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	s := New(Options{Metrics: m, Gatherer: reg, MaxRequestBody: 4})
	s.Swap(routed{status: 201}, nil)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("POST", "/", strings.NewReader("1234")))
	if w.Code != 201 || !w.Flushed {
		t.Fatalf("got %d flushed=%v", w.Code, w.Flushed)
	}
	w = httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("POST", "/", strings.NewReader("12345")))
	if w.Code != 413 {
		t.Fatalf("over the limit: %d", w.Code)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("ns/r/rule0", "Service/ns/a:80", "201")); got != 1 {
		t.Errorf("requests{201} = %v", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("", "", "413")); got != 1 {
		t.Errorf("requests{413} = %v", got)
	}
	if testutil.ToFloat64(m.streams) != 0 || testutil.ToFloat64(m.inflight) != 0 {
		t.Errorf("gauges not back to 0")
	}

	adm := s.Admin()
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200} {
		w := httptest.NewRecorder()
		adm.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != want {
			t.Errorf("%s = %d", path, w.Code)
		}
	}
	s.draining.Store(true)
	w = httptest.NewRecorder()
	adm.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != 503 {
		t.Errorf("readyz while draining = %d", w.Code)
	}
}

// TestSeriesCounted: requests are counted under their route, backend and status through the
// resolved-series map, also after it fills and starts again.
func TestSeriesCounted(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	for round := range 2 {
		for i := range maxResolved + 10 {
			m.series(fmt.Sprintf("r%d", i%50), "b", 200+i/50).requests.Inc()
		}
		if len(m.resolved) > maxResolved {
			t.Fatalf("%d resolved series, bound %d", len(m.resolved), maxResolved)
		}
		for _, c := range []struct {
			route, code string
			want        float64
		}{{"r0", "200", 1}, {"r49", "200", 1}, {"r9", "281", 1}} {
			if got := testutil.ToFloat64(m.requests.WithLabelValues(c.route, "b", c.code)); got != c.want*float64(round+1) {
				t.Errorf("round %d: requests{%s,%s} = %v", round, c.route, c.code, got)
			}
		}
	}
}
