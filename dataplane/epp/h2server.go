package epp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/infergw/gwctl/pkg/fastpath"
)

// fastServer serves ext_proc with h2Server instead of grpc-go (GWCTL_NOFAST=eppserver turns it off).
var fastServer = fastpath.Enabled(fastpath.EPPServer)

// Limits of an h2Server connection, advertised in its SETTINGS.
const (
	// SETTINGS_MAX_CONCURRENT_STREAMS: in full duplex a stream lasts as long as the response
	// streams, and a client at the limit waits (grpc-go) or dials again (Envoy).
	h2sMaxStreams       = 16384
	h2sMaxHeaderList    = 64 << 10 // SETTINGS_MAX_HEADER_LIST_SIZE
	h2sReadBuf          = 32 << 10
	h2sWriteBuf         = 32 << 10
	h2sHandshakeTimeout = 10 * time.Second
	h2sWriteTimeout     = 30 * time.Second
	// h2sMaxHeld is what a connection may hold for its streams (partial messages, bodies not
	// yet picked for, replies waiting for the peer's window) before it stops granting the peer
	// connection window (at least twice the largest message).
	h2sMaxHeld = 64 << 20
)

// healthChecker answers grpc.health.v1.Health/Check (health.Server does).
type healthChecker interface {
	Check(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error)
}

// h2Server serves the ext_proc Process method and health Check over HTTP/2 on each
// connection's read goroutine: every message is handled as its last DATA frame is read and the
// replies are written to a buffer flushed before the next read blocks. grpc-go hands each
// message from its reader to a stream goroutine and each reply to a writer goroutine; here a
// pick wakes nothing but the connection's reader.
type h2Server struct {
	srv    *Server
	health healthChecker // nil: Check is an unknown method
	tls    *tls.Config   // nil: h2c with prior knowledge
	maxMsg int
	log    *slog.Logger
	// heldLimit bounds what a connection holds before it stops granting window (h2sMaxHeld,
	// at least twice maxMsg).
	heldLimit int
	// maxStreams is SETTINGS_MAX_CONCURRENT_STREAMS (h2sMaxStreams).
	maxStreams int

	draining atomic.Bool
	mu       sync.Mutex
	lis      []net.Listener
	conns    map[*h2sConn]struct{}
	wg       sync.WaitGroup
}

// newH2Server serves srv (and health, when set) with messages up to maxMsg bytes.
func newH2Server(srv *Server, health healthChecker, tlsCfg *tls.Config, maxMsg int, log *slog.Logger) *h2Server {
	if tlsCfg != nil {
		tlsCfg = tlsCfg.Clone()
		if !slices.Contains(tlsCfg.NextProtos, "h2") {
			tlsCfg.NextProtos = append(tlsCfg.NextProtos, "h2")
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &h2Server{srv: srv, health: health, tls: tlsCfg, maxMsg: maxMsg, log: log, conns: map[*h2sConn]struct{}{},
		heldLimit: max(h2sMaxHeld, 2*maxMsg), maxStreams: h2sMaxStreams}
}

// Serve accepts connections on lis until Stop or GracefulStop (then it returns nil).
func (s *h2Server) Serve(lis net.Listener) error {
	s.mu.Lock()
	if s.draining.Load() {
		s.mu.Unlock()
		_ = lis.Close()
		return nil
	}
	s.lis = append(s.lis, lis)
	s.mu.Unlock()
	var delay time.Duration
	for {
		nc, err := lis.Accept()
		if err != nil {
			if s.draining.Load() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay) // backing off from a failing Accept (EMFILE), as net/http does
				continue
			}
			return err
		}
		delay = 0
		c := s.track(nc)
		if c == nil {
			return nil
		}
		go c.serve()
	}
}

