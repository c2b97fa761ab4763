package epp

import (
	"context"
	"encoding/binary"
	"io"
	"strconv"
	"strings"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Recv decodes a reply that sends the request body back in one allocation, with the body the
// exchange sent when it is that (decodeBodyReply), and a headers reply in one (decodeHeadersReply).
func (s *h2Stream) Recv() (*extprocv3.ProcessingResponse, error) {
	m, dest, ok, err := s.recvPick()
	if ok {
		m.DynamicMetadata = destinationMetadata(dest)
	}
	return m, err
}

// recvPick is Recv for the exchange's request phase: a headers reply's envoy.lb metadata comes
// as the destination it names (hasDest), and m has no DynamicMetadata then (decodeHeadersReply).
func (s *h2Stream) recvPick() (m *extprocv3.ProcessingResponse, dest string, hasDest bool, err error) {
	msg, err := s.take()
	if err != nil {
		return nil, "", false, err
	}
	if m = decodeBodyReply(msg, s.sent); m == nil {
		m, dest, hasDest = decodeHeadersReply(msg)
	}
	if m == nil {
		m = new(extprocv3.ProcessingResponse)
		err = proto.Unmarshal(msg, m)
	}
	if err = s.decoded(err); err != nil {
		return nil, "", false, err
	}
	return m, dest, hasDest, nil
}

// RecvMsg waits for the next message; after the last, the status the stream ended with
// (io.EOF for OK). A cancelled stream returns its status at once.
func (s *h2Stream) RecvMsg(m any) error {
	pm, ok := m.(proto.Message)
	if !ok {
		return status.Errorf(codes.Internal, "grpc: cannot receive into %T", m)
	}
	msg, err := s.take()
	if err != nil {
		return err
	}
	// Decoded in place: protobuf copies what it keeps.
	return s.decoded(proto.Unmarshal(msg, pm))
}

// take waits for the next message and returns its bytes, which stay in place until decoded is
// called; after the last message, the status the stream ended with.
func (s *h2Stream) take() ([]byte, error) {
	for {
		s.mu.Lock()
		// The previous message was decoded: its bytes can go. Only Recv moves bytes in in;
		// the reader appends past them.
		if s.off > 0 && (s.off == len(s.in) || s.off >= cap(s.in)/2) {
			n := copy(s.in, s.in[s.off:])
			s.in = s.in[:n]
			s.ready -= s.off
			s.scan -= s.off
			s.off = 0
		}
		if s.ready > s.off && !s.cancelled {
			n := 5 + int(binary.BigEndian.Uint32(s.in[s.off+1:s.off+5]))
			msg := s.in[s.off+5 : s.off+n]
			s.off += n
			s.decoding = true
			inc := s.ackLocked()
			cc, id := s.cc, s.id
			s.mu.Unlock()
			if inc > 0 && cc != nil {
				cc.writeFrames(appendWindowUpdate(nil, id, uint32(inc)))
			}
			return msg, nil
		}
		if s.done {
			err := s.err
			s.releaseInLocked()
			s.mu.Unlock()
			return nil, err
		}
		s.mu.Unlock()
		<-s.wake
	}
}

// decoded ends the decoding of the message take returned (err: its decoding's), after which
// its bytes may go.
func (s *h2Stream) decoded(err error) error {
	s.mu.Lock()
	s.decoding = false
	s.releaseInLocked()
	s.mu.Unlock()
	if err != nil {
		err = status.Errorf(codes.Internal, "grpc: failed to unmarshal the received message: %v", err)
		s.finish(err, rstCancel)
	}
	return err
}

// releaseInLocked gives in's buffer back once nothing reads it any more: the stream ended,
// Recv is not decoding from it, and no message is left for Recv. A pick's exchange ends by
// cancelling its stream without reading to the end, so this runs from finish too: else each
// pick's echoed body (4 KB) went to the collector. s.mu held.
func (s *h2Stream) releaseInLocked() {
	if !s.done || s.decoding || (!s.cancelled && s.ready > s.off) {
		return
	}
	if bp := s.inBuf; bp != nil && cap(s.in) <= 64<<10 {
		*bp = s.in[:0]
		recvBufs.Put(bp)
	}
	s.in, s.inBuf, s.off, s.ready, s.scan = nil, nil, 0, 0, 0
}

// ackLocked returns the stream window to give back: what was received, once a quarter window
// of it, unless whole messages Recv has not taken fill a window (the picker then waits for
// the reader). s.mu held.
func (s *h2Stream) ackLocked() int32 {
	if s.unacked < streamWindow/4 || s.ready-s.off > streamWindow {
		return 0
	}
	inc := s.unacked
	s.unacked = 0
	s.recvWindow += inc
	return inc
}

// data takes a DATA frame's payload (the reader's goroutine) and returns the stream window to
// give back.
func (s *h2Stream) data(p []byte, n int32, end bool) int32 {
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		return 0
	}
	var err error
	rst := rstCancel
	s.recvWindow -= n
	switch {
	case s.recvWindow < 0:
		err = status.Error(codes.Internal, "the server overflowed the stream's flow-control window")
	case !s.gotHeader:
		err = status.Error(codes.Internal, "DATA before the response headers")
	default:
		if s.inBuf == nil {
			s.inBuf = recvBufs.Get().(*[]byte)
			s.in = (*s.inBuf)[:0]
		}
		s.in = append(s.in, p...)
		s.unacked += n
		err = s.scanLocked()
		if err == nil && end {
			err, rst = status.Error(codes.Internal, "server closed the stream without sending trailers"), rstIfOpen
		}
	}
	var inc int32
	if err == nil {
		inc = s.ackLocked()
	}
	s.mu.Unlock()
	if err != nil {
		s.finish(err, rst)
		return 0
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return inc
}

// scanLocked checks each new message prefix (no compression; the size limit) and marks whole
// messages ready. s.mu held.
func (s *h2Stream) scanLocked() error {
	for len(s.in)-s.scan >= 5 {
		h := s.in[s.scan:]
		if h[0] != 0 {
			return status.Errorf(codes.Internal, "grpc: compressed flag %d set without grpc-encoding", h[0])
		}
		n := binary.BigEndian.Uint32(h[1:5])
		if uint64(n) > uint64(s.c.maxMsg) {
			return status.Errorf(codes.ResourceExhausted, "grpc: received message larger than max (%d vs. %d)", n, s.c.maxMsg)
		}
		if uint64(len(h)) < 5+uint64(n) {
			break
		}
		s.scan += 5 + int(n)
		s.ready = s.scan
	}
	return nil
}

// headers takes the response headers or the trailers (the reader's goroutine); fields are the
// connection's, valid for this call (what the stream keeps of them it copies).
func (s *h2Stream) headers(fields []hpack.HeaderField, ended, truncated bool) {
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		return
	}
	var err error
	rst := rstIfOpen
	switch {
	case truncated:
		err, rst = status.Errorf(codes.Internal, "header list larger than %d bytes", h2MaxHeaderList), rstCancel
	case !s.gotHeader && !(ended && field(fields, "grpc-status") != ""):
		if st := field(fields, ":status"); st != "200" {
			err, rst = httpStatus(st), rstCancel
		} else if ct := field(fields, "content-type"); !strings.HasPrefix(ct, "application/grpc") {
			err, rst = status.Errorf(codes.Unknown, "transport: received unexpected content-type %q", ct), rstCancel
		}
		if err == nil {
			s.gotHeader, s.hdrFields = true, keepMD(s.hdrArr[:0], fields)
			if s.hdrWait != nil {
				close(s.hdrWait)
				s.hdrWait = nil
			}
			if !ended {
				s.mu.Unlock()
				return
			}
			err = status.Error(codes.Internal, "server closed the stream without sending trailers")
		}
	case !ended:
		err, rst = status.Error(codes.Internal, "a second header block without END_STREAM"), rstCancel
	default:
		s.trlFields = keepMD(s.trlArr[:0], fields)
		err = trailerStatus(fields)
	}
	s.mu.Unlock()
	s.finish(err, rst)
}

