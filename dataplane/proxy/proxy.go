// Package proxy is the dataplane's Service backend: a streaming reverse proxy to one upstream
// address that forwards as httputil.ReverseProxy does with less work (forward.go), flushes
// streamed responses as they arrive and classifies errors by cause.
package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/h1"
	"github.com/infergw/gwctl/dataplane/h1server"
	"github.com/infergw/gwctl/pkg/fastpath"
)

// Cause names why an upstream call failed, for the upstream-errors metric.
type Cause string

// Upstream error causes.
const (
	CauseTimeout      Cause = "timeout"         // the route's timeout expired
	CauseCanceled     Cause = "client_canceled" // the client went away
	CauseConnect      Cause = "connect"         // dial failed (refused, unreachable, DNS)
	CauseBodyTooLarge Cause = "body_too_large"  // request body over the limit
	CauseTLS          Cause = "tls"             // the TLS handshake failed: certificate not verified, refused
	CauseProtocol     Cause = "protocol"        // anything else: reset, malformed response
)

// Options configure a proxy; the zero value works.
type Options struct {
	// Transport carries upstream requests (default NewTransport() behind dataplane/h1). Share
	// one across backends.
	Transport http.RoundTripper
	// Logger receives one line per upstream error (never bodies or credentials).
	Logger *slog.Logger
	// OnError is called once per failed upstream call with its cause (e.g. a metric).
	OnError func(cause Cause)
	// TLS, when set, makes the upstream https; Transport must carry it (NewTLSTransport).
	// Without it the upstream is plain HTTP: there is never a fallback from one to the other.
	TLS bool
}

// NewTransport returns a transport tuned for a gateway: large idle pools, no compression
// (bodies pass through as sent), bounded dial time, HTTP/1.1 upstream.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ExpectContinueTimeout: time.Second,
		WriteBufferSize:       32 << 10,
		ReadBufferSize:        32 << 10,
	}
}

// NewEgressTransport returns a transport for provider APIs outside the cluster (OpenAI,
// Anthropic, …): the idle pool of NewTransport (http.DefaultTransport keeps only 2 idle
// connections per host, so concurrent requests to one provider would dial and close a
// connection per request), no compression (streamed events pass through as they arrive),
// and what egress needs: HTTP(S)_PROXY from the environment, HTTP/2 over TLS, TLS handshake
// and dial timeouts.
func NewEgressTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.MaxIdleConns = 4096
	t.MaxIdleConnsPerHost = 1024
	t.IdleConnTimeout = 90 * time.Second
	t.DisableCompression = true
	t.ForceAttemptHTTP2 = true
	return t
}

type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v := b.p.Get(); v != nil {
		return *v.(*[]byte)
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

var buffers = &bufferPool{}

// fastForward sends requests through the forwarder (forward.go); GWCTL_NOFAST=proxy sends
// every request through httputil.ReverseProxy.
var fastForward = fastpath.Enabled(fastpath.Proxy)

// New returns a handler proxying every request to addr (host:port) over plain HTTP. The
// request's Host header is kept (as Envoy does); forwarding headers follow SetForwarded.
// CONNECT and TRACE are answered 405 and never sent (see MethodRefused), whatever the caller
// checked before. Responses of unknown length and text/event-stream are flushed as they
// arrive; a client disconnect cancels the upstream request through the request context.
func New(addr string, opts Options) http.Handler {
	if opts.Transport == nil {
		opts.Transport = h1.Wrap(NewTransport())
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	target := &url.URL{Scheme: "http", Host: addr}
	if opts.TLS {
		target.Scheme = "https"
	}
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			SetForwarded(pr)
			if b, ok := pr.In.Body.(prereadBody); ok {
				// In memory, so the transport writes it with the head; ReverseProxy's own
				// wrapper of the body would hide that.
				pr.Out.Body = io.NopCloser(b.Reader)
			}
		},
		Transport:  opts.Transport,
		BufferPool: buffers,
		ErrorLog:   slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug),
	}
	p.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		cause := Classify(r.Context(), err)
		if opts.OnError != nil {
			opts.OnError(cause)
		}
		status, msg := http.StatusBadGateway, "upstream request failed"
		switch cause {
		case CauseTimeout:
			status, msg = http.StatusGatewayTimeout, "upstream request timed out"
		case CauseCanceled:
			status, msg = 499, "client closed request" // nobody reads it; recorded in logs and metrics
		case CauseConnect:
			status, msg = http.StatusServiceUnavailable, "upstream connection failed"
		case CauseBodyTooLarge:
			status, msg = http.StatusRequestEntityTooLarge, "request body too large"
		case CauseTLS:
			msg = "upstream TLS handshake failed: " + TLSReason(err)
		}
		opts.Logger.LogAttrs(r.Context(), slog.LevelWarn, "upstream error",
			slog.String("upstream", addr), slog.String("cause", string(cause)), slog.String("error", err.Error()))
		WriteError(w, status, msg)
	}
	fwd := &forwarder{target: *target, transport: opts.Transport, fail: p.ErrorHandler, errorLog: p.ErrorLog}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if MethodRefused(r.Method) {
			WriteMethodRefused(w, r.Method)
			return
		}
		alone := inflight.Add(1) == 1
		defer inflight.Add(-1)
		whole := r.Body == nil || r.Body == http.NoBody
		if n := r.ContentLength; n > 0 && n <= prereadMax && !whole {
			b, err := preread(r.Body, n)
			if err != nil {
				p.ErrorHandler(w, r, err)
				return
			}
			r.Body = prereadBody{bytes.NewReader(b)}
			whole = true
		}
		if alone && whole && r.ProtoMajor == 1 && !h1server.Served(r.Context()) {
			yield()
		}
		if !fastForward || upgrading(r.Header) || !simpleQuery(r.URL.RawQuery) {
			p.ServeHTTP(w, r)
			return
		}
		fwd.ServeHTTP(w, r)
	})
}