// track registers a new connection; nil (the connection closed) once the server stops.
func (s *h2Server) track(nc net.Conn) *h2sConn {
	c := &h2sConn{s: s, raw: nc, nc: nc, streams: map[uint32]*h2sStream{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining.Load() {
		_ = nc.Close()
		return nil
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return c
}

// GracefulStop stops accepting, sends GOAWAY on every connection and waits until their open
// streams have ended.
func (s *h2Server) GracefulStop() {
	// Wakes each connection's reader, which sends GOAWAY (all writes stay on that goroutine).
	s.stop(func(c *h2sConn) { _ = c.raw.SetReadDeadline(time.Now()) })
}

// Stop closes every listener and connection.
func (s *h2Server) Stop() { s.stop(func(c *h2sConn) { _ = c.raw.Close() }) }

// stop closes the listeners, does end to every connection and waits for their readers.
func (s *h2Server) stop(end func(*h2sConn)) {
	s.mu.Lock()
	s.draining.Store(true)
	for _, l := range s.lis {
		_ = l.Close()
	}
	for c := range s.conns {
		end(c)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// h2sConn is one connection; every field but raw is the read goroutine's.
type h2sConn struct {
	s      *h2Server
	raw    net.Conn // as accepted: what GracefulStop wakes and Stop closes
	nc     net.Conn // raw, or the TLS connection over it
	ctx    context.Context
	cancel context.CancelFunc
	br     *bufio.Reader
	bw     *bufio.Writer
	fr     *http2.Framer
	werr   error // the first write error: the connection is done

	streams   map[uint32]*h2sStream
	maxID     uint32 // the highest stream id the client opened
	goAway    bool   // GOAWAY sent: no new streams
	drainPing bool   // the first GOAWAY of a graceful stop sent, its PING not yet answered
	parked    []*h2sStream
	parkedLen int          // bytes the parked streams hold
	buffered  int          // bytes of partial request messages
	bodies    int          // bytes of request bodies not yet picked for
	open      atomic.Int32 // len(streams), for tests

	// Flow control: what we may still send (the peer's windows) and what the peer may still
	// send us, with what we consumed but have not yet granted back.
	sendWin       int64
	peerStreamWin int64 // the peer's SETTINGS_INITIAL_WINDOW_SIZE
	peerMaxFrame  int
	recvWin       int64
	recvUnacked   int64

	wdl     time.Time // write deadline in force
	scratch []byte    // a reply's gRPC message
	hdrBuf  []byte    // a HEADERS block being built
	henc    *hpack.Encoder
}

// h2sReader is the connection's reader as the bufio.Reader sees it: before the connection is
// read (when the reader may block) the replies written so far are flushed; a read woken by
// GracefulStop sends GOAWAY and reads on.
type h2sReader struct{ c *h2sConn }

var errH2sDrained = errors.New("connection drained")

func (r h2sReader) Read(p []byte) (int, error) {
	c := r.c
	for {
		c.flush()
		if c.werr != nil {
			return 0, c.werr
		}
		n, err := c.nc.Read(p)
		if n == 0 && err != nil && c.s.draining.Load() && errors.Is(err, os.ErrDeadlineExceeded) {
			_ = c.nc.SetReadDeadline(time.Time{})
			switch {
			case c.goAway || c.drainPing:
			case c.live() == 0:
				c.finalGoAway()
			default:
				// As grpc-go: a GOAWAY naming no last stream and a PING; the GOAWAY that names
				// it follows the PING's answer, so that a stream the client opened before it
				// saw the first one is still served, not refused.
				c.drainPing = true
				c.write(c.fr.WriteGoAway(1<<31-1, http2.ErrCodeNo, nil))
				c.write(c.fr.WritePing(false, h2sDrainPing))
			}
			if c.goAway && c.live() == 0 {
				c.flush()
				return 0, errH2sDrained
			}
			continue
		}
		return n, err
	}
}

// h2sDrainPing is the data of a graceful stop's PING.
var h2sDrainPing = [8]byte{'g', 'o', 'a', 'w', 'a', 'y'}

// finalGoAway tells the client the last stream served.
func (c *h2sConn) finalGoAway() {
	c.goAway, c.drainPing = true, false
	c.write(c.fr.WriteGoAway(c.maxID, http2.ErrCodeNo, nil))
}

// live counts the streams still open.
func (c *h2sConn) live() int { return len(c.streams) }

// flush writes the buffered frames, under a write deadline renewed at most every few seconds
// (a peer that stops reading must not hold the connection's goroutine forever).
func (c *h2sConn) flush() {
	if c.bw.Buffered() == 0 || c.werr != nil {
		return
	}
	if now := time.Now(); c.wdl.Sub(now) < h2sWriteTimeout-5*time.Second {
		c.wdl = now.Add(h2sWriteTimeout)
		_ = c.nc.SetWriteDeadline(c.wdl)
	}
	if err := c.bw.Flush(); err != nil {
		c.werr = err
	}
}

func (c *h2sConn) write(err error) {
	if err != nil && c.werr == nil {
		c.werr = err
	}
}

func (c *h2sConn) serve() {
	defer c.s.wg.Done()
	defer func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
		_ = c.nc.Close()
	}()
	c.ctx, c.cancel = context.WithCancel(context.Background())
	defer c.cancel()
	_ = c.nc.SetDeadline(time.Now().Add(h2sHandshakeTimeout))
	if c.s.draining.Load() {
		_ = c.nc.SetReadDeadline(time.Now()) // GracefulStop came before this deadline
	}
	if c.s.tls != nil {
		tc := tls.Server(c.nc, c.s.tls)
		if err := tc.HandshakeContext(c.ctx); err != nil {
			c.s.log.Debug("ext_proc TLS handshake failed", "remote", c.nc.RemoteAddr().String(), "error", err)
			return
		}
		if tc.ConnectionState().NegotiatedProtocol != "h2" {
			c.s.log.Debug("ext_proc client did not negotiate h2 (ALPN)", "remote", c.nc.RemoteAddr().String())
			return
		}
		c.nc = tc
	}
	c.br = bufio.NewReaderSize(h2sReader{c}, h2sReadBuf)
	c.bw = bufio.NewWriterSize(c.nc, h2sWriteBuf)
	c.fr = http2.NewFramer(c.bw, c.br)
	c.fr.SetReuseFrames()
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.henc = hpack.NewEncoder(hpackSink{c})
	c.fr.MaxHeaderListSize = h2sMaxHeaderList
	c.fr.SetMaxReadFrameSize(16 << 10)
	c.sendWin, c.peerStreamWin, c.peerMaxFrame = 65535, 65535, 16<<10
	c.recvWin = connWindow
	// The server's preface first, then the connection window opened to connWindow.
	c.write(c.fr.WriteSettings(
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: uint32(c.s.maxStreams)},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: streamWindow},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: h2sMaxHeaderList},
	))
	c.write(c.fr.WriteWindowUpdate(0, connWindow-65535))

	var preface [len(http2.ClientPreface)]byte
	if _, err := io.ReadFull(c.br, preface[:]); err != nil || string(preface[:]) != http2.ClientPreface {
		return
	}
	f, err := c.fr.ReadFrame()
	if sf, ok := f.(*http2.SettingsFrame); err != nil || !ok || sf.IsAck() {
		c.goAwayErr(http2.ErrCodeProtocol)
		return
	} else if !c.settings(sf) {
		return
	}
	// Under the server's lock: a GracefulStop setting its deadline now is not undone.
	c.s.mu.Lock()
	if !c.s.draining.Load() {
		_ = c.nc.SetReadDeadline(time.Time{})
	}
	c.s.mu.Unlock()
	defer c.closeAll()
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			var se http2.StreamError
			switch {
			case errors.As(err, &se):
				c.streamError(se.StreamID, se.Code)
				continue
			case errors.Is(err, http2.ErrFrameTooLarge):
				c.goAwayErr(http2.ErrCodeFrameSize)
			default:
				var ce http2.ConnectionError
				if errors.As(err, &ce) {
					c.goAwayErr(http2.ErrCode(ce))
				}
			}
			return
		}
		if !c.frame(f) || c.werr != nil {
			return
		}
		if c.goAway && c.live() == 0 {
			c.flush()
			return
		}
	}
}

