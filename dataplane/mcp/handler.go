package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// defaultMaxRequestBytes is the POST body limit when Config.MaxRequestBytes is 0.
const defaultMaxRequestBytes = 4 << 20

// versionModern is the first protocol generation without sessions (SEP-2567, SEP-2575).
const versionModern = "2026-07-28"

// Handler serves one MCP backend. It is safe for concurrent use and keeps no per-session state:
// everything a session needs travels in its sealed Mcp-Session-Id.
type Handler struct {
	cfg     Config
	ups     []*upstream
	byName  map[string]*upstream
	multi   bool
	sealer  *sealer
	log     *slog.Logger
	metrics *Metrics
	tracer  trace.Tracer
	prop    propagation.TextMapPropagator
	origins map[string]bool

	toolNames     sync.Map // tool label values in use
	toolCount     atomic.Int64
	ownTransport  *http.Transport   // closed by Close; nil when Deps.Transport was given
	tlsTransports []*http.Transport // of targets with TLS, closed by Close
}

// Close releases the idle connections to the targets (io.Closer, which backend.Set.Close calls
// when a reload replaces the handler). Requests still in flight finish normally.
func (h *Handler) Close() error {
	for _, t := range h.tlsTransports {
		t.CloseIdleConnections()
	}
	if h.ownTransport != nil {
		h.ownTransport.CloseIdleConnections()
	}
	return nil
}

// New builds the handler for one MCP backend. It fails on an invalid config or session key.
// A reload builds a new handler; pass the same Deps.Metrics to keep one set of series.
func New(cfg Config, deps Deps) (*Handler, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := cfg.Rules.validate(); err != nil {
		return nil, err
	}
	if cfg.SessionRouting == "" {
		cfg.SessionRouting = Stateful
	}
	if cfg.FailureMode == "" {
		cfg.FailureMode = FailClosed
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = defaultMaxRequestBytes
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	if cfg.FanoutTimeout <= 0 {
		cfg.FanoutTimeout = 30 * time.Second
	}
	if cfg.ServerName == "" {
		cfg.ServerName = "gwctl-mcp-gateway"
	}
	s, err := newSealer(cfg.SessionKey, cfg.SessionMaxAge)
	if err != nil {
		return nil, err
	}
	h := &Handler{
		cfg:     cfg,
		byName:  map[string]*upstream{},
		multi:   len(cfg.Targets) > 1,
		sealer:  s,
		log:     deps.Logger,
		metrics: deps.Metrics,
		tracer:  tracerFrom(deps.TracerProvider),
		prop:    propagation.TraceContext{},
		origins: map[string]bool{},
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.metrics == nil {
		if h.metrics, err = NewMetrics(deps.Registerer); err != nil {
			return nil, err
		}
	}
	rt := deps.Transport
	if rt == nil {
		h.ownTransport = newTransport(cfg.DialTimeout)
		rt = h.ownTransport
	}
	client := &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, t := range cfg.Targets {
		if t.Protocol == "" {
			t.Protocol = StreamableHTTP
		}
		u := &upstream{Target: t, client: client}
		if strings.HasPrefix(t.URL, "https://") && t.TLS == nil && t.Upstream != nil {
			return nil, fmt.Errorf("mcp target %q: a TLS policy applies and no TLS configuration was built for it", t.Name)
		}
		if t.TLS != nil {
			tr := newTransport(cfg.DialTimeout)
			tr.TLSClientConfig = t.TLS
			h.tlsTransports = append(h.tlsTransports, tr)
			u.client = &http.Client{Transport: tr, CheckRedirect: client.CheckRedirect}
		}
		h.ups = append(h.ups, u)
		h.byName[t.Name] = u
	}
	for _, o := range cfg.AllowedOrigins {
		h.origins[strings.TrimSuffix(o, "/")] = true
	}
	return h, nil
}

// ServeHTTP implements the streamable HTTP transport towards clients.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/.well-known" || strings.HasPrefix(r.URL.Path, "/.well-known/") {
		// Discovery documents are the gateway's (the JWT policy answers them); a route that passes
		// one here must not turn it into an MCP endpoint that skipped authentication.
		writeRPCError(w, http.StatusNotFound, nil, &rpcError{Code: codeServerError, Message: "Not Found: /.well-known/ paths are not MCP endpoints"})
		return
	}
	if !h.originAllowed(r) {
		writeRPCError(w, http.StatusForbidden, nil, &rpcError{Code: codeServerError, Message: "Forbidden: Origin not allowed"})
		return
	}
	switch r.Method {
	case http.MethodPost:
		h.servePost(w, r)
	case http.MethodGet:
		h.serveGet(w, r)
	case http.MethodDelete:
		h.serveDelete(w, r)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		writeRPCError(w, http.StatusMethodNotAllowed, nil, &rpcError{Code: codeServerError, Message: "Method not allowed"})
	}
}

