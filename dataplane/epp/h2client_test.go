package epp

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/infergw/gwctl/dataplane/pool"
	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
)

const testMaxMsg = 8 << 20

// echoPicker answers each message with its body (or one reply of replySize bytes) until the
// client half-closes; it counts the streams it runs at once.
type echoPicker struct {
	extprocv3.UnimplementedExternalProcessorServer
	replySize    int
	active, peak atomic.Int32
}

func (e *echoPicker) Process(s extprocv3.ExternalProcessor_ProcessServer) error {
	n := e.active.Add(1)
	defer e.active.Add(-1)
	for p := e.peak.Load(); n > p && !e.peak.CompareAndSwap(p, n); p = e.peak.Load() {
	}
	for {
		m, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		b := m.GetRequestBody().GetBody()
		if e.replySize > 0 {
			b = bytes.Repeat([]byte("r"), e.replySize)
		}
		if err := s.Send(streamedReply(b, true, false)); err != nil {
			return err
		}
	}
}

func replyBody(m *extprocv3.ProcessingResponse) []byte {
	return m.GetRequestBody().GetResponse().GetBodyMutation().GetStreamedResponse().GetBody()
}

// startPicker serves srv with grpc-go on loopback.
func startPicker(t *testing.T, srv extprocv3.ExternalProcessorServer, opts ...grpc.ServerOption) (string, *grpc.Server) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer(append(ServerOptions(), opts...)...)
	extprocv3.RegisterExternalProcessorServer(g, srv)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	return lis.Addr().String(), g
}

func newTestH2(t *testing.T, addr string, tc *tls.Config) *h2Client {
	t.Helper()
	c := newH2Client(addr, tc, testMaxMsg)
	t.Cleanup(c.close)
	return c
}

// roundTrip sends body on a new stream, reads the reply and ends the stream as an exchange does.
func roundTrip(ctx context.Context, proc extprocv3.ExternalProcessorClient, body []byte) ([]byte, error) {
	s, err := proc.Process(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.Send(bodyMsg(body, true)); err != nil {
		_, rerr := s.Recv()
		return nil, rerr
	}
	m, err := s.Recv()
	if err != nil {
		return nil, err
	}
	_ = s.CloseSend()
	if _, err := s.Recv(); !errors.Is(err, io.EOF) {
		return nil, err
	}
	return replyBody(m), nil
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if status.Code(err) != want {
		t.Fatalf("error %v (code %v), want code %v", err, status.Code(err), want)
	}
}

// selfSigned is a certificate for 127.0.0.1, as the Inference Extension's EPP makes by default.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "epp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TLS with ALPN h2 against grpc-go's TLS server; a verifying client refuses the self-signed
// certificate as Unavailable, and so does a TLS server that does not speak h2.
func TestH2ClientTLS(t *testing.T) {
	cert := selfSigned(t)
	addr, _ := startPicker(t, &echoPicker{}, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}})))
	ctx := t.Context()

	got, err := roundTrip(ctx, newTestH2(t, addr, &tls.Config{InsecureSkipVerify: true}), []byte("over tls"))
	if err != nil || string(got) != "over tls" {
		t.Fatalf("reply %q, %v", got, err)
	}
	_, err = roundTrip(ctx, newTestH2(t, addr, &tls.Config{}), []byte("x"))
	wantCode(t, err, codes.Unavailable)

	lis, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	acceptEach(t, lis, func(c net.Conn) { _ = c.(*tls.Conn).Handshake(); _, _ = io.Copy(io.Discard, c) })
	_, err = roundTrip(ctx, newTestH2(t, lis.Addr().String(), &tls.Config{InsecureSkipVerify: true}), []byte("x"))
	wantCode(t, err, codes.Unavailable)
}

// The server's GOAWAY (grpc-go ends connections past MaxConnectionAge gracefully): the stream
// open on the old connection finishes there, new streams go to a new connection.
func TestH2ClientGoAway(t *testing.T) {
	c, open := streamOnDrainingConn(t, 300*time.Millisecond)
	ctx := t.Context()
	first := open.(*h2Stream).cc
	for i := range 3 {
		s, err := c.Process(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s.(*h2Stream).cc == first {
			t.Fatalf("stream %d opened on the connection that had GOAWAY", i)
		}
		if got, err := roundTrip(ctx, c, []byte("after")); err != nil || string(got) != "after" {
			t.Fatalf("after GOAWAY: %q, %v", got, err)
		}
		_ = s.CloseSend()
	}
	// The old stream still runs to its end.
	if err := open.Send(bodyMsg([]byte("second"), true)); err != nil {
		t.Fatal(err)
	}
	if m, err := open.Recv(); err != nil || string(replyBody(m)) != "second" {
		t.Fatalf("old stream after GOAWAY: %v", err)
	}
	_ = open.CloseSend()
	if _, err := open.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("old stream's end: %v", err)
	}
}

