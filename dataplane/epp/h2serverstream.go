package epp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// The methods h2Server serves.
const (
	h2sProcessPath = "/envoy.service.ext_proc.v3.ExternalProcessor/Process"
	h2sCheckPath   = "/grpc.health.v1.Health/Check"
)

type h2sKind uint8

const (
	h2sProcess h2sKind = iota
	h2sCheck
)

// h2sStream is one gRPC call on an h2Server connection, and the ext_proc stream handle sends
// its replies on.
type h2sStream struct {
	c    *h2sConn
	id   uint32
	kind h2sKind
	st   streamState

	sendWin, recvWin, recvUnacked int64

	// The message being read: its 5-byte prefix, then need bytes (-1 while reading a prefix).
	pfx  [5]byte
	npfx int
	need int
	msg  []byte
	req  []byte // a health Check's request message
	nreq int

	headersSent bool
	remoteDone  bool   // the client half-closed
	finished    bool   // the call's status is decided: nothing more is sent but the trailers
	closed      bool   // out of the connection's streams
	pending     []byte // reply bytes waiting for the peer's window
	// The status waiting behind pending (encoded when sent: HPACK blocks must reach the
	// peer in the order they were encoded).
	trailersDue bool
	endCode     codes.Code
	endMsg      string
}

func newH2sStream(c *h2sConn, id uint32) *h2sStream {
	return &h2sStream{c: c, id: id, need: -1, sendWin: c.peerStreamWin, recvWin: streamWindow}
}

// open checks the request's headers and picks the method.
func (st *h2sStream) open(f *http2.MetaHeadersFrame) {
	if f.PseudoValue("method") != "POST" {
		st.close()
		st.c.write(st.c.fr.WriteRSTStream(st.id, http2.ErrCodeProtocol)) // as grpc-go does
		return
	}
	st.remoteDone = f.StreamEnded()
	var ct string
	for _, hf := range f.RegularFields() {
		if hf.Name == "content-type" {
			ct = hf.Value
			break
		}
	}
	if rest, ok := strings.CutPrefix(ct, "application/grpc"); !ok || rest != "" && rest[0] != '+' && rest[0] != ';' {
		st.earlyStatus(415, codes.Internal, "invalid gRPC request content-type")
		return
	}
	switch path := f.PseudoValue("path"); {
	case path == h2sProcessPath:
		st.kind = h2sProcess
	case path == h2sCheckPath && st.c.s.health != nil:
		st.kind = h2sCheck
	default:
		st.earlyStatus(200, codes.Unimplemented, unknownMethod(path))
		return
	}
	if st.remoteDone {
		st.endOfInput()
	}
}

// unknownMethod is grpc-go's message for a method it does not serve.
func unknownMethod(path string) string {
	svc, method, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if !ok || (svc != "envoy.service.ext_proc.v3.ExternalProcessor" && svc != "grpc.health.v1.Health") {
		return fmt.Sprintf("unknown service %v", svc)
	}
	return fmt.Sprintf("unknown method %v for service %v", method, svc)
}

// feed reads the stream's messages out of a DATA frame's payload.
func (st *h2sStream) feed(data []byte) {
	c := st.c
	for len(data) > 0 && !st.finished {
		if st.need < 0 {
			k := copy(st.pfx[st.npfx:], data)
			st.npfx += k
			data = data[k:]
			if st.npfx < len(st.pfx) {
				return
			}
			st.npfx = 0
			n := binary.BigEndian.Uint32(st.pfx[1:])
			switch {
			case st.pfx[0] == 1:
				st.fail(status.New(codes.Unimplemented, "grpc: compressed messages are not supported"))
				return
			case st.pfx[0] != 0:
				st.fail(status.Newf(codes.Internal, "grpc: invalid compressed-flag %d", st.pfx[0]))
				return
			case int64(n) > int64(c.s.maxMsg):
				st.fail(status.Newf(codes.ResourceExhausted, "grpc: received message larger than max (%d vs. %d)", n, c.s.maxMsg))
				return
			}
			st.need = int(n)
			if len(data) >= st.need {
				// The whole message in this frame: read where it lies.
				m := data[:st.need]
				data = data[st.need:]
				st.need = -1
				st.message(m)
				continue
			}
		}
		k := min(len(data), st.need-len(st.msg))
		st.msg = append(st.msg, data[:k]...) // grown as the bytes come: a prefix alone allocates nothing
		c.buffered += k
		data = data[k:]
		if len(st.msg) < st.need {
			c.checkHeld()
			return
		}
		m := st.msg
		c.buffered -= len(m)
		st.msg, st.need = st.msg[:0], -1
		st.message(m)
		if cap(st.msg) > 64<<10 {
			st.msg = nil
		}
	}
}

