package epp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// fuzzConn feeds the client's reader the fuzzer's bytes; what the client writes is dropped.
type fuzzConn struct{ r *bytes.Reader }

func (c *fuzzConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *fuzzConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *fuzzConn) Close() error                     { return nil }
func (c *fuzzConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *fuzzConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *fuzzConn) SetDeadline(time.Time) error      { return nil }
func (c *fuzzConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fuzzConn) SetWriteDeadline(time.Time) error { return nil }

const fuzzMaxMsg = 1 << 10

// h2Seeds are server sides of stream 1: a reply and OK trailers, an error status, trailers
// only, a reset, GOAWAY, headers in CONTINUATIONs, padding, an oversized message, control frames.
func h2Seeds() [][]byte {
	msg, _ := proto.Marshal(streamedReply([]byte("hello"), true, false))
	grpcMsg := append([]byte{0, 0, 0, 0, byte(len(msg))}, msg...)
	ok := headerBlock(":status", "200", "content-type", "application/grpc")
	build := func(write func(fr *http2.Framer)) []byte {
		var b bytes.Buffer
		fr := http2.NewFramer(&b, nil)
		_ = fr.WriteSettings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 1 << 14})
		write(fr)
		return b.Bytes()
	}
	hdr := func(fr *http2.Framer, block []byte, end bool) {
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block, EndHeaders: true, EndStream: end})
	}
	return [][]byte{
		build(func(fr *http2.Framer) {
			hdr(fr, ok, false)
			_ = fr.WriteData(1, false, grpcMsg)
			hdr(fr, headerBlock("grpc-status", "0"), true)
		}),
		build(func(fr *http2.Framer) {
			hdr(fr, ok, false)
			_ = fr.WriteData(1, false, grpcMsg[:3])
			_ = fr.WriteData(1, false, grpcMsg[3:])
			hdr(fr, headerBlock("grpc-status", "8", "grpc-message", "shed%3A 100%25 busy"), true)
		}),
		build(func(fr *http2.Framer) {
			hdr(fr, headerBlock(":status", "200", "content-type", "application/grpc", "grpc-status", "14"), true)
		}),
		build(func(fr *http2.Framer) {
			hdr(fr, ok, false)
			_ = fr.WriteRSTStream(1, http2.ErrCodeRefusedStream)
		}),
		build(func(fr *http2.Framer) { _ = fr.WriteGoAway(0, http2.ErrCodeNo, []byte("bye")) }),
		build(func(fr *http2.Framer) {
			_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: ok[:2]})
			_ = fr.WriteContinuation(1, true, ok[2:])
			_ = fr.WriteDataPadded(1, false, grpcMsg, []byte{0, 0, 0})
			hdr(fr, headerBlock("grpc-status", "0"), true)
		}),
		build(func(fr *http2.Framer) {
			hdr(fr, ok, false)
			_ = fr.WriteData(1, false, []byte{0, 0, 0, 0x10, 0})
		}),
		build(func(fr *http2.Framer) {
			_ = fr.WritePing(false, [8]byte{1})
			_ = fr.WriteWindowUpdate(0, 1000)
			_ = fr.WriteWindowUpdate(1, 1<<31-1)
			_ = fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0},
				http2.Setting{ID: http2.SettingHeaderTableSize, Val: 0}, http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 0})
			hdr(fr, headerBlock(":status", "503"), false)
		}),
	}
}

// The client's reader against any bytes from the server: no panic, no hang, the stream ends
// with io.EOF or a gRPC status, and what it buffers stays within the message limit.
func FuzzH2ClientReader(f *testing.F) {
	for _, s := range h2Seeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c := newH2Client("fuzz:1", nil, fuzzMaxMsg)
		cc := newH2Conn(c, &fuzzConn{r: bytes.NewReader(b)}, "http")
		cc.active = 1
		s := newH2Stream(c, cc, context.Background())
		s.id, cc.nextID = 1, 3
		cc.streams[1] = s
		delete(cc.unsent, s)
		cc.readLoop() // returns at the input's end
		for range len(b) + 1 {
			s.mu.Lock()
			if len(s.in)-s.off > fuzzMaxMsg+5 && s.ready == s.off {
				t.Fatalf("%d bytes of a message buffered past the %d limit", len(s.in)-s.off, fuzzMaxMsg)
			}
			s.mu.Unlock()
			_, err := s.Recv()
			if err == nil {
				continue
			}
			if _, ok := status.FromError(err); !ok && !errors.Is(err, io.EOF) {
				t.Fatalf("Recv: %v is neither io.EOF nor a gRPC status", err)
			}
			return
		}
		t.Fatal("Recv returned more messages than the input has bytes")
	})
}
