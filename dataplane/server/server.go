// Package server is the dataplane's front door: it normalises each request's path (path.go),
// serves the current route table (swapped atomically on reload) over HTTP/1.1 and h2c, records
// one access-log line and the request metrics per request, enforces the request body limit,
// serves the admin endpoints (/healthz, /readyz, /metrics) and drains gracefully on shutdown.
package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/infergw/gwctl/dataplane/proxy"
)

// Options configure a Server.
type Options struct {
	// Logger receives server events; AccessLog one line per request (nil: Logger).
	Logger, AccessLog *slog.Logger
	// DisableAccessLog turns the per-request line off.
	DisableAccessLog bool
	// AccessLogBuffer, when AccessLog writes through it, is flushed once a response has been
	// written and no other request is in flight (idleflush.go, LineWriter.FlushIdle): lines
	// are batched under concurrency and written at once otherwise, so a quiet gateway's lines
	// are not late.
	AccessLogBuffer *LineWriter
	// Metrics records request metrics (nil: none).
	Metrics *Metrics
	// Gatherer serves /metrics (nil: no /metrics).
	Gatherer prometheus.Gatherer
	// MaxRequestBody is the largest request body accepted (0: unlimited); larger gets 413.
	MaxRequestBody int64
	// MaxHeaderBytes bounds the request line and header fields (0: DefaultMaxHeaderBytes);
	// larger gets 431, on HTTP/1.1 and HTTP/2 alike.
	MaxHeaderBytes int
	// RequestBodyTimeout bounds how long reading a request body may take (slow-loris bodies);
	// the deadline is lifted once the body is read, so long response streams are not cut.
	// 0: no bound.
	RequestBodyTimeout time.Duration
	// ShutdownTimeout bounds the drain of in-flight requests and streams (default 30s).
	ShutdownTimeout time.Duration
	// ShutdownDelay keeps serving while /readyz already fails, so load balancers stop sending
	// new requests before the listener closes (default 0).
	ShutdownDelay time.Duration
	// DebugHandlers are the debug endpoints by path (e.g. /configz), served only on the debug
	// listener: they show configuration that the admin listener, reachable by the cluster,
	// must not.
	DebugHandlers map[string]http.Handler
}

// Server serves the current handler. Swap installs a new one atomically.
type Server struct {
	opts     Options
	log      *slog.Logger
	access   *slog.Logger
	current  atomic.Pointer[snapshot]
	draining atomic.Bool
	// tls says which ports serve HTTPS and with which certificates (nil: plain HTTP only).
	tls    atomic.Pointer[TLSTable]
	active atomic.Int64 // requests in flight, for AccessLogBuffer
}

// PortHandler serves requests that arrived on the binding of one Gateway listener port
// (router.Table implements it); port 0 means every listener.
type PortHandler interface {
	ServePort(w http.ResponseWriter, r *http.Request, port int32)
}

// Binding is a traffic listener and the Gateway listener port it serves (0: every listener).
type Binding struct {
	Listener net.Listener
	Port     int32
}

// snapshot is one installed handler; release runs once it is replaced and idle.
type snapshot struct {
	handler http.Handler
	ports   PortHandler
	refs    atomic.Int64
	retired atomic.Bool
	release func()
	once    sync.Once
}

func (s *snapshot) done() {
	if s.refs.Add(-1) == 0 && s.retired.Load() {
		s.once.Do(s.runRelease)
	}
}

func (s *snapshot) runRelease() {
	if s.release != nil {
		s.release()
	}
}

// New returns a server with no handler: it answers 503 and is not ready until Swap.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.AccessLog == nil {
		opts.AccessLog = opts.Logger
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	return &Server{opts: opts, log: opts.Logger, access: opts.AccessLog}
}

// Swap installs h for new requests. release (may be nil) runs once the previous handler has
// no request in flight, e.g. to close its backends.
func (s *Server) Swap(h http.Handler, release func()) {
	next := &snapshot{handler: h, release: release}
	next.ports, _ = h.(PortHandler)
	old := s.current.Swap(next)
	if old != nil {
		old.retired.Store(true)
		if old.refs.Load() == 0 {
			old.once.Do(old.runRelease)
		}
	}
}

// Ready reports whether a config is loaded and the server is not draining.
func (s *Server) Ready() bool { return s.current.Load() != nil && !s.draining.Load() }

func (s *Server) acquire() *snapshot {
	for {
		snap := s.current.Load()
		if snap == nil {
			return nil
		}
		snap.refs.Add(1)
		if !snap.retired.Load() {
			return snap
		}
		// Swapped out between Load and Add: release our hold and take the new one.
		snap.done()
	}
}

