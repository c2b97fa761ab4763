package epp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

// eachFrame reads frames until the connection ends, acknowledging the client's SETTINGS and
// handing every other frame to f.
func eachFrame(fr *http2.Framer, f func(http2.Frame)) {
	for {
		fm, err := fr.ReadFrame()
		if err != nil {
			return
		}
		if st, ok := fm.(*http2.SettingsFrame); ok {
			if !st.IsAck() {
				_ = fr.WriteSettingsAck()
			}
			continue
		}
		f(fm)
	}
}

// rawPicker is an HTTP/2 server written frame by frame, for what grpc-go's server never does.
// Each connection gets settings, then handle reads its frames.
func rawPicker(t *testing.T, settings []http2.Setting, handle func(fr *http2.Framer)) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = lis.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			nc, err := lis.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer func() { _ = nc.Close() }()
				go func() { <-t.Context().Done(); _ = nc.Close() }()
				if _, err := io.ReadFull(nc, make([]byte, len(http2.ClientPreface))); err != nil {
					return
				}
				fr := http2.NewFramer(nc, nc)
				fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
				if fr.WriteSettings(settings...) != nil {
					return
				}
				handle(fr)
			})
		}
	})
	return lis.Addr().String()
}

// headerBlock encodes a header block.
func headerBlock(fields ...string) []byte {
	var b bytes.Buffer
	e := hpack.NewEncoder(&b)
	for i := 0; i+1 < len(fields); i += 2 {
		_ = e.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return b.Bytes()
}

// The server resets a stream: Recv returns grpc-go's status for the reset code.
func TestH2ClientServerReset(t *testing.T) {
	for _, tc := range []struct {
		code http2.ErrCode
		want codes.Code
	}{
		{http2.ErrCodeInternal, codes.Internal},
		{http2.ErrCodeRefusedStream, codes.Unavailable},
		{http2.ErrCodeEnhanceYourCalm, codes.ResourceExhausted},
	} {
		t.Run(tc.code.String(), func(t *testing.T) {
			addr := rawPicker(t, nil, func(fr *http2.Framer) {
				for {
					f, err := fr.ReadFrame()
					if err != nil {
						return
					}
					if h, ok := f.(*http2.MetaHeadersFrame); ok {
						_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: h.StreamID, EndHeaders: true,
							BlockFragment: headerBlock(":status", "200", "content-type", "application/grpc")})
						_ = fr.WriteRSTStream(h.StreamID, tc.code)
					}
				}
			})
			_, err := roundTrip(t.Context(), newTestH2(t, addr, nil), []byte("x"))
			wantCode(t, err, tc.want)
		})
	}
}

// A Send blocked on a window the picker never opens ends with its context: the Send returns
// io.EOF, Recv the context's status, and the picker gets RST_STREAM(CANCEL).
func TestH2ClientCancelBlockedSend(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ctx    func(context.Context) (context.Context, context.CancelFunc)
		cancel bool
		want   codes.Code
	}{
		{"cancel", streamContext, true, codes.Canceled},
		{"plain cancel", context.WithCancel, true, codes.Canceled},
		{"deadline", func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithTimeout(ctx, 200*time.Millisecond)
		}, false, codes.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resets := make(chan http2.ErrCode, 1)
			addr := rawPicker(t, []http2.Setting{{ID: http2.SettingInitialWindowSize, Val: 1024}}, func(fr *http2.Framer) {
				eachFrame(fr, func(f http2.Frame) {
					if r, ok := f.(*http2.RSTStreamFrame); ok {
						resets <- r.ErrCode
					}
				})
			})
			c := newTestH2(t, addr, nil)
			ctx, cancel := tc.ctx(t.Context())
			defer cancel()
			s, err := c.Process(ctx)
			if err != nil {
				t.Fatal(err)
			}
			sent := make(chan error, 1)
			go func() { sent <- s.Send(bodyMsg(make([]byte, 64<<10), true)) }()
			if tc.cancel {
				cc := s.(*h2Stream).cc
				waitFor(t, 5*time.Second, "the Send to wait for a window", func() bool {
					cc.mu.Lock()
					defer cc.mu.Unlock()
					return cc.winCh != nil
				})
				cancel()
			}
			select {
			case err := <-sent:
				if !errors.Is(err, io.EOF) {
					t.Fatalf("Send: %v, want io.EOF", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Send still blocked after its context ended")
			}
			_, err = s.Recv()
			wantCode(t, err, tc.want)
			select {
			case code := <-resets:
				if code != http2.ErrCodeCancel {
					t.Errorf("picker got RST_STREAM(%v), want CANCEL", code)
				}
			case <-time.After(5 * time.Second):
				t.Error("the picker got no RST_STREAM")
			}
		})
	}
}

