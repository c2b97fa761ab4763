// Package router is the dataplane's route table: it matches requests to HTTPRoute rules with
// the Gateway API's hostname and precedence rules, applies rule filters and timeouts, picks a
// weighted backend and calls that backend's handler behind the rule's policies.
package router

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/infergw/gwctl/dataplane/proxy"
	"github.com/infergw/gwctl/pkg/gateway"
)

// Middleware wraps a handler with a policy.
type Middleware = func(http.Handler) http.Handler

// PolicyBuilder turns a merged traffic policy into middleware (JWT, then rate limit, ...).
// It is called once per rule and listener; state such as rate-limit buckets must be shared by
// the builder across calls (keyed by gateway.LocalLimit.Key), since one policy applies to many
// rules.
type PolicyBuilder func(p *gateway.TrafficPolicy) (Middleware, error)

// Options are what a Table needs beyond the compiled config.
type Options struct {
	// Backends are the handlers by gateway.Backend.ID (see dataplane/backend.Registry).
	Backends map[string]http.Handler
	// Policy builds policy middleware. When nil, rules with a policy fail closed (501), so a
	// JWT policy is never silently skipped.
	Policy PolicyBuilder
}

// RouteSetter is implemented by a ResponseWriter that records the route and backend of a
// request (the server's access log and metrics); the table calls it once a rule matched.
type RouteSetter interface {
	SetRoute(route, backend string)
}

// Info names the matched route and backend; it is in the request context of non-Service
// backends (AI, MCP, InferencePool handlers label their metrics with it).
type Info struct {
	Route   string // namespace/name/rule
	Backend string // gateway.Backend.ID
	// Rule is the matched compiled rule.
	Rule *gateway.Rule
}

type infoKey struct{}

// InfoFromContext returns the Info of the request, if any.
func InfoFromContext(ctx context.Context) (Info, bool) {
	i, ok := ctx.Value(infoKey{}).(*Info)
	if !ok {
		return Info{}, false
	}
	return *i, true
}

// Table is an immutable route table built from one Config.
type Table struct {
	hosts *hostIndex
	// plain and secure split hosts by the listener's protocol when the config has both: a
	// request on a binding of every port only reaches the routes of listeners of its own
	// protocol (a plain request never reaches an HTTPS listener's routes).
	plain, secure *hostIndex
	// byPort index the entries of the listeners on each Gateway listener port.
	byPort map[int32]*hostIndex
	// listenerHosts are the distinct hostnames of each port's listeners, most specific first,
	// for ports with several: a request there is served only by the routes of the most specific
	// listener its host matches (listener isolation), never by a less specific one's.
	listenerHosts map[int32][]string
	// pre are the listeners with a PreRouting policy, most specific hostname first.
	pre []preRouting
	// Ports are the distinct listener ports, ascending.
	Ports []int32
	// Routes counts the rules served, for logs.
	Rules int
}

type preRouting struct {
	hostname string
	port     int32
	secure   bool
	handler  func(w http.ResponseWriter, r *http.Request)
}

// rule is one rule on one listener, ready to serve.
type rule struct {
	label    string
	compiled *gateway.Rule
	targets  []*target
	total    int32 // sum of weights
	reqMods  *gateway.HeaderModifier
	respMods *gateway.HeaderModifier
	rewrite  *gateway.Rewrite
	redirect *gateway.Redirect
	cors     *cors
	timeout  time.Duration
}

type target struct {
	label    string
	weight   int32
	reqMods  *gateway.HeaderModifier
	respMods *gateway.HeaderModifier
	handler  http.Handler
	info     *Info // set for non-Service backends
}

