package validate

import (
	"fmt"
	"math"
	"net/url"
	"strings"

	"github.com/infergw/gwctl/pkg/finding"
)

// Rule ids of the semantic lints.
const (
	RuleBucket           = "lint/ratelimit-bucket"
	RuleNegativeBurst    = "lint/ratelimit-negative-burst"
	RuleReplicas         = "lint/ratelimit-replicas"
	RuleDexAudience      = "lint/dex-audience"
	RuleMCPProvider      = "lint/mcp-provider"
	RuleMessagesRoutes   = "lint/ai-messages-routes"
	RuleDeprecatedMCP    = "lint/mcp-authentication-deprecated"
	RuleChartTracing     = "lint/chart-tracing"
	RuleJWKSReachability = "lint/jwks-reachability"
	RuleModelHeaderUnset = "lint/model-header-unset"
)

// lints runs the semantic checks; partial skips the ones that need the whole platform.
func lints(s *objectSet, partial bool) []finding.Finding {
	var out []finding.Finding
	for _, e := range s.all {
		switch {
		case e.obj.Group() == agentgatewayGroup && e.obj.Kind == "AgentgatewayPolicy":
			out = append(out, lintRateLimit(s, e, partial)...)
			out = append(out, lintJWT(e)...)
			if mapAt(e.content, "spec", "backend", "mcp", "authentication") != nil {
				out = append(out, e.obj.Finding("spec.backend.mcp.authentication", RuleDeprecatedMCP, finding.Warning,
					"backend.mcp.authentication is deprecated: use traffic.jwtAuthentication with mcp (it runs before transformation and rate limiting)"))
			}
		case e.obj.Group() == agentgatewayGroup && e.obj.Kind == "AgentgatewayBackend" && !partial:
			out = append(out, lintMessagesRoutes(s, e)...)
		case e.obj.Kind == "Application" || e.obj.Kind == "HelmRelease":
			out = append(out, lintChartTracing(e)...)
		case e.obj.Group() == gatewayGroup && e.obj.Kind == "HTTPRoute" && !partial:
			out = append(out, lintModelHeaderSet(s, e)...)
		}
	}
	return out
}

// lintModelHeaderSet: a route matching X-Gateway-Base-Model-Name needs a Gateway-level
// PreRouting transformation that sets the header from the body (agentgateway has no ext-proc
// body-based router); without it the rule never matches and clients get 404.
func lintModelHeaderSet(s *objectSet, rt *entry) []finding.Finding {
	path := ""
	for i, rule := range listAt(rt.content, "spec", "rules") {
		for j, m := range listAt(rule, "matches") {
			for k, h := range listAt(m, "headers") {
				if hm, _ := h.(map[string]any); path == "" && strings.EqualFold(str(hm, "name"), ModelHeader) {
					path = fmt.Sprintf("spec.rules[%d].matches[%d].headers[%d]", i, j, k)
				}
			}
		}
	}
	if path == "" {
		return nil
	}
	var out []finding.Finding
	for _, gw := range routeGateways(s, rt) {
		if !setsModelHeader(s, gw) && !isStandby(gw) {
			out = append(out, rt.obj.Finding(path, RuleModelHeaderUnset, finding.Warning,
				fmt.Sprintf("no PreRouting AgentgatewayPolicy on Gateway %s/%s sets %s from the request body: this rule never matches", gw.ns(), gw.obj.Name, ModelHeader)))
		}
	}
	return out
}

func setsModelHeader(s *objectSet, gw *entry) bool {
	for _, p := range s.kind(agentgatewayGroup, "AgentgatewayPolicy") {
		traffic := mapAt(p.content, "spec", "traffic")
		if str(traffic, "phase") != "PreRouting" || !targets(s, p, gw) {
			continue
		}
		tr := mapAt(traffic, "transformation")
		reqs := []any{mapAt(tr, "request")}
		for _, c := range listAt(tr, "conditional") {
			reqs = append(reqs, mapAt(c, "policy", "request"))
		}
		for _, r := range reqs {
			for _, list := range []string{"set", "add"} {
				for _, h := range listAt(r, list) {
					if hm, _ := h.(map[string]any); strings.EqualFold(str(hm, "name"), ModelHeader) {
						return true
					}
				}
			}
		}
	}
	return false
}

