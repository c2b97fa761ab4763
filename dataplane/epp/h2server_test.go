package epp

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/infergw/gwctl/dataplane/pool"
	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
	"github.com/infergw/gwctl/internal/testenv"
)

// h2Fixture is an h2Server on loopback over a pool of simulators, whatever GWCTL_NOFAST says
// (these tests are the fast path's own).
type h2Fixture struct {
	srv  *Server
	h    *h2Server
	addr string
	sims []string
}

func startH2(t *testing.T, tlsCfg *tls.Config, maxBody int64, set ...func(*h2Server)) *h2Fixture {
	t.Helper()
	sims := startSims(t, 2, vllmsim.Config{})
	p := startPool(t, "h2/"+t.Name(), sims, pool.FailClose, pool.SchedulerConfig{})
	srv, err := NewServer(p, maxBody, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	hs := health.NewServer()
	hs.SetServingStatus("liveness", healthpb.HealthCheckResponse_SERVING)
	h := newH2Server(srv, hs, tlsCfg, int(srv.maxBody)+1<<20, nil)
	for _, f := range set {
		f(h)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = h.Serve(lis) }()
	t.Cleanup(h.Stop)
	return &h2Fixture{srv: srv, h: h, addr: lis.Addr().String(), sims: sims}
}

func (f *h2Fixture) count(outcome string) float64 {
	return testutil.ToFloat64(f.srv.metrics.requests.WithLabelValues(f.srv.name, outcome))
}

// fullDuplexPick runs a pick as Envoy does (go-control-plane's client over grpc-go) and checks
// the two replies.
func fullDuplexPick(t *testing.T, client extprocv3.ExternalProcessorClient, sims []string, body []byte) {
	t.Helper()
	s, err := client.Process(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*extprocv3.ProcessingRequest{headersMsg(nil, false, nil), bodyMsg(body, true)} {
		if err := s.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	hr, err := s.Recv()
	if err != nil {
		t.Fatal(err)
	}
	dest, ok := destination(hr.GetDynamicMetadata(), nil)
	if !ok || !contains(sims, strings.Split(dest, ",")[0]) {
		t.Fatalf("headers reply %v: want a pick among %v", hr, sims)
	}
	br, err := s.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if got := br.GetRequestBody().GetResponse().GetBodyMutation().GetStreamedResponse().GetBody(); !bytes.Equal(got, body) {
		t.Fatalf("body sent back: %d bytes, want the %d sent", len(got), len(body))
	}
	if err := s.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the half-close: %v, want the stream to end OK (io.EOF)", err)
	}
}

// The fast path over h2c (prior knowledge) and over TLS with ALPN h2, driven by grpc-go: a
// pick with a body bigger than the client's stream window (the echo waits for window updates),
// health Check as the health server answers, and unknown methods as UNIMPLEMENTED.
func TestH2ServerTransports(t *testing.T) {
	ca := testenv.NewCA(t, "epp-ca")
	kp := ca.Issue(t, testenv.Leaf{Names: []string{"127.0.0.1"}})
	for _, tc := range []struct {
		name  string
		tls   bool
		creds func() credentials.TransportCredentials
	}{
		{"h2c", false, insecure.NewCredentials},
		{"tls", true, func() credentials.TransportCredentials {
			return credentials.NewTLS(&tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cfg *tls.Config
			if tc.tls {
				cfg = &tls.Config{Certificates: []tls.Certificate{kp.TLS}}
			}
			f := startH2(t, cfg, 0)
			// 64 KiB is the smallest window grpc-go sets: a 210 KB echo waits for its updates.
			cc, err := grpc.NewClient(f.addr, grpc.WithTransportCredentials(tc.creds()),
				grpc.WithInitialWindowSize(1<<16), grpc.WithInitialConnWindowSize(1<<16))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cc.Close() })
			client := extprocv3.NewExternalProcessorClient(cc)
			fullDuplexPick(t, client, f.sims, chatBody("sim-model", "hello", false))
			fullDuplexPick(t, client, f.sims, chatBody("sim-model", strings.Repeat("a long prompt ", 15000), false))
			if n := f.count("picked"); n != 2 {
				t.Errorf("picked = %v, want 2", n)
			}

			hc := healthpb.NewHealthClient(cc)
			r, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "liveness"})
			if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("Check(liveness) = %v, %v: want SERVING", r, err)
			}
			if _, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "nope"}); status.Code(err) != codes.NotFound {
				t.Errorf("Check(nope) = %v: want NotFound, as the health server answers", err)
			}
			for _, m := range []struct{ method, msg string }{
				{"/grpc.health.v1.Health/Watch", "unknown method Watch for service grpc.health.v1.Health"},
				{"/envoy.service.ext_proc.v3.ExternalProcessor/Other", "unknown method Other for service envoy.service.ext_proc.v3.ExternalProcessor"},
				{"/foo.Bar/Baz", "unknown service foo.Bar"},
			} {
				err := cc.Invoke(context.Background(), m.method, &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{})
				if s := status.Convert(err); s.Code() != codes.Unimplemented || s.Message() != m.msg {
					t.Errorf("%s: %v, want Unimplemented %q", m.method, err, m.msg)
				}
			}
			// The connection still serves after all that.
			fullDuplexPick(t, client, f.sims, chatBody("sim-model", "again", false))
		})
	}
}

