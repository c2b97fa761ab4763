package epp

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// h2Conn is one HTTP/2 connection to a picker.
type h2Conn struct {
	c      *h2Client
	nc     net.Conn
	fr     *http2.Framer // read by readLoop only; frames are written by hand
	hb     *h2FieldBlock // readLoop's
	scheme string

	// wmu orders writes: frames of one stream in order, HEADERS in stream-ID order, the hpack
	// encoder's state as the peer decodes it.
	wmu  sync.Mutex
	wbuf []byte
	hbuf hpackBuf
	henc *hpack.Encoder
	werr error

	mu          sync.Mutex
	streams     map[uint32]*h2Stream   // streams whose HEADERS went out
	unsent      map[*h2Stream]struct{} // streams holding a slot whose HEADERS did not go out yet
	nextID      uint32
	active      int // reserved slots: streams opened on this connection and not finished
	peerMax     uint32
	peerWindow  int32 // the peer's initial stream window
	peerFrame   uint32
	sendWindow  int32 // connection-level, for our DATA
	recvWindow  int32 // connection-level, for the peer's DATA
	recvUnacked int32
	goaway      bool
	lastID      uint32
	err         error         // set once: the connection is dead
	winCh       chan struct{} // closed when a window opens or a stream ends, for blocked Sends
	ctl         []byte        // the reader's frames waiting for the write lock
	hasCtl      atomic.Bool   // ctl is not empty
}

// hpackBuf collects one header block.
type hpackBuf struct{ b []byte }

func (h *hpackBuf) Write(p []byte) (int, error) { h.b = append(h.b, p...); return len(p), nil }

func newH2Conn(c *h2Client, nc net.Conn, scheme string) *h2Conn {
	cc := &h2Conn{
		c: c, nc: nc, scheme: scheme,
		streams: map[uint32]*h2Stream{}, unsent: map[*h2Stream]struct{}{}, nextID: 1,
		peerMax: h2MaxStreams, peerWindow: h2InitialWindow, peerFrame: h2FrameSize,
		sendWindow: h2InitialWindow, recvWindow: connWindow,
	}
	cc.henc = hpack.NewEncoder(&cc.hbuf)
	cc.fr = http2.NewFramer(nil, bufio.NewReaderSize(nc, 32<<10))
	cc.fr.SetMaxReadFrameSize(h2FrameSize)
	cc.fr.MaxHeaderListSize = h2MaxHeaderList
	cc.fr.SetReuseFrames() // a DATA frame's payload is copied out before the next read
	cc.hb = newH2FieldBlock(h2MaxHeaderList)
	return cc
}

// handshake writes the preface, our SETTINGS and the connection window in one write, then
// reads the server's SETTINGS (a peer that is not an HTTP/2 server fails here).
func (cc *h2Conn) handshake() error {
	b := append([]byte(nil), http2.ClientPreface...)
	b = appendFrameHeader(b, 3*6, http2.FrameSettings, 0, 0)
	for _, s := range []http2.Setting{
		{ID: http2.SettingEnablePush, Val: 0},
		{ID: http2.SettingInitialWindowSize, Val: streamWindow},
		{ID: http2.SettingMaxHeaderListSize, Val: h2MaxHeaderList},
	} {
		b = binary.BigEndian.AppendUint16(b, uint16(s.ID))
		b = binary.BigEndian.AppendUint32(b, s.Val)
	}
	b = appendWindowUpdate(b, 0, connWindow-h2InitialWindow)
	if _, err := cc.nc.Write(b); err != nil {
		return err
	}
	f, err := cc.fr.ReadFrame()
	if err != nil {
		return fmt.Errorf("reading the server's preface: %w", err)
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		return fmt.Errorf("the server's preface is a %v frame, not SETTINGS", f.Header().Type)
	}
	if err := cc.settings(sf); err != nil {
		return err
	}
	_, err = cc.nc.Write(appendFrameHeader(nil, 0, http2.FrameSettings, http2.FlagSettingsAck, 0))
	return err
}