// goAwayErr ends the connection for a protocol error the peer made.
func (c *h2sConn) goAwayErr(code http2.ErrCode) {
	c.s.log.Debug("ext_proc connection error", "remote", c.nc.RemoteAddr().String(), "code", code.String())
	c.goAway = true
	c.write(c.fr.WriteGoAway(c.maxID, code, nil))
	c.flush()
}

// frame handles one frame; false ends the connection.
func (c *h2sConn) frame(f http2.Frame) bool {
	switch f := f.(type) {
	case *http2.DataFrame:
		return c.data(f)
	case *http2.MetaHeadersFrame:
		return c.headers(f)
	case *http2.SettingsFrame:
		if f.IsAck() {
			return true
		}
		return c.settings(f)
	case *http2.PingFrame:
		switch {
		case !f.IsAck():
			c.write(c.fr.WritePing(true, f.Data))
		case c.drainPing && f.Data == h2sDrainPing:
			c.finalGoAway()
		}
	case *http2.WindowUpdateFrame:
		return c.windowUpdate(f)
	case *http2.RSTStreamFrame:
		if st := c.streams[f.StreamID]; st != nil {
			st.reset()
		} else if f.StreamID > c.maxID {
			c.goAwayErr(http2.ErrCodeProtocol) // RST_STREAM on an idle stream
			return false
		}
	case *http2.GoAwayFrame:
		// The client stops opening streams; those open finish.
	case *http2.PushPromiseFrame:
		c.goAwayErr(http2.ErrCodeProtocol)
		return false
	}
	return true // PRIORITY and unknown frames are ignored
}