// message handles one whole message (m is not kept: the caller reuses it).
func (st *h2sStream) message(m []byte) {
	if st.kind == h2sCheck {
		if st.nreq++; st.nreq > 1 {
			st.fail(status.New(codes.Unimplemented, "grpc: too many request messages for a unary call"))
			return
		}
		st.req = append([]byte(nil), m...)
		return
	}
	req := decodeBodyRequest(m) // a body chunk's body is read where it lies
	aliased := req.GetRequestBody().GetBody()
	if req == nil {
		req = &extprocv3.ProcessingRequest{}
		if err := proto.Unmarshal(m, req); err != nil {
			st.fail(status.Newf(codes.Internal, "grpc: error unmarshalling request: %v", err))
			return
		}
	}
	s := st.c.s.srv
	before := len(st.st.body)
	done, err := s.handle(st, &st.st, req)
	if st.st.picked && st.st.header != nil {
		// Picked: the request is not read again, and the stream may live on as long as the
		// response streams.
		st.st.body, st.st.header, st.st.subset = nil, nil, nil
	}
	if b := st.st.body; len(b) > 0 && len(aliased) > 0 && &b[0] == &aliased[0] {
		// The whole body in one message, kept unpicked (the stream failed or ended): m is
		// the connection's to reuse.
		st.st.body = append([]byte(nil), b...)
	}
	st.c.bodies += len(st.st.body) - before
	st.c.grant()
	switch {
	case err != nil:
		s.metrics.requests.WithLabelValues(s.name, "invalid").Inc()
		st.fail(status.Convert(err))
	case done:
		st.finish(codes.OK, "")
	}
}

// endOfInput is the client's half-close: Process's Recv returning io.EOF, or a Check's request
// complete.
func (st *h2sStream) endOfInput() {
	st.remoteDone = true
	if st.finished {
		return
	}
	if st.need >= 0 || st.npfx > 0 {
		st.fail(status.New(codes.Internal, "grpc: the request ended inside a message"))
		return
	}
	switch st.kind {
	case h2sProcess:
		if s := st.c.s.srv; !st.st.picked {
			s.metrics.requests.WithLabelValues(s.name, "aborted").Inc()
		}
		st.finish(codes.OK, "")
	case h2sCheck:
		req := &healthpb.HealthCheckRequest{}
		if st.nreq != 1 {
			st.fail(status.New(codes.Internal, "grpc: no request message for a unary call"))
			return
		}
		if err := proto.Unmarshal(st.req, req); err != nil {
			st.fail(status.Newf(codes.Internal, "grpc: error unmarshalling request: %v", err))
			return
		}
		resp, err := st.c.s.health.Check(st.c.ctx, req)
		if err != nil {
			st.fail(status.Convert(err))
			return
		}
		if err := st.SendMsg(resp); err == nil {
			st.finish(codes.OK, "")
		}
	}
}

// reset ends the stream without a status: the client reset it or the connection ended
// (Process's Recv returning Canceled).
func (st *h2sStream) reset() {
	if !st.finished && st.kind == h2sProcess {
		if s := st.c.s.srv; !st.st.picked {
			s.metrics.requests.WithLabelValues(s.name, "aborted").Inc()
		}
	}
	st.finished = true
	st.close()
}