// reserve takes a stream slot, if the connection takes new streams.
func (cc *h2Conn) reserve() bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.err != nil || cc.goaway || cc.active >= int(min(cc.peerMax, h2MaxStreams)) {
		return false
	}
	cc.active++
	return true
}

// adopt records a new stream that holds a slot, so that the connection's end ends it; false
// when the connection is already dead.
func (cc *h2Conn) adopt(s *h2Stream) bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.err != nil {
		return false
	}
	cc.unsent[s] = struct{}{}
	return true
}

func (cc *h2Conn) deadErr() error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.err
}

// release frees a slot; the last stream of a draining connection closes it.
func (cc *h2Conn) release() {
	cc.mu.Lock()
	cc.active--
	drained := cc.goaway && cc.active == 0 && cc.err == nil
	cc.mu.Unlock()
	if drained {
		cc.fail(status.Error(codes.Unavailable, "the connection drained after GOAWAY"))
	}
	cc.c.slotFreed()
}

// wake wakes Sends waiting for a window or for their stream's end; cc.mu held.
func (cc *h2Conn) wakeLocked() {
	if cc.winCh != nil {
		close(cc.winCh)
		cc.winCh = nil
	}
}

// write sends b (whole frames) in one write; a failed write kills the connection. wmu held.
func (cc *h2Conn) writeLocked(b []byte) error {
	if cc.werr != nil {
		return cc.werr
	}
	if _, err := cc.nc.Write(b); err != nil {
		cc.werr = err
		go cc.fail(status.Errorf(codes.Unavailable, "connection error: desc = %q", err.Error()))
		return err
	}
	return nil
}

// writeFrames writes the reader's frames (window updates, acks, resets) without waiting for
// the write lock: they are queued, and whoever holds the lock sends them after its own. The
// reader never stops reading behind a write the peer is not reading (the peer may be waiting
// for us to read).
func (cc *h2Conn) writeFrames(b []byte) {
	cc.mu.Lock()
	cc.ctl = append(cc.ctl, b...)
	cc.hasCtl.Store(true)
	cc.mu.Unlock()
	cc.flushCtl()
}

// flushCtl sends the queued frames unless another goroutine holds the write lock (it sends
// them when it releases it: unlockWrite).
func (cc *h2Conn) flushCtl() {
	for cc.hasCtl.Load() && cc.wmu.TryLock() {
		cc.mu.Lock()
		b := cc.takeCtlLocked()
		cc.mu.Unlock()
		if len(b) > 0 {
			_ = cc.writeLocked(b)
		}
		cc.wmu.Unlock()
	}
}

// takeCtlLocked returns the queued frames; cc.mu held.
func (cc *h2Conn) takeCtlLocked() []byte {
	b := cc.ctl
	cc.ctl = nil
	cc.hasCtl.Store(false)
	return b
}

// unlockWrite releases the write lock and sends frames queued while it was held.
func (cc *h2Conn) unlockWrite() {
	cc.wmu.Unlock()
	cc.flushCtl()
}

// fail kills the connection: every stream ends with err, the reader ends as the socket closes.
func (cc *h2Conn) fail(err error) {
	cc.mu.Lock()
	if cc.err != nil {
		cc.mu.Unlock()
		return
	}
	cc.err = err
	streams := make([]*h2Stream, 0, len(cc.streams)+len(cc.unsent))
	for _, s := range cc.streams {
		streams = append(streams, s)
	}
	for s := range cc.unsent {
		streams = append(streams, s)
	}
	clear(cc.streams)
	clear(cc.unsent)
	cc.wakeLocked()
	cc.mu.Unlock()
	_ = cc.nc.Close()
	for _, s := range streams {
		s.finish(err, rstNone)
	}
	cc.c.remove(cc, true)
}

