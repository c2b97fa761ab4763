package anthropic

import (
	"net/http"
	"runtime"
	"testing"

	"github.com/infergw/gwctl/dataplane/llm/llmtest"
)

// TestHandlerServeAllocs bounds the handler's own work on the benchmark's json request (as
// BenchmarkHandlerServe: an in-memory transport and writer). The client's body and the
// translated reply come from pooled buffers and the transport is called without http.Client's
// per-call copies, so what is left is the upstream body (new memory: the transport may still
// write it after the handler returned), the upstream request and response and the few values
// a translation keeps: 44 allocations and 9.7 KB per request before (the in-memory transport's
// 5 and 0.6 KB included), 37 and 5.0 KB after.
func TestHandlerServeAllocs(t *testing.T) {
	serve := memServe(t)
	llmtest.AllocBound(t, fastJSON, 37, "serving the benchmark request", func() {
		if code := serve(); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
	})
	const runs = 200
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		serve()
	}
	runtime.ReadMemStats(&after)
	if n := (after.TotalAlloc - before.TotalAlloc) / runs; n > 5500 {
		t.Errorf("serving the benchmark request allocates %d bytes, want at most 5500 (the client's body or the reply no longer pooled?)", n)
	}
}