// trailerStatus is the status of a stream's trailers: io.EOF for OK.
func trailerStatus(fields []hpack.HeaderField) error {
	raw := field(fields, "grpc-status")
	if raw == "" {
		return status.Error(codes.Unknown, decodeGrpcMessage(field(fields, "grpc-message")))
	}
	c, err := strconv.ParseUint(raw, 10, 32)
	if err != nil {
		return status.Errorf(codes.Internal, "transport: malformed grpc-status %q", raw)
	}
	if c == 0 {
		return io.EOF
	}
	return status.Error(codes.Code(c), decodeGrpcMessage(field(fields, "grpc-message")))
}

// httpStatus is grpc-go's status for a response that is not gRPC's 200.
func httpStatus(st string) error {
	c := codes.Unknown
	switch st {
	case "400":
		c = codes.Internal
	case "401":
		c = codes.Unauthenticated
	case "403":
		c = codes.PermissionDenied
	case "404":
		c = codes.Unimplemented
	case "429", "502", "503", "504":
		c = codes.Unavailable
	}
	return status.Errorf(c, "unexpected HTTP status code received from server: %s", st)
}

func field(fs []hpack.HeaderField, name string) string {
	for _, f := range fs {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// decodeGrpcMessage undoes grpc-message's percent-encoding; a malformed escape stays as sent.
func decodeGrpcMessage(m string) string {
	if strings.IndexByte(m, '%') < 0 {
		return m
	}
	var b strings.Builder
	for i := 0; i < len(m); i++ {
		if m[i] == '%' && i+2 < len(m) {
			if v, err := strconv.ParseUint(m[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(m[i])
	}
	return b.String()
}

func (s *h2Stream) Context() context.Context { return s.ctx }

// Header waits for the response headers (or the stream's end).
func (s *h2Stream) Header() (metadata.MD, error) {
	s.mu.Lock()
	for !s.gotHeader && !s.done {
		if s.hdrWait == nil {
			s.hdrWait = make(chan struct{})
		}
		w := s.hdrWait
		s.mu.Unlock()
		<-w
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	if !s.gotHeader {
		if s.err == io.EOF {
			return nil, nil
		}
		return nil, s.err
	}
	return toMD(s.hdrFields), nil
}

// Trailer is the trailers, once Recv returned an error.
func (s *h2Stream) Trailer() metadata.MD {
	s.mu.Lock()
	defer s.mu.Unlock()
	return toMD(s.trlFields)
}

// keepMD appends to dst the fields of a header block that are metadata: not the fields gRPC
// reserves (grpc-go keeps content-type too).
func keepMD(dst, fs []hpack.HeaderField) []hpack.HeaderField {
	for _, f := range fs {
		switch f.Name {
		case "user-agent", "grpc-message-type", "grpc-encoding", "grpc-message", "grpc-status",
			"grpc-timeout", "grpc-status-details-bin", "te":
			continue
		}
		if !f.IsPseudo() {
			dst = append(dst, f)
		}
	}
	return dst
}

// toMD is the metadata of fields keepMD kept.
func toMD(fs []hpack.HeaderField) metadata.MD {
	md := metadata.MD{}
	for _, f := range fs {
		md[f.Name] = append(md[f.Name], f.Value)
	}
	return md
}