func (c *h2sConn) settings(f *http2.SettingsFrame) bool {
	code := http2.ErrCodeNo
	_ = f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			var ce http2.ConnectionError
			code = http2.ErrCodeProtocol
			if errors.As(err, &ce) {
				code = http2.ErrCode(ce)
			}
			return err
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - c.peerStreamWin
			c.peerStreamWin = int64(s.Val)
			for _, st := range c.streams {
				if st.sendWin += delta; st.sendWin > 1<<31-1 {
					code = http2.ErrCodeFlowControl
				}
			}
		case http2.SettingMaxFrameSize:
			c.peerMaxFrame = int(s.Val)
		case http2.SettingHeaderTableSize:
			c.henc.SetMaxDynamicTableSizeLimit(s.Val)
		}
		return nil
	})
	if code != http2.ErrCodeNo {
		c.goAwayErr(code)
		return false
	}
	c.write(c.fr.WriteSettingsAck())
	c.unpark()
	return true
}

func (c *h2sConn) windowUpdate(f *http2.WindowUpdateFrame) bool {
	inc := int64(f.Increment)
	if f.StreamID == 0 {
		if c.sendWin += inc; c.sendWin > 1<<31-1 {
			c.goAwayErr(http2.ErrCodeFlowControl)
			return false
		}
		c.unpark()
		return true
	}
	st := c.streams[f.StreamID]
	if st == nil {
		if f.StreamID > c.maxID {
			c.goAwayErr(http2.ErrCodeProtocol) // WINDOW_UPDATE on an idle stream
			return false
		}
		return true
	}
	if st.sendWin += inc; st.sendWin > 1<<31-1 {
		c.streamError(st.id, http2.ErrCodeFlowControl)
		return true
	}
	if len(st.pending) > 0 {
		st.drain()
		c.compactParked()
	}
	return true
}

// streamError resets a stream for a protocol error of the peer.
func (c *h2sConn) streamError(id uint32, code http2.ErrCode) {
	if id > c.maxID && id%2 == 1 {
		c.maxID = id
	}
	if st := c.streams[id]; st != nil {
		st.reset()
	}
	c.write(c.fr.WriteRSTStream(id, code))
}

