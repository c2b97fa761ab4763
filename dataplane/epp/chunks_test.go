package epp

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

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
	gw := startGateway(t, p, serveGRPC(t, f), pool.FailClose, Options{})

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
