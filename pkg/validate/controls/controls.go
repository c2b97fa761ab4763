package controls

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/validate/lint"
	"github.com/infergw/gwctl/pkg/validate/objects"
)

// ControlStatus says how far a control is enforced on a route.
type Status string

// Control statuses.
const (
	Implemented Status = "implemented"
	Partial     Status = "partial"
	Absent      Status = "absent"
)

// Control is one control on one route: what enforces it, and why it is only partial.
type Control struct {
	Name    string   `json:"name"`
	Status  Status   `json:"status"`
	Detail  string   `json:"detail,omitempty"`
	Why     string   `json:"why,omitempty"`
	Sources []string `json:"sources,omitempty"`
}

// RouteControls are the controls enforced on one HTTPRoute.
type Route struct {
	Route    finding.Resource `json:"route"`
	File     string           `json:"file,omitempty"`
	Gateways []string         `json:"gateways"`
	Controls []Control        `json:"controls"`
}

// ControlsReport lists, for every route, which controls the manifests enforce.
type Report struct {
	Routes []Route `json:"routes"`
	// Listeners say how each Gateway listener serves TLS.
	Listeners []ListenerTLS `json:"listeners"`
}

// Control names, in report order.
const (
	Auth      = "auth"
	RateLimit = "rate-limit"
	Tracing   = "tracing"
	Fallback  = "fallback"
)