// A TLS client that does not negotiate h2 by ALPN (offering only http/1.1, or nothing) is not
// served: grpc-go's server refuses it too.
func TestH2ServerTLSNeedsALPN(t *testing.T) {
	ca := testenv.NewCA(t, "epp-ca")
	kp := ca.Issue(t, testenv.Leaf{Names: []string{"127.0.0.1"}})
	f := startH2(t, &tls.Config{Certificates: []tls.Certificate{kp.TLS}}, 0)
	for _, protos := range [][]string{{"http/1.1"}, nil} {
		c, err := tls.Dial("tcp", f.addr, &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1", NextProtos: protos})
		if err != nil {
			continue // refused in the handshake
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.WriteString(c, http2.ClientPreface)
		n, err := io.Copy(io.Discard, c)
		var ne net.Error
		if n != 0 || errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("ALPN %q: read %d bytes, %v: want the connection closed unserved", protos, n, err)
		}
		_ = c.Close()
	}
}

// rawH2 is an HTTP/2 client made of a Framer, for what grpc-go's client never does.
type rawH2 struct {
	t    *testing.T
	nc   net.Conn
	fr   *http2.Framer
	enc  *hpack.Encoder
	hbuf bytes.Buffer
	// goAway is the last GOAWAY read.
	goAway *http2.GoAwayFrame
}

// dialRaw opens a connection with the given SETTINGS and reads the server's.
func dialRaw(t *testing.T, addr string, settings ...http2.Setting) *rawH2 {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	r := &rawH2{t: t, nc: nc, fr: http2.NewFramer(nc, nc)}
	r.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	r.fr.SetMaxReadFrameSize(16 << 10) // the default SETTINGS_MAX_FRAME_SIZE, which the server must respect
	r.enc = hpack.NewEncoder(&r.hbuf)
	if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := r.fr.WriteSettings(settings...); err != nil {
		t.Fatal(err)
	}
	sf, ok := r.next().(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		t.Fatalf("first frame %v: want the server's SETTINGS", sf)
	}
	if v, _ := sf.Value(http2.SettingMaxConcurrentStreams); v == 0 {
		t.Error("no SETTINGS_MAX_CONCURRENT_STREAMS")
	}
	if err := r.fr.WriteSettingsAck(); err != nil {
		t.Fatal(err)
	}
	if wu, ok := r.next().(*http2.WindowUpdateFrame); !ok || wu.StreamID != 0 || wu.Increment != connWindow-65535 {
		t.Fatalf("second frame %v: want the connection window opened to %d", wu, connWindow)
	}
	return r
}

func (r *rawH2) next() http2.Frame {
	r.t.Helper()
	f, err := r.fr.ReadFrame()
	if err != nil {
		r.t.Fatalf("reading a frame: %v", err)
	}
	return f
}

// block is a header block for a gRPC call of path.
func (r *rawH2) block(path string, extra ...string) []byte {
	r.hbuf.Reset()
	fields := append([]string{":method", "POST", ":scheme", "http", ":path", path, ":authority", "epp",
		"content-type", "application/grpc", "te", "trailers"}, extra...)
	for i := 0; i < len(fields); i += 2 {
		_ = r.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return append([]byte(nil), r.hbuf.Bytes()...)
}

func (r *rawH2) open(id uint32, path string, end bool) {
	r.t.Helper()
	if err := r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: r.block(path), EndStream: end, EndHeaders: true}); err != nil {
		r.t.Fatal(err)
	}
}

func grpcFrame(m proto.Message) []byte {
	b, _ := proto.Marshal(m)
	return append(binary.BigEndian.AppendUint32([]byte{0}, uint32(len(b))), b...)
}

