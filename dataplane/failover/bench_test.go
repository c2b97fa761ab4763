package failover

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// okHandler and deadHandler are in-process backends, so the figures are the failover path's
// own cost, not the network's.
var (
	okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	deadHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusServiceUnavailable)
	})
)

func benchServe(b *testing.B, h http.Handler) {
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(chatBody)))
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkDirect calls the backend handler itself: the baseline.
func BenchmarkDirect(b *testing.B) { benchServe(b, okHandler) }

// BenchmarkFailoverHealthy is the added cost of the failover path when the primary answers.
func BenchmarkFailoverHealthy(b *testing.B) {
	f, err := New(Config{Route: "r", Priorities: [][]Backend{{{Name: "a", Handler: okHandler}}, {{Name: "b", Handler: okHandler}}}}, Deps{})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	benchServe(b, f)
}

// BenchmarkFailoverDeadPrimary fails over on every request (the primary answers 503 and is
// never ejected): the cost of one failover.
func BenchmarkFailoverDeadPrimary(b *testing.B) {
	f, err := New(Config{Route: "r", Priorities: [][]Backend{{{Name: "a", Handler: deadHandler}}, {{Name: "b", Handler: okHandler}}},
		Outlier: Outlier{Consecutive: 1 << 30}, Budget: Budget{Ratio: 1, MinPerSecond: 1e9}}, Deps{})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	benchServe(b, f)
}

// BenchmarkLoopbackFailover is a whole request over loopback with the primary killed, through
// real reverse proxies: requests served by the fallback after a connection refused.
func BenchmarkLoopbackFailover(b *testing.B) {
	dead := httptest.NewServer(okHandler)
	dead.Close()
	live := httptest.NewServer(okHandler)
	defer live.Close()
	f, err := New(Config{Route: "r", Priorities: [][]Backend{{{Name: "a", Handler: proxyTo(b, dead.URL)}}, {{Name: "b", Handler: proxyTo(b, live.URL)}}},
		Outlier: Outlier{Consecutive: 1 << 30}, Budget: Budget{Ratio: 1, MinPerSecond: 1e9}}, Deps{})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	benchServe(b, f)
}

// BenchmarkLoopbackDirect is BenchmarkLoopbackFailover's baseline: the live backend's reverse
// proxy called directly, over loopback.
func BenchmarkLoopbackDirect(b *testing.B) {
	live := httptest.NewServer(okHandler)
	defer live.Close()
	benchServe(b, proxyTo(b, live.URL))
}

// BenchmarkLoopbackHealthy is the failover handler over loopback when the primary answers.
func BenchmarkLoopbackHealthy(b *testing.B) {
	live := httptest.NewServer(okHandler)
	defer live.Close()
	f, err := New(Config{Route: "r", Priorities: [][]Backend{{{Name: "a", Handler: proxyTo(b, live.URL)}}, {{Name: "b", Handler: proxyTo(b, live.URL)}}}}, Deps{})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	benchServe(b, f)
}