// Controls computes, for each HTTPRoute of the input, which controls apply to it: authentication
// (mode and issuer), rate limiting (effective bucket), tracing (collector present or not) and
// fallback between backends. Policies count when they target the route or one of its Gateways.
func Compute(objs []*manifest.Object) Report {
	s := objects.New(objs, nil)
	var rep Report
	for _, rt := range s.Kind(objects.GatewayGroup, "HTTPRoute") {
		gws := objects.RouteGateways(s, rt)
		rc := Route{Route: rt.Obj.Resource(), File: rt.Obj.File, Gateways: []string{}}
		for _, gw := range gws {
			rc.Gateways = append(rc.Gateways, gw.NS()+"/"+gw.Obj.Name)
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
	e     *objects.Entry
	level string // "route" or "gateway"
}

func (a attached) name() string { return a.e.NS() + "/" + a.e.Obj.Name }

// routePolicies are the AgentgatewayPolicies that target the route or its Gateways, route first.
func routePolicies(s *objects.Set, rt *objects.Entry, gws []*objects.Entry) []attached {
	var route, gateway []attached
	for _, p := range s.Kind(objects.AgentgatewayGroup, "AgentgatewayPolicy") {
		if objects.Targets(s, p, rt) {
			route = append(route, attached{p, "route"})
			continue
		}
		for _, gw := range gws {
			if objects.Targets(s, p, gw) {
				gateway = append(gateway, attached{p, "gateway"})
				break
			}
		}
	}
	return append(route, gateway...)
}

func authControl(s *objects.Set, pols []attached) Control {
	c := Control{Name: Auth, Status: Absent, Why: "no JWT, API key or basic authentication policy targets the route or its Gateway"}
	for _, a := range pols {
		traffic := objects.MapAt(a.e.Content, "spec", "traffic")
		if jwt := objects.MapAt(traffic, "jwtAuthentication"); jwt != nil {
			mode := objects.Str(jwt, "mode")
			if mode == "" {
				mode = "Strict"
			}
			var issuers []string
			var unresolved []string
			for _, p := range objects.ListAt(jwt, "providers") {
				pm, _ := p.(map[string]any)
				issuers = append(issuers, objects.Str(pm, "issuer"))
				if br := objects.MapAt(pm, "jwks", "remote", "backendRef"); br != nil {
					r := objects.ReadRef(br, "", "Service", a.e.NS())
					if r.Kind == "Service" && !serviceResolves(s, r) {
						unresolved = append(unresolved, fmt.Sprintf("JWKS Service %s/%s:%d not in the input", r.NS, r.Name, r.Port))
					}
				}
			}
			c = Control{Name: Auth, Status: Implemented, Detail: fmt.Sprintf("JWT %s, issuer %s (%s level)", mode, strings.Join(issuers, ", "), a.level), Sources: []string{a.name()}}
			switch {
			case mode != "Strict":
				c.Status, c.Why = Partial, fmt.Sprintf("mode %s lets requests without a valid token through", mode)
			case len(unresolved) > 0:
				c.Status, c.Why = Partial, strings.Join(unresolved, "; ")+": the controller leaves that provider out until it can fetch the keys"
			}
			return c
		}
		for _, kind := range []string{"apiKeyAuthentication", "basicAuthentication"} {
			if m := objects.MapAt(traffic, kind); m != nil {
				mode := objects.Str(m, "mode")
				if mode == "" {
					mode = "Strict"
				}
				c = Control{Name: Auth, Status: Implemented, Detail: fmt.Sprintf("%s %s (%s level)", strings.TrimSuffix(kind, "Authentication"), mode, a.level), Sources: []string{a.name()}}
				if mode != "Strict" {
					c.Status, c.Why = Partial, fmt.Sprintf("mode %s lets unauthenticated requests through", mode)
				}
				return c
			}
		}
		if m := objects.MapAt(a.e.Content, "spec", "backend", "mcp", "authentication"); m != nil {
			return Control{Name: Auth, Status: Partial, Detail: fmt.Sprintf("MCP authentication, issuer %s (%s level)", objects.Str(m, "issuer"), a.level),
				Why: "backend.mcp.authentication is deprecated and runs after rate limiting", Sources: []string{a.name()}}
		}
	}
	return c
}

func rateLimitControl(s *objects.Set, pols []attached, gws []*objects.Entry) Control {
	replicas := 0
	for _, gw := range gws {
		if r := objects.GatewayReplicas(s, gw); r > replicas {
			replicas = r
		}
	}
	for _, a := range pols {
		rl := objects.MapAt(a.e.Content, "spec", "traffic", "rateLimit")
		if rl == nil {
			continue
		}
		c := Control{Name: RateLimit, Status: Implemented, Sources: []string{a.name()}}
		var parts, why []string
		for _, l := range objects.ListAt(rl, "local") {
			lm, _ := l.(map[string]any)
			b, burst := lint.BucketOf(lm)
			if burst < 0 {
				why = append(why, fmt.Sprintf("burst %d wraps in the controller", burst))
			}
			parts = append(parts, "local "+b.String())
		}
		if g := objects.MapAt(rl, "global"); g != nil {
			fm := objects.Str(g, "failureMode")
			if fm == "" {
				fm = "FailClosed"
			}
			r := objects.ReadRef(objects.MapAt(g, "backendRef"), "", "Service", a.e.NS())
			parts = append(parts, fmt.Sprintf("global via %s (%s)", r, fm))
			if r.Kind == "Service" && !serviceResolves(s, r) {
				why = append(why, fmt.Sprintf("rate limit service %s/%s not in the input", r.NS, r.Name))
			}
		}
		if n := len(objects.ListAt(rl, "conditional")); n > 0 {
			parts = append(parts, fmt.Sprintf("%d conditional limits", n))
		}
		if len(objects.ListAt(rl, "local")) > 0 {
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
	return Control{Name: RateLimit, Status: Absent, Why: "no rateLimit policy targets the route or its Gateway"}
}

func tracingControl(s *objects.Set, gws []*objects.Entry) Control {
	for _, p := range s.Kind(objects.AgentgatewayGroup, "AgentgatewayPolicy") {
		tr := objects.MapAt(p.Content, "spec", "frontend", "tracing")
		if tr == nil {
			continue
		}
		for _, gw := range gws {
			if !objects.Targets(s, p, gw) {
				continue
			}
			r := objects.ReadRef(objects.MapAt(tr, "backendRef"), "", "Service", p.NS())
			proto := objects.Str(tr, "protocol")
			if proto == "" {
				proto = "GRPC"
			}
			c := Control{Name: Tracing, Status: Implemented, Detail: fmt.Sprintf("OTLP %s to %s on Gateway %s/%s", proto, r, gw.NS(), gw.Obj.Name), Sources: []string{p.NS() + "/" + p.Obj.Name}}
			if rs := objects.Str(tr, "randomSampling"); rs != "" {
				c.Detail += ", randomSampling " + rs
			}
			if r.Kind == "Service" && !serviceResolves(s, r) {
				c.Status, c.Why = Partial, fmt.Sprintf("collector Service %s/%s is not in the input", r.NS, r.Name)
			}
			return c
		}
	}
	return Control{Name: Tracing, Status: Absent, Why: "no frontend.tracing policy targets the route's Gateway (chart config.tracing is ignored by v1.2.1)"}
}

func fallbackControl(s *objects.Set, rt *objects.Entry) Control {
	for _, rule := range objects.ListAt(rt.Content, "spec", "rules") {
		for _, b := range objects.ListAt(rule, "backendRefs") {
			bm, _ := b.(map[string]any)
			r := objects.ReadRef(bm, "", "Service", rt.NS())
			if r.Group != objects.AgentgatewayGroup || r.Kind != "AgentgatewayBackend" {
				continue
			}
			be := s.Get(r.Group, r.Kind, r.NS, r.Name)
			if be == nil {
				continue
			}
			if groups := objects.ListAt(be.Content, "spec", "ai", "groups"); len(groups) > 1 || (len(groups) == 1 && len(objects.ListAt(groups[0], "providers")) > 1) {
				return Control{Name: Fallback, Status: Implemented, Detail: fmt.Sprintf("%s: %d priority groups", r, len(groups)), Sources: []string{r.NS + "/" + r.Name}}
			}
		}
		if n := len(objects.ListAt(rule, "backendRefs")); n > 1 {
			return Control{Name: Fallback, Status: Partial, Detail: fmt.Sprintf("%d weighted backendRefs", n), Why: "traffic is split by weight, not failed over: an unhealthy backend still gets its share"}
		}
	}
	return Control{Name: Fallback, Status: Absent, Why: "each rule has one backend and no AgentgatewayBackend priority groups"}
}

// WriteJSON renders the report as JSON.
func (r Report) WriteJSON(w io.Writer) error {
	if r.Routes == nil {
		r.Routes = []Route{}
	}
	if r.Listeners == nil {
		r.Listeners = []ListenerTLS{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteMarkdown renders the report as a Markdown table, one row per route.
func (r Report) WriteMarkdown(w io.Writer) error {
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
func (r Report) WithStandby(hasStandby bool) Report {
	for i := range r.Routes {
		for j, c := range r.Routes[i].Controls {
			if c.Name != Fallback {
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
func serviceResolves(s *objects.Set, r objects.Ref) bool {
	msg, _ := objects.ServiceProblem(s, r, true)
	return msg == ""
}
