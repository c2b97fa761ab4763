package llm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/infergw/gwctl/dataplane/apierror"
)

// UpstreamConfig configures the handler every provider backend is: what differs between
// providers is the Translator; everything else is here.
type UpstreamConfig struct {
	// Provider is gen_ai.system and the logs' "provider": "openai", "anthropic", "gemini".
	Provider string
	// Name names the provider in client errors ("the Anthropic upstream timed out"); empty
	// says "the upstream".
	Name string
	// BaseURL is the provider's base URL (Endpoint.URL without an operation path); the
	// translator's UpstreamRequest.Path is appended to it.
	BaseURL string
	// NewTranslator makes the translator of one request.
	NewTranslator func() Translator

	// APIKey returns the backend's key on every request (a rotated Secret takes effect at
	// once); nil sends none. Its errors must not contain the key. A leading "Bearer " is removed.
	APIKey func() (string, error)
	// KeyRequired makes an empty key a credentials error rather than "send no credential".
	KeyRequired bool
	// SecretName names the Secret holding the key ("ns/name") in client errors.
	SecretName string
	// Client performs upstream calls (default: a client without a total timeout, since
	// streams are long; the request context cancels, the route's timeout is its deadline).
	Client *http.Client

	MaxRequestBytes  int64 // the client's body; required (> 0)
	MaxResponseBytes int64 // a non-streamed upstream body; required (> 0)

	Logger   *slog.Logger
	Metrics  *Metrics // already narrowed to the backend's models (ForModels)
	OnResult ResultFunc
}

// Upstream is the one provider handler: it serves POST …/chat/completions by reading the
// client's body within its limit, translating it, calling the provider with the backend's
// credential, and translating the reply (whole or as a stream) or the provider's error back,
// then records usage, metrics and the Result for tracing. Create it with NewUpstream.
type Upstream struct {
	cfg UpstreamConfig
	log *slog.Logger
	// upstream and response name the provider in client errors.
	upstream, response string
	rt                 http.RoundTripper // called directly instead of cfg.Client.Do, when not nil
}

