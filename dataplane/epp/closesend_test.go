package epp

import (
	"context"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
)

// halfClosingStream is a client stream whose first CloseSend (the response body pump's, after
// the last chunk) stays in progress until the stream is cancelled or another Send or CloseSend
// enters: the overlap grpc-go does not allow (two CloseSends at once can put END_STREAM on the
// wire twice).
type halfClosingStream struct {
	grpc.ClientStream
	ctx      context.Context
	inFlight atomic.Int32
	overlap  atomic.Bool
	entered  chan struct{} // closed when the first CloseSend is in progress
	second   chan struct{} // closed when a call overlaps it
	once     sync.Once
	calls    atomic.Int32
}

func (s *halfClosingStream) enter() func() {
	if s.inFlight.Add(1) > 1 {
		s.overlap.Store(true)
		s.once.Do(func() { close(s.second) })
	}
	return func() { s.inFlight.Add(-1) }
}

func (s *halfClosingStream) Send(*extprocv3.ProcessingRequest) error {
	defer s.enter()()
	return nil
}

func (s *halfClosingStream) Recv() (*extprocv3.ProcessingResponse, error) {
	<-s.ctx.Done()
	return nil, io.EOF
}

func (s *halfClosingStream) CloseSend() error {
	defer s.enter()()
	if s.calls.Add(1) == 1 {
		close(s.entered)
		select {
		case <-s.ctx.Done():
		case <-s.second:
		case <-time.After(10 * time.Second): // neither: the test fails on its own
		}
	}
	return nil
}

// Closing a full-duplex response while its pump half-closes the stream: the exchange's close
// waits for the pump's CloseSend (cancelling the stream first) instead of running alongside it
// (the race detector caught both at once in TestClientChunkEchoingPicker).
func TestDuplexCloseWhilePumpHalfCloses(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &halfClosingStream{ctx: ctx, entered: make(chan struct{}), second: make(chan struct{})}
	c, err := NewClient(Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ex := &exchange{c: c, stream: s, ctx: ctx, cancel: cancel}
	b := newDuplexBody(ex, io.NopCloser(strings.NewReader("data: [DONE]\n\n")), nil)
	select {
	case <-s.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the pump did not half-close the stream after the body's end")
	}
	closed := make(chan struct{})
	go func() { _ = b.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	if s.overlap.Load() {
		t.Error("a CloseSend or Send ran alongside the pump's CloseSend")
	}
	<-b.pumpDone
}