// close takes the stream out of its connection and lets go of its pick and buffers.
func (st *h2sStream) close() {
	if st.closed {
		return
	}
	st.closed, st.finished = true, true
	c := st.c
	delete(c.streams, st.id)
	c.open.Add(-1)
	c.buffered -= len(st.msg)
	c.parkedLen -= len(st.pending)
	c.bodies -= len(st.st.body)
	st.msg, st.pending, st.req, st.st.body = nil, nil, nil, nil
	c.grant()
	if st.st.pick != nil {
		st.st.pick.Release()
	}
}

func (st *h2sStream) fail(s *status.Status) { st.finish(s.Code(), s.Message()) }

// finish ends the call with its status: the trailers (or trailers-only HEADERS) follow
// whatever reply bytes still wait for the window; a client that has not half-closed is then
// told to stop sending (RST_STREAM NO_ERROR, as grpc-go does).
func (st *h2sStream) finish(code codes.Code, msg string) {
	if st.finished {
		return
	}
	st.finished = true
	if st.st.pick != nil && len(st.pending) > 0 {
		st.st.pick.Release() // as Process returning does, not when the window lets the replies out
	}
	if len(st.pending) > 0 {
		st.trailersDue, st.endCode, st.endMsg = true, code, msg
		return
	}
	st.endWith(st.c.block(http.StatusOK, !st.headersSent, true, code, msg))
}

// earlyStatus answers a call with its status alone (HEADERS with END_STREAM).
func (st *h2sStream) earlyStatus(httpStatus int, code codes.Code, msg string) {
	st.finished = true
	st.endWith(st.c.block(httpStatus, true, true, code, msg))
}

func (st *h2sStream) endWith(block []byte) {
	c := st.c
	c.writeHeaders(st.id, block, true)
	if !st.remoteDone {
		c.write(c.fr.WriteRSTStream(st.id, http2.ErrCodeNo))
	}
	st.close()
}

// drain sends what waits for the window, then the trailers once all is out.
func (st *h2sStream) drain() {
	c := st.c
	p := st.sendWithin(st.pending)
	c.parkedLen -= len(st.pending) - len(p)
	if len(p) > 0 {
		st.pending = append(st.pending[:0], p...)
		return
	}
	st.pending = nil
	switch {
	case st.trailersDue:
		st.endWith(c.block(http.StatusOK, !st.headersSent, true, st.endCode, st.endMsg))
	case !st.finished && st.recvUnacked > 0:
		// Granted again now that the replies are out.
		c.write(c.fr.WriteWindowUpdate(st.id, uint32(st.recvUnacked)))
		st.recvWin += st.recvUnacked
		st.recvUnacked = 0
	}
}

// sendWithin sends as much of b as DATA as the peer's windows allow and returns the rest.
func (st *h2sStream) sendWithin(b []byte) []byte {
	c := st.c
	for len(b) > 0 {
		n := min(int64(len(b)), st.sendWin, c.sendWin, int64(c.peerMaxFrame))
		if n <= 0 {
			break
		}
		c.write(c.fr.WriteData(st.id, false, b[:n]))
		st.sendWin -= n
		c.sendWin -= n
		b = b[n:]
	}
	return b
}

// writeData sends b as DATA within the peer's windows and parks the rest.
func (st *h2sStream) writeData(b []byte) {
	c := st.c
	if len(st.pending) == 0 {
		if b = st.sendWithin(b); len(b) == 0 {
			return
		}
		c.parked = append(c.parked, st)
	}
	st.pending = append(st.pending, b...)
	c.parkedLen += len(b)
	c.checkHeld()
}

var errH2sStreamDone = status.Error(codes.Canceled, "the stream has ended")

// SendMsg marshals m as the stream's next message.
func (st *h2sStream) SendMsg(m any) error {
	if st.finished || st.c.werr != nil {
		return errH2sStreamDone
	}
	pm, ok := m.(proto.Message)
	if !ok {
		return status.Errorf(codes.Internal, "grpc: %T is not a protobuf message", m)
	}
	c := st.c
	b, err := proto.MarshalOptions{}.MarshalAppend(append(c.scratch[:0], 0, 0, 0, 0, 0), pm)
	if err != nil {
		return status.Errorf(codes.Internal, "grpc: error marshalling reply: %v", err)
	}
	binary.BigEndian.PutUint32(b[1:5], uint32(len(b)-5))
	if !st.headersSent {
		st.headersSent = true
		c.writeHeaders(st.id, c.block(http.StatusOK, true, false, 0, ""), false)
	}
	st.writeData(b)
	if cap(b) <= 1<<20 { // a big reply's buffer is not kept for the connection's life
		c.scratch = b[:0]
	}
	if c.werr != nil {
		return errH2sStreamDone
	}
	return nil
}