func (r *rawH2) send(id uint32, payload []byte, end bool) {
	r.t.Helper()
	for {
		n := min(len(payload), 16<<10)
		if err := r.fr.WriteData(id, end && n == len(payload), payload[:n]); err != nil {
			r.t.Fatal(err)
		}
		if payload = payload[n:]; len(payload) == 0 {
			return
		}
	}
}

// rawCall is what a stream got back.
type rawCall struct {
	data    []byte
	status  string // grpc-status; "" until the trailers
	message string
	http    string // :status
	rst     *http2.ErrCode
}

func (c *rawCall) messages(t *testing.T) []*extprocv3.ProcessingResponse {
	t.Helper()
	var out []*extprocv3.ProcessingResponse
	for b := c.data; len(b) > 0; {
		n := int(binary.BigEndian.Uint32(b[1:5]))
		m := &extprocv3.ProcessingResponse{}
		if err := proto.Unmarshal(b[5:5+n], m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
		b = b[5+n:]
	}
	return out
}

// await reads frames until done says the stream id has what the test waits for; onData sees
// each DATA frame of the stream (to grant windows).
func (r *rawH2) await(id uint32, c *rawCall, done func(*rawCall) bool, onData func(n int)) {
	r.t.Helper()
	for !done(c) {
		switch f := r.next().(type) {
		case *http2.DataFrame:
			if f.StreamID == id {
				c.data = append(c.data, f.Data()...)
				if onData != nil {
					onData(len(f.Data()))
				}
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID != id {
				continue
			}
			for _, hf := range f.Fields {
				switch hf.Name {
				case ":status":
					c.http = hf.Value
				case "grpc-status":
					c.status = hf.Value
				case "grpc-message":
					c.message = hf.Value
				}
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				code := f.ErrCode
				c.rst = &code
			}
		case *http2.GoAwayFrame:
			r.goAway = f
		}
	}
}

func ended(c *rawCall) bool { return c.status != "" || c.rst != nil }

// closed reads until the server closes the connection; false on a timeout.
func (r *rawH2) closed() bool {
	for {
		f, err := r.fr.ReadFrame()
		if err != nil {
			var ne net.Error
			return !(errors.As(err, &ne) && ne.Timeout())
		}
		if g, ok := f.(*http2.GoAwayFrame); ok {
			r.goAway = g
		}
	}
}

// A reply bigger than the peer's windows waits for WINDOW_UPDATE: with a 100-byte stream
// window and the default 65,535-byte connection window, the 150 KB body comes back in pieces
// no bigger than what was granted, whole, in order, then the trailers after the half-close.
func TestH2ServerTinyWindow(t *testing.T) {
	f := startH2(t, nil, 0)
	r := dialRaw(t, f.addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100})
	body := chatBody("sim-model", strings.Repeat("tiny windows ", 12000), false)
	r.open(1, h2sProcessPath, false)
	r.send(1, grpcFrame(headersMsg(nil, false, nil)), false)
	r.send(1, grpcFrame(bodyMsg(body, true)), false)
	c := &rawCall{}
	streamWin, connWin := 100, 65535
	for !c.complete() {
		before := len(c.data)
		r.await(1, c, func(c *rawCall) bool { return len(c.data) > before }, nil)
		if len(c.data) > streamWin || len(c.data) > connWin {
			t.Fatalf("%d bytes sent with windows of %d (stream) and %d (connection)", len(c.data), streamWin, connWin)
		}
		// Grant in uneven steps, the connection's window too once it runs low.
		step := 7000 + len(c.data)%1000
		if err := r.fr.WriteWindowUpdate(1, uint32(step)); err != nil {
			t.Fatal(err)
		}
		streamWin += step
		if connWin-len(c.data) < 20000 {
			if err := r.fr.WriteWindowUpdate(0, 100000); err != nil {
				t.Fatal(err)
			}
			connWin += 100000
		}
	}
	msgs := c.messages(t)
	if len(msgs) != 2 || msgs[0].GetRequestHeaders() == nil {
		t.Fatalf("replies %d: want the headers and body replies", len(msgs))
	}
	if got := msgs[1].GetRequestBody().GetResponse().GetBodyMutation().GetStreamedResponse().GetBody(); !bytes.Equal(got, body) {
		t.Fatalf("body sent back %d bytes, want the %d sent", len(got), len(body))
	}
	r.send(1, nil, true)
	r.await(1, c, ended, nil)
	if c.status != "0" || c.rst != nil {
		t.Fatalf("end of stream: grpc-status %q, reset %v: want 0", c.status, c.rst)
	}
}

// messages0 counts whole messages in data without decoding them.
func (c *rawCall) messages0() []int {
	var out []int
	for b := c.data; len(b) >= 5; {
		n := int(binary.BigEndian.Uint32(b[1:5]))
		if len(b) < 5+n {
			break
		}
		out = append(out, n)
		b = b[5+n:]
	}
	return out
}

func (c *rawCall) complete() bool { return len(c.messages0()) >= 2 }

// Streams the client resets (before the pick, mid-message, after the pick) are dropped: counted
// as aborted when nothing was picked, their late frames ignored, the connection serving on.
func TestH2ServerClientReset(t *testing.T) {
	f := startH2(t, nil, 0)
	r := dialRaw(t, f.addr)
	body := chatBody("sim-model", "reset me", false)

	// Before the pick: headers, half a message, reset.
	r.open(1, h2sProcessPath, false)
	r.send(1, grpcFrame(headersMsg(nil, false, nil)), false)
	half := grpcFrame(bodyMsg(body, true))
	r.send(1, half[:len(half)/2], false)
	if err := r.fr.WriteRSTStream(1, http2.ErrCodeCancel); err != nil {
		t.Fatal(err)
	}
	r.send(1, half[len(half)/2:], false) // late: ignored

	// After the pick: the replies, then reset.
	r.open(3, h2sProcessPath, false)
	r.send(3, grpcFrame(headersMsg(nil, false, nil)), false)
	r.send(3, grpcFrame(bodyMsg(body, true)), false)
	c := &rawCall{}
	r.await(3, c, (*rawCall).complete, nil)
	if err := r.fr.WriteRSTStream(3, http2.ErrCodeCancel); err != nil {
		t.Fatal(err)
	}

	// The connection serves on: a ping answered, a third stream picked and ended.
	if err := r.fr.WritePing(false, [8]byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	r.open(5, h2sProcessPath, false)
	r.send(5, grpcFrame(headersMsg(nil, true, nil)), true)
	c5 := &rawCall{}
	r.await(5, c5, ended, nil)
	if c5.status != "0" || len(c5.messages(t)) != 1 {
		t.Fatalf("stream after the resets: grpc-status %q, %d replies", c5.status, len(c5.messages(t)))
	}
	if r.goAway != nil {
		t.Fatalf("GOAWAY %v after client resets", r.goAway)
	}
	if n := f.count("aborted"); n != 1 {
		t.Errorf("aborted = %v, want 1 (the stream reset before its pick)", n)
	}
	if n := f.count("picked"); n != 2 {
		t.Errorf("picked = %v, want 2", n)
	}
	waitFor(t, 5*time.Second, "the server's streams to be gone", func() bool { return f.h.streamCount() == 0 })
}

// streamCount is the streams open on every connection (tests).
func (s *h2Server) streamCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.conns {
		n += int(c.open.Load())
	}
	return n
}

// What a client must not send: the stream or the connection ends with the HTTP/2 or gRPC
// error grpc-go would answer, and the server goes on serving other connections.
func TestH2ServerBadInput(t *testing.T) {
	f := startH2(t, nil, 1000) // messages up to 1000 + 1 MiB
	big := bytes.Repeat([]byte("x"), 20000)
	for _, tc := range []struct {
		name string
		run  func(r *rawH2) *rawCall // nil: the connection is expected to close
		// want: grpc-status, or the reset code, or the GOAWAY code when the connection closes
		status string
		rst    http2.ErrCode
		goAway http2.ErrCode
	}{
		{name: "frame over the max frame size", goAway: http2.ErrCodeFrameSize, run: func(r *rawH2) *rawCall {
			r.open(1, h2sProcessPath, false)
			_ = r.fr.WriteData(1, false, big)
			return nil
		}},
		{name: "DATA on stream 0", goAway: http2.ErrCodeProtocol, run: func(r *rawH2) *rawCall {
			_ = r.fr.WriteRawFrame(http2.FrameData, 0, 0, []byte("x"))
			return nil
		}},
		{name: "even stream id", goAway: http2.ErrCodeProtocol, run: func(r *rawH2) *rawCall {
			r.open(2, h2sProcessPath, false)
			return nil
		}},
		{name: "message over the max size", status: "8", run: func(r *rawH2) *rawCall {
			r.open(1, h2sProcessPath, false)
			r.send(1, binary.BigEndian.AppendUint32([]byte{0}, 2<<20), false)
			return &rawCall{}
		}},
		{name: "compressed message", status: "12", run: func(r *rawH2) *rawCall {
			r.open(1, h2sProcessPath, false)
			r.send(1, []byte{1, 0, 0, 0, 1, 0}, false)
			return &rawCall{}
		}},
		{name: "not protobuf", status: "13", run: func(r *rawH2) *rawCall {
			r.open(1, h2sProcessPath, false)
			r.send(1, []byte{0, 0, 0, 0, 3, 0xff, 0xff, 0xff}, true)
			return &rawCall{}
		}},
		{name: "body before headers", status: "3", run: func(r *rawH2) *rawCall {
			r.open(1, h2sProcessPath, false)
			r.send(1, grpcFrame(bodyMsg([]byte("{}"), true)), false)
			return &rawCall{}
		}},
		{name: "GET", rst: http2.ErrCodeProtocol, run: func(r *rawH2) *rawCall {
			r.hbuf.Reset()
			for _, hf := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":path", h2sProcessPath}, {":authority", "x"}, {"content-type", "application/grpc"}} {
				_ = r.enc.WriteField(hpack.HeaderField{Name: hf[0], Value: hf[1]})
			}
			_ = r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: r.hbuf.Bytes(), EndHeaders: true})
			return &rawCall{}
		}},
		{name: "not gRPC", status: "13", run: func(r *rawH2) *rawCall {
			r.hbuf.Reset()
			for _, hf := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", h2sProcessPath}, {":authority", "x"}, {"content-type", "application/json"}} {
				_ = r.enc.WriteField(hpack.HeaderField{Name: hf[0], Value: hf[1]})
			}
			_ = r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: r.hbuf.Bytes(), EndHeaders: true, EndStream: true})
			return &rawCall{}
		}},
		{name: "header list over the limit", rst: http2.ErrCodeFrameSize, run: func(r *rawH2) *rawCall {
			// A 3 KB field indexed once and referred to 30 times: a small block, 90 KB of headers.
			var extra []string
			for range 30 {
				extra = append(extra, "x-big", strings.Repeat("v", 3000))
			}
			_ = r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: r.block(h2sProcessPath, extra...), EndHeaders: true})
			return &rawCall{}
		}},
		{name: "header list over the limit in CONTINUATION frames", goAway: http2.ErrCodeProtocol, run: func(r *rawH2) *rawCall {
			var extra []string
			for i := range 8 {
				extra = append(extra, "x-big-"+strconv.Itoa(i), strings.Repeat("v", 10000))
			}
			b := r.block(h2sProcessPath, extra...)
			_ = r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:16000]})
			for b = b[16000:]; len(b) > 0; {
				n := min(len(b), 16000)
				_ = r.fr.WriteContinuation(1, n == len(b), b[:n])
				b = b[n:]
			}
			return nil
		}},
		{name: "headers in CONTINUATION frames", status: "0", run: func(r *rawH2) *rawCall {
			b := r.block(h2sProcessPath, "x-some", strings.Repeat("v", 3000))
			_ = r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:10]})
			_ = r.fr.WriteContinuation(1, false, b[10:1000])
			_ = r.fr.WriteContinuation(1, true, b[1000:])
			r.send(1, grpcFrame(headersMsg(nil, true, nil)), true)
			return &rawCall{}
		}},
		{name: "unknown method of a 40 KB path (trailers in CONTINUATION frames)", status: "12", run: func(r *rawH2) *rawCall {
			b := r.block("/x.Y/" + strings.Repeat("m", 40000))
			_ = r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:16000], EndStream: true})
			for b = b[16000:]; len(b) > 0; {
				n := min(len(b), 16000)
				_ = r.fr.WriteContinuation(1, n == len(b), b[:n])
				b = b[n:]
			}
			return &rawCall{}
		}},
		{name: "WINDOW_UPDATE overflowing the stream window", rst: http2.ErrCodeFlowControl, run: func(r *rawH2) *rawCall {
			r.open(1, h2sProcessPath, false)
			_ = r.fr.WriteWindowUpdate(1, 1<<31-1)
			return &rawCall{}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRaw(t, f.addr)
			c := tc.run(r)
			if c == nil {
				if !r.closed() {
					t.Fatal("the connection stayed open")
				}
				if r.goAway == nil || r.goAway.ErrCode != tc.goAway {
					t.Fatalf("GOAWAY %v, want %v", r.goAway, tc.goAway)
				}
				return
			}
			r.await(1, c, ended, nil)
			switch {
			case tc.status != "" && c.status != tc.status:
				t.Fatalf("grpc-status %q (%q), reset %v: want %s", c.status, c.message, c.rst, tc.status)
			case tc.status == "" && (c.rst == nil || *c.rst != tc.rst):
				t.Fatalf("reset %v, grpc-status %q: want reset %v", c.rst, c.status, tc.rst)
			case tc.name == "not gRPC" && c.http != "415":
				t.Fatalf(":status %q, want 415", c.http)
			}
		})
	}
	// Not even HTTP/2: closed without a frame.
	nc, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	got, err := io.ReadAll(nc)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("an HTTP/1.1 request: the connection stayed open")
	}
	if len(got) > 0 && !bytes.HasPrefix(got, []byte{0, 0}) { // at most the server's SETTINGS
		t.Errorf("an HTTP/1.1 request got %q", got)
	}
	fullDuplexPick(t, dialGRPC(t, f.addr), f.sims, chatBody("sim-model", "still serving", false))
}

