package epp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/pool"
	"github.com/infergw/gwctl/dataplane/proxy"
)

// Picker names a pool's endpoint picker.
type Picker struct {
	// Address is the picker Service's host:port.
	Address string
	// FailureMode is endpointPickerRef.failureMode: FailOpen uses the pool's in-process picker
	// when the picker fails, FailClose answers 503.
	FailureMode pool.FailureMode
}

// FailCloseScrapeInterval is how often the dataplane scrapes the endpoints of a pool whose
// picker decides with FailClose (when its configured interval is shorter): such a pool never
// picks in-process, so it scrapes only to know which endpoints it can reach (the subset hint)
// and for the endpoint gauges; at the picker's 50 ms it would wake the gateway 20 times a
// second per model server for the picker's work.
const FailCloseScrapeInterval = time.Second

// Handler serves pool p through its endpoint picker: each request is one ext_proc exchange that
// names the endpoints, then the pool proxies there (walking the picker's fallbacks).
func (c *Client) Handler(p *pool.Pool, pk Picker) http.Handler {
	return &handler{c: c, pool: p, pk: pk, name: p.Name()}
}

type handler struct {
	c    *Client
	pool *pool.Pool
	pk   Picker
	name string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if proxy.MethodRefused(r.Method) {
		proxy.WriteMethodRefused(w, r.Method)
		return
	}
	// The protocol's headers are the picker's and the proxy's to set, never the client's.
	for k := range r.Header {
		if strings.HasPrefix(strings.ToLower(k), KeyDestination) {
			delete(r.Header, k)
		}
	}
	var body []byte
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		b, err := io.ReadAll(io.LimitReader(r.Body, h.c.opts.MaxBodyBytes+1))
		_ = r.Body.Close()
		if err != nil {
			apierror.Write(w, &apierror.Error{Status: http.StatusBadRequest, Type: apierror.ErrInvalidRequest, Message: fmt.Sprintf("read request body: %v", err)})
			return
		}
		if int64(len(b)) > h.c.opts.MaxBodyBytes {
			apierror.Write(w, &apierror.Error{Status: http.StatusRequestEntityTooLarge, Type: apierror.ErrInvalidRequest, Message: fmt.Sprintf("request body exceeds %d bytes", h.c.opts.MaxBodyBytes)})
			return
		}
		body = b
	}

	start := time.Now()
	ex, err := h.c.exchange(r.Context(), h, r, body)
	if ex != nil {
		defer ex.close()
	}
	if err == nil {
		h.c.metrics.pick.WithLabelValues(h.name).Observe(time.Since(start).Seconds())
		err = h.pool.Forward(w, r, pool.Forwarding{Endpoints: ex.endpoints, Body: ex.body, ModifyResponse: ex.respond})
		if err == nil {
			h.c.metrics.requests.WithLabelValues(h.name, "picked").Inc()
			return
		}
		// The pool lost the endpoints between the check and the forward.
		err = &failure{reason: "not_in_pool", err: err}
	}
	var imm *immediate
	if errors.As(err, &imm) {
		h.c.metrics.requests.WithLabelValues(h.name, "immediate").Inc()
		apierror.Write(w, imm.apiError(h.name))
		return
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		w.WriteHeader(499) // the client left; nothing to answer
		return
	}
	reason := "epp_error"
	var f *failure
	if errors.As(err, &f) {
		reason = f.reason
	}
	h.c.metrics.errors.WithLabelValues(h.name, reason).Inc()
	if h.pk.FailureMode == pool.FailOpen {
		h.c.log.Warn("endpoint picker failed, picking in-process", "pool", h.name, "picker", h.pk.Address, "reason", reason, "error", err)
		h.c.metrics.requests.WithLabelValues(h.name, "fail_open").Inc()
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		} else {
			r.Body = http.NoBody
		}
		h.pool.ServeHTTP(w, r)
		return
	}
	h.c.log.Warn("endpoint picker failed", "pool", h.name, "picker", h.pk.Address, "reason", reason, "error", err)
	h.c.metrics.requests.WithLabelValues(h.name, "fail_close").Inc()
	apierror.Write(w, &apierror.Error{Status: http.StatusServiceUnavailable, Type: "service_unavailable",
		Message: fmt.Sprintf("inference pool %s: endpoint picker unavailable", h.name)})
}

// failure is a picker that did not answer within the protocol; reason is the metric label.
type failure struct {
	reason string
	err    error
}

func (f *failure) Error() string { return f.reason + ": " + f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

func fail(reason string, format string, args ...any) error {
	return &failure{reason: reason, err: fmt.Errorf(format, args...)}
}

// immediate is the picker answering the client itself (ImmediateResponse): 503 nothing to
// pick, 429 shed, 400 a body it refuses.
type immediate struct {
	status     int
	message    string
	retryAfter string
}

func (e *immediate) Error() string { return fmt.Sprintf("endpoint picker answered %d", e.status) }

// apiError is the picker's answer in the client's error shape, its body cut to a short printable
// message (it is another component's text, passed on for diagnosis).
func (e *immediate) apiError(pool string) *apierror.Error {
	typ := "service_unavailable"
	switch {
	case e.status == http.StatusTooManyRequests:
		typ = apierror.ErrRateLimit
	case e.status >= 400 && e.status < 500:
		typ = apierror.ErrInvalidRequest
	case e.status < 500:
		typ = apierror.ErrServer
	}
	msg := fmt.Sprintf("inference pool %s: endpoint picker answered %d", pool, e.status)
	if e.message != "" {
		msg += ": " + e.message
	}
	return &apierror.Error{Status: e.status, Type: typ, Message: msg, RetryAfter: e.retryAfter}
}

// printable keeps at most n bytes of the printable ASCII of s.
func printable(s string, n int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < n; i++ {
		if c := s[i]; c >= ' ' && c < 0x7f {
			b.WriteByte(c)
		}
	}
	return strings.TrimSpace(b.String())
}