// readLoop reads the picker's frames until the connection dies.
func (cc *h2Conn) readLoop() {
	for {
		f, err := cc.fr.ReadFrame()
		if err == nil {
			err = cc.handle(f)
		}
		if se, ok := errors.AsType[http2.StreamError](err); ok {
			err = nil
			cc.resetStream(se.StreamID, se.Code, status.Errorf(codes.Internal, "malformed header block: %v", se))
		}
		if err != nil {
			cc.mu.Lock()
			dead := cc.err
			cc.mu.Unlock()
			if dead == nil {
				dead = status.Errorf(codes.Unavailable, "error reading from server: %v", err)
			}
			cc.fail(dead)
			return
		}
	}
}

// stream returns the open stream id, or nil (one that ended, or never existed).
func (cc *h2Conn) stream(id uint32) *h2Stream {
	cc.mu.Lock()
	s := cc.streams[id]
	cc.mu.Unlock()
	return s
}

// handle applies one frame; an error is the connection's end.
func (cc *h2Conn) handle(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.DataFrame:
		return cc.data(f)
	case *http2.HeadersFrame:
		cc.hb.start(f)
		return cc.headerFragment(f.HeaderBlockFragment(), f.HeadersEnded())
	case *http2.ContinuationFrame: // the framer checks that it continues a HEADERS frame
		return cc.headerFragment(f.HeaderBlockFragment(), f.HeadersEnded())
	case *http2.RSTStreamFrame:
		if s := cc.stream(f.StreamID); s != nil {
			s.finish(rstStatus(f.ErrCode), rstNone)
		}
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		if err := cc.settings(f); err != nil {
			return err
		}
		cc.writeFrames(appendFrameHeader(nil, 0, http2.FrameSettings, http2.FlagSettingsAck, 0))
	case *http2.PingFrame:
		if !f.IsAck() {
			b := appendFrameHeader(make([]byte, 0, 17), 8, http2.FramePing, http2.FlagPingAck, 0)
			cc.writeFrames(append(b, f.Data[:]...))
		}
	case *http2.WindowUpdateFrame:
		return cc.windowUpdate(f)
	case *http2.GoAwayFrame:
		cc.goAway(f.LastStreamID)
	case *http2.PushPromiseFrame:
		return errors.New("PUSH_PROMISE with push disabled")
	}
	return nil
}

// headerFragment decodes a piece of a header block and hands the block, once whole, to its
// stream.
func (cc *h2Conn) headerFragment(frag []byte, end bool) error {
	done, err := cc.hb.fragment(frag, end)
	if !done {
		return err
	}
	if s := cc.stream(cc.hb.streamID); s != nil {
		s.headers(cc.hb.fields, cc.hb.ended, cc.hb.truncated)
	}
	return nil
}

// data delivers a DATA frame's payload and keeps both receive windows open.
func (cc *h2Conn) data(f *http2.DataFrame) error {
	n := int32(f.Length)
	cc.mu.Lock()
	s := cc.streams[f.StreamID]
	cc.recvWindow -= n
	if cc.recvWindow < 0 {
		cc.mu.Unlock()
		return errors.New("the server overflowed the connection window")
	}
	cc.recvUnacked += n
	var connInc int32
	if cc.recvUnacked >= connWindow/4 {
		connInc, cc.recvUnacked = cc.recvUnacked, 0
		cc.recvWindow += connInc
	}
	cc.mu.Unlock()
	var streamInc int32
	if s != nil {
		streamInc = s.data(f.Data(), n, f.StreamEnded())
	}
	if connInc > 0 || streamInc > 0 {
		var b []byte
		if connInc > 0 {
			b = appendWindowUpdate(b, 0, uint32(connInc))
		}
		if streamInc > 0 {
			b = appendWindowUpdate(b, f.StreamID, uint32(streamInc))
		}
		cc.writeFrames(b)
	}
	return nil
}