func dialGRPC(t *testing.T, addr string) extprocv3.ExternalProcessorClient {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return extprocv3.NewExternalProcessorClient(cc)
}

// GracefulStop with a stream in flight, as grpc-go's: a GOAWAY naming no last stream and a PING;
// a stream opened before the PING's answer is still served; once answered, the GOAWAY naming
// the last stream, after which a newer stream is refused; the open ones are served to their
// end, then the connection closes and GracefulStop returns.
func TestH2ServerGracefulStop(t *testing.T) {
	f := startH2(t, nil, 0)
	r := dialRaw(t, f.addr)
	r.open(1, h2sProcessPath, false)
	r.send(1, grpcFrame(headersMsg(nil, false, nil)), false)
	// A round trip so that the server has read the stream before it stops.
	if err := r.fr.WritePing(false, [8]byte{9}); err != nil {
		t.Fatal(err)
	}
	for {
		if p, ok := r.next().(*http2.PingFrame); ok && p.IsAck() {
			break
		}
	}
	stopped := make(chan struct{})
	go func() { f.h.GracefulStop(); close(stopped) }()
	var ping [8]byte
	for got := 0; got < 2; {
		switch fr := r.next().(type) {
		case *http2.GoAwayFrame:
			if fr.LastStreamID != 1<<31-1 || fr.ErrCode != http2.ErrCodeNo {
				t.Fatalf("first GOAWAY: last stream %d, code %v: want 2^31-1, NO_ERROR", fr.LastStreamID, fr.ErrCode)
			}
			got++
		case *http2.PingFrame:
			ping = fr.Data
			got++
		}
	}
	// Opened before the PING is answered: served.
	r.open(3, h2sProcessPath, false)
	r.send(3, grpcFrame(headersMsg(nil, true, nil)), true)
	if err := r.fr.WritePing(true, ping); err != nil {
		t.Fatal(err)
	}
	c3 := &rawCall{}
	r.await(3, c3, ended, nil)
	if c3.status != "0" || len(c3.messages(t)) != 1 {
		t.Fatalf("a stream opened before the PING's answer: grpc-status %q, reset %v: want it served", c3.status, c3.rst)
	}
	for r.goAway == nil {
		if g, ok := r.next().(*http2.GoAwayFrame); ok {
			r.goAway = g
		}
	}
	if r.goAway.LastStreamID != 3 || r.goAway.ErrCode != http2.ErrCodeNo {
		t.Fatalf("GOAWAY last stream %d, code %v: want 3, NO_ERROR", r.goAway.LastStreamID, r.goAway.ErrCode)
	}
	r.open(5, h2sProcessPath, true)
	c5 := &rawCall{}
	r.await(5, c5, ended, nil)
	if c5.rst == nil || *c5.rst != http2.ErrCodeRefusedStream {
		t.Fatalf("a stream opened after GOAWAY: reset %v, status %q: want REFUSED_STREAM", c5.rst, c5.status)
	}
	select {
	case <-stopped:
		t.Fatal("GracefulStop returned with a stream open")
	default:
	}
	r.send(1, grpcFrame(bodyMsg(chatBody("sim-model", "in flight", false), true)), true)
	c := &rawCall{}
	r.await(1, c, ended, nil)
	if c.status != "0" || len(c.messages(t)) != 2 {
		t.Fatalf("the stream in flight: grpc-status %q, %d replies: want 0 and the pick", c.status, len(c.messages(t)))
	}
	if !r.closed() {
		t.Fatal("the connection stayed open after its last stream")
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("GracefulStop did not return")
	}
}