// NewUpstream checks cfg and returns the handler.
func NewUpstream(cfg UpstreamConfig) (*Upstream, error) {
	if cfg.NewTranslator == nil || cfg.BaseURL == "" {
		return nil, fmt.Errorf("%s backend: no translator or base URL", cfg.Provider)
	}
	if cfg.MaxRequestBytes <= 0 || cfg.MaxResponseBytes <= 0 {
		return nil, fmt.Errorf("%s backend: body limits must be positive", cfg.Provider)
	}
	// Redirects are never followed: the client would re-send the backend's key header (x-api-key
	// and x-goog-api-key are not among those net/http drops across hosts) to wherever the
	// upstream points, possibly in plaintext. A redirect is answered as an upstream error.
	c := http.Client{}
	if cfg.Client != nil {
		c = *cfg.Client
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cfg.Client = &c
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u := &Upstream{cfg: cfg, log: log.With("provider", cfg.Provider), upstream: "upstream", response: "upstream response",
		rt: directTransport(cfg.Client, cfg.BaseURL)}
	if cfg.Name != "" {
		u.upstream, u.response = cfg.Name+" upstream", cfg.Name+" response"
	}
	return u, nil
}

// BaseURL is the provider's base URL the handler calls.
func (u *Upstream) BaseURL() string { return u.cfg.BaseURL }

// Logger is the handler's logger (with its provider attribute), for the translators.
func (u *Upstream) Logger() *slog.Logger { return u.log }

// ServeHTTP implements POST …/chat/completions.
func (u *Upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := r.Context()
	res := Result{Provider: u.cfg.Provider, Route: RouteFromContext(ctx)}
	var in *Buffer // the client's body, while it may be referenced
	var t Translator
	defer func() {
		Finish(ctx, w, u.log, u.cfg.Metrics, u.cfg.OnResult, &res, start)
		// The response is written and recorded: only the transport may still read the
		// upstream body (not in a released buffer).
		if rel, ok := t.(Releaser); ok {
			rel.Release()
		}
		in.Release()
	}()

	if !AcceptChatCompletions(w, r, &res) {
		return
	}
	in = GetBuffer()
	body, ok := ReadRequestBody(w, r, u.cfg.MaxRequestBytes, &res, in)
	if !ok {
		return
	}
	t = u.cfg.NewTranslator()
	up, perr := t.RequestBody(ctx, body)
	if !(perr == nil && up.OwnBody) {
		// The upstream body, or an error, may be the client's body or point into it, and
		// outlive the handler (the transport may still write a body after the response came):
		// the buffer is left to the garbage collector, never reused.
		in = nil
	}
	if perr != nil {
		Reject(w, &res, perr)
		return
	}
	// The model may alias the client's body, reused after the request; the Result outlives it
	// (tracing, the access line, metric labels).
	res.RequestModel, res.Stream = strings.Clone(up.Model), up.Stream

	key, err := u.credential()
	if err != nil {
		u.log.ErrorContext(ctx, "API key unavailable", "secret", u.cfg.SecretName, "err", err)
		Reject(w, &res, CredentialsError(u.cfg.SecretName, err))
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.cfg.BaseURL+up.Path, bytes.NewReader(up.Body))
	if err != nil {
		Reject(w, &res, &apierror.Error{Status: http.StatusInternalServerError, Type: apierror.ErrServer, Message: "building upstream request failed"})
		return
	}
	req.Header.Set("Content-Type", "application/json")
	if up.Stream {
		req.Header.Set("Accept", "text/event-stream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	t.RequestHeaders(req.Header, r.Header, key)

	resp, err := u.do(req)
	if err != nil {
		// Only a cancelled context is the client leaving; a deadline (the route's timeout) is a timeout.
		if errors.Is(ctx.Err(), context.Canceled) {
			res.Status, res.ErrorType = 499, "client_closed_request"
			return
		}
		e := &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "upstream_unreachable", Message: "calling the " + u.upstream + " failed"}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			e = u.timeout()
		}
		u.log.WarnContext(ctx, "upstream call failed", "err", Redact(err.Error(), key))
		Reject(w, &res, e)
		return
	}
	defer resp.Body.Close()
	t.ResponseHeaders(w.Header(), resp.Header)

	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		u.log.WarnContext(ctx, "upstream answered a redirect; not followed", "status", resp.StatusCode)
		Reject(w, &res, &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "upstream_redirect",
			Message: "the " + u.upstream + " answered " + strconv.Itoa(resp.StatusCode) + " (a redirect): not followed, since the backend's credentials would go with it"})
		return
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		e := t.ResponseError(resp.StatusCode, resp.Header, b)
		e.Message = Redact(e.Message, key)
		if e.Type == apierror.ErrAuthentication {
			u.log.ErrorContext(ctx, "upstream rejected the backend credentials", "status", resp.StatusCode)
		}
		Reject(w, &res, e)
		return
	}
	if up.Stream {
		u.stream(ctx, w, resp, t, &res, key)
		return
	}
	u.complete(ctx, w, resp, t, &res)
}

// credential reads the backend's key; "" with no error when the backend has none.
func (u *Upstream) credential() (string, error) {
	if u.cfg.APIKey == nil {
		return "", nil
	}
	key, err := u.cfg.APIKey()
	if err != nil {
		return "", err
	}
	key = strings.TrimSpace(strings.TrimPrefix(key, "Bearer "))
	if key == "" && u.cfg.KeyRequired {
		return "", errors.New("empty API key")
	}
	return key, nil
}