// New builds a table. Errors are problems building policy middleware.
func New(cfg *gateway.Config, opts Options) (*Table, error) {
	t := &Table{}
	var entries []*entry
	for _, r := range cfg.Routes {
		for _, a := range r.Attachments {
			for _, cr := range r.Rules {
				ru, err := buildRule(r, a.Listener, cr, opts)
				if err != nil {
					return nil, err
				}
				t.Rules++
				for _, h := range a.Hostnames {
					for mi, m := range cr.Matches {
						entries = append(entries, &entry{hostname: h, port: a.Listener.Port, secure: a.Listener.TLS != nil, listenerHost: a.Listener.Hostname,
							match: m, rule: ru, route: r, ruleIdx: cr.Index, matchIx: mi})
					}
				}
			}
		}
	}
	t.hosts = buildHostIndex(entries)
	var plain, secure []*entry
	for _, e := range entries {
		if e.secure {
			secure = append(secure, e)
		} else {
			plain = append(plain, e)
		}
	}
	if hasPlain, hasSecure := mixed(cfg.Listeners); hasPlain && hasSecure {
		t.plain, t.secure = buildHostIndex(plain), buildHostIndex(secure)
	}
	t.byPort = map[int32]*hostIndex{}
	for _, l := range cfg.Listeners {
		if _, ok := t.byPort[l.Port]; ok {
			continue
		}
		var es []*entry
		for _, e := range entries {
			if e.port == l.Port {
				es = append(es, e)
			}
		}
		t.byPort[l.Port] = buildHostIndex(es)
		t.Ports = append(t.Ports, l.Port)
	}
	sort.Slice(t.Ports, func(i, j int) bool { return t.Ports[i] < t.Ports[j] })
	t.listenerHosts = map[int32][]string{}
	for _, l := range cfg.Listeners {
		if !slices.Contains(t.listenerHosts[l.Port], l.Hostname) {
			t.listenerHosts[l.Port] = append(t.listenerHosts[l.Port], l.Hostname)
		}
	}
	for p, hs := range t.listenerHosts {
		if len(hs) < 2 {
			delete(t.listenerHosts, p)
			continue
		}
		sort.SliceStable(hs, func(i, j int) bool { return hostRank(hs[i]) > hostRank(hs[j]) })
	}
	for _, l := range cfg.Listeners {
		if l.PreRouting.Empty() {
			continue
		}
		mw, err := policy(opts, l.PreRouting)
		if err != nil {
			return nil, fmt.Errorf("listener %s: PreRouting policy: %w", l.ID(), err)
		}
		port := l.Port
		idx := t.byPort[port]
		h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.route(idx, port, w, r) }))
		t.pre = append(t.pre, preRouting{hostname: l.Hostname, port: port, secure: l.TLS != nil, handler: h.ServeHTTP})
	}
	sort.SliceStable(t.pre, func(i, j int) bool { return hostRank(t.pre[i].hostname) > hostRank(t.pre[j].hostname) })
	return t, nil
}

// mixed reports whether the listeners include HTTP and HTTPS ones.
func mixed(ls []*gateway.Listener) (hasPlain, hasSecure bool) {
	for _, l := range ls {
		if l.TLS != nil {
			hasSecure = true
		} else {
			hasPlain = true
		}
	}
	return hasPlain, hasSecure
}

func hostRank(h string) int {
	switch {
	case h == "":
		return 0
	case h[0] == '*':
		return len(h)
	}
	return 1 << 20
}

func policy(opts Options, p *gateway.TrafficPolicy) (Middleware, error) {
	if opts.Policy == nil {
		return func(http.Handler) http.Handler { return notEnforced(p) }, nil
	}
	return opts.Policy(p)
}

// notEnforced answers for a policy nobody can enforce: failing closed beats serving a JWT route open.
func notEnforced(p *gateway.TrafficPolicy) http.Handler { return notEnforcedMsg(p, "") }

func notEnforcedMsg(p *gateway.TrafficPolicy, field string) http.Handler {
	msg := "a traffic policy applies to this route"
	if len(p.Sources) > 0 {
		msg = "policy " + p.Sources[0].String() + " applies to this route"
	}
	if field != "" {
		msg += ", and this dataplane build does not enforce traffic." + field
	} else {
		msg += ", and this dataplane build has no policy enforcement wired"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxy.WriteError(w, http.StatusNotImplemented, msg)
	})
}