// A reply and a request larger than the windows both ways (1 MiB per stream).
func TestH2ClientBiggerThanWindow(t *testing.T) {
	addr, _ := startPicker(t, &echoPicker{})
	c := newTestH2(t, addr, nil)
	for _, n := range []int{streamWindow + 1, 3 * streamWindow} {
		body := bytes.Repeat([]byte{'b'}, n)
		got, err := roundTrip(t.Context(), c, body)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("%d bytes: got %d, %v", n, len(got), err)
		}
	}
	// Past the message size limit: ResourceExhausted both ways, as grpc-go.
	_, err := roundTrip(t.Context(), c, make([]byte, testMaxMsg+1))
	wantCode(t, err, codes.ResourceExhausted)
	big, _ := startPicker(t, &echoPicker{replySize: testMaxMsg + 1})
	_, err = roundTrip(t.Context(), newTestH2(t, big, nil), []byte("x"))
	wantCode(t, err, codes.ResourceExhausted)
}

// More streams at once than the server's MAX_CONCURRENT_STREAMS: none is refused, none
// exceeds the limit on a connection, the connections stay bounded.
func TestH2ClientMaxConcurrentStreams(t *testing.T) {
	e := &echoPicker{}
	addr, _ := startPicker(t, e, grpc.MaxConcurrentStreams(2))
	c := newTestH2(t, addr, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			want := []byte{byte('a' + i%26)}
			got, err := roundTrip(t.Context(), c, want)
			if err == nil && !bytes.Equal(got, want) {
				err = errors.New("wrong reply " + string(got))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if p := e.peak.Load(); p > 2*h2MaxConns {
		t.Errorf("%d streams at once, want at most %d (2 on each of %d connections)", p, 2*h2MaxConns, h2MaxConns)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.conns) > h2MaxConns {
		t.Errorf("%d connections, want at most %d", len(c.conns), h2MaxConns)
	}
}

// A picker that goes away: its streams fail Unavailable, the next stream redials.
func TestH2ClientRedial(t *testing.T) {
	e := &echoPicker{}
	// A loopback address no other test listens on, so that the port is free to listen on again.
	lis, err := net.Listen("tcp", "127.0.0.201:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	g := grpc.NewServer(ServerOptions()...)
	extprocv3.RegisterExternalProcessorServer(g, e)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	c := newTestH2(t, addr, nil)
	s := openSent(t, c, "x")
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	g.Stop()
	_, err = s.Recv()
	wantCode(t, err, codes.Unavailable)
	_, err = roundTrip(t.Context(), c, []byte("x"))
	wantCode(t, err, codes.Unavailable) // nothing listens

	lis, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on the picker's address again: %v", err)
	}
	g2 := grpc.NewServer(ServerOptions()...)
	extprocv3.RegisterExternalProcessorServer(g2, e)
	go func() { _ = g2.Serve(lis) }()
	t.Cleanup(g2.Stop)
	if got, err := roundTrip(t.Context(), c, []byte("back")); err != nil || string(got) != "back" {
		t.Fatalf("after the picker came back: %q, %v", got, err)
	}
}

// The fast path ends streams as grpc-go does: the same status code and message for each way a
// picker ends a stream, through both clients against the same grpc-go server.
func TestH2ClientMatchesGRPC(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script func(s extprocv3.ExternalProcessor_ProcessServer) error
		cancel time.Duration // cancels the stream after this
	}{
		{"ok", func(s extprocv3.ExternalProcessor_ProcessServer) error {
			if err := s.SendHeader(metadata.Pairs("x-header", "h")); err != nil {
				return err
			}
			return (&echoPicker{}).Process(s)
		}, 0},
		{"error status, percent-encoded message", func(s extprocv3.ExternalProcessor_ProcessServer) error {
			if _, err := s.Recv(); err != nil {
				return err
			}
			if err := s.Send(streamedReply([]byte("r"), true, false)); err != nil {
				return err
			}
			s.SetTrailer(metadata.Pairs("x-trailer", "t"))
			return status.Error(codes.ResourceExhausted, "shed: 100% busy\r\nretry in ü 3s %zz")
		}, 0},
		{"trailers only", func(extprocv3.ExternalProcessor_ProcessServer) error {
			return status.Error(codes.FailedPrecondition, "no pods")
		}, 0},
		{"ends without the client", func(s extprocv3.ExternalProcessor_ProcessServer) error {
			_, err := s.Recv()
			return err
		}, 0},
		// Cancelled, not a deadline: the server's copy of a deadline could end the stream first.
		{"cancelled", func(s extprocv3.ExternalProcessor_ProcessServer) error {
			<-s.Context().Done()
			return nil
		}, 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, _ := startPicker(t, &fakeEPP{script: tc.script})
			cc, err := grpc.NewClient(addr, append(dialOptions(testMaxMsg), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cc.Close() })
			run := func(proc extprocv3.ExternalProcessorClient) string {
				ctx := t.Context()
				if tc.cancel > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithCancel(ctx)
					defer time.AfterFunc(tc.cancel, cancel).Stop()
				}
				var got bytes.Buffer
				s, err := proc.Process(ctx)
				if err != nil {
					return "process: " + err.Error()
				}
				for i := range 3 {
					if err := s.Send(bodyMsg([]byte{byte('0' + i)}, true)); err != nil {
						break // io.EOF: the status comes from Recv
					}
				}
				_ = s.CloseSend()
				for {
					m, err := s.Recv()
					if err != nil {
						st, _ := status.FromError(err)
						got.WriteString(st.Code().String() + ": " + st.Message())
						if errors.Is(err, io.EOF) {
							got.WriteString("EOF")
						}
						fmt.Fprintf(&got, " trailer %v", s.Trailer())
						return got.String()
					}
					got.Write(replyBody(m))
					got.WriteByte(' ')
					if h, err := s.Header(); err != nil || len(h["x-header"]) > 0 {
						fmt.Fprintf(&got, "header %v %v ", h, err)
					}
				}
			}
			want := run(extprocv3.NewExternalProcessorClient(cc))
			if got := run(newTestH2(t, addr, nil)); got != want {
				t.Errorf("fast path %q\ngrpc-go   %q", got, want)
			}
		})
	}
}