// Bucket is the effective local rate limit of one local[] entry: agentgateway's token bucket
// holds requests+burst, starts full and refills requests once per unit, per replica.
type Bucket struct {
	Capacity int64  `json:"capacity"`
	Refill   int64  `json:"refill"`
	Unit     string `json:"unit"`
	Tokens   bool   `json:"tokens,omitempty"`
}

func (b Bucket) String() string {
	what := "requests"
	if b.Tokens {
		what = "tokens"
	}
	return fmt.Sprintf("bucket %d %s, +%d/%s", b.Capacity, what, b.Refill, unitAbbrev(b.Unit))
}

func unitAbbrev(u string) string {
	switch u {
	case "Seconds":
		return "s"
	case "Minutes":
		return "min"
	case "Hours":
		return "h"
	}
	return u
}

// bucketOf reads one local[] entry.
func bucketOf(m map[string]any) (Bucket, int64) {
	b := Bucket{Unit: str(m, "unit")}
	n, ok := num(m, "requests")
	if !ok {
		n, _ = num(m, "tokens")
		b.Tokens = true
	}
	burst, _ := num(m, "burst")
	b.Refill, b.Capacity = n, n+burst
	return b, burst
}

func lintRateLimit(s *objectSet, e *entry, partial bool) []finding.Finding {
	var out []finding.Finding
	rl := mapAt(e.content, "spec", "traffic", "rateLimit")
	if rl == nil {
		return nil
	}
	type local struct {
		path  string
		entry map[string]any
	}
	var locals []local
	for i, l := range listAt(rl, "local") {
		lm, _ := l.(map[string]any)
		locals = append(locals, local{fmt.Sprintf("spec.traffic.rateLimit.local[%d]", i), lm})
	}
	for i, c := range listAt(rl, "conditional") {
		for j, l := range listAt(c, "policy", "local") {
			lm, _ := l.(map[string]any)
			locals = append(locals, local{fmt.Sprintf("spec.traffic.rateLimit.conditional[%d].policy.local[%d]", i, j), lm})
		}
	}
	replicas := 0
	if !partial && len(locals) > 0 {
		replicas = targetReplicas(s, e)
	}
	for _, l := range locals {
		b, burst := bucketOf(l.entry)
		if b.Refill > math.MaxInt32 || burst > math.MaxInt32 {
			continue // the schema reports values outside int32
		}
		if burst < 0 {
			out = append(out, e.obj.Finding(l.path+".burst", RuleNegativeBurst, finding.Error,
				fmt.Sprintf("burst %d is negative: the controller computes requests + uint64(burst), which wraps to a huge bucket", burst)))
			continue
		}
		msg := fmt.Sprintf("%s (requests %d + burst %d): starts full, shared by every client of the target, one bucket per proxy replica", b, b.Refill, burst)
		out = append(out, e.obj.Finding(l.path, RuleBucket, finding.Info, msg))
		if replicas > 1 {
			out = append(out, e.obj.Finding(l.path, RuleReplicas, finding.Warning,
				fmt.Sprintf("the Gateway runs %d replicas, each with its own bucket: the effective limit is %d× (%d per %s)", replicas, replicas, int64(replicas)*b.Refill, strings.TrimSuffix(strings.ToLower(b.Unit), "s"))))
		}
	}
	return out
}

// targetReplicas returns the largest replica count of the Gateways a policy applies to (0 when unknown).
func targetReplicas(s *objectSet, e *entry) int {
	max := 0
	for _, gw := range policyGateways(s, e) {
		if r := gatewayReplicas(s, gw); r > max {
			max = r
		}
	}
	return max
}

