package epp

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/infergw/gwctl/dataplane/pool"
)

// A full-duplex picker may send each body chunk back as it arrives (Envoy allows it) instead of
// the whole body at its end. With a body several receive windows long the client must read
// those replies while it still sends, or both sides stall until the deadline; small bodies are
// read on the request's goroutine, large ones alongside.
func TestClientChunkEchoingPicker(t *testing.T) {
	rec := &recorder{}
	up := httptest.NewServer(rec)
	t.Cleanup(up.Close)
	upAddr := strings.TrimPrefix(up.URL, "http://")
	p := startPool(t, "ns/chunks", []string{upAddr}, pool.FailClose, pool.SchedulerConfig{})

	f := &fakeEPP{}
	f.script = func(s extprocv3.ExternalProcessor_ProcessServer) error {
		if _, err := s.Recv(); err != nil { // request headers
			return err
		}
		reply := headersReply(&extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: KeyDestination, RawValue: []byte(upAddr)}}}})
		reply.DynamicMetadata = destinationMetadata(upAddr)
		if err := s.Send(reply); err != nil {
			return err
		}
		for {
			m, err := s.Recv()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if b := m.GetRequestBody(); b != nil {
				if err := s.Send(streamedReply(b.GetBody(), b.GetEndOfStream(), false)); err != nil {
					return err
				}
			}
			if rb := m.GetResponseBody(); rb != nil {
				if err := s.Send(streamedReply(rb.GetBody(), rb.GetEndOfStream(), true)); err != nil {
					return err
				}
			}
			if m.GetResponseHeaders() != nil {
				if err := s.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{}}}); err != nil {
					return err
				}
			}
		}
	}
	// The request phase echoes up to 6 MiB through the picker: past the default 1 s under the
	// race detector on a loaded machine, which this test is not about.
	gw := startGateway(t, p, serveGRPC(t, f), pool.FailClose, Options{Timeout: 30 * time.Second})

	for _, size := range []int{100, chunkSize, 6 * streamWindow} {
		body := chatBody("sim-model", strings.Repeat("x", size), false)
		r := post(t, gw.url, body, nil)
		if r.status != http.StatusOK || r.body != "hello" {
			t.Fatalf("body of %d bytes: client got %d %.200q, want 200 hello", len(body), r.status, r.body)
		}
		rec.mu.Lock()
		same := bytes.Equal(rec.body, body)
		rec.mu.Unlock()
		if !same {
			t.Errorf("body of %d bytes: the model server got another body", len(body))
		}
	}
}

// slowFirstToken is a model server that sends its headers at once and its body after delay, as
// vLLM does for a request that waits in its queue.
type slowFirstToken struct{ delay time.Duration }

func (s slowFirstToken) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/metrics" {
		_, _ = io.WriteString(w, "vllm:num_requests_waiting 0\nvllm:num_requests_running 0\nvllm:kv_cache_usage_perc 0\n")
		return
	}
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	time.Sleep(s.delay) // the model server's queue, not a wait for an event
	_, _ = io.WriteString(w, "data: hello\n\n")
}

// The response timeout runs from the chunk the picker owes a reply for. It once ran from the
// start of the client's read, so a first token late in that wait left the picker a moment to
// answer, and the response ended before its first byte (lwepp at 120 % load: "unexpected EOF").
func TestClientResponseTimeoutFromChunk(t *testing.T) {
	// The token is 800 ms late and the picker takes 800 ms for its chunk: within a 1.3 s timeout
	// counted from the chunk (500 ms to spare under the race detector), past it counted from the
	// start of the read (1.6 s).
	up := httptest.NewServer(slowFirstToken{delay: 800 * time.Millisecond})
	t.Cleanup(up.Close)
	upAddr := strings.TrimPrefix(up.URL, "http://")
	p := startPool(t, "ns/slow-token", []string{upAddr}, pool.FailClose, pool.SchedulerConfig{})
	f := &fakeEPP{}
	f.script = f.pick(picks{dest: upAddr, respBody: func(b []byte) []byte {
		time.Sleep(800 * time.Millisecond) // a picker as slow as the token is late, within the timeout
		return b
	}})
	gw := startGateway(t, p, serveGRPC(t, f), pool.FailClose, Options{ResponseTimeout: 1300 * time.Millisecond})

	r := post(t, gw.url, chatBody("sim-model", "hi", true), nil)
	if r.status != http.StatusOK || r.body != "data: hello\n\n" {
		t.Fatalf("client got %d %q, want 200 and the model server's event", r.status, r.body)
	}
	if n := testutil.ToFloat64(gw.c.metrics.errors.WithLabelValues(p.Name(), "response")); n != 0 {
		t.Errorf("gwctl_epp_errors_total{reason=response} = %v, want 0", n)
	}
}