// originAllowed applies Config.AllowedOrigins; without it the route's CORS policy decides.
func (h *Handler) originAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || len(h.origins) == 0 || h.origins["*"] || h.origins[o] {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// exchange is one client message on its way through the gateway.
type exchange struct {
	h      *Handler
	w      http.ResponseWriter
	r      *http.Request
	ctx    context.Context
	m      *message
	body   []byte
	modern string   // the client's 2026-07-28 (or later) version; "" for the session generation
	sess   *session // the decoded session (session generation, after initialize)
	sid    string   // the client-facing session id
	claims map[string]any
	span   trace.Span
	tool   string
	status string
}

func (h *Handler) claims(r *http.Request) map[string]any {
	if h.cfg.Claims == nil {
		return nil
	}
	return h.cfg.Claims(r)
}

// principal identifies the authenticated caller a session is bound to.
func principal(claims map[string]any) string {
	if claims == nil {
		return ""
	}
	iss, _ := claims["iss"].(string)
	sub, _ := claims["sub"].(string)
	return iss + "\x00" + sub
}

func (h *Handler) servePost(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxRequestBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.metrics.requests.WithLabelValues("", "", statusInvalid).Inc()
			writeRPCError(w, http.StatusRequestEntityTooLarge, nil, &rpcError{Code: codeInvalidRequest,
				Message: fmt.Sprintf("Request body larger than %d bytes", h.cfg.MaxRequestBytes)})
			return
		}
		writeRPCError(w, http.StatusBadRequest, nil, &rpcError{Code: codeParseError, Message: "Parse error: reading body: " + err.Error()})
		return
	}
	m, perr := parseMessage(body)
	if perr != nil {
		h.metrics.requests.WithLabelValues("", "", statusInvalid).Inc()
		writeRPCError(w, http.StatusBadRequest, nil, perr)
		return
	}
	x := &exchange{h: h, w: w, r: r, m: m, body: body, claims: h.claims(r), status: statusOK}
	ctx, span := h.tracer.Start(h.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header)), spanName(m),
		trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrMethod.String(m.Method)))
	x.ctx, x.span = ctx, span
	defer func() {
		method := methodLabel(m)
		h.metrics.requests.WithLabelValues(method, x.tool, x.status).Inc()
		h.metrics.duration.WithLabelValues(method).Observe(time.Since(start).Seconds())
		span.SetAttributes(attrStatus.String(x.status))
		if x.status != statusOK {
			span.SetStatus(codes.Error, x.status)
		}
		span.End()
	}()

	if v := h.modernVersion(r, m); v != "" {
		x.modern = v
		span.SetAttributes(attrVersion.String(v))
		h.serveModern(x)
		return
	}
	if m.Method == "initialize" && m.kind() == kindRequest {
		h.initialize(x)
		return
	}
	if !x.openSession() {
		return
	}
	switch m.kind() {
	case kindRequest:
		x.dispatch()
	case kindNotification:
		x.notify()
	case kindResponse:
		x.respond()
	}
}

func spanName(m *message) string {
	if m.Method == "" {
		return "mcp response"
	}
	return "mcp " + m.Method
}

// modernVersion recognises a 2026-07-28 client: the Mcp-Method header, a version header of that
// generation, the version in _meta, or server/discover.
func (h *Handler) modernVersion(r *http.Request, m *message) string {
	v := r.Header.Get("Mcp-Protocol-Version")
	if v >= versionModern {
		return v
	}
	if v == "" && (r.Header.Get("Mcp-Method") != "" || m.Method == "server/discover") {
		if mv := metaVersion(m.Params); mv != "" {
			return mv
		}
		return versionModern
	}
	if v == "" {
		if mv := metaVersion(m.Params); mv >= versionModern {
			return mv
		}
	}
	return ""
}

func metaVersion(params json.RawMessage) string {
	if len(params) == 0 || !strings.Contains(string(params), "io.modelcontextprotocol/protocolVersion") {
		return ""
	}
	var p struct {
		Meta map[string]json.RawMessage `json:"_meta"`
	}
	if json.Unmarshal(params, &p) != nil {
		return ""
	}
	var v string
	_ = json.Unmarshal(p.Meta["io.modelcontextprotocol/protocolVersion"], &v)
	return v
}