// ServeHTTP serves one request through the current handler, for every listener.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.serve(w, r, 0) }

// Port returns the handler for a binding of one Gateway listener port.
func (s *Server) Port(port int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, port) })
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, port int32) {
	start := time.Now()
	m := s.opts.Metrics
	s.active.Add(1)
	rec := recorders.Get().(*recorder)
	rec.reset(w, m)
	if m != nil {
		m.inflight.Inc()
	}
	defer func() {
		// Metrics first: a client that has its response (a test, a scraper after a load run)
		// finds the request counted. The access line, the dearer part, after the response.
		status, d := s.record(rec, r, start)
		rec.sendComplete(r)
		s.finish(rec, r, status, d)
		recorders.Put(rec)
	}()
	if err := normalizeRequest(r); err != nil {
		proxy.WriteError(rec, http.StatusBadRequest, err.Error())
		return
	}
	if r.Header.Get("X-Request-Id") == "" {
		// As Envoy does: upstreams and the access log can correlate one request.
		r.Header["X-Request-Id"] = []string{requestID()}
	}
	if max := s.opts.MaxRequestBody; max > 0 && r.Body != nil && r.Body != http.NoBody {
		if r.ContentLength > max {
			proxy.WriteError(rec, http.StatusRequestEntityTooLarge, "request body too large")
			return
		}
		if r.ContentLength <= 0 {
			// Only a body of unknown length (chunked) can outgrow max: net/http (HTTP/1 and
			// HTTP/2) ends a body of declared length at that length, which is <= max here.
			r.Body = http.MaxBytesReader(w, r.Body, max) // w: lets net/http close the connection
		}
	}
	if d := s.opts.RequestBodyTimeout; d > 0 && r.Body != nil && r.Body != http.NoBody {
		b := &deadlineBody{ReadCloser: r.Body, rc: *http.NewResponseController(w)}
		if b.rc.SetReadDeadline(time.Now().Add(d)) == nil {
			r.Body = b
		}
	}
	if r.TLS != nil && s.tls.Load().misdirected(port, r.TLS.ServerName, hostOnly(r.Host)) {
		proxy.WriteError(rec, http.StatusMisdirectedRequest, "this connection's server name is served by another HTTPS listener than the request's host: open a new connection")
		return
	}
	snap := s.acquire()
	if snap == nil {
		proxy.WriteError(rec, http.StatusServiceUnavailable, "no configuration loaded yet")
		return
	}
	defer snap.done()
	if port != 0 && snap.ports != nil {
		snap.ports.ServePort(rec, r, port)
		return
	}
	snap.handler.ServeHTTP(rec, r)
}

// record counts the request in the metrics, also when the handler aborted with a panic
// (http.ErrAbortHandler after a broken stream), which then continues; it returns the status and
// duration the access line shows.
func (s *Server) record(rec *recorder, r *http.Request, start time.Time) (status int, d time.Duration) {
	status = rec.status
	if status == 0 {
		status = http.StatusOK
		if r.Context().Err() != nil {
			status = 499 // client went away before any response
		}
	}
	d = time.Since(start)
	if m := s.opts.Metrics; m != nil {
		c := m.series(rec.route, rec.backend, status)
		c.requests.Inc()
		c.duration.Observe(d.Seconds())
		m.inflight.Dec()
		if rec.stream {
			m.streams.Dec()
		}
	}
	return status, d
}

// finish writes the request's access line and ends it.
func (s *Server) finish(rec *recorder, r *http.Request, status int, d time.Duration) {
	if !s.opts.DisableAccessLog {
		s.accessLine(r, rec, status, d)
	}
	s.active.Add(-1)
}

// accessLine writes the request's log line. It calls the handler directly: Logger.LogAttrs
// would also walk the stack for the caller's position (runtime.Callers), which the line does not
// show.
func (s *Server) accessLine(r *http.Request, rec *recorder, status int, d time.Duration) {
	ctx := r.Context()
	h := s.access.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	now := time.Now()
	if j, ok := h.(*jsonAccess); ok && fastAccess && j.writeAccessLine(now, r, rec, status, d) {
		return
	}
	_ = h.Handle(ctx, accessRecord(now, r, rec, status, d))
}

// Admin returns the admin handler: /healthz (alive), /readyz (config loaded, not draining),
// /metrics (Prometheus), and nothing else.
func (s *Server) Admin() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case s.draining.Load():
			http.Error(w, "draining", http.StatusServiceUnavailable)
		case s.current.Load() == nil:
			http.Error(w, "no configuration loaded", http.StatusServiceUnavailable)
		default:
			_, _ = w.Write([]byte("ok\n"))
		}
	})
	if s.opts.Gatherer != nil {
		mux.Handle("/metrics", promhttp.HandlerFor(s.opts.Gatherer, promhttp.HandlerOpts{}))
	}
	return mux
}