// The ext_proc stream handle sees.
func (st *h2sStream) Send(m *extprocv3.ProcessingResponse) error { return st.SendMsg(m) }
func (st *h2sStream) Recv() (*extprocv3.ProcessingRequest, error) {
	return nil, status.Error(codes.Internal, "h2Server streams are read by the connection")
}
func (st *h2sStream) RecvMsg(any) error {
	return status.Error(codes.Internal, "h2Server streams are read by the connection")
}
func (st *h2sStream) Context() context.Context     { return st.c.ctx }
func (st *h2sStream) SetHeader(metadata.MD) error  { return nil }
func (st *h2sStream) SendHeader(metadata.MD) error { return nil }
func (st *h2sStream) SetTrailer(metadata.MD)       {}

// writeHeaders writes a header block as HEADERS and as many CONTINUATION frames as the peer's
// frame size needs.
func (c *h2sConn) writeHeaders(id uint32, block []byte, end bool) {
	first := block[:min(len(block), c.peerMaxFrame)]
	rest := block[len(first):]
	c.write(c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndStream: end, EndHeaders: len(rest) == 0}))
	for len(rest) > 0 {
		n := min(len(rest), c.peerMaxFrame)
		c.write(c.fr.WriteContinuation(id, n == len(rest), rest[:n]))
		rest = rest[n:]
	}
}

// held is what the connection holds in memory for its streams: partial request messages,
// request bodies not yet picked for, replies parked for the peer's window.
func (c *h2sConn) held() int { return c.buffered + c.bodies + c.parkedLen }

// checkHeld ends a connection holding far more than maxHeld: past maxHeld its window is not
// granted back (data), so only a peer sending what it was not granted gets here.
func (c *h2sConn) checkHeld() {
	if c.held() <= c.s.heldLimit+2*connWindow || c.werr != nil {
		return
	}
	c.goAwayErr(http2.ErrCodeEnhanceYourCalm)
	c.werr = errors.New("ext_proc connection over its buffered bytes")
}

// block encodes a header block with the connection's HPACK encoder: the response headers
// (:status, content-type) when headers is set, and the call's status (grpc-status, grpc-message)
// when status is. Fields the encoder indexes (all but grpc-message) cost the peer's decoder an
// index lookup from the second stream on, not a string. The block is valid until the next one.
func (c *h2sConn) block(httpStatus int, headers, status bool, code codes.Code, msg string) []byte {
	c.hdrBuf = c.hdrBuf[:0]
	if headers {
		_ = c.henc.WriteField(hpack.HeaderField{Name: ":status", Value: strconv.Itoa(httpStatus)})
		_ = c.henc.WriteField(hpack.HeaderField{Name: "content-type", Value: "application/grpc"})
	}
	if status {
		_ = c.henc.WriteField(hpack.HeaderField{Name: "grpc-status", Value: strconv.Itoa(int(code))})
		if msg != "" {
			// Never indexed: messages vary and would churn the peer's table.
			_ = c.henc.WriteField(hpack.HeaderField{Name: "grpc-message", Value: percentEncode(msg), Sensitive: true})
		}
	}
	return c.hdrBuf
}

// hpackSink appends what the HPACK encoder writes to the connection's header block.
type hpackSink struct{ c *h2sConn }

func (w hpackSink) Write(p []byte) (int, error) {
	w.c.hdrBuf = append(w.c.hdrBuf, p...)
	return len(p), nil
}

// percentEncode is grpc-message's encoding: bytes outside printable ASCII, and '%', as %XX.
func percentEncode(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '%' {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '%' {
			b = append(b, '%', hex[c>>4], hex[c&0xf])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}
