package epp

import (
	"context"
	"errors"
	"io"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// endedStream is a client stream the picker has ended: Recv yields queued replies, then end
// (grpc-go's behaviour after a Send returned io.EOF).
type endedStream struct {
	grpc.ClientStream
	queued int
	end    error
}

func (s *endedStream) Send(*extprocv3.ProcessingRequest) error { return io.EOF }

func (s *endedStream) Recv() (*extprocv3.ProcessingResponse, error) {
	if s.queued > 0 {
		s.queued--
		return &extprocv3.ProcessingResponse{}, nil
	}
	return nil, s.end
}

// TestSendEndedStreamReason: a Send that finds the stream ended reports the picker's status,
// not io.EOF, so the metric's reason does not depend on which side of the status the client's
// Send fell (TestClientFaults "picker error status" counted stream_closed in 1 run of 100).
func TestSendEndedStreamReason(t *testing.T) {
	for _, tc := range []struct {
		name   string
		queued int
		end    error
		reason string
	}{
		{"error status", 0, status.Error(codes.Internal, "no pods available"), "epp_error"},
		{"error status after a reply", 1, status.Error(codes.Internal, "no pods available"), "epp_error"},
		{"unavailable", 0, status.Error(codes.Unavailable, "going away"), "unavailable"},
		{"ended cleanly", 0, io.EOF, "stream_closed"},
		{"ended cleanly after replies", 3, io.EOF, "stream_closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex := &exchange{stream: &endedStream{queued: tc.queued, end: tc.end}}
			err := classify(ex.endStatus(ex.send(&extprocv3.ProcessingRequest{})), context.Background())
			var f *failure
			if !errors.As(err, &f) || f.reason != tc.reason {
				t.Fatalf("got %v, want reason %s", err, tc.reason)
			}
		})
	}
}
