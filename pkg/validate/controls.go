package validate

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
)

// ControlStatus says how far a control is enforced on a route.
type ControlStatus string

// Control statuses.
const (
	Implemented ControlStatus = "implemented"
	Partial     ControlStatus = "partial"
	Absent      ControlStatus = "absent"
)

// Control is one control on one route: what enforces it, and why it is only partial.
type Control struct {
	Name    string        `json:"name"`
	Status  ControlStatus `json:"status"`
	Detail  string        `json:"detail,omitempty"`
	Why     string        `json:"why,omitempty"`
	Sources []string      `json:"sources,omitempty"`
}

// RouteControls are the controls enforced on one HTTPRoute.
type RouteControls struct {
	Route    finding.Resource `json:"route"`
	File     string           `json:"file,omitempty"`
	Gateways []string         `json:"gateways"`
	Controls []Control        `json:"controls"`
}

// ControlsReport lists, for every route, which controls the manifests enforce.
type ControlsReport struct {
	Routes []RouteControls `json:"routes"`
	// Listeners say how each Gateway listener serves TLS.
	Listeners []ListenerTLS `json:"listeners"`
}

// Control names, in report order.
const (
	ControlAuth      = "auth"
	ControlRateLimit = "rate-limit"
	ControlTracing   = "tracing"
	ControlFallback  = "fallback"
)

// Controls computes, for each HTTPRoute of the input, which controls apply to it: authentication
// (mode and issuer), rate limiting (effective bucket), tracing (collector present or not) and
// fallback between backends. Policies count when they target the route or one of its Gateways.
func Controls(objs []*manifest.Object) ControlsReport {
	s := newObjectSet(objs, nil)
	var rep ControlsReport
	for _, rt := range s.kind(gatewayGroup, "HTTPRoute") {
		gws := routeGateways(s, rt)
		rc := RouteControls{Route: rt.obj.Resource(), File: rt.obj.File, Gateways: []string{}}
		for _, gw := range gws {
			rc.Gateways = append(rc.Gateways, gw.ns()+"/"+gw.obj.Name)
		}
		pols := routePolicies(s, rt, gws)
		rc.Controls = []Control{authControl(s, pols), rateLimitControl(s, pols, gws), tracingControl(s, gws), fallbackControl(s, rt)}
		rep.Routes = append(rep.Routes, rc)
	}
	sort.Slice(rep.Routes, func(i, j int) bool { return rep.Routes[i].Route.String() < rep.Routes[j].Route.String() })
	rep.Listeners = listenerTLS(s)
	return rep
}

// attached is a policy and the level it attaches at.
type attached struct {
	e     *entry
	level string // "route" or "gateway"
}

func (a attached) name() string { return a.e.ns() + "/" + a.e.obj.Name }

// routePolicies are the AgentgatewayPolicies that target the route or its Gateways, route first.
func routePolicies(s *objectSet, rt *entry, gws []*entry) []attached {
	var route, gateway []attached
	for _, p := range s.kind(agentgatewayGroup, "AgentgatewayPolicy") {
		if targets(s, p, rt) {
			route = append(route, attached{p, "route"})
			continue
		}
		for _, gw := range gws {
			if targets(s, p, gw) {
				gateway = append(gateway, attached{p, "gateway"})
				break
			}
		}
	}
	return append(route, gateway...)
}

// targets reports whether policy p targets object t by reference or selector.
func targets(s *objectSet, p, t *entry) bool {
	if p.ns() != t.ns() {
		return false
	}
	for _, r := range listAt(p.content, "spec", "targetRefs") {
		rm, _ := r.(map[string]any)
		if str(rm, "kind") == t.obj.Kind && str(rm, "group") == t.obj.Group() && str(rm, "name") == t.obj.Name {
			return true
		}
	}
	for _, r := range listAt(p.content, "spec", "targetSelectors") {
		rm, _ := r.(map[string]any)
		if str(rm, "kind") == t.obj.Kind && str(rm, "group") == t.obj.Group() && selectorMatches(map[string]any{"matchLabels": rm["matchLabels"]}, t.obj.Labels()) {
			return true
		}
	}
	return false
}