// After Close no goroutine of the client is left: not the readers, not a cancel callback.
func TestH2ClientNoGoroutineLeak(t *testing.T) {
	addr, _ := startPicker(t, &echoPicker{})
	settle := func() int {
		runtime.GC()
		return runtime.NumGoroutine()
	}
	before := settle()
	c := newH2Client(addr, nil, testMaxMsg)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			ctx, cancel := streamContext(t.Context())
			defer cancel()
			if i%3 == 0 { // abandoned mid-stream
				s, err := c.Process(ctx)
				if err == nil {
					_ = s.Send(bodyMsg([]byte("x"), true))
				}
				return
			}
			_, _ = roundTrip(ctx, c, []byte("x"))
		})
	}
	wg.Wait()
	open, err := c.Process(t.Context()) // one left open at Close
	if err != nil {
		t.Fatal(err)
	}
	c.close()
	_, err = open.Recv()
	wantCode(t, err, codes.Canceled)
	if _, err := c.Process(t.Context()); status.Code(err) != codes.Canceled {
		t.Errorf("Process after Close: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for n := settle(); n > before; n = settle() {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond) // polling the count: nothing to wait on
	}
}

// A stream cancelled with a reply it did not read (a pick's exchange ends so: the echoed body
// is not read) gives its receive buffer back; one ended while Recv still has a message to take
// keeps it for Recv.
func TestH2ClientReleasesReceiveBuffer(t *testing.T) {
	addr, _ := startPicker(t, &echoPicker{})
	c := newTestH2(t, addr, nil)
	inBuf := func(s *h2Stream) (buf *[]byte, unread, done bool) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.inBuf, s.ready > s.off, s.done
	}
	st := openSent(t, c, strings.Repeat("b", 4096))
	s := st.(*h2Stream)
	if _, err := st.Recv(); err != nil {
		t.Fatal(err)
	}
	if err := st.Send(bodyMsg([]byte("second"), true)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the second reply to arrive unread", func() bool { _, unread, _ := inBuf(s); return unread })
	s.cancel(context.Canceled) // the exchange's end
	if buf, _, done := inBuf(s); !done || buf != nil {
		t.Fatalf("after the cancel: done %v, receive buffer still held: %v", done, buf != nil)
	}

	st = openSent(t, c, "x")
	s = st.(*h2Stream)
	waitFor(t, 5*time.Second, "the reply to arrive unread", func() bool { _, unread, _ := inBuf(s); return unread })
	s.finish(io.EOF, rstNone)
	if buf, _, _ := inBuf(s); buf == nil {
		t.Fatal("a stream that ended with a message left for Recv gave its buffer back")
	}
	m, err := st.Recv()
	if err != nil || string(replyBody(m)) != "x" {
		t.Fatalf("Recv after the end: %q, %v", replyBody(m), err)
	}
	if _, err := st.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("second Recv: %v, want EOF", err)
	}
	if buf, _, _ := inBuf(s); buf != nil {
		t.Fatal("the buffer is still held after Recv took the last message")
	}
}

