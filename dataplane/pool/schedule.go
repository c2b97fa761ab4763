package pool

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/infergw/gwctl/dataplane/apierror"
)

// errUndecided means the picker could not decide (no candidate with usable metrics, or an
// internal failure); failureMode decides what happens next.
var errUndecided = errors.New("no endpoint with fresh metrics")

// decision is the ordered endpoint list for one request, best first.
type decision struct {
	order    []*endpoint
	failOpen bool
	matched  float64 // best prefix match ratio, -1 without prefix blocks
	tokens   int64   // tokens counted in flight on order[0]: the prompt's uncached part there
}

// schedule runs filters, scorers and picker under the pool's pick lock, and counts the request
// in flight on the chosen endpoint in the same critical section. The caller teaches the prefix
// index afterwards (learn), outside the lock, as GIE's PreRequest does.
func (p *Pool) schedule(req *request, now time.Time) (d decision, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			d, err = decision{}, fmt.Errorf("%w: picker panic: %v", errUndecided, r)
		}
	}()
	eps := *p.eps.Load()
	if len(eps) == 0 {
		return decision{}, &apierror.Error{Status: http.StatusServiceUnavailable, Type: "service_unavailable", Message: fmt.Sprintf("inference pool %s has no endpoints", p.cfg.Name)}
	}
	sc := &p.cfg.Scheduler
	vs := p.views[:0]
	for _, e := range eps {
		if e.candidate(now, sc) && req.allows(e.addr) {
			vs = append(vs, e.makeView(now, sc))
		}
	}
	p.views = vs
	d.matched = -1
	if len(vs) == 0 {
		if req.restricted && !slices.ContainsFunc(eps, func(e *endpoint) bool { return req.allows(e.addr) }) {
			return decision{}, &apierror.Error{Status: http.StatusServiceUnavailable, Type: "service_unavailable", Message: fmt.Sprintf("inference pool %s: no endpoint of the subset is in the pool", p.cfg.Name)}
		}
		return decision{}, errUndecided
	}

	// Admission and saturation.
	if sc.SaturationFilter || sc.SaturatedLeastLoaded || sc.ShedWhenAllSaturated {
		var saturated bool
		vs, saturated = saturationFilter(vs, sc.SaturationFilter, sc.SaturatedLeastLoaded)
		if saturated && req.priority < 0 {
			return decision{}, &apierror.Error{Status: http.StatusTooManyRequests, Type: "rate_limit_exceeded", Message: "system saturated, sheddable request dropped"}
		}
	} else if req.priority < 0 && meanSaturation(vs) >= 1 {
		return decision{}, &apierror.Error{Status: http.StatusTooManyRequests, Type: "rate_limit_exceeded", Message: "system saturated, sheddable request dropped"}
	}

	n := 1 + sc.Fallbacks
	p.prefixBuf = nil
	order := p.order[:0]
	switch {
	case !req.hasBody || sc.Picker == PickerRandom:
		order = randomOrder(p.rng, len(vs), n, order)
	case sc.Picker == PickerRoundRobin:
		order = roundRobinOrder(p.rr, len(vs), n, order)
		p.rr++
	case sc.Picker == PickerLeastInFlight:
		order = leastInFlightOrder(p.rng, vs, n, p.scoreBuf(len(vs)), order)
	default:
		order = maxScoreOrder(p.rng, p.score(req, vs, &d), n, order)
	}
	p.order = order

	d.order = make([]*endpoint, len(order))
	for i, j := range order {
		d.order[i] = vs[j].ep
	}
	// Blocks the endpoint already caches add no KV usage: count only the uncached part.
	d.tokens = req.tokens
	if p.prefixBuf != nil && sc.Picker == PickerMaxScore && req.hasBody {
		d.tokens = int64(float64(req.tokens) * (1 - p.prefixBuf[order[0]]))
	}
	first := d.order[0]
	first.inFlight.Add(1)
	first.tokens.Add(d.tokens)
	return d, nil
}

func (p *Pool) scoreBuf(n int) []float64 {
	if cap(p.scores) < n {
		p.scores = make([]float64, n)
		p.tmp = make([]float64, n)
	}
	p.tmp = p.tmp[:n]
	return p.scores[:n]
}

// score fills the weighted sum of the configured scorers for each view.
func (p *Pool) score(req *request, vs []view, d *decision) []float64 {
	total := p.scoreBuf(len(vs))
	clear(total)
	tmp := p.tmp
	w := p.cfg.Scheduler.Weights
	add := func(weight float64) {
		for i, s := range tmp {
			total[i] += weight * s
		}
	}
	if w.Queue > 0 {
		queueScores(vs, tmp)
		add(w.Queue)
	}
	if w.KVCache > 0 {
		kvScores(vs, tmp)
		add(w.KVCache)
	}
	if w.Prefix > 0 && len(req.hashes) > 0 {
		p.counts = p.index.match(req.hashes, p.counts)
		prefixScores(vs, p.counts, len(req.hashes), tmp)
		best := 0.0
		for _, s := range tmp {
			best = max(best, s)
		}
		d.matched = best
		add(w.Prefix)
		p.prefixBuf = append(p.prefix[:0], tmp...)
		p.prefix = p.prefixBuf
	}
	if w.LoRA > 0 && req.adapter != "" {
		loraScores(vs, req.adapter, tmp)
		add(w.LoRA)
	}
	return total
}

// failOpen picks a random reachable endpoint regardless of metrics.
func (p *Pool) failOpen(req *request) (decision, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	eps := *p.eps.Load()
	reach := p.reach[:0]
	for _, e := range eps {
		if !e.unreachable.Load() && req.allows(e.addr) {
			reach = append(reach, e)
		}
	}
	p.reach = reach
	if len(reach) == 0 {
		return decision{}, false
	}
	n := min(1+p.cfg.Scheduler.Fallbacks, len(reach))
	order := randomOrder(p.rng, len(reach), n, p.order[:0])
	d := decision{order: make([]*endpoint, len(order)), failOpen: true, matched: -1, tokens: req.tokens}
	for i, j := range order {
		d.order[i] = reach[j]
	}
	d.order[0].inFlight.Add(1)
	d.order[0].tokens.Add(req.tokens)
	return d, true
}
