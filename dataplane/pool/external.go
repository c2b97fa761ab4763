package pool

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/infergw/gwctl/dataplane/apierror"
)

// The pool's picker and its proxy can be used apart: Pick decides for a request another proxy
// forwards (the endpoint-picker server), Forward proxies along a decision made elsewhere (an
// endpoint picker called over ext_proc).

// PickRequest is one request as a proxy describes it to the picker.
type PickRequest struct {
	Header http.Header
	// Body is the whole request body, nil for a request without one.
	Body []byte
	// Subset, when not nil, restricts the pick to these endpoints: an ip:port entry names that
	// endpoint, a bare IP every port of it. An empty, non-nil Subset leaves nothing to pick (503).
	Subset []string
}

// Pick is a decision made for a request another proxy forwards. It counts the request in flight
// on its first endpoint until Release.
type Pick struct {
	// Endpoints are ip:port, best first: the pick and its fallbacks.
	Endpoints []string
	// FailOpen is true when the picker could not score and picked a random endpoint.
	FailOpen bool

	p        *Pool
	holder   atomic.Pointer[endpoint]
	tokens   int64
	released atomic.Bool
}

// Pick schedules one request like ServeHTTP does, without proxying it. An *apierror.Error
// carries the status to answer (400 bad body, 429 shed, 503 nothing to pick).
func (p *Pool) Pick(ctx context.Context, pr PickRequest) (*Pick, error) {
	start := time.Now()
	r := &http.Request{Method: http.MethodPost, Header: pr.Header, Body: http.NoBody}
	if r.Header == nil {
		r.Header = http.Header{}
	}
	if pr.Body != nil {
		r.Body = heldBody{pr.Body}
		r.ContentLength = int64(len(pr.Body))
	}
	hb := p.hashPool.Get().(*[]uint64)
	defer p.hashPool.Put(hb)
	req, err := p.parseRequest(r, *hb)
	if err != nil {
		p.metrics.requests.WithLabelValues("bad_request").Inc()
		return nil, err
	}
	req.subset, req.restricted = pr.Subset, pr.Subset != nil
	_, d, err := p.decide(ctx, req, start)
	if err != nil {
		p.countFailure(err)
		return nil, err
	}
	k := &Pick{Endpoints: make([]string, len(d.order)), FailOpen: d.failOpen, p: p, tokens: d.tokens}
	for i, e := range d.order {
		k.Endpoints[i] = e.addr
	}
	k.holder.Store(d.order[0])
	return k, nil
}

// heldBody is a body Pick's caller already holds: parseRequest takes it as is instead of
// reading a copy (io.ReadAll's growing buffers were most of a pick's garbage).
type heldBody struct{ b []byte }

func (heldBody) Read([]byte) (int, error) { return 0, io.EOF }
func (heldBody) Close() error             { return nil }

// Served moves the in-flight count to the endpoint that really served the request (the proxy
// walked the fallbacks); an address that is not the pool's is ignored.
func (k *Pick) Served(addr string) {
	if k.released.Load() {
		return
	}
	to := k.p.member(addr)
	from := k.holder.Load()
	if to == nil || to == from || !k.holder.CompareAndSwap(from, to) {
		return
	}
	to.inFlight.Add(1)
	to.tokens.Add(k.tokens)
	from.inFlight.Add(-1)
	from.tokens.Add(-k.tokens)
}

// Release ends the request's in-flight count; calling it again does nothing.
func (k *Pick) Release() {
	if k.released.Swap(true) {
		return
	}
	e := k.holder.Load()
	e.inFlight.Add(-1)
	e.tokens.Add(-k.tokens)
}

// Forwarding is a decision made outside the pool, for Forward.
type Forwarding struct {
	// Endpoints are ip:port, best first; each must be one of the pool's (Has).
	Endpoints []string
	// Body, when not nil, is sent instead of the request's body (and again on a fallback).
	Body []byte
	// ModifyResponse, when set, sees the model server's response before the client does;
	// served is the endpoint that answered. An error answers 502 instead.
	ModifyResponse func(resp *http.Response, served string) error
}

// ErrNotMember is returned by Forward when no endpoint of the decision is the pool's.
var ErrNotMember = errors.New("no endpoint of the decision is in the pool")

// Has reports whether addr is one of the pool's endpoints now.
func (p *Pool) Has(addr string) bool { return p.member(addr) != nil }

func (p *Pool) member(addr string) *endpoint {
	for _, e := range *p.eps.Load() {
		if e.addr == addr {
			return e
		}
	}
	return nil
}

// Reachable lists the endpoints the dataplane can connect to, or nil when it can connect to
// all of them: the subset an endpoint picker should choose from.
func (p *Pool) Reachable() []string {
	eps := *p.eps.Load()
	down := false
	for _, e := range eps {
		down = down || e.unreachable.Load()
	}
	if !down {
		return nil // asked for every request: no allocation when all are up
	}
	out := []string{}
	for _, e := range eps {
		if !e.unreachable.Load() {
			out = append(out, e.addr)
		}
	}
	return out
}

// Forward proxies r along f.Endpoints (endpoints that are not the pool's are skipped), walking
// the fallbacks on connect failure or 503 as an in-process pick does. It writes nothing and
// returns ErrNotMember when no endpoint is the pool's.
func (p *Pool) Forward(w http.ResponseWriter, r *http.Request, f Forwarding) error {
	d := decision{matched: -1}
	for _, a := range f.Endpoints {
		if e := p.member(a); e != nil {
			d.order = append(d.order, e)
		}
	}
	if len(d.order) == 0 {
		return ErrNotMember
	}
	sc := &p.cfg.Scheduler
	if f.Body != nil {
		d.tokens = int64(len(f.Body) / sc.CharsPerToken)
		r.Body = http.NoBody
		r.ContentLength = int64(len(f.Body))
		r.Header.Set("Content-Length", strconv.Itoa(len(f.Body)))
	} else if r.ContentLength > 0 {
		d.tokens = r.ContentLength / int64(sc.CharsPerToken)
	}
	d.order[0].inFlight.Add(1)
	d.order[0].tokens.Add(d.tokens)
	p.metrics.requests.WithLabelValues("forwarded").Inc()
	p.forward(w, r, &dispatch{d: d, replay: f.Body, holder: d.order[0], tokens: d.tokens, modify: f.ModifyResponse})
	return nil
}

// countFailure counts a picking failure by the status it answers.
func (p *Pool) countFailure(err error) {
	outcome := "bad_request"
	var he *apierror.Error
	if errors.As(err, &he) {
		switch he.Status {
		case http.StatusTooManyRequests:
			outcome = "shed"
		case http.StatusServiceUnavailable:
			outcome = "no_endpoint"
		}
	}
	p.metrics.requests.WithLabelValues(outcome).Inc()
}