// headers opens a stream, or half-closes one (trailers from the client).
func (c *h2sConn) headers(f *http2.MetaHeadersFrame) bool {
	id := f.StreamID
	if st := c.streams[id]; st != nil {
		if !f.StreamEnded() || st.remoteDone {
			c.streamError(id, http2.ErrCodeProtocol)
			return true
		}
		st.endOfInput()
		return true
	}
	if id%2 == 0 {
		c.goAwayErr(http2.ErrCodeProtocol)
		return false
	}
	if id <= c.maxID {
		return true // a stream already closed (reset by us): ignored
	}
	c.maxID = id
	switch {
	case c.goAway:
		c.write(c.fr.WriteRSTStream(id, http2.ErrCodeRefusedStream))
		return true
	case f.Truncated:
		c.write(c.fr.WriteRSTStream(id, http2.ErrCodeFrameSize)) // what grpc-go answers
		return true
	case len(c.streams) >= c.s.maxStreams:
		c.write(c.fr.WriteRSTStream(id, http2.ErrCodeRefusedStream))
		return true
	}
	st := newH2sStream(c, id)
	c.streams[id] = st
	c.open.Add(1)
	st.open(f)
	return true
}

// data feeds a stream's messages; the windows are granted back as the bytes are consumed.
func (c *h2sConn) data(f *http2.DataFrame) bool {
	n := int64(f.Header().Length)
	if n > c.recvWin {
		c.goAwayErr(http2.ErrCodeFlowControl)
		return false
	}
	c.recvWin -= n
	c.recvUnacked += n
	c.grant()
	st := c.streams[f.StreamID]
	if st == nil {
		if f.StreamID > c.maxID {
			c.goAwayErr(http2.ErrCodeProtocol) // DATA on an idle stream
			return false
		}
		return true // a closed stream's late data
	}
	if st.remoteDone {
		c.streamError(st.id, http2.ErrCodeStreamClosed)
		return true
	}
	if n > st.recvWin {
		c.streamError(st.id, http2.ErrCodeFlowControl)
		return true
	}
	st.recvWin -= n
	st.feed(f.Data())
	if st.closed {
		return true
	}
	if f.StreamEnded() {
		st.endOfInput()
		return true
	}
	st.recvUnacked += n
	// A stream whose replies wait for the peer's window is not granted more to send: what it
	// holds back stays bounded.
	if st.recvUnacked >= streamWindow/4 && len(st.pending) == 0 && !st.finished {
		c.write(c.fr.WriteWindowUpdate(st.id, uint32(st.recvUnacked)))
		st.recvWin += st.recvUnacked
		st.recvUnacked = 0
	}
	return true
}

// grant opens the connection window again by what was consumed, once that is a quarter of it,
// unless the connection holds more than heldLimit: then the peer waits until streams end.
func (c *h2sConn) grant() {
	if c.recvUnacked < connWindow/4 || c.held() > c.s.heldLimit {
		return
	}
	c.write(c.fr.WriteWindowUpdate(0, uint32(c.recvUnacked)))
	c.recvWin += c.recvUnacked
	c.recvUnacked = 0
}

// unpark sends what parked streams hold as far as the windows allow.
func (c *h2sConn) unpark() {
	for _, st := range c.parked {
		if c.sendWin <= 0 {
			break
		}
		st.drain()
	}
	c.compactParked()
}

func (c *h2sConn) compactParked() {
	c.parked = slices.DeleteFunc(c.parked, func(st *h2sStream) bool { return len(st.pending) == 0 || st.closed })
	c.parkedLen = 0
	for _, st := range c.parked {
		c.parkedLen += len(st.pending)
	}
	c.grant()
}

// closeAll ends the streams still open when the connection ends, as a cancelled stream.
func (c *h2sConn) closeAll() {
	for _, st := range c.streams {
		st.reset()
	}
	c.flush()
}
