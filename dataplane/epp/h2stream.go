package epp

import (
	"context"
	"encoding/binary"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

var aLongTimeAgo = time.Unix(1, 0)

// How a stream's end is told to the server.
const (
	rstNone   = iota
	rstCancel // RST_STREAM(CANCEL) once the HEADERS went out: the caller gave up
	rstIfOpen // RST_STREAM(NO_ERROR) when the server ended before we did, as grpc-go
)

// h2Stream is one ext_proc stream of the fast path. Send, CloseSend and Recv behave as
// grpc-go's: one Send (or CloseSend) at a time and one Recv at a time; a Send on a stream that
// ended returns io.EOF and Recv the status it ended with.
type h2Stream struct {
	c   *h2Client
	ctx context.Context

	// Under cc.wmu (and cc.mu when id is set): the stream's ID (0 until the HEADERS go out with
	// the first message), whether our side ended (END_STREAM or RST_STREAM written) and whether
	// RST_STREAM was.
	id       uint32
	localEnd bool
	rstSent  bool
	// The sender's: a message held for the next Send (holdNext).
	holding bool
	held    *[]byte
	// sent is the request body the exchange sends, which the picker's body reply usually
	// sends back (Recv takes it instead of a copy); set before the first Send.
	sent []byte
	// sendWindow is the peer's window for this stream; under cc.mu.
	sendWindow int32

	mu         sync.Mutex
	cc         *h2Conn // nil while moving to another connection; the stream holds a slot on it
	stop       func() bool
	in         []byte  // received DATA; Recv reads a message in place, the reader only appends
	inBuf      *[]byte // in's pooled buffer
	decoding   bool    // Recv is decoding a message of in, outside mu
	off        int     // where in the next message Recv takes starts
	ready      int     // in[off:ready] are whole messages
	scan       int     // offset in in of the first message prefix not yet checked
	recvWindow int32
	unacked    int32
	gotHeader  bool
	hdrFields  []hpack.HeaderField // the metadata (keepMD), in hdrArr unless longer
	hdrArr     [1]hpack.HeaderField
	hdrWait    chan struct{}
	trlFields  []hpack.HeaderField // the metadata, in trlArr unless longer
	trlArr     [1]hpack.HeaderField
	done       bool
	cancelled  bool
	err        error // io.EOF when the server ended with status OK

	wake chan struct{} // Recv's: data, or the end
}

// recvBufs hold streams' received bytes: a pick's replies (its body echoed back) fit one.
var recvBufs = sync.Pool{New: func() any { return new([]byte) }}

var _ extprocv3.ExternalProcessor_ProcessClient = (*h2Stream)(nil)

// streamCtx is the stream context of an exchange in the fast path: its cancel ends the stream
// on the cancelling goroutine (context.AfterFunc would start a goroutine per pick, as every
// exchange ends by cancelling its stream).
type streamCtx struct {
	context.Context
	parent context.Context
	s      atomic.Pointer[h2Stream]
}

// streamContext returns an exchange's stream context: context.WithCancel, or a streamCtx in
// the fast path.
func streamContext(parent context.Context) (context.Context, context.CancelFunc) {
	inner, cancel := context.WithCancel(parent)
	if !h2Fast {
		return inner, cancel
	}
	sc := &streamCtx{Context: inner, parent: parent}
	return sc, func() {
		cancel()
		if s := sc.s.Swap(nil); s != nil {
			s.cancel(context.Canceled)
		}
	}
}

func newH2Stream(c *h2Client, cc *h2Conn, ctx context.Context) *h2Stream {
	s := &h2Stream{c: c, ctx: ctx, cc: cc, recvWindow: streamWindow, wake: make(chan struct{}, 1)}
	if !cc.adopt(s) {
		s.finish(cc.deadErr(), rstNone)
		return s
	}
	watch := ctx
	if sc, ok := ctx.(*streamCtx); ok {
		sc.s.Store(s)
		watch = sc.parent
	}
	stop := context.AfterFunc(watch, func() { s.cancel(watch.Err()) })
	s.mu.Lock()
	s.stop = stop
	s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		s.cancel(err)
	}
	return s
}