func (cc *h2Conn) settings(f *http2.SettingsFrame) error {
	var hdrTable *uint32
	cc.mu.Lock()
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingMaxConcurrentStreams:
			cc.peerMax = s.Val
		case http2.SettingInitialWindowSize:
			delta := int32(s.Val) - cc.peerWindow
			cc.peerWindow = int32(s.Val)
			for _, st := range cc.streams {
				st.sendWindow += delta
			}
		case http2.SettingMaxFrameSize:
			cc.peerFrame = s.Val
		case http2.SettingHeaderTableSize:
			v := s.Val
			hdrTable = &v
		}
		return nil
	})
	cc.wakeLocked()
	cc.mu.Unlock()
	if hdrTable != nil {
		cc.wmu.Lock()
		cc.henc.SetMaxDynamicTableSizeLimit(*hdrTable)
		cc.unlockWrite()
	}
	cc.c.slotFreed() // MAX_CONCURRENT_STREAMS may have grown
	return err
}

func (cc *h2Conn) windowUpdate(f *http2.WindowUpdateFrame) error {
	inc := int64(f.Increment)
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.wakeLocked()
	if f.StreamID == 0 {
		if int64(cc.sendWindow)+inc > 1<<31-1 {
			return errors.New("the server overflowed our connection window")
		}
		cc.sendWindow += int32(inc)
		return nil
	}
	if s := cc.streams[f.StreamID]; s != nil && int64(s.sendWindow)+inc <= 1<<31-1 {
		s.sendWindow += int32(inc)
	}
	return nil
}

// goAway stops new streams on the connection; those the server will not process fail as
// codes.Unavailable, the others run to their end, and the last one closes the connection.
func (cc *h2Conn) goAway(last uint32) {
	cc.mu.Lock()
	if !cc.goaway || last < cc.lastID {
		cc.lastID = last
	}
	cc.goaway = true
	var refused []*h2Stream
	for id, s := range cc.streams {
		if id > cc.lastID {
			refused = append(refused, s)
		}
	}
	idle := cc.active == 0
	cc.wakeLocked()
	cc.mu.Unlock()
	cc.c.remove(cc, false)
	for _, s := range refused {
		s.finish(status.Error(codes.Unavailable, "the server stopped accepting new streams (GOAWAY)"), rstNone)
	}
	if idle {
		cc.fail(status.Error(codes.Unavailable, "the connection drained after GOAWAY"))
	}
}

// resetStream ends stream id with err and tells the server.
func (cc *h2Conn) resetStream(id uint32, code http2.ErrCode, err error) {
	if s := cc.stream(id); s != nil {
		s.finish(err, rstNone)
	}
	cc.writeFrames(appendRST(nil, id, code))
}

// rstStatus is the status grpc-go gives a stream the server reset.
func rstStatus(code http2.ErrCode) error {
	c := codes.Internal
	switch code {
	case http2.ErrCodeRefusedStream:
		c = codes.Unavailable
	case http2.ErrCodeCancel:
		c = codes.Canceled
	case http2.ErrCodeFlowControl, http2.ErrCodeEnhanceYourCalm:
		c = codes.ResourceExhausted
	case http2.ErrCodeInadequateSecurity:
		c = codes.PermissionDenied
	}
	return status.Errorf(c, "stream terminated by RST_STREAM with error code: %v", code)
}

func appendFrameHeader(b []byte, length int, t http2.FrameType, flags http2.Flags, id uint32) []byte {
	return append(b, byte(length>>16), byte(length>>8), byte(length), byte(t), byte(flags),
		byte(id>>24)&0x7f, byte(id>>16), byte(id>>8), byte(id))
}

func appendWindowUpdate(b []byte, id, inc uint32) []byte {
	b = appendFrameHeader(b, 4, http2.FrameWindowUpdate, 0, id)
	return binary.BigEndian.AppendUint32(b, inc&0x7fffffff)
}

func appendRST(b []byte, id uint32, code http2.ErrCode) []byte {
	b = appendFrameHeader(b, 4, http2.FrameRSTStream, 0, id)
	return binary.BigEndian.AppendUint32(b, uint32(code))
}
