package epp

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/infergw/gwctl/pkg/fastpath"
)

// h2Fast is the hand-rolled ext_proc client (GWCTL_NOFAST=eppclient turns it off for grpc-go's).
var h2Fast = fastpath.Enabled(fastpath.EPPClient)

const (
	processPath = "/envoy.service.ext_proc.v3.ExternalProcessor/Process"
	// h2MaxConns bounds the connections to one picker; a stream that finds each at the peer's
	// MAX_CONCURRENT_STREAMS waits for a slot.
	h2MaxConns = 4
	// h2MaxStreams is our own bound of streams per connection (each may buffer a message).
	h2MaxStreams = 1000
	// h2MaxHeaderList bounds a header block the picker sends (headers, trailers).
	h2MaxHeaderList = 64 << 10
	h2FrameSize     = 16 << 10 // the frames we accept (HTTP/2's default)
	h2InitialWindow = 65535
)

var errClientClosing = status.Error(codes.Canceled, "grpc: the client connection is closing")

// h2Client is the fast path's ext_proc client of one picker address: gRPC over HTTP/2 where
// the caller's goroutine writes its own frames (one write per message, no writer goroutine) and
// one reader goroutine per connection hands each reply to its stream.
type h2Client struct {
	addr   string
	tls    *tls.Config
	maxMsg int

	mu      sync.Mutex
	conns   []*h2Conn            // open to new streams
	all     map[*h2Conn]struct{} // every live connection, draining ones too (for close)
	dialing chan struct{}        // closed when the dial in progress ends
	freed   chan struct{}        // closed when a stream slot frees, for callers waiting for one
	closed  bool
}

var _ extprocv3.ExternalProcessorClient = (*h2Client)(nil)

func newH2Client(addr string, tc *tls.Config, maxMsg int) *h2Client {
	return &h2Client{addr: addr, tls: tc, maxMsg: maxMsg, all: map[*h2Conn]struct{}{}}
}

// Process opens a stream; its HEADERS go out with the first message.
func (c *h2Client) Process(ctx context.Context, _ ...grpc.CallOption) (extprocv3.ExternalProcessor_ProcessClient, error) {
	cc, err := c.conn(ctx)
	if err != nil {
		return nil, err
	}
	return newH2Stream(c, cc, ctx), nil
}

// conn returns a connection with a stream slot reserved on it, dialing when none has one.
func (c *h2Client) conn(ctx context.Context) (*h2Conn, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, errClientClosing
		}
		for _, cc := range c.conns {
			if cc.reserve() {
				c.mu.Unlock()
				return cc, nil
			}
		}
		wait := c.dialing
		if wait == nil && len(c.conns) >= h2MaxConns {
			if c.freed == nil {
				c.freed = make(chan struct{})
			}
			wait = c.freed
		}
		if wait != nil {
			c.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, status.FromContextError(ctx.Err()).Err()
			}
		}
		done := make(chan struct{})
		c.dialing = done
		c.mu.Unlock()
		cc, err := c.dial(ctx)
		c.mu.Lock()
		c.dialing = nil
		close(done)
		closed := c.closed
		if err == nil && !closed {
			c.conns = append(c.conns, cc)
			c.all[cc] = struct{}{}
		}
		c.mu.Unlock()
		if err == nil && closed {
			cc.fail(errClientClosing)
			err = errClientClosing
		}
		if err != nil {
			return nil, err
		}
	}
}

// remove takes a draining or dead connection out of the pool, so new streams dial; dead, it
// forgets it.
func (c *h2Client) remove(cc *h2Conn, dead bool) {
	c.mu.Lock()
	if dead {
		delete(c.all, cc)
	}
	for i, x := range c.conns {
		if x == cc {
			c.conns = append(c.conns[:i], c.conns[i+1:]...)
			break
		}
	}
	c.wakeLocked()
	c.mu.Unlock()
}

// slotFreed wakes callers waiting for a stream slot.
func (c *h2Client) slotFreed() {
	c.mu.Lock()
	c.wakeLocked()
	c.mu.Unlock()
}

func (c *h2Client) wakeLocked() {
	if c.freed != nil {
		close(c.freed)
		c.freed = nil
	}
}

// close fails every stream (codes.Canceled, as grpc-go's ClientConn.Close) and closes the
// connections; their readers end with them.
func (c *h2Client) close() {
	c.mu.Lock()
	c.closed = true
	conns := make([]*h2Conn, 0, len(c.all))
	for cc := range c.all {
		conns = append(conns, cc)
	}
	c.wakeLocked()
	c.mu.Unlock()
	for _, cc := range conns {
		cc.fail(errClientClosing)
	}
}

// dial connects, sends the client preface and reads the server's SETTINGS before any stream
// uses the connection. Its errors are codes.Unavailable, or the context's status.
func (c *h2Client) dial(ctx context.Context) (*h2Conn, error) {
	unavailable := func(err error) error {
		if ctx.Err() != nil {
			return status.FromContextError(ctx.Err()).Err()
		}
		return status.Errorf(codes.Unavailable, "connection error: desc = %q", err.Error())
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, unavailable(err)
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(aLongTimeAgo) })
	defer stop()
	scheme := "http"
	if c.tls != nil {
		scheme = "https"
		cfg := c.tls.Clone()
		cfg.NextProtos = []string{"h2"}
		if cfg.ServerName == "" {
			cfg.ServerName, _, _ = net.SplitHostPort(c.addr)
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, unavailable(fmt.Errorf("tls: %w", err))
		}
		if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
			_ = nc.Close()
			return nil, unavailable(fmt.Errorf("the picker did not negotiate ALPN h2 (got %q)", p))
		}
		nc = tc
	}
	cc := newH2Conn(c, nc, scheme)
	if err := cc.handshake(); err != nil {
		_ = nc.Close()
		return nil, unavailable(err)
	}
	if !stop() {
		_ = nc.Close()
		return nil, unavailable(ctx.Err())
	}
	go cc.readLoop()
	return cc, nil
}