// errStreamCanceled is the status of a stream whose context was cancelled: every pick's
// exchange ends so, and the status need not be built each time.
var errStreamCanceled = status.FromContextError(context.Canceled).Err()

// cancel ends the stream as grpc-go does when its context ends.
func (s *h2Stream) cancel(err error) {
	st := errStreamCanceled
	if err != context.Canceled {
		st = status.FromContextError(err).Err()
	}
	s.finish(st, rstCancel)
}

// finish ends the stream once: Recv returns err after what was received, a blocked Send
// returns, the server is told as rst says, and the stream's slot frees.
func (s *h2Stream) finish(err error, rst int) {
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		return
	}
	s.done, s.err = true, err
	s.cancelled = rst == rstCancel
	s.releaseInLocked()
	cc, stop := s.cc, s.stop
	if s.hdrWait != nil {
		close(s.hdrWait)
		s.hdrWait = nil
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	if stop != nil {
		stop()
	}
	if cc == nil {
		return
	}
	if rst != rstNone {
		cc.wmu.Lock()
		if s.id != 0 && !s.rstSent && (rst == rstCancel || !s.localEnd) {
			code := http2.ErrCodeCancel
			if rst == rstIfOpen {
				code = http2.ErrCodeNo
			}
			s.localEnd, s.rstSent = true, true
			cc.wbuf = appendRST(cc.wbuf[:0], s.id, code)
			_ = cc.writeLocked(cc.wbuf)
		}
		cc.unlockWrite()
	}
	cc.mu.Lock()
	if s.id != 0 {
		delete(cc.streams, s.id)
	} else {
		delete(cc.unsent, s)
	}
	cc.wakeLocked()
	cc.mu.Unlock()
	cc.release()
}

// rehome moves a stream whose HEADERS have not gone out off a connection that takes no new
// streams (GOAWAY, dead) to one that does; false when it ended instead.
func (s *h2Stream) rehome(old *h2Conn) bool {
	s.mu.Lock()
	if s.done || s.cc != old {
		s.mu.Unlock()
		return false
	}
	s.cc = nil
	s.mu.Unlock()
	old.mu.Lock()
	delete(old.unsent, s)
	old.mu.Unlock()
	old.release()
	cc, err := s.c.conn(s.ctx)
	if err != nil {
		s.finish(err, rstNone)
		return false
	}
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		cc.release()
		return false
	}
	s.cc = cc
	s.mu.Unlock()
	if !cc.adopt(s) {
		s.finish(cc.deadErr(), rstNone)
		return false
	}
	return true
}

var sendBufs = sync.Pool{New: func() any { return new([]byte) }}

func (s *h2Stream) Send(m *extprocv3.ProcessingRequest) error { return s.SendMsg(m) }

// SendMsg writes m (HEADERS first on the stream's first message) on the caller's goroutine,
// with a held message before it in the same write. m is a proto.Message, or a *headersRequest
// encoded by hand.
func (s *h2Stream) SendMsg(m any) error {
	hr, _ := m.(*headersRequest)
	pm, ok := m.(proto.Message)
	if !ok && hr == nil {
		return status.Errorf(codes.Internal, "grpc: cannot send %T", m)
	}
	bp, off := s.held, 0
	if bp != nil {
		off, s.held = len(*bp), nil
	} else {
		bp = sendBufs.Get().(*[]byte)
		*bp = (*bp)[:0]
	}
	b := append(*bp, 0, 0, 0, 0, 0)
	var err error
	if hr != nil {
		b = hr.appendTo(b)
	} else {
		b, err = proto.MarshalOptions{}.MarshalAppend(b, pm)
	}
	*bp = b
	if err != nil {
		err = status.Errorf(codes.Internal, "grpc: error while marshaling: %v", err)
	} else if n := len(b) - off - 5; n > s.c.maxMsg {
		err = status.Errorf(codes.ResourceExhausted, "grpc: trying to send message larger than max (%d vs. %d)", n, s.c.maxMsg)
	}
	if err != nil { // grpc-go ends the stream with it: Recv returns it too
		putSendBuf(bp)
		s.finish(err, rstCancel)
		return err
	}
	binary.BigEndian.PutUint32(b[off+1:off+5], uint32(len(b)-off-5))
	if s.holding {
		s.holding, s.held = false, bp
		return nil
	}
	defer putSendBuf(bp)
	return s.write(b, false, false)
}