// Header blocks through the connection's HPACK encoder, read back by a decoder as a client's:
// response headers and status indexed (the second stream's block is a few bytes), grpc-message
// percent-encoded and never indexed (a message of 300 bytes needs a multi-byte length).
func TestH2ServerHeaderBlocks(t *testing.T) {
	c := &h2sConn{}
	c.henc = hpack.NewEncoder(hpackSink{c})
	block := func(httpStatus int, headers, status bool, code codes.Code, msg string) []byte {
		return bytes.Clone(c.block(httpStatus, headers, status, code, msg)) // valid until the next one
	}
	var got []hpack.HeaderField
	d := hpack.NewDecoder(4096, func(f hpack.HeaderField) { got = append(got, f) })
	msg := "100% done\nnaïve " + strings.Repeat("x", 280)
	for _, tc := range []struct {
		block   []byte
		want    []hpack.HeaderField
		maxSize int
	}{
		{block(200, true, false, 0, ""), []hpack.HeaderField{{Name: ":status", Value: "200"}, {Name: "content-type", Value: "application/grpc"}}, 100},
		{block(200, false, true, codes.OK, ""), []hpack.HeaderField{{Name: "grpc-status", Value: "0"}}, 100},
		{block(200, true, false, 0, ""), []hpack.HeaderField{{Name: ":status", Value: "200"}, {Name: "content-type", Value: "application/grpc"}}, 2},
		{block(200, false, true, codes.OK, ""), []hpack.HeaderField{{Name: "grpc-status", Value: "0"}}, 1},
		{block(415, true, true, codes.ResourceExhausted, msg), []hpack.HeaderField{{Name: ":status", Value: "415"}, {Name: "content-type", Value: "application/grpc"},
			{Name: "grpc-status", Value: "8"}, {Name: "grpc-message", Value: "100%25 done%0Ana%C3%AFve " + strings.Repeat("x", 280), Sensitive: true}}, 400},
	} {
		got = got[:0]
		n := len(tc.block)
		if _, err := d.Write(tc.block); err != nil {
			t.Fatal(err)
		}
		if n > tc.maxSize {
			t.Errorf("block of %d bytes for %v, want at most %d", n, tc.want, tc.maxSize)
		}
		if len(got) != len(tc.want) {
			t.Fatalf("decoded %v, want %v", got, tc.want)
		}
		for i := range tc.want {
			if got[i] != tc.want[i] {
				t.Errorf("field %d: %+v, want %+v", i, got[i], tc.want[i])
			}
		}
	}
}