// A GOAWAY whose last stream is below a stream's fails that stream as Unavailable; the next
// stream goes to a new connection.
func TestH2ClientGoAwayRefusesStream(t *testing.T) {
	var conns atomic.Int32
	msg, err := proto.Marshal(streamedReply([]byte("picked"), true, false))
	if err != nil {
		t.Fatal(err)
	}
	addr := rawPicker(t, nil, func(fr *http2.Framer) {
		first := conns.Add(1) == 1
		eachFrame(fr, func(f http2.Frame) {
			h, ok := f.(*http2.MetaHeadersFrame)
			switch {
			case !ok:
			case first:
				_ = fr.WriteGoAway(0, http2.ErrCodeNo, nil)
			default:
				_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: h.StreamID, EndHeaders: true,
					BlockFragment: headerBlock(":status", "200", "content-type", "application/grpc")})
				_ = fr.WriteData(h.StreamID, false, append([]byte{0, 0, 0, 0, byte(len(msg))}, msg...))
				_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: h.StreamID, EndHeaders: true, EndStream: true,
					BlockFragment: headerBlock("grpc-status", "0")})
			}
		})
	})
	c := newTestH2(t, addr, nil)
	s, err := c.Process(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Send(bodyMsg([]byte("x"), true))
	_, err = s.Recv()
	wantCode(t, err, codes.Unavailable)
	s, err = c.Process(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(bodyMsg([]byte("x"), true)); err != nil {
		t.Fatal(err)
	}
	m, err := s.Recv()
	if err != nil || string(replyBody(m)) != "picked" {
		t.Fatalf("on a new connection: %v", err)
	}
	if _, err := s.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("end: %v", err)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// A header block larger than the peer's frame size goes out as HEADERS and CONTINUATIONs that
// decode to the same fields.
func TestH2ClientContinuation(t *testing.T) {
	c := newH2Client("picker.example:9002", nil, testMaxMsg)
	cc := newH2Conn(c, &fuzzConn{r: bytes.NewReader(nil)}, "https")
	ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
	defer cancel()
	s := &h2Stream{c: c, ctx: ctx, id: 5}
	b := cc.appendHeaders(nil, s, true, 7)
	fr := http2.NewFramer(nil, bytes.NewReader(b))
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	f, err := fr.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	h := f.(*http2.MetaHeadersFrame)
	if h.StreamID != 5 || !h.StreamEnded() {
		t.Errorf("stream %d, END_STREAM %v", h.StreamID, h.StreamEnded())
	}
	want := map[string]string{":method": "POST", ":scheme": "https", ":path": processPath, ":authority": "picker.example:9002",
		"content-type": "application/grpc", "te": "trailers"}
	for _, f := range h.Fields {
		if f.Name == "grpc-timeout" {
			continue
		}
		if want[f.Name] != f.Value {
			t.Errorf("%s: %q, want %q", f.Name, f.Value, want[f.Name])
		}
		delete(want, f.Name)
	}
	if len(want) > 0 || field(h.Fields, "grpc-timeout") == "" {
		t.Errorf("missing %v (or grpc-timeout)", want)
	}
}

// A Send stuck in a write the picker does not read (it is busy sending) does not stop the
// reader: the picker's PING is acked through the queue, and its reply and status still reach
// Recv.
func TestH2ClientReaderNotBehindStuckWrite(t *testing.T) {
	msg, err := proto.Marshal(streamedReply([]byte("picked"), true, false))
	if err != nil {
		t.Fatal(err)
	}
	reply := make(chan struct{})
	addr := rawPicker(t, []http2.Setting{{ID: http2.SettingInitialWindowSize, Val: 1<<31 - 1}}, func(fr *http2.Framer) {
		_ = fr.WriteWindowUpdate(0, 1<<31-1-65535)
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			if f.Header().Type == http2.FrameData {
				break // the first message; from now on nothing is read
			}
		}
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, EndHeaders: true,
			BlockFragment: headerBlock(":status", "200", "content-type", "application/grpc")})
		<-reply
		_ = fr.WritePing(false, [8]byte{7})
		_ = fr.WriteData(1, false, append([]byte{0, 0, 0, 0, byte(len(msg))}, msg...))
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, EndHeaders: true, EndStream: true,
			BlockFragment: headerBlock("grpc-status", "0")})
		<-t.Context().Done()
	})
	c := newTestH2(t, addr, nil)
	s := openSent(t, c, "x")
	go func() { _ = s.Send(bodyMsg(make([]byte, 6<<20), true)) }() // more than the sockets hold
	cc := s.(*h2Stream).cc
	waitFor(t, 5*time.Second, "the big Send to hold the write lock", func() bool {
		if cc.wmu.TryLock() {
			cc.wmu.Unlock()
			return false
		}
		return true
	})
	close(reply)
	got := make(chan error, 1)
	go func() {
		m, err := s.Recv()
		if err == nil && string(replyBody(m)) != "picked" {
			err = errors.New("wrong reply")
		}
		if err == nil {
			_, err = s.Recv()
		}
		got <- err
	}()
	select {
	case err := <-got:
		if !errors.Is(err, io.EOF) {
			t.Fatalf("Recv: %v, want the reply then io.EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the reader stopped behind the stuck write")
	}
}