// Debug returns the debug handler: Options.DebugHandlers.
func (s *Server) Debug() http.Handler {
	mux := http.NewServeMux()
	for path, h := range s.opts.DebugHandlers {
		mux.Handle(path, h)
	}
	return mux
}

// newHTTPServer serves h over HTTP/1.1 and h2c, and over TLS (HTTP/1.1 and h2 by ALPN) on
// the connections a binding's tlsListener hands over as TLS.
func (s *Server) newHTTPServer(h http.Handler) *http.Server {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetHTTP2(true)
	p.SetUnencryptedHTTP2(true)
	return &http.Server{
		Handler:           h,
		Protocols:         &p,
		MaxHeaderBytes:    s.maxHeaderBytes(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		ConnState:         s.connState,
	}
}

// Serve serves every listener's traffic on ln; see ServeListeners.
func (s *Server) Serve(ctx context.Context, ln, admin net.Listener) error {
	return s.ServeListeners(ctx, Listeners{Bindings: []Binding{{Listener: ln}}, Admin: admin})
}

// ServeBindings serves traffic on each binding and the admin endpoints on admin (may be nil);
// see ServeListeners.
func (s *Server) ServeBindings(ctx context.Context, bindings []Binding, admin net.Listener) error {
	return s.ServeListeners(ctx, Listeners{Bindings: bindings, Admin: admin})
}

// Listeners are where a Server serves.
type Listeners struct {
	// Bindings carry traffic, through the edge rules (edge.go).
	Bindings []Binding
	// Admin serves Admin() (nil: none).
	Admin net.Listener
	// Debug serves Debug() (nil: none); bind it to loopback.
	Debug net.Listener
}

// ServeListeners serves until ctx is done, then drains: /readyz fails at once, new
// connections are refused after ShutdownDelay, and in-flight requests and streams get up to
// ShutdownTimeout to finish before being cut.
func (s *Server) ServeListeners(ctx context.Context, l Listeners) error {
	errc := make(chan error, len(l.Bindings)+2)
	var mains []trafficServer
	var sides []*http.Server
	for _, b := range l.Bindings {
		h := http.Handler(s)
		if b.Port != 0 {
			h = s.Port(b.Port)
		}
		srv := s.newTrafficServer(s.edge(h))
		mains = append(mains, srv)
		ln := s.wrapListener(b.Listener, b.Port)
		go func() { errc <- srv.Serve(ln) }()
	}
	for _, side := range []struct {
		ln net.Listener
		h  func() http.Handler
	}{{l.Admin, s.Admin}, {l.Debug, s.Debug}} {
		if side.ln == nil {
			continue
		}
		srv := s.newHTTPServer(side.h())
		sides = append(sides, srv)
		go func() { errc <- srv.Serve(side.ln) }()
	}
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			for _, m := range mains {
				m.Close()
			}
			for _, side := range sides {
				side.Close()
			}
			return err
		}
	case <-ctx.Done():
	}
	s.draining.Store(true)
	s.log.Info("draining", slog.Duration("delay", s.opts.ShutdownDelay), slog.Duration("timeout", s.opts.ShutdownTimeout))
	if s.opts.ShutdownDelay > 0 {
		time.Sleep(s.opts.ShutdownDelay) // keep serving while endpoints are removed
	}
	dctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	errs := make(chan error, len(mains))
	for _, m := range mains {
		go func() { errs <- m.Shutdown(dctx) }()
	}
	var err error
	for range mains {
		if e := <-errs; e != nil && err == nil {
			err = e
		}
	}
	if err != nil {
		s.log.Warn("drain deadline reached: closing remaining connections", slog.String("error", err.Error()))
		for _, m := range mains {
			m.Close()
		}
	}
	for _, side := range sides {
		side.Close()
	}
	if snap := s.current.Load(); snap != nil {
		snap.retired.Store(true)
		if snap.refs.Load() == 0 {
			snap.once.Do(snap.runRelease)
		}
	}
	s.log.Info("stopped")
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// requestID returns 128 random bits in hex.
func requestID() string {
	const hex = "0123456789abcdef"
	var b [32]byte
	a, c := rand.Uint64(), rand.Uint64()
	for i := 0; i < 16; i++ {
		b[i] = hex[a>>(60-4*i)&0xf]
		b[16+i] = hex[c>>(60-4*i)&0xf]
	}
	return string(b[:])
}

// deadlineBody lifts the connection's read deadline once the request body is fully read.
type deadlineBody struct {
	io.ReadCloser
	rc   http.ResponseController // by value: one allocation per request, not two
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
