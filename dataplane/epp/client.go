package epp

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"sync"
	"time"

	procmode "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// BodyMode is how a body is sent to the picker (Envoy's ProcessingMode.BodySendMode).
type BodyMode = procmode.ProcessingMode_BodySendMode

// Body send modes.
const (
	BodyNone       = procmode.ProcessingMode_NONE
	BodyBuffered   = procmode.ProcessingMode_BUFFERED
	BodyStreamed   = procmode.ProcessingMode_STREAMED
	BodyFullDuplex = procmode.ProcessingMode_FULL_DUPLEX_STREAMED
)

// Mode is which phases the picker sees, as Envoy's ext_proc filter is configured for it. A
// picker may change the later phases with mode_override (except in full-duplex mode, as Envoy).
type Mode struct {
	RequestBody     BodyMode
	ResponseHeaders bool
	ResponseBody    BodyMode
}

// FullDuplex is the mode the Inference Extension's EPP and llm-d's scheduler require: both
// bodies streamed full duplex, response headers sent (they count tokens from the response).
var FullDuplex = Mode{RequestBody: BodyFullDuplex, ResponseHeaders: true, ResponseBody: BodyFullDuplex}

// ParseMode reads a mode name: full-duplex (default), buffered (request body buffered, response
// headers only) or headers (no bodies).
func ParseMode(s string) (Mode, error) {
	switch s {
	case "", "full-duplex":
		return FullDuplex, nil
	case "buffered":
		return Mode{RequestBody: BodyBuffered, ResponseHeaders: true}, nil
	case "headers":
		return Mode{ResponseHeaders: true}, nil
	}
	return Mode{}, fmt.Errorf("endpoint picker mode %q: want full-duplex, buffered or headers", s)
}

// Options configure a Client.
type Options struct {
	// TLS, when set, dials pickers over TLS (the Inference Extension's EPP serves TLS by default,
	// with a self-signed certificate); nil dials plaintext.
	TLS *tls.Config
	// Timeout bounds the request phase (stream open to pick); default 1s. Past it failureMode
	// applies.
	Timeout time.Duration
	// ResponseTimeout bounds each wait for the picker's reply in the response phases (headers,
	// each body chunk sent); default 10s. A stalled picker then ends the response.
	ResponseTimeout time.Duration
	// Mode is the processing mode; zero means FullDuplex.
	Mode Mode
	// MaxBodyBytes is the largest request body sent to the picker, and the largest it may
	// return; default 32 MiB.
	MaxBodyBytes int64
	Logger       *slog.Logger
}

// Client calls endpoint pickers. It keeps one gRPC connection per picker address, shared by
// every pool and every request (each request is one ext_proc stream on it).
type Client struct {
	opts    Options
	log     *slog.Logger
	metrics *clientMetrics

	mu    sync.Mutex
	conns map[string]*conn
}

// conn is a picker's connection and the ext_proc client on it (built once: a request only
// opens a stream).
type conn struct {
	cc   *grpc.ClientConn // nil in the fast path
	h2   *h2Client        // the fast path's
	proc extprocv3.ExternalProcessorClient
}

// NewClient builds a client; reg may be nil.
func NewClient(opts Options, reg prometheus.Registerer) (*Client, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if opts.ResponseTimeout <= 0 {
		opts.ResponseTimeout = 10 * time.Second
	}
	if opts.Mode == (Mode{}) {
		opts.Mode = FullDuplex
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 32 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	m, err := newClientMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Client{opts: opts, log: opts.Logger, metrics: m, conns: map[string]*conn{}}, nil
}

// processor returns the ext_proc client for addr, connecting lazily (gRPC reconnects by itself;
// the fast path redials on the next stream).
func (c *Client) processor(addr string) (extprocv3.ExternalProcessorClient, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cn, ok := c.conns[addr]; ok {
		return cn.proc, nil
	}
	creds := insecure.NewCredentials()
	if c.opts.TLS != nil {
		creds = credentials.NewTLS(c.opts.TLS)
	}
	// A picker echoes the whole body back in one message (GIE's EPP does): allow the body limit
	// plus room for headers both ways.
	msg := int(c.opts.MaxBodyBytes) + 1<<20
	if h2Fast {
		h := newH2Client(addr, c.opts.TLS, msg)
		c.conns[addr] = &conn{h2: h, proc: h}
		return h, nil
	}
	cc, err := grpc.NewClient(addr, append(dialOptions(msg), grpc.WithTransportCredentials(creds))...)
	if err != nil {
		return nil, fmt.Errorf("endpoint picker %s: %w", addr, err)
	}
	cn := &conn{cc: cc, proc: extprocv3.NewExternalProcessorClient(cc)}
	c.conns[addr] = cn
	return cn.proc, nil
}

// Close closes every connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for a, cn := range c.conns {
		if cn.h2 != nil {
			cn.h2.close()
		} else {
			_ = cn.cc.Close()
		}
		delete(c.conns, a)
	}
	return nil
}
