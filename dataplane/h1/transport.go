// Package h1 is an HTTP/1.1 client for cleartext upstreams whose round trip runs on the caller's
// goroutine (no hand-off to a connection's reader and writer goroutines), with net/http's own
// request writer and response parser; anything else (TLS, a proxy, upgrades, Expect) is left to
// the *http.Transport it wraps.
package h1

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/infergw/gwctl/pkg/fastpath"
)

// enabled: GWCTL_NOFAST=h1client makes Wrap return net/http's Transport itself.
var enabled = fastpath.Enabled(fastpath.H1Client)

// Wrap returns New(fb), or fb itself when the h1client fast path is off.
func Wrap(fb *http.Transport) http.RoundTripper {
	if !enabled {
		return fb
	}
	return New(fb)
}

// Transport is an http.RoundTripper for http:// URLs. Create it with New.
type Transport struct {
	fb *http.Transport
	// off: fb is set up in a way this client does not reproduce, so every request goes to fb.
	off            bool
	maxHeaderBytes int64
	readBuf        int
	writeBuf       int
	idle           pool
}

// New returns a client that takes its settings from fb (its dialer, read on every dial; idle
// bounds and timeout; buffer sizes; response header limit) and hands fb every request it does
// not serve itself.
func New(fb *http.Transport) *Transport {
	t := &Transport{fb: fb, maxHeaderBytes: fb.MaxResponseHeaderBytes, readBuf: fb.ReadBufferSize, writeBuf: fb.WriteBufferSize}
	if t.maxHeaderBytes <= 0 {
		t.maxHeaderBytes = 10 << 20 // net/http's default
	}
	if t.readBuf <= 0 {
		t.readBuf = 4 << 10
	}
	if t.writeBuf <= 0 {
		t.writeBuf = 4 << 10
	}
	// Settings this client does not implement leave everything to fb: transparent gzip, no
	// keep-alive, a response header timeout, a connection limit, h2c, the deprecated Dial.
	t.off = !fb.DisableCompression || fb.DisableKeepAlives || fb.ResponseHeaderTimeout > 0 ||
		fb.MaxConnsPerHost > 0 || (fb.Protocols != nil && fb.Protocols.UnencryptedHTTP2()) ||
		(fb.DialContext == nil && fb.Dial != nil) //nolint:staticcheck // a fallback may still set it
	t.idle.init(fb.MaxIdleConns, fb.MaxIdleConnsPerHost, fb.IdleConnTimeout)
	return t
}

// CloseIdleConnections closes the idle connections of this client and of its fallback.
func (t *Transport) CloseIdleConnections() {
	t.idle.closeAll()
	t.fb.CloseIdleConnections()
}

// direct reports whether RoundTrip serves req itself. The rule: a plain http:// request that
// net/http would write as is and accept (valid method and headers, a host), with no proxy for
// its URL, no protocol upgrade, no Expect and no legacy Cancel channel. Everything else, https
// included, goes to the fallback, which also returns net/http's errors for invalid requests.
func (t *Transport) direct(req *http.Request) bool {
	if t.off || req.URL == nil || req.Header == nil || req.URL.Scheme != "http" || req.URL.Host == "" ||
		req.Cancel != nil || (req.ContentLength != 0 && req.Body == nil) { //nolint:staticcheck // honoured by the fallback
		return false
	}
	if req.Method != "" && !validMethod(req.Method) {
		return false
	}
	if !validHeaders(req.Header) || !validHeaders(req.Trailer) {
		return false
	}
	h := req.Header
	if len(h["Expect"]) > 0 || len(h["Upgrade"]) > 0 || httpguts.HeaderValuesContainsToken(h["Connection"], "upgrade") {
		return false
	}
	if t.fb.Proxy != nil {
		if u, err := t.fb.Proxy(req); u != nil || err != nil {
			return false // egress honours HTTP_PROXY: net/http speaks to the proxy
		}
	}
	return true
}

func validMethod(m string) bool {
	for i := 0; i < len(m); i++ {
		if !httpguts.IsTokenRune(rune(m[i])) {
			return false
		}
	}
	return true
}