// openSession decodes the client's Mcp-Session-Id, answering 400 without one and 404 for one
// that does not open (forged, tampered, foreign, expired), which makes clients re-initialize.
func (x *exchange) openSession() bool {
	sid := x.r.Header.Get("Mcp-Session-Id")
	if sid == "" {
		x.status = statusInvalid
		writeRPCError(x.w, http.StatusBadRequest, x.m.ID, &rpcError{Code: codeServerError, Message: "Bad Request: Mcp-Session-Id header is required"})
		return false
	}
	s, err := x.h.sealer.open(sid, principal(x.claims))
	if err != nil {
		x.status = statusInvalid
		x.h.metrics.sessions.WithLabelValues("rejected").Inc()
		x.h.log.LogAttrs(x.ctx, slog.LevelInfo, "mcp session refused", slog.String("session", sessionTag(sid)), slog.String("reason", err.Error()))
		writeRPCError(x.w, http.StatusNotFound, x.m.ID, &rpcError{Code: codeSessionNotFound, Message: "Session not found"})
		return false
	}
	x.sess, x.sid = s, sid
	x.span.SetAttributes(attrSession.String(sessionTag(sid)), attrVersion.String(s.Version))
	return true
}

// targets are the upstreams this exchange may use: the session's, or all for stateless clients.
func (x *exchange) targets() []*upstream {
	if x.sess == nil {
		return x.h.ups
	}
	out := make([]*upstream, 0, len(x.sess.Targets))
	for _, t := range x.sess.Targets {
		if u := x.h.byName[t.Name]; u != nil {
			out = append(out, u)
		}
	}
	return out
}

// newCall prepares a message for target u in this exchange's generation and session.
func (x *exchange) newCall(u *upstream, id json.RawMessage, method, name string, body []byte) *call {
	c := &call{id: id, method: method, name: name, body: body, modern: x.modern, header: passHeaders(x.r)}
	if x.sess != nil {
		c.session, _ = x.sess.target(u.Name)
		if c.session.Version == "" {
			c.session.Version = x.sess.Version
		}
		c.wrap = x.h.cfg.SessionRouting == Stateless
	}
	x.h.prop.Inject(trace.ContextWithSpan(x.ctx, x.span), propagation.HeaderCarrier(c.header))
	return c
}

// passHeaders are the client headers a target may need; credentials and hop headers stay behind.
func passHeaders(r *http.Request) http.Header {
	h := http.Header{}
	for k, v := range r.Header {
		if strings.HasPrefix(k, "Mcp-Param-") || k == "Baggage" || k == "Tracestate" {
			h[k] = slices.Clone(v)
		}
	}
	return h
}

// fail answers the exchange's request with a JSON-RPC error (HTTP 200, as a server's own errors are).
func (x *exchange) fail(status string, e *rpcError) {
	x.status = status
	x.span.SetAttributes(attrErrCode.Int(e.Code))
	writeRPCError(x.w, http.StatusOK, x.m.ID, e)
}

// unavailable reports a target failure as a JSON-RPC error without details of the upstream URL.
func (x *exchange) unavailable(u *upstream, err error) {
	x.h.metrics.targetFailures.WithLabelValues(u.Name).Inc()
	x.h.log.LogAttrs(x.ctx, slog.LevelWarn, "mcp target failed", slog.String("target", u.Name), slog.String("error", err.Error()))
	x.span.RecordError(err, trace.WithAttributes(attrTarget.String(u.Name)))
	x.fail(statusUnavailable, &rpcError{Code: codeUpstreamUnavailable, Message: fmt.Sprintf("MCP target %q is unavailable", u.Name), Data: errData(err)})
}

func errData(err error) json.RawMessage {
	var ue *unavailableError
	msg := err.Error()
	if errors.As(err, &ue) {
		msg = ue.err.Error()
	}
	b, _ := json.Marshal(map[string]string{"reason": redactURLs(msg)})
	return b
}

// redactURLs drops the "Post \"http://…\": " prefix net/http puts before transport errors.
func redactURLs(s string) string {
	if i := strings.Index(s, "\": "); i >= 0 && (strings.HasPrefix(s, "Post \"") || strings.HasPrefix(s, "Get \"") || strings.HasPrefix(s, "Delete \"")) {
		return s[i+3:]
	}
	return s
}
