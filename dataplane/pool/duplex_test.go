package pool

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// lateEOFTransport makes the transport's final body read (the one after Content-Length bytes,
// which finds EOF) late, as when its goroutine is descheduled on a busy machine.
type lateEOFTransport struct{ base http.RoundTripper }

func (t lateEOFTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.URL.Path != "/metrics" {
		r.Body = &lateEOF{r: r.Body, left: r.ContentLength}
	}
	return t.base.RoundTrip(r)
}

type lateEOF struct {
	r    io.ReadCloser
	left int64
}

func (b *lateEOF) Read(p []byte) (int, error) {
	if b.left <= 0 {
		time.Sleep(200 * time.Millisecond)
	}
	n, err := b.r.Read(p[:min(int64(len(p)), max(b.left, 1))])
	b.left -= int64(n)
	return n, err
}

func (b *lateEOF) Close() error { return b.r.Close() }

// TestUnbufferedBodyStreamsFullDuplex: the model server answers once it has the whole body, and
// the pool starts writing the response while its transport has not yet seen the body's EOF. The
// pool must not let net/http discard and close the request body under the transport (which then
// fails the upstream request mid-stream).
func TestUnbufferedBodyStreamsFullDuplex(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			fmt.Fprint(w, "vllm:num_requests_waiting 0\nvllm:kv_cache_usage_perc 0\n")
			return
		}
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "got %d ", len(b))
		w.(http.Flusher).Flush()
		time.Sleep(400 * time.Millisecond) // still streaming when the transport's late read happens
		fmt.Fprint(w, "done")
	}))
	defer upstream.Close()
	sc := fastSched()
	sc.Weights = Weights{Queue: 1} // nothing buffers the body
	base := http.DefaultTransport.(*http.Transport).Clone()
	_, srv := startPool(t, Config{
		Source: StaticSource{strings.TrimPrefix(upstream.URL, "http://")}, Scheduler: sc, Transport: lateEOFTransport{base},
	}, 1)

	body := `{"model":"m","prompt":"` + strings.Repeat("x", 5000) + `"}`
	resp, err := srv.Client().Post(srv.URL+"/v1/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf("got %d done", len(body)); err != nil || string(b) != want {
		t.Fatalf("response %q, %v; want %q", b, err, want)
	}
}