func authControl(s *objectSet, pols []attached) Control {
	c := Control{Name: ControlAuth, Status: Absent, Why: "no JWT, API key or basic authentication policy targets the route or its Gateway"}
	for _, a := range pols {
		traffic := mapAt(a.e.content, "spec", "traffic")
		if jwt := mapAt(traffic, "jwtAuthentication"); jwt != nil {
			mode := str(jwt, "mode")
			if mode == "" {
				mode = "Strict"
			}
			var issuers []string
			var unresolved []string
			for _, p := range listAt(jwt, "providers") {
				pm, _ := p.(map[string]any)
				issuers = append(issuers, str(pm, "issuer"))
				if br := mapAt(pm, "jwks", "remote", "backendRef"); br != nil {
					r := readRef(br, "", "Service", a.e.ns())
					if r.kind == "Service" && !serviceResolves(s, r) {
						unresolved = append(unresolved, fmt.Sprintf("JWKS Service %s/%s:%d not in the input", r.ns, r.name, r.port))
					}
				}
			}
			c = Control{Name: ControlAuth, Status: Implemented, Detail: fmt.Sprintf("JWT %s, issuer %s (%s level)", mode, strings.Join(issuers, ", "), a.level), Sources: []string{a.name()}}
			switch {
			case mode != "Strict":
				c.Status, c.Why = Partial, fmt.Sprintf("mode %s lets requests without a valid token through", mode)
			case len(unresolved) > 0:
				c.Status, c.Why = Partial, strings.Join(unresolved, "; ")+": the controller leaves that provider out until it can fetch the keys"
			}
			return c
		}
		for _, kind := range []string{"apiKeyAuthentication", "basicAuthentication"} {
			if m := mapAt(traffic, kind); m != nil {
				mode := str(m, "mode")
				if mode == "" {
					mode = "Strict"
				}
				c = Control{Name: ControlAuth, Status: Implemented, Detail: fmt.Sprintf("%s %s (%s level)", strings.TrimSuffix(kind, "Authentication"), mode, a.level), Sources: []string{a.name()}}
				if mode != "Strict" {
					c.Status, c.Why = Partial, fmt.Sprintf("mode %s lets unauthenticated requests through", mode)
				}
				return c
			}
		}
		if m := mapAt(a.e.content, "spec", "backend", "mcp", "authentication"); m != nil {
			return Control{Name: ControlAuth, Status: Partial, Detail: fmt.Sprintf("MCP authentication, issuer %s (%s level)", str(m, "issuer"), a.level),
				Why: "backend.mcp.authentication is deprecated and runs after rate limiting", Sources: []string{a.name()}}
		}
	}
	return c
}

func rateLimitControl(s *objectSet, pols []attached, gws []*entry) Control {
	replicas := 0
	for _, gw := range gws {
		if r := gatewayReplicas(s, gw); r > replicas {
			replicas = r
		}
	}
	for _, a := range pols {
		rl := mapAt(a.e.content, "spec", "traffic", "rateLimit")
		if rl == nil {
			continue
		}
		c := Control{Name: ControlRateLimit, Status: Implemented, Sources: []string{a.name()}}
		var parts, why []string
		for _, l := range listAt(rl, "local") {
			lm, _ := l.(map[string]any)
			b, burst := bucketOf(lm)
			if burst < 0 {
				why = append(why, fmt.Sprintf("burst %d wraps in the controller", burst))
			}
			parts = append(parts, "local "+b.String())
		}
		if g := mapAt(rl, "global"); g != nil {
			fm := str(g, "failureMode")
			if fm == "" {
				fm = "FailClosed"
			}
			r := readRef(mapAt(g, "backendRef"), "", "Service", a.e.ns())
			parts = append(parts, fmt.Sprintf("global via %s (%s)", r, fm))
			if r.kind == "Service" && !serviceResolves(s, r) {
				why = append(why, fmt.Sprintf("rate limit service %s/%s not in the input", r.ns, r.name))
			}
		}
		if n := len(listAt(rl, "conditional")); n > 0 {
			parts = append(parts, fmt.Sprintf("%d conditional limits", n))
		}
		if len(listAt(rl, "local")) > 0 {
			parts = append(parts, "one bucket per replica shared by all clients")
			if replicas > 1 {
				why = append(why, fmt.Sprintf("%d replicas each keep their own bucket (%d× the limit)", replicas, replicas))
			}
		}
		c.Detail = strings.Join(parts, "; ") + fmt.Sprintf(" (%s level)", a.level)
		if len(why) > 0 {
			c.Status, c.Why = Partial, strings.Join(why, "; ")
		}
		return c
	}
	return Control{Name: ControlRateLimit, Status: Absent, Why: "no rateLimit policy targets the route or its Gateway"}
}