// policyGateways are the Gateways a policy's targets attach to (directly or through routes).
func policyGateways(s *objectSet, e *entry) []*entry {
	var out []*entry
	for _, t := range listAt(e.content, "spec", "targetRefs") {
		tm, _ := t.(map[string]any)
		switch str(tm, "kind") {
		case "Gateway":
			if gw := s.get(gatewayGroup, "Gateway", e.ns(), str(tm, "name")); gw != nil {
				out = append(out, gw)
			}
		case "HTTPRoute":
			if rt := s.get(gatewayGroup, "HTTPRoute", e.ns(), str(tm, "name")); rt != nil {
				out = append(out, routeGateways(s, rt)...)
			}
		}
	}
	return out
}

func routeGateways(s *objectSet, rt *entry) []*entry {
	var out []*entry
	for _, p := range listAt(rt.content, "spec", "parentRefs") {
		pm, _ := p.(map[string]any)
		r := readRef(pm, gatewayGroup, "Gateway", rt.ns())
		if gw := s.get(gatewayGroup, "Gateway", r.ns, r.name); gw != nil && r.kind == "Gateway" {
			out = append(out, gw)
		}
	}
	return out
}

// gatewayReplicas reads replicas from the Gateway's AgentgatewayParameters or its Deployment.
func gatewayReplicas(s *objectSet, gw *entry) int {
	if pr := mapAt(gw.content, "spec", "infrastructure", "parametersRef"); pr != nil && str(pr, "kind") == "AgentgatewayParameters" {
		if p := s.get(agentgatewayGroup, "AgentgatewayParameters", gw.ns(), str(pr, "name")); p != nil {
			if n, ok := num(mapAt(p.content, "spec", "deployment", "spec"), "replicas"); ok {
				return int(n)
			}
			if hpa := mapAt(p.content, "spec", "horizontalPodAutoscaler", "spec"); hpa != nil {
				n, _ := num(hpa, "maxReplicas")
				return int(n)
			}
		}
	}
	for _, d := range s.kind("apps", "Deployment") {
		if d.ns() == gw.ns() && (d.obj.Name == gw.obj.Name || d.obj.Labels()["gateway.networking.k8s.io/gateway-name"] == gw.obj.Name) {
			if n, ok := num(mapAt(d.content, "spec"), "replicas"); ok {
				return int(n)
			}
		}
	}
	return 0
}

// looksLikeDex guesses a Dex issuer from its URL or the JWKS path and Service Dex uses.
func looksLikeDex(provider map[string]any) bool {
	iss := lower(str(provider, "issuer"))
	if u, err := url.Parse(iss); err == nil && (strings.HasPrefix(u.Host, "dex.") || strings.Contains(u.Path, "/dex")) {
		return true
	}
	remote := mapAt(provider, "jwks", "remote")
	return str(remote, "jwksPath") == "/keys" || strings.Contains(lower(str(mapAt(remote, "backendRef"), "name")), "dex")
}

func lintJWT(e *entry) []finding.Finding {
	var out []finding.Finding
	jwt := mapAt(e.content, "spec", "traffic", "jwtAuthentication")
	if jwt == nil {
		return nil
	}
	dex := false
	for i, p := range listAt(jwt, "providers") {
		pm, _ := p.(map[string]any)
		if !looksLikeDex(pm) {
			continue
		}
		dex = true
		for j, a := range listAt(pm, "audiences") {
			if as, _ := a.(string); strings.Contains(as, "://") {
				out = append(out, e.obj.Finding(fmt.Sprintf("spec.traffic.jwtAuthentication.providers[%d].audiences[%d]", i, j), RuleDexAudience, finding.Warning,
					fmt.Sprintf("audience %q is a URL, but Dex puts the OAuth client_id in aud: list client ids, or real Dex tokens are rejected", as)))
			}
		}
	}
	for i, p := range listAt(jwt, "providers") {
		remote := mapAt(p, "jwks", "remote")
		br := readRef(mapAt(remote, "backendRef"), "", "Service", e.ns())
		if remote == nil || br.group != "" || br.kind != "Service" {
			continue
		}
		port := ""
		if br.hasPort {
			port = fmt.Sprintf(":%d", br.port)
		}
		out = append(out, e.obj.Finding(fmt.Sprintf("spec.traffic.jwtAuthentication.providers[%d].jwks.remote", i), RuleJWKSReachability, finding.Info,
			fmt.Sprintf("the controller (not the proxy) fetches http://%s.%s.svc.cluster.local%s/%s over plain HTTP unless a backend TLS policy applies: NetworkPolicies must let agentgateway-system reach it", br.name, br.ns, port, strings.TrimPrefix(str(remote, "jwksPath"), "/"))))
	}
	if p := str(mapAt(jwt, "mcp"), "provider"); p != "" && dex {
		out = append(out, e.obj.Finding("spec.traffic.jwtAuthentication.mcp.provider", RuleMCPProvider, finding.Warning,
			fmt.Sprintf("mcp.provider %s describes %s's metadata endpoints; omit it for a Dex issuer", p, p)))
	}
	return out
}