func validHeaders(h http.Header) bool {
	for k, vv := range h {
		if !httpguts.ValidHeaderFieldName(k) {
			return false
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return false
			}
		}
	}
	return true
}

// hostPort is the pool key and dial address of u: host:port, port 80 when u has none. ok is
// false for a host net/http would convert (non-ASCII) or cannot dial.
func hostPort(u *url.URL) (string, bool) {
	for i := 0; i < len(u.Host); i++ {
		if u.Host[i] >= 0x80 {
			return "", false
		}
	}
	if u.Port() != "" {
		return u.Host, true
	}
	h := u.Hostname()
	if h == "" {
		return "", false
	}
	return net.JoinHostPort(h, "80"), true
}

// RoundTrip sends req and returns the response, whose Body reads from the connection.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.direct(req) {
		return t.fb.RoundTrip(req)
	}
	key, ok := hostPort(req.URL)
	if !ok {
		return t.fb.RoundTrip(req)
	}
	ctx := req.Context()
	if ctx.Err() != nil {
		closeBody(req)
		return nil, context.Cause(ctx)
	}
	orig := req
	for fresh := false; ; fresh = true {
		c, err := t.conn(ctx, key, fresh)
		if err != nil {
			closeBody(req)
			return nil, err
		}
		res, err := c.roundTrip(ctx, req)
		if err == nil {
			res.Request = orig
			return res, nil
		}
		var re *retryable
		if !errors.As(err, &re) {
			return nil, err
		}
		// A reused connection failed before the server answered: the server closed it while
		// idle (net/http's errServerClosedIdle), so one retry on a new connection, when the
		// request can be sent again as net/http would (shouldRetryRequest).
		if !fresh && c.reused && ctx.Err() == nil && re.canRetry(req) {
			if next, ok := rewind(req); ok {
				req = next
				continue
			}
		}
		closeBody(req)
		return nil, re.err
	}
}

// retryable is an error of a round trip that failed before any response byte arrived.
type retryable struct {
	err           error
	nothingSent   bool // no byte of the request reached the connection
	readFirstByte bool // the request was sent; reading the first response byte failed
}

func (e *retryable) Error() string { return e.err.Error() }
func (e *retryable) Unwrap() error { return e.err }

// canRetry is net/http's shouldRetryRequest for a reused connection.
func (e *retryable) canRetry(req *http.Request) bool {
	if e.nothingSent {
		return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	}
	return e.readFirstByte && replayable(req)
}

// replayable is net/http's Request.isReplayable: an idempotent request whose body can be sent
// again.
func replayable(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody || r.GetBody != nil {
		switch r.Method {
		case "", "GET", "HEAD", "OPTIONS", "TRACE":
			return true
		}
		_, a := r.Header["Idempotency-Key"]
		_, b := r.Header["X-Idempotency-Key"]
		return a || b
	}
	return false
}

// rewind returns req with a new body from GetBody, for a retry.
func rewind(req *http.Request) (*http.Request, bool) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, true
	}
	if req.GetBody == nil {
		return nil, false
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, false
	}
	next := *req
	next.Body = body
	return &next, true
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// conn returns an idle connection to key that is still open, or dials one (fresh: always).
func (t *Transport) conn(ctx context.Context, key string, fresh bool) (*conn, error) {
	if !fresh {
		if c := t.idle.get(key); c != nil {
			return c, nil
		}
	}
	dial := t.fb.DialContext
	if dial == nil {
		dial = defaultDialer.DialContext
	}
	nc, err := dial(ctx, "tcp", key)
	if err != nil {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, err
	}
	if nc == nil {
		return nil, fmt.Errorf("h1: dial %s returned a nil connection", key)
	}
	return newConn(t, key, nc), nil
}

var defaultDialer = &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}

// errReadOnClosed is net/http's error for a read of a closed response body.
var errReadOnClosed = errors.New("http: read on closed response body")

var _ io.ReadCloser = (*body)(nil)