func buildRule(r *gateway.Route, l *gateway.Listener, cr *gateway.Rule, opts Options) (*rule, error) {
	label := r.ID() + "/" + ruleName(cr)
	ru := &rule{
		label:    label,
		compiled: cr,
		reqMods:  cr.Filters.RequestHeaders,
		respMods: cr.Filters.ResponseHeaders,
		rewrite:  cr.Filters.Rewrite,
		redirect: cr.Filters.Redirect,
		timeout:  cr.Timeouts.Request,
	}
	if cr.Filters.CORS != nil {
		ru.cors = newCORS(cr.Filters.CORS)
	}
	eff := gateway.MergeTraffic(l.Policy, cr.Policy)
	var mw Middleware
	if !eff.Empty() {
		var err error
		if mw, err = policy(opts, eff); err != nil {
			return nil, fmt.Errorf("route %s: %w", label, err)
		}
	}
	for _, br := range cr.BackendRefs {
		tg := &target{weight: br.Weight, reqMods: br.Filters.RequestHeaders, respMods: br.Filters.ResponseHeaders}
		var h http.Handler
		switch {
		case br.Backend == nil:
			tg.label = "invalid"
			reason := br.Invalid
			h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				proxy.WriteError(w, http.StatusInternalServerError, "backend reference is invalid ("+reason+")")
			})
		default:
			b := br.Backend
			tg.label = b.ID
			h = opts.Backends[b.ID]
			if h == nil {
				h = NotServed(b)
			}
			if !b.Policy.Empty() {
				bmw, err := policy(opts, b.Policy)
				if err != nil {
					return nil, fmt.Errorf("backend %s: %w", b.ID, err)
				}
				h = bmw(h)
			}
			if cr.Timeouts.Backend > 0 {
				h = withTimeout(cr.Timeouts.Backend, h)
			}
			if b.Kind != gateway.KindService {
				tg.info = &Info{Route: label, Backend: b.ID, Rule: cr}
			}
		}
		if mw != nil {
			h = mw(h)
		}
		tg.handler = h
		ru.total += br.Weight
		ru.targets = append(ru.targets, tg)
	}
	return ru, nil
}

func ruleName(cr *gateway.Rule) string {
	if cr.Name != "" {
		return cr.Name
	}
	return "rule" + strconv.Itoa(cr.Index)
}

// NotServed is the handler of a backend kind this build has no handler for: an honest 501.
func NotServed(b *gateway.Backend) http.Handler {
	msg := fmt.Sprintf("backend %s (kind %s) is not served by this dataplane build", b.ID, b.Kind)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxy.WriteError(w, http.StatusNotImplemented, msg)
	})
}