// lintMessagesRoutes: without policies.ai.routes every request is parsed as OpenAI completions,
// so a route serving /v1/messages to this backend breaks Anthropic-native clients.
func lintMessagesRoutes(s *objectSet, be *entry) []finding.Finding {
	if mapAt(be.content, "spec", "ai") == nil || mapAt(be.content, "spec", "policies", "ai", "routes") != nil {
		return nil
	}
	if s.hasAIRoutesPolicy(be.ns(), be.obj.Name) {
		return nil
	}
	var out []finding.Finding
	for _, rr := range s.rulesTo(be.ns(), be.obj.Name) {
		if servesMessages(rr.rule) {
			out = append(out, be.obj.Finding("spec.ai", RuleMessagesRoutes, finding.Warning,
				fmt.Sprintf("HTTPRoute %s/%s rule %d sends /v1/messages here, but without policies.ai.routes every request is parsed as OpenAI completions: add routes: {\"/v1/messages\": Messages}", rr.rt.ns(), rr.rt.obj.Name, rr.i)))
		}
	}
	return out
}

// servesMessages reports whether a rule matches the Anthropic Messages path explicitly (a
// catch-all rule is left alone: OpenAI clients behind it are served correctly).
func servesMessages(rule map[string]any) bool {
	for _, m := range listAt(rule, "matches") {
		pm := mapAt(m, "path")
		v := str(pm, "value")
		switch str(pm, "type") {
		case "", "PathPrefix", "Exact":
			if strings.HasPrefix(v, "/v1/messages") {
				return true
			}
		case "RegularExpression":
			if strings.Contains(v, "messages") {
				return true
			}
		}
	}
	return false
}

// lintChartTracing: chart v1.2.1 has no config.tracing; those values are silently ignored.
func lintChartTracing(e *entry) []finding.Finding {
	var out []finding.Finding
	check := func(src map[string]any, path string) {
		helm := mapAt(src, "helm")
		if helm == nil {
			helm = src
		}
		if !strings.Contains(lower(str(src, "chart")+str(src, "repoURL")+str(mapAt(src, "chart", "spec"), "chart")), "agentgateway") {
			return
		}
		if mapAt(helm, "valuesObject", "config", "tracing") != nil || mapAt(helm, "values", "config", "tracing") != nil ||
			strings.Contains(str(helm, "values"), "otlpEndpoint") {
			out = append(out, e.obj.Finding(path, RuleChartTracing, finding.Warning,
				"agentgateway chart v1.2.1 has no config.tracing: these values are ignored; set spec.frontend.tracing on an AgentgatewayPolicy that targets the Gateway"))
		}
	}
	if src := mapAt(e.content, "spec", "source"); src != nil {
		check(src, "spec.source.helm")
	}
	for i, src := range listAt(e.content, "spec", "sources") {
		sm, _ := src.(map[string]any)
		check(sm, fmt.Sprintf("spec.sources[%d].helm", i))
	}
	if e.obj.Kind == "HelmRelease" {
		check(mapAt(e.content, "spec"), "spec.values")
	}
	return out
}