func (u *Upstream) timeout() *apierror.Error {
	return &apierror.Error{Status: http.StatusGatewayTimeout, Type: apierror.ErrTimeout, Code: "upstream_timeout", Message: "the " + u.upstream + " timed out"}
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

func (u *Upstream) complete(ctx context.Context, w http.ResponseWriter, resp *http.Response, t Translator, res *Result) {
	max := u.cfg.MaxResponseBytes
	buf := responseBuffers.Get().(*bytes.Buffer)
	defer putResponseBuffer(buf)
	if n := resp.ContentLength; n > 0 && n <= max {
		buf.Grow(int(n) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, max+1))
	b := buf.Bytes() // valid until this returns: translators copy what they keep
	if err != nil {
		switch {
		case errors.Is(ctx.Err(), context.Canceled):
			res.Status, res.ErrorType = 499, "client_closed_request"
		case errors.Is(ctx.Err(), context.DeadlineExceeded) || isTimeout(err):
			Reject(w, res, u.timeout())
		default:
			Reject(w, res, &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "upstream_read_failed", Message: "reading the " + u.response + " failed"})
		}
		return
	}
	if int64(len(b)) > max {
		Reject(w, res, &apierror.Error{Status: http.StatusBadGateway, Type: apierror.ErrServer, Code: "bad_upstream_response", Message: "the " + u.response + " is too large"})
		return
	}
	out, e := t.ResponseBody(ctx, b, res)
	if e != nil {
		Reject(w, res, e)
		return
	}
	res.Status = http.StatusOK
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

func (u *Upstream) stream(ctx context.Context, w http.ResponseWriter, resp *http.Response, t Translator, res *Result, key string) {
	SetStreamHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	res.Status = http.StatusOK
	sw := NewSSEWriter(w)
	defer sw.Release()
	err := RelayStream(ctx, resp.Body, sw, t)
	if err == nil {
		drainStream(resp.Body)
	}
	t.StreamResult(res)

	se, isStreamErr := IsStreamError(err)
	switch {
	case err == nil:
	case isStreamErr:
		res.ErrorType = se.Err.Type
		u.log.WarnContext(ctx, "upstream stream failed", "id", res.ResponseID, "code", se.Err.Code, "err", Redact(se.Err.Message, key))
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		// The route's timeout cut the stream: say so, with no [DONE].
		res.ErrorType = apierror.ErrTimeout
		e := &apierror.Error{Status: http.StatusGatewayTimeout, Type: apierror.ErrTimeout, Code: "upstream_timeout", Message: "the request timed out while streaming"}
		_ = sw.Data(e.AppendJSON(nil))
		_ = sw.Flush()
	case ctx.Err() != nil || errors.Is(err, ErrClientWrite):
		// The client went away; the request context cancels the upstream call.
		res.ErrorType = "client_closed_request"
	default:
		res.ErrorType = apierror.ErrServer
		u.log.WarnContext(ctx, "stream aborted", "id", res.ResponseID, "err", Redact(err.Error(), key))
	}
}

// streamDrainWait bounds how long a stream that ended cleanly waits for the upstream's end of
// response (a variable so a test on a loaded machine can raise it).
var streamDrainWait = 10 * time.Millisecond

// drainStream reads the rest of a stream whose translator saw its last event ([DONE],
// message_stop) up to the end of the response, so the upstream connection is reused: net/http
// closes an HTTP/1.1 connection whose body is closed before its end, and the chunked
// terminator usually follows the last event by microseconds. The client has its last event
// already; a body that does not end within streamDrainWait or 4 KiB is closed, as it was
// before.
func drainStream(body io.ReadCloser) {
	t := time.AfterFunc(streamDrainWait, func() { _ = body.Close() })
	defer t.Stop()
	_, _ = io.CopyN(io.Discard, body, 4<<10)
}

// responseBuffers recycles the buffers non-streamed replies are read into (most of what such
// a request allocates otherwise).
var responseBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putResponseBuffer zeroes the reply's bytes in b and pools it. Only what the reply filled is
// cleared (not the whole capacity, up to 1 MiB for each small reply after a large one): the
// body's readers write no further than what they return, and what an earlier reply filled was
// cleared at its release.
func putResponseBuffer(b *bytes.Buffer) {
	if b.Cap() > 1<<20 {
		return // keep the pool small; a rare large reply is not worth holding on to
	}
	clear(b.Bytes()) // never read from: Bytes starts at the buffer's start
	b.Reset()
	responseBuffers.Put(b)
}

// Truncate returns at most n bytes of b as valid UTF-8 text without surrounding space, for
// quoting an unexpected upstream body in an error message.
func Truncate(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return strings.TrimSpace(strings.ToValidUTF8(string(b), "\uFFFD"))
}