// inflight counts the requests in New's handlers, process-wide.
var inflight atomic.Int64

// yield is runtime.Gosched (a test counts its calls). Once an HTTP/1.1 request's body has been
// read to its end (for a request without one: before the handler), net/http has started a
// goroutine of its own, the connection's background read, and may have woken an idle thread of
// the runtime's for it. Left queued behind the handler while the handler builds and sends the
// upstream request, that goroutine is stolen by the woken thread: a hand-off between threads (a
// steal, a context switch, the thread's sleep again) on each request of an otherwise idle
// gateway, which httputil.ReverseProxy pays less often: the transport's writer goroutine reads
// its body, after the handler has blocked. Yielding runs the goroutine here and now; it parks on
// its read at once. Only when no other request is in flight: otherwise the thread has other
// work, and a yield would put this request behind it. Not for a request dataplane/h1server
// serves: it starts no such goroutine.
var yield = runtime.Gosched

// prereadMax is the largest request body read before the upstream call. net/http's transport
// sends the head of a request whose body is a stream in a write of its own, before the body
// (so a server can answer early); for a body the client has already sent, that is one more
// syscall here and one more segment and wake-up at the upstream, on every request. A body read
// into memory (a bytes.Reader) goes out with the head in one write.
const prereadMax = 64 << 10

// prereadBody is a request body read by preread.
type prereadBody struct{ *bytes.Reader }

func (prereadBody) Close() error { return nil }

// preread reads a body of declared length n to its end, so the server sees EOF (which lifts
// the body-read deadline). The buffer is not pooled: the transport may still read a request's
// body after the response has been served.
func preread(body io.Reader, n int64) ([]byte, error) {
	b := make([]byte, n+1)
	var got int
	for {
		k, err := body.Read(b[got:])
		got += k
		if err == io.EOF {
			if int64(got) != n {
				return nil, io.ErrUnexpectedEOF
			}
			return b[:got], nil
		}
		if err != nil {
			return nil, err
		}
		if got == len(b) {
			return nil, errors.New("request body longer than its Content-Length")
		}
	}
}

// Classify maps an upstream error to its cause.
func Classify(ctx context.Context, err error) Cause {
	var mbe *http.MaxBytesError
	var op *net.OpError
	switch {
	case errors.As(err, &mbe):
		return CauseBodyTooLarge
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return CauseTimeout
	case errors.Is(ctx.Err(), context.Canceled), errors.Is(err, context.Canceled):
		return CauseCanceled
	case errors.As(err, &op) && op.Op == "dial":
		return CauseConnect
	case TLSReason(err) != "":
		return CauseTLS
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return CauseConnect
	}
	return CauseProtocol
}

// WriteError answers msg in OpenAI's error shape (which most clients of an AI gateway parse),
// with the error type that fits status and a null code.
func WriteError(w http.ResponseWriter, status int, msg string) {
	apierror.Write(w, &apierror.Error{Status: status, Type: errorType(status), Message: msg})
}

func errorType(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return apierror.ErrAuthentication
	case status == http.StatusForbidden:
		return apierror.ErrPermission
	case status == http.StatusTooManyRequests:
		return apierror.ErrRateLimit
	case status >= 500:
		return apierror.ErrServer
	}
	// OpenAI answers an unknown path or an oversized body with invalid_request_error too.
	return apierror.ErrInvalidRequest
}