func putSendBuf(bp *[]byte) {
	if cap(*bp) <= 64<<10 {
		sendBufs.Put(bp)
	}
}

// holdNext makes the next Send keep its message for the Send after it, so both go out in one
// write (the exchange's request headers and body, as grpc-go's writer batches them). Only for
// a caller that sends again before it waits for a reply.
func (s *h2Stream) holdNext() { s.holding = true }

// CloseSend ends our side of the stream.
func (s *h2Stream) CloseSend() error {
	s.flushEnd(false)
	return nil
}

// closeAndReset half-closes the stream and resets it in the same write: the exchange's end,
// which cancels the stream right after (grpc-go sends both, batched by its writer).
func (s *h2Stream) closeAndReset() { s.flushEnd(true) }

func (s *h2Stream) flushEnd(reset bool) {
	var data []byte
	if bp := s.held; bp != nil {
		s.held = nil
		defer putSendBuf(bp)
		data = *bp
	}
	_ = s.write(data, true, reset)
}

// endStream half-closes an exchange's stream that its cancel ends next.
func endStream(st extprocv3.ExternalProcessor_ProcessClient) {
	if s, ok := st.(*h2Stream); ok {
		s.closeAndReset()
		return
	}
	_ = st.CloseSend()
}

// sendsBody tells the fast path's stream the request body the exchange sends: a reply that
// sends it back unchanged is given it instead of a copy.
func sendsBody(st extprocv3.ExternalProcessor_ProcessClient, body []byte) {
	if s, ok := st.(*h2Stream); ok {
		s.sent = body
	}
}

// holdFirst asks the fast path's stream to send the first message with the next.
func holdFirst(st extprocv3.ExternalProcessor_ProcessClient) {
	if s, ok := st.(*h2Stream); ok {
		s.holdNext()
	}
}

