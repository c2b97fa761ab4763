package pool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/infergw/gwctl/dataplane/apierror"
	"github.com/infergw/gwctl/dataplane/proxy"
	"github.com/infergw/gwctl/dataplane/telemetry"
)

type dispatchKey struct{}

// dispatch travels with the upstream request from ServeHTTP to the transport.
type dispatch struct {
	d      decision
	replay []byte // buffered body, replayable on any endpoint
	body   *trackedBody
	holder *endpoint // endpoint currently counting the request in flight
	tokens int64
	// modify, when set, sees the response before the client (Forwarding.ModifyResponse).
	modify func(resp *http.Response, served string) error
}

// decide schedules req (falling open when the pool's failureMode allows it), records the pick's
// span and metrics, and teaches the prefix index the chosen endpoint. The decision counts the
// request in flight on its first endpoint; the caller takes it off when the request ends.
func (p *Pool) decide(ctx context.Context, req *request, start time.Time) (context.Context, decision, error) {
	var pick trace.Span
	if p.cfg.Tracer != nil {
		ctx, pick = telemetry.StartEndpointPick(ctx, p.cfg.Tracer, p.cfg.Name)
	}
	d, err := p.schedule(req, start)
	if errors.Is(err, errUndecided) {
		ok := false
		if p.cfg.FailureMode == FailOpen {
			d, ok = p.failOpen(req)
		}
		if !ok {
			p.log.Warn("no endpoint picked", "pool", p.cfg.Name, "failureMode", p.cfg.FailureMode, "error", err)
			err = &apierror.Error{Status: http.StatusServiceUnavailable, Type: "service_unavailable", Message: fmt.Sprintf("inference pool %s: no ready endpoint", p.cfg.Name)}
		} else {
			err = nil
		}
	}
	if pick != nil {
		ep := ""
		if err == nil {
			ep = d.order[0].addr
		}
		telemetry.EndEndpointPick(pick, ep, err)
	}
	if err != nil {
		return ctx, d, err
	}
	p.metrics.pickDuration.Observe(time.Since(start).Seconds())
	if len(req.hashes) > 0 {
		p.index.learn(d.order[0].slot, req.hashes)
	}
	if d.matched >= 0 {
		p.metrics.prefixMatch.Observe(d.matched)
	}
	outcome := "picked"
	if d.failOpen {
		outcome = "fail_open"
	}
	p.metrics.requests.WithLabelValues(outcome).Inc()
	return ctx, d, nil
}

// ServeHTTP schedules the request and proxies it.
func (p *Pool) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if proxy.MethodRefused(r.Method) {
		proxy.WriteMethodRefused(w, r.Method)
		return
	}
	start := time.Now()
	hb := p.hashPool.Get().(*[]uint64)
	defer p.hashPool.Put(hb)
	req, err := p.parseRequest(r, *hb)
	if err != nil {
		p.fail(w, err, "bad_request")
		return
	}
	ctx, d, err := p.decide(r.Context(), req, start)
	if err != nil {
		p.fail(w, err, "")
		return
	}
	r = r.WithContext(ctx)

	p.forward(w, r, &dispatch{d: d, replay: req.body, holder: d.order[0], tokens: d.tokens})
}

// forward proxies r along the decision's endpoints and, at the end, takes the request off the
// in-flight count of the endpoint holding it.
func (p *Pool) forward(w http.ResponseWriter, r *http.Request, dp *dispatch) {
	if dp.replay == nil && hasBody(r) {
		dp.body = &trackedBody{r: r.Body}
		// The body streams to the model server while its response streams back. Without full
		// duplex, net/http discards the unread rest of the body when the response headers are
		// written, racing the transport still copying it, which then fails the upstream request.
		_ = http.NewResponseController(w).EnableFullDuplex()
	}
	addrs := make([]string, len(dp.d.order))
	for i, e := range dp.d.order {
		addrs[i] = e.addr
	}
	out := r.WithContext(context.WithValue(r.Context(), dispatchKey{}, dp))
	out.Header = r.Header.Clone()
	out.Header.Set(HeaderDestination, strings.Join(addrs, ","))
	if dp.body != nil {
		out.Body = dp.body
	}
	defer func() {
		dp.holder.inFlight.Add(-1)
		dp.holder.tokens.Add(-dp.tokens)
	}()
	p.proxy.ServeHTTP(w, out)
}

// scheme is how the model servers are called: https when a TLS policy applies to the pool.
func (p *Pool) scheme() string {
	if p.cfg.TLS != nil {
		return "https"
	}
	return "http"
}

// modifyResponse hands the model server's response to the dispatch's hook (an endpoint picker's
// response phases), naming the endpoint that served it.
func (p *Pool) modifyResponse(resp *http.Response) error {
	dp, _ := resp.Request.Context().Value(dispatchKey{}).(*dispatch)
	if dp == nil || dp.modify == nil {
		return nil
	}
	return dp.modify(resp, resp.Request.URL.Host)
}

func (p *Pool) rewrite(pr *httputil.ProxyRequest) {
	dp := pr.In.Context().Value(dispatchKey{}).(*dispatch)
	pr.Out.URL.Scheme = p.scheme()
	pr.Out.URL.Host = dp.d.order[0].addr
	pr.Out.Host = ""
	proxy.SetForwarded(pr)
}

// fail writes an OpenAI-shaped error and counts the outcome.
func (p *Pool) fail(w http.ResponseWriter, err error, outcome string) {
	he, ok := err.(*apierror.Error)
	if !ok {
		he = &apierror.Error{Status: http.StatusInternalServerError, Type: "internal_error", Message: "inference pool: internal error"}
		p.log.Error("pool request failed", "pool", p.cfg.Name, "error", err)
	}
	if outcome == "" {
		switch he.Status {
		case http.StatusTooManyRequests:
			outcome = "shed"
		case http.StatusServiceUnavailable:
			outcome = "no_endpoint"
		default:
			outcome = "bad_request"
		}
	}
	p.metrics.requests.WithLabelValues(outcome).Inc()
	apierror.Write(w, he)
}

func (p *Pool) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	p.metrics.requests.WithLabelValues("upstream_error").Inc()
	if errors.Is(err, context.Canceled) {
		w.WriteHeader(499)
		return
	}
	p.log.Warn("upstream request failed", "pool", p.cfg.Name, "error", err)
	status, typ := http.StatusBadGateway, "bad_gateway"
	if isConnectError(err) {
		status, typ = http.StatusServiceUnavailable, "service_unavailable"
	}
	apierror.Write(w, &apierror.Error{Status: status, Type: typ, Message: fmt.Sprintf("inference pool %s: upstream unavailable", p.cfg.Name)})
}

func isConnectError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// trackedBody lets the transport tell whether any of a streamed body was consumed (then a retry
// is impossible) and keeps the client's body open across attempts.
type trackedBody struct {
	r    io.ReadCloser
	read atomic.Bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n > 0 {
		b.read.Store(true)
	}
	return n, err
}

func (b *trackedBody) Close() error { return nil }