// Past its limit of held bytes (here partial messages) a connection stops granting the peer
// connection window, and grants it again once the streams holding them end.
func TestH2ServerHoldsBackWindow(t *testing.T) {
	f := startH2(t, nil, 0, func(h *h2Server) { h.heldLimit = 1 << 20 })
	r := dialRaw(t, f.addr)
	const streams, chunks = 6, 56 // 6 × 56 × 16 KiB, 5.5 MB: past the 4 MiB after which window is granted
	chunk := make([]byte, 16<<10)
	sent := uint32(streams * (5 + chunks*len(chunk)))
	for i := range streams {
		id := uint32(2*i + 1)
		r.open(id, h2sProcessPath, false)
		r.send(id, binary.BigEndian.AppendUint32([]byte{0}, 8<<20), false) // an 8 MiB message, never finished
		for range chunks {
			r.send(id, chunk, false)
		}
	}
	// pingRoundTrip reads up to the server's answer to a PING and returns the connection
	// window it granted meanwhile.
	pingRoundTrip := func(n byte) (granted uint32) {
		if err := r.fr.WritePing(false, [8]byte{n}); err != nil {
			t.Fatal(err)
		}
		for {
			switch fr := r.next().(type) {
			case *http2.PingFrame:
				if fr.IsAck() && fr.Data[0] == n {
					return granted
				}
			case *http2.WindowUpdateFrame:
				if fr.StreamID == 0 {
					granted += fr.Increment
				}
			case *http2.GoAwayFrame:
				t.Fatalf("GOAWAY %v", fr.ErrCode)
			}
		}
	}
	if g := pingRoundTrip(1); g != 0 {
		t.Fatalf("granted %d bytes of connection window while holding %d bytes over the limit", g, sent)
	}
	for i := range streams {
		if err := r.fr.WriteRSTStream(uint32(2*i+1), http2.ErrCodeCancel); err != nil {
			t.Fatal(err)
		}
	}
	if g := pingRoundTrip(2); g != sent {
		t.Fatalf("granted %d bytes after the streams ended, want the %d consumed", g, sent)
	}
}

