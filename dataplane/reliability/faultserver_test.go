package reliability

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
)

// faultServer is an upstream that answers each request with a scripted misbehaviour at the
// TCP level: what a real provider or a broken network does, which httptest cannot express.
type faultServer struct {
	ln   net.Listener
	Port int

	mu     sync.Mutex
	mode   func(c *net.TCPConn, r *http.Request)
	closed chan struct{} // receives when a handled connection ends
	hits   atomic.Int64
	seen   []seenRequest
}

// seenRequest is what the upstream received: where the gateway sent it and with which headers.
type seenRequest struct {
	Host   string
	Path   string
	Header http.Header
	Body   []byte
}

// requests returns the requests received so far.
func (f *faultServer) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.seen...)
}

func startFaultServer(t testing.TB) *faultServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &faultServer{ln: ln, Port: ln.Addr().(*net.TCPAddr).Port, closed: make(chan struct{}, 64)}
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				f.handle(c.(*net.TCPConn))
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return f
}

// set installs the behaviour for the next requests.
func (f *faultServer) set(mode func(c *net.TCPConn, r *http.Request)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode = mode
}

func (f *faultServer) handle(c *net.TCPConn) {
	defer func() {
		c.Close()
		select {
		case f.closed <- struct{}{}:
		default:
		}
	}()
	// One request per connection: every mode ends the connection.
	br := bufio.NewReader(c)
	{
		r, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, _ := io.ReadAll(r.Body)
		f.hits.Add(1)
		f.mu.Lock()
		f.seen = append(f.seen, seenRequest{Host: r.Host, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
		mode := f.mode
		f.mu.Unlock()
		if mode == nil {
			return
		}
		mode(c, r)
	}
}

// reset closes c with an RST instead of a FIN.
func reset(c *net.TCPConn) {
	_ = c.SetLinger(0)
	_ = c.Close()
}