func withTimeout(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// ServeHTTP routes one request among the routes of every listener.
func (t *Table) ServeHTTP(w http.ResponseWriter, r *http.Request) { t.ServePort(w, r, 0) }

// ServePort routes one request among the routes attached to the Gateway listeners on port
// (0: every listener). A port without listeners answers 404.
func (t *Table) ServePort(w http.ResponseWriter, r *http.Request, port int32) {
	if len(t.pre) > 0 {
		host := requestHost(r.Host)
		for i := range t.pre {
			if (port == 0 && (t.plain == nil || t.pre[i].secure == (r.TLS != nil)) || t.pre[i].port == port) && gateway.HostMatches(t.pre[i].hostname, host) {
				t.pre[i].handler(w, r)
				return
			}
		}
	}
	idx := t.hosts
	switch {
	case port == 0 && t.plain != nil && r.TLS != nil:
		idx = t.secure
	case port == 0 && t.plain != nil:
		idx = t.plain
	}
	if port != 0 {
		if idx = t.byPort[port]; idx == nil {
			idx = emptyIndex
		}
	}
	t.route(idx, port, w, r)
}

var emptyIndex = buildHostIndex(nil)

func (t *Table) route(idx *hostIndex, port int32, w http.ResponseWriter, r *http.Request) {
	host := requestHost(r.Host)
	listener, isolated := "", false
	for _, h := range t.listenerHosts[port] { // none for port 0 or a port of one hostname
		if gateway.HostMatches(h, host) {
			listener, isolated = h, true
			break
		}
	}
	for _, e := range idx.lookup(host) {
		if isolated && e.listenerHost != listener {
			continue
		}
		if e.matches(r) {
			e.rule.serve(w, r, e)
			return
		}
	}
	if r.Method == http.MethodHead {
		// No body to describe: a bare 404, rather than a JSON content type over nothing (which
		// clients that parse by content type, as the Gateway API conformance suite does, refuse).
		w.WriteHeader(http.StatusNotFound)
		return
	}
	proxy.WriteError(w, http.StatusNotFound, "no route matches this request")
}

func (ru *rule) pick() *target {
	switch {
	case len(ru.targets) == 1:
		if ru.total == 0 {
			return nil
		}
		return ru.targets[0]
	case ru.total <= 0:
		return nil
	}
	n := rand.Int32N(ru.total)
	for _, tg := range ru.targets {
		if n < tg.weight {
			return tg
		}
		n -= tg.weight
	}
	return nil
}

func (ru *rule) serve(w http.ResponseWriter, r *http.Request, e *entry) {
	var corsMods *gateway.HeaderModifier
	if ru.cors != nil {
		if origin := r.Header.Get("Origin"); origin != "" {
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				if s, ok := w.(RouteSetter); ok {
					s.SetRoute(ru.label, "cors-preflight")
				}
				ru.cors.preflight(w, r, origin)
				return
			}
			corsMods = ru.cors.response(origin)
		}
	}
	if ru.redirect != nil {
		if s, ok := w.(RouteSetter); ok {
			s.SetRoute(ru.label, "redirect")
		}
		redirect(ru.redirect, e.match.Path.Value, w, r)
		return
	}
	tg := ru.pick()
	if tg == nil {
		if s, ok := w.(RouteSetter); ok {
			s.SetRoute(ru.label, "")
		}
		// No backendRefs, or all weights 0: the Gateway API says 500.
		proxy.WriteError(w, http.StatusInternalServerError, "route has no backend to serve it")
		return
	}
	if s, ok := w.(RouteSetter); ok {
		s.SetRoute(ru.label, tg.label)
	}
	if ru.reqMods != nil {
		applyHeaders(ru.reqMods, r.Header)
	}
	if tg.reqMods != nil {
		applyHeaders(tg.reqMods, r.Header)
	}
	if ru.rewrite != nil {
		// A copy: the access log keeps the client's host and path.
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		r2.URL = &u
		if ru.rewrite.Hostname != "" {
			r2.Host = ru.rewrite.Hostname
		}
		if ru.rewrite.Path != nil {
			rewriteURLPath(ru.rewrite.Path, e.match.Path.Value, &u)
		}
		r = r2
	}
	if ru.respMods != nil || tg.respMods != nil || corsMods != nil {
		rh := &responseHeaders{ResponseWriter: w}
		if ru.respMods != nil {
			rh.mods = append(rh.mods, ru.respMods)
		}
		if tg.respMods != nil {
			rh.mods = append(rh.mods, tg.respMods)
		}
		if corsMods != nil {
			rh.mods = append(rh.mods, corsMods)
		}
		w = rh
	}
	ctx := r.Context()
	if ru.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ru.timeout)
		defer cancel()
	}
	if tg.info != nil {
		ctx = context.WithValue(ctx, infoKey{}, tg.info)
	}
	if ctx != r.Context() {
		r = r.WithContext(ctx)
	}
	tg.handler.ServeHTTP(w, r)
}
