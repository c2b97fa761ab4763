package epp

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/health"

	"github.com/infergw/gwctl/dataplane/pool"
	"github.com/infergw/gwctl/dataplane/pool/vllmsim"
)

// h2Seed is a client's side of a connection after the preface: SETTINGS, then a full-duplex pick
// (headers, a body message in two DATA frames, end of stream) on stream 1, a health Check on
// stream 3, a PING and a WINDOW_UPDATE.
func h2Seed() []byte {
	var b, hb bytes.Buffer
	fr := http2.NewFramer(&b, nil)
	enc := hpack.NewEncoder(&hb)
	block := func(path string) []byte {
		hb.Reset()
		for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", path}, {":authority", "epp"}, {"content-type", "application/grpc"}} {
			_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		return append([]byte(nil), hb.Bytes()...)
	}
	_ = fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1000})
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(h2sProcessPath), EndHeaders: true})
	_ = fr.WriteData(1, false, grpcFrame(headersMsg(nil, false, nil)))
	msg := grpcFrame(bodyMsg(chatBody("sim-model", "fuzz", false), true))
	_ = fr.WriteData(1, false, msg[:7])
	_ = fr.WriteData(1, true, msg[7:])
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: block(h2sCheckPath), EndHeaders: true})
	_ = fr.WriteData(3, true, []byte{0, 0, 0, 0, 0})
	_ = fr.WritePing(false, [8]byte{1})
	_ = fr.WriteWindowUpdate(1, 5000)
	_ = fr.WriteRSTStream(1, http2.ErrCodeCancel)
	return b.Bytes()
}

// FuzzH2ServerFrames feeds a connection arbitrary bytes after the client preface: the server
// must end the connection or serve it, never panic or hang (corpus in testdata/fuzz).
func FuzzH2ServerFrames(f *testing.F) {
	f.Add(h2Seed())
	f.Add([]byte{0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 1}) // SETTINGS, then a truncated frame
	sims := startSims(f, 1, vllmsim.Config{})
	p := startPool(f, "fuzz/h2", sims, pool.FailClose, pool.SchedulerConfig{})
	srv, err := NewServer(p, 4096, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	h := newH2Server(srv, health.NewServer(), nil, 4096+1<<20, nil)
	f.Fuzz(func(t *testing.T, in []byte) {
		server, client := net.Pipe()
		c := h.track(server)
		done := make(chan struct{})
		go func() { c.serve(); close(done) }()
		go func() { _, _ = io.Copy(io.Discard, client) }()
		_ = client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = client.Write(append([]byte(http2.ClientPreface), in...))
		_ = client.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the connection did not end after its input")
		}
	})
}