func tracingControl(s *objectSet, gws []*entry) Control {
	for _, p := range s.kind(agentgatewayGroup, "AgentgatewayPolicy") {
		tr := mapAt(p.content, "spec", "frontend", "tracing")
		if tr == nil {
			continue
		}
		for _, gw := range gws {
			if !targets(s, p, gw) {
				continue
			}
			r := readRef(mapAt(tr, "backendRef"), "", "Service", p.ns())
			proto := str(tr, "protocol")
			if proto == "" {
				proto = "GRPC"
			}
			c := Control{Name: ControlTracing, Status: Implemented, Detail: fmt.Sprintf("OTLP %s to %s on Gateway %s/%s", proto, r, gw.ns(), gw.obj.Name), Sources: []string{p.ns() + "/" + p.obj.Name}}
			if rs := str(tr, "randomSampling"); rs != "" {
				c.Detail += ", randomSampling " + rs
			}
			if r.kind == "Service" && !serviceResolves(s, r) {
				c.Status, c.Why = Partial, fmt.Sprintf("collector Service %s/%s is not in the input", r.ns, r.name)
			}
			return c
		}
	}
	return Control{Name: ControlTracing, Status: Absent, Why: "no frontend.tracing policy targets the route's Gateway (chart config.tracing is ignored by v1.2.1)"}
}

func fallbackControl(s *objectSet, rt *entry) Control {
	for _, rule := range listAt(rt.content, "spec", "rules") {
		for _, b := range listAt(rule, "backendRefs") {
			bm, _ := b.(map[string]any)
			r := readRef(bm, "", "Service", rt.ns())
			if r.group != agentgatewayGroup || r.kind != "AgentgatewayBackend" {
				continue
			}
			be := s.get(r.group, r.kind, r.ns, r.name)
			if be == nil {
				continue
			}
			if groups := listAt(be.content, "spec", "ai", "groups"); len(groups) > 1 || (len(groups) == 1 && len(listAt(groups[0], "providers")) > 1) {
				return Control{Name: ControlFallback, Status: Implemented, Detail: fmt.Sprintf("%s: %d priority groups", r, len(groups)), Sources: []string{r.ns + "/" + r.name}}
			}
		}
		if n := len(listAt(rule, "backendRefs")); n > 1 {
			return Control{Name: ControlFallback, Status: Partial, Detail: fmt.Sprintf("%d weighted backendRefs", n), Why: "traffic is split by weight, not failed over: an unhealthy backend still gets its share"}
		}
	}
	return Control{Name: ControlFallback, Status: Absent, Why: "each rule has one backend and no AgentgatewayBackend priority groups"}
}

// WriteJSON renders the report as JSON.
func (r ControlsReport) WriteJSON(w io.Writer) error {
	if r.Routes == nil {
		r.Routes = []RouteControls{}
	}
	if r.Listeners == nil {
		r.Listeners = []ListenerTLS{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteMarkdown renders the report as a Markdown table, one row per route.
func (r ControlsReport) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("| Route | Gateways | Auth | Rate limit | Tracing | Fallback |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, rc := range r.Routes {
		cells := []string{"`" + rc.Route.String() + "`", strings.Join(rc.Gateways, ", ")}
		for _, c := range rc.Controls {
			cell := "**" + string(c.Status) + "**"
			if c.Detail != "" {
				cell += ": " + c.Detail
			}
			if c.Why != "" && c.Status != Implemented {
				cell += " — " + c.Why
			}
			cells = append(cells, strings.ReplaceAll(cell, "|", "\\|"))
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	writeListenersMarkdown(&b, r.Listeners)
	_, err := io.WriteString(w, b.String())
	return err
}

// WithStandby folds the second level of fallback into the report: failover counts as
// implemented only when the dataplane has priority groups for the route and a standby gateway
// (the fallback group) exists to take over when the dataplane itself is down.
func (r ControlsReport) WithStandby(hasStandby bool) ControlsReport {
	for i := range r.Routes {
		for j, c := range r.Routes[i].Controls {
			if c.Name != ControlFallback {
				continue
			}
			switch {
			case c.Status == Implemented && !hasStandby:
				c.Status, c.Why = Partial, "dataplane failover only: no standby gateway (enable the fallback group)"
			case c.Status != Implemented && hasStandby:
				c.Status = Partial
				c.Why = strings.TrimSpace("standby gateway present; " + c.Why)
			}
			r.Routes[i].Controls[j] = c
		}
	}
	return r
}

// serviceResolves reports whether a Service reference with a port resolves.
func serviceResolves(s *objectSet, r ref) bool {
	msg, _ := serviceProblem(s, r, true)
	return msg == ""
}