// acceptEach serves every connection lis accepts with serve, each on its own goroutine, until
// the test ends.
func acceptEach(t *testing.T, lis net.Listener, serve func(net.Conn)) {
	t.Cleanup(func() { _ = lis.Close() })
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
}

// A dead picker address and a peer that is not HTTP/2 both fail Unavailable.
func TestH2ClientDialErrors(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acceptEach(t, lis, func(c net.Conn) {
		_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
		_ = c.Close()
	})
	for _, addr := range []string{deadAddr(t), lis.Addr().String()} {
		_, err := roundTrip(t.Context(), newTestH2(t, addr, nil), []byte("x"))
		wantCode(t, err, codes.Unavailable)
	}
}

func TestGRPCTimeout(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0n"}, {time.Nanosecond, "1n"}, {99999999, "99999999n"}, {100 * time.Millisecond, "100000u"},
		{time.Hour, "3600000m"}, {1000 * time.Hour, "3600000S"},
	} {
		if got := grpcTimeout(tc.d); got != tc.want {
			t.Errorf("grpcTimeout(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestDecodeGrpcMessage(t *testing.T) {
	for in, want := range map[string]string{
		"plain": "plain", "100%25": "100%", "a%0D%0Ab": "a\r\nb", "%C3%BC": "ü", "%zz%": "%zz%", "%4": "%4",
	} {
		if got := decodeGrpcMessage(in); got != want {
			t.Errorf("decodeGrpcMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

// A Client runs the fast path unless GWCTL_NOFAST names it.
func TestClientUsesFastPath(t *testing.T) {
	c, err := NewClient(Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	p, err := c.processor("127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	if _, fast := p.(*h2Client); fast != h2Fast {
		t.Errorf("processor %T with the fast path %v", p, h2Fast)
	}
}

// openSent opens a stream on c and sends body on it as the request's whole body.
func openSent(t *testing.T, c *h2Client, body string) extprocv3.ExternalProcessor_ProcessClient {
	t.Helper()
	s, err := c.Process(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(bodyMsg([]byte(body), true)); err != nil {
		t.Fatal(err)
	}
	return s
}

// streamOnDrainingConn opens a stream to an echoing grpc-go picker that ends connections past
// age gracefully, exchanges one message on it and waits until its connection has the GOAWAY.
func streamOnDrainingConn(t *testing.T, age time.Duration) (*h2Client, extprocv3.ExternalProcessor_ProcessClient) {
	t.Helper()
	addr, _ := startPicker(t, &echoPicker{}, grpc.KeepaliveParams(keepalive.ServerParameters{
		MaxConnectionAge: age, MaxConnectionAgeGrace: 10 * time.Second}))
	c := newTestH2(t, addr, nil)
	open := openSent(t, c, "first")
	if _, err := open.Recv(); err != nil {
		t.Fatal(err)
	}
	cc := open.(*h2Stream).cc
	waitFor(t, 5*time.Second, "GOAWAY on the stream's connection", func() bool {
		cc.mu.Lock()
		defer cc.mu.Unlock()
		return cc.goaway
	})
	return c, open
}

// Close ends the streams of a connection that is draining after GOAWAY too (it is out of the
// pool new streams pick from).
func TestH2ClientCloseDraining(t *testing.T) {
	c, open := streamOnDrainingConn(t, 200*time.Millisecond)
	c.close()
	got := make(chan error, 1)
	go func() { _, err := open.Recv(); got <- err }()
	select {
	case err := <-got:
		wantCode(t, err, codes.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("a stream of a draining connection outlived Close")
	}
}

// The Inference Extension's lwepp as it runs by default: TLS with a certificate it makes
// itself (the client does not verify it, as the Gateway API's InferencePool asks of gateways).
func TestLWEPPTLS(t *testing.T) {
	_, eps := loopbackFleet(t, 2, vllmsim.Config{})
	const ns = "lwepp-tls"
	eppAddr, proc := startLWEPP(t, ns, eps, "--secure-serving=true")
	p := startPool(t, ns+"/vllm", eps, pool.FailClose, pool.SchedulerConfig{})
	gw := startGateway(t, p, eppAddr, pool.FailClose, Options{TLS: &tls.Config{InsecureSkipVerify: true}})
	postUntilServed(t, gw, chatBody("sim-model", "hello through lwepp over tls", false), eps, proc)
}