// A buffered body over grpc-go's default message limit (4 MiB) but under --max-request-body is
// picked for, and one over it gets the 413, with either server (GWCTL_NOFAST=eppserver).
func TestServeBufferedBodyOver4MiB(t *testing.T) {
	sims := startSims(t, 2, vllmsim.Config{})
	client, _ := serveEPP(t, sims, 6<<20)
	for _, tc := range []struct {
		size   int
		status int // immediate response; 0 for a pick
	}{{5 << 20, 0}, {6<<20 + 1<<19, 413}} {
		s, err := client.Process(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		h := headersMsg(nil, false, nil)
		h.ProtocolConfig = &extprocv3.ProtocolConfiguration{RequestBodyMode: BodyBuffered, ResponseBodyMode: BodyNone}
		if err := s.Send(h); err != nil {
			t.Fatal(err)
		}
		if m, err := s.Recv(); err != nil || m.GetRequestHeaders() == nil {
			t.Fatalf("headers reply %v, %v", m, err)
		}
		if err := s.Send(bodyMsg(chatBody("sim-model", strings.Repeat("y", tc.size), false), true)); err != nil {
			t.Fatal(err)
		}
		m, err := s.Recv()
		switch {
		case err != nil:
			t.Fatalf("%d MiB body: %v", tc.size>>20, err)
		case tc.status == 0 && m.GetRequestBody() == nil:
			t.Fatalf("%d MiB body: reply %v, want the pick", tc.size>>20, m)
		case tc.status != 0 && int(m.GetImmediateResponse().GetStatus().GetCode()) != tc.status:
			t.Fatalf("%d MiB body: reply %v, want immediate %d", tc.size>>20, m, tc.status)
		}
		_ = s.CloseSend()
	}
}

// Serve over TLS (`dataplane epp --tls-cert --tls-key`): a client verifying the certificate picks and checks health,
// with either server (GWCTL_NOFAST=eppserver).
func TestServeTLS(t *testing.T) {
	sims := startSims(t, 2, vllmsim.Config{})
	ca := testenv.NewCA(t, "epp-ca")
	kp := ca.Issue(t, testenv.Leaf{Names: []string{"127.0.0.1"}})
	file := filepath.Join(t.TempDir(), "resources.yaml")
	if err := os.WriteFile(file, []byte(poolResources(8000)), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := serve(t, ServeOptions{Config: []string{file}, PoolEndpoints: map[string][]string{"vllm.inference": sims},
		TLS: &tls.Config{Certificates: []tls.Certificate{kp.TLS}}})
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	hc := healthpb.NewHealthClient(cc)
	waitFor(t, 5*time.Second, "readiness serving", func() bool {
		r, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "readiness"})
		return err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING
	})
	client := extprocv3.NewExternalProcessorClient(cc)
	// Ready to pick once the endpoints' metrics are scraped: a body-less pick names one.
	waitFor(t, 5*time.Second, "a pick", func() bool {
		s, err := client.Process(context.Background())
		if err != nil || s.Send(headersMsg(nil, true, nil)) != nil {
			return false
		}
		defer func() { _ = s.CloseSend() }()
		m, err := s.Recv()
		_, ok := destination(m.GetDynamicMetadata(), nil)
		return err == nil && ok
	})
	fullDuplexPick(t, client, sims, chatBody("sim-model", "over TLS", false))
}