// write sends data as DATA frames, within the peer's windows, waiting for them to open until
// the stream's context ends; end sets END_STREAM on the last frame, and reset follows it with
// RST_STREAM(CANCEL). io.EOF: the stream ended.
func (s *h2Stream) write(data []byte, end, reset bool) error {
	for {
		s.mu.Lock()
		cc, done := s.cc, s.done
		s.mu.Unlock()
		if done || cc == nil {
			return io.EOF
		}
		cc.wmu.Lock()
		cc.mu.Lock()
		headers := false
		if s.id == 0 {
			if cc.err != nil || cc.goaway || cc.nextID >= 1<<31 {
				cc.mu.Unlock()
				cc.unlockWrite()
				if !s.rehome(cc) {
					return io.EOF
				}
				continue
			}
			// Under wmu: a finish that set done after this reads the ID and resets the stream.
			s.mu.Lock()
			done = s.done
			s.mu.Unlock()
			if done {
				cc.mu.Unlock()
				cc.unlockWrite()
				return io.EOF
			}
			s.id, headers = cc.nextID, true
			cc.nextID += 2
			cc.streams[s.id] = s
			delete(cc.unsent, s)
			s.sendWindow = cc.peerWindow
		} else if cc.err != nil || s.localEnd {
			cc.mu.Unlock()
			cc.unlockWrite()
			return io.EOF
		}
		n := max(0, min(len(data), int(cc.sendWindow), int(s.sendWindow)))
		var wait chan struct{}
		if n < len(data) {
			if cc.winCh == nil {
				cc.winCh = make(chan struct{})
			}
			wait = cc.winCh
		}
		cc.sendWindow -= int32(n)
		s.sendWindow -= int32(n)
		frame := int(cc.peerFrame)
		ctl := cc.takeCtlLocked()
		cc.mu.Unlock()

		last := end && n == len(data)
		b := append(cc.wbuf[:0], ctl...)
		if headers {
			b = cc.appendHeaders(b, s, last && n == 0, frame)
		}
		if n > 0 || (last && !headers) {
			for off := 0; ; {
				k := min(n-off, frame)
				var fl http2.Flags
				if last && off+k == n {
					fl = http2.FlagDataEndStream
				}
				b = appendFrameHeader(b, k, http2.FrameData, fl, s.id)
				b = append(b, data[off:off+k]...)
				if off += k; off >= n {
					break
				}
			}
		}
		if last && reset {
			b = appendRST(b, s.id, http2.ErrCodeCancel)
			s.rstSent = true
		}
		var err error
		if len(b) > 0 {
			err = cc.writeLocked(b)
		}
		if cap(b) <= 256<<10 {
			cc.wbuf = b
		}
		if last {
			s.localEnd = true
		}
		cc.unlockWrite()
		if err != nil {
			return io.EOF
		}
		data = data[n:]
		if wait == nil {
			return nil
		}
		select {
		case <-wait:
		case <-s.ctx.Done():
			return io.EOF
		}
	}
}

// appendHeaders appends the stream's HEADERS (and CONTINUATIONs past the peer's frame size).
// cc.wmu held: the encoder's table is the peer's decoder's.
func (cc *h2Conn) appendHeaders(b []byte, s *h2Stream, end bool, frame int) []byte {
	cc.hbuf.b = cc.hbuf.b[:0]
	e := cc.henc
	_ = e.WriteField(hpack.HeaderField{Name: ":method", Value: "POST"})
	_ = e.WriteField(hpack.HeaderField{Name: ":scheme", Value: cc.scheme})
	_ = e.WriteField(hpack.HeaderField{Name: ":path", Value: processPath})
	_ = e.WriteField(hpack.HeaderField{Name: ":authority", Value: cc.c.addr})
	_ = e.WriteField(hpack.HeaderField{Name: "content-type", Value: "application/grpc"})
	_ = e.WriteField(hpack.HeaderField{Name: "te", Value: "trailers"})
	if dl, ok := s.ctx.Deadline(); ok {
		_ = e.WriteField(hpack.HeaderField{Name: "grpc-timeout", Value: grpcTimeout(time.Until(dl))})
	}
	block := cc.hbuf.b
	typ := http2.FrameHeaders
	for {
		k := min(len(block), frame)
		var fl http2.Flags
		if k == len(block) {
			fl |= http2.FlagHeadersEndHeaders
		}
		if end && typ == http2.FrameHeaders {
			fl |= http2.FlagHeadersEndStream
		}
		b = appendFrameHeader(b, k, typ, fl, s.id)
		b = append(b, block[:k]...)
		if block = block[k:]; len(block) == 0 {
			return b
		}
		typ = http2.FrameContinuation
	}
}

// grpcTimeout encodes d as gRPC's grpc-timeout header (at most 8 digits, rounded up).
func grpcTimeout(d time.Duration) string {
	if d <= 0 {
		return "0n"
	}
	for _, u := range []struct {
		d time.Duration
		s string
	}{{time.Nanosecond, "n"}, {time.Microsecond, "u"}, {time.Millisecond, "m"}, {time.Second, "S"}, {time.Minute, "M"}, {time.Hour, "H"}} {
		if v := (d + u.d - 1) / u.d; v < 1e8 {
			return strconv.FormatInt(int64(v), 10) + u.s
		}
	}
	return "99999999H"
}