// Past SETTINGS_MAX_CONCURRENT_STREAMS a new stream is refused (REFUSED_STREAM, which a client
// may retry); once one ends, the next is served.
func TestH2ServerStreamLimit(t *testing.T) {
	f := startH2(t, nil, 0, func(h *h2Server) { h.maxStreams = 2 })
	r := dialRaw(t, f.addr)
	for _, id := range []uint32{1, 3} {
		r.open(id, h2sProcessPath, false)
		r.send(id, grpcFrame(headersMsg(nil, true, nil)), false)
		c := &rawCall{}
		r.await(id, c, func(c *rawCall) bool { return len(c.messages0()) == 1 }, nil)
	}
	r.open(5, h2sProcessPath, false)
	c5 := &rawCall{}
	r.await(5, c5, ended, nil)
	if c5.rst == nil || *c5.rst != http2.ErrCodeRefusedStream {
		t.Fatalf("a third stream with a limit of 2: reset %v, status %q: want REFUSED_STREAM", c5.rst, c5.status)
	}
	r.send(1, nil, true)
	c1 := &rawCall{}
	r.await(1, c1, ended, nil)
	r.open(7, h2sProcessPath, false)
	r.send(7, grpcFrame(headersMsg(nil, true, nil)), true)
	c7 := &rawCall{}
	r.await(7, c7, ended, nil)
	if c7.status != "0" || len(c7.messages(t)) != 1 {
		t.Fatalf("a stream after one ended: grpc-status %q, reset %v: want it served", c7.status, c7.rst)
	}
}
