package lint

import (
	"fmt"
	"math"
	"net/url"
	"strings"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/validate/objects"
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
func Check(s *objects.Set, partial bool) []finding.Finding {
	var out []finding.Finding
	for _, e := range s.All {
		switch {
		case e.Obj.Group() == objects.AgentgatewayGroup && e.Obj.Kind == "AgentgatewayPolicy":
			out = append(out, lintRateLimit(s, e, partial)...)
			out = append(out, lintJWT(e)...)
			if objects.MapAt(e.Content, "spec", "backend", "mcp", "authentication") != nil {
				out = append(out, e.Obj.Finding("spec.backend.mcp.authentication", RuleDeprecatedMCP, finding.Warning,
					"backend.mcp.authentication is deprecated: use traffic.jwtAuthentication with mcp (it runs before transformation and rate limiting)"))
			}
		case e.Obj.Group() == objects.AgentgatewayGroup && e.Obj.Kind == "AgentgatewayBackend" && !partial:
			out = append(out, lintMessagesRoutes(s, e)...)
		case e.Obj.Kind == "Application" || e.Obj.Kind == "HelmRelease":
			out = append(out, lintChartTracing(e)...)
		case e.Obj.Group() == objects.GatewayGroup && e.Obj.Kind == "HTTPRoute" && !partial:
			out = append(out, lintModelHeaderSet(s, e)...)
		}
	}
	return out
}

// lintModelHeaderSet: a route matching X-Gateway-Base-Model-Name needs a Gateway-level
// PreRouting transformation that sets the header from the body (agentgateway has no ext-proc
// body-based router); without it the rule never matches and clients get 404.
func lintModelHeaderSet(s *objects.Set, rt *objects.Entry) []finding.Finding {
	path := ""
	for i, rule := range objects.ListAt(rt.Content, "spec", "rules") {
		for j, m := range objects.ListAt(rule, "matches") {
			for k, h := range objects.ListAt(m, "headers") {
				if hm, _ := h.(map[string]any); path == "" && strings.EqualFold(objects.Str(hm, "name"), objects.ModelHeader) {
					path = fmt.Sprintf("spec.rules[%d].matches[%d].headers[%d]", i, j, k)
				}
			}
		}
	}
	if path == "" {
		return nil
	}
	var out []finding.Finding
	for _, gw := range objects.RouteGateways(s, rt) {
		if !setsModelHeader(s, gw) && !objects.IsStandby(gw) {
			out = append(out, rt.Obj.Finding(path, RuleModelHeaderUnset, finding.Warning,
				fmt.Sprintf("no PreRouting AgentgatewayPolicy on Gateway %s/%s sets %s from the request body: this rule never matches", gw.NS(), gw.Obj.Name, objects.ModelHeader)))
		}
	}
	return out
}

func setsModelHeader(s *objects.Set, gw *objects.Entry) bool {
	for _, p := range s.Kind(objects.AgentgatewayGroup, "AgentgatewayPolicy") {
		traffic := objects.MapAt(p.Content, "spec", "traffic")
		if objects.Str(traffic, "phase") != "PreRouting" || !objects.Targets(s, p, gw) {
			continue
		}
		tr := objects.MapAt(traffic, "transformation")
		reqs := []any{objects.MapAt(tr, "request")}
		for _, c := range objects.ListAt(tr, "conditional") {
			reqs = append(reqs, objects.MapAt(c, "policy", "request"))
		}
		for _, r := range reqs {
			for _, list := range []string{"set", "add"} {
				for _, h := range objects.ListAt(r, list) {
					if hm, _ := h.(map[string]any); strings.EqualFold(objects.Str(hm, "name"), objects.ModelHeader) {
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
func BucketOf(m map[string]any) (Bucket, int64) {
	b := Bucket{Unit: objects.Str(m, "unit")}
	n, ok := objects.Num(m, "requests")
	if !ok {
		n, _ = objects.Num(m, "tokens")
		b.Tokens = true
	}
	burst, _ := objects.Num(m, "burst")
	b.Refill, b.Capacity = n, n+burst
	return b, burst
}

func lintRateLimit(s *objects.Set, e *objects.Entry, partial bool) []finding.Finding {
	var out []finding.Finding
	rl := objects.MapAt(e.Content, "spec", "traffic", "rateLimit")
	if rl == nil {
		return nil
	}
	type local struct {
		path  string
		entry map[string]any
	}
	var locals []local
	for i, l := range objects.ListAt(rl, "local") {
		lm, _ := l.(map[string]any)
		locals = append(locals, local{fmt.Sprintf("spec.traffic.rateLimit.local[%d]", i), lm})
	}
	for i, c := range objects.ListAt(rl, "conditional") {
		for j, l := range objects.ListAt(c, "policy", "local") {
			lm, _ := l.(map[string]any)
			locals = append(locals, local{fmt.Sprintf("spec.traffic.rateLimit.conditional[%d].policy.local[%d]", i, j), lm})
		}
	}
	replicas := 0
	if !partial && len(locals) > 0 {
		replicas = targetReplicas(s, e)
	}
	for _, l := range locals {
		b, burst := BucketOf(l.entry)
		if b.Refill > math.MaxInt32 || burst > math.MaxInt32 {
			continue // the schema reports values outside int32
		}
		if burst < 0 {
			out = append(out, e.Obj.Finding(l.path+".burst", RuleNegativeBurst, finding.Error,
				fmt.Sprintf("burst %d is negative: the controller computes requests + uint64(burst), which wraps to a huge bucket", burst)))
			continue
		}
		msg := fmt.Sprintf("%s (requests %d + burst %d): starts full, shared by every client of the target, one bucket per proxy replica", b, b.Refill, burst)
		sev := finding.Info
		if burst > 0 {
			// A README promising a 429 above `requests` is wrong: the first window admits requests+burst.
			sev = finding.Warning
			msg += fmt.Sprintf(": a burst of up to %d passes before the first 429, not %d", b.Capacity, b.Refill)
		}
		out = append(out, e.Obj.Finding(l.path, RuleBucket, sev, msg))
		if replicas > 1 {
			out = append(out, e.Obj.Finding(l.path, RuleReplicas, finding.Warning,
				fmt.Sprintf("the Gateway runs %d replicas, each with its own bucket: the effective limit is %d× (%d per %s)", replicas, replicas, int64(replicas)*b.Refill, strings.TrimSuffix(strings.ToLower(b.Unit), "s"))))
		}
	}
	return out
}

// targetReplicas returns the largest replica count of the Gateways a policy applies to (0 when unknown).
func targetReplicas(s *objects.Set, e *objects.Entry) int {
	max := 0
	for _, gw := range objects.PolicyGateways(s, e) {
		if r := objects.GatewayReplicas(s, gw); r > max {
			max = r
		}
	}
	return max
}

// looksLikeDex guesses a Dex issuer from its URL or the JWKS path and Service Dex uses.
func looksLikeDex(provider map[string]any) bool {
	iss := strings.ToLower(objects.Str(provider, "issuer"))
	if u, err := url.Parse(iss); err == nil && (strings.HasPrefix(u.Host, "dex.") || strings.Contains(u.Path, "/dex")) {
		return true
	}
	remote := objects.MapAt(provider, "jwks", "remote")
	return objects.Str(remote, "jwksPath") == "/keys" || strings.Contains(strings.ToLower(objects.Str(objects.MapAt(remote, "backendRef"), "name")), "dex")
}

func lintJWT(e *objects.Entry) []finding.Finding {
	var out []finding.Finding
	jwt := objects.MapAt(e.Content, "spec", "traffic", "jwtAuthentication")
	if jwt == nil {
		return nil
	}
	dex := false
	for i, p := range objects.ListAt(jwt, "providers") {
		pm, _ := p.(map[string]any)
		if !looksLikeDex(pm) {
			continue
		}
		dex = true
		for j, a := range objects.ListAt(pm, "audiences") {
			if as, _ := a.(string); strings.Contains(as, "://") {
				out = append(out, e.Obj.Finding(fmt.Sprintf("spec.traffic.jwtAuthentication.providers[%d].audiences[%d]", i, j), RuleDexAudience, finding.Warning,
					fmt.Sprintf("audience %q is a URL, but Dex puts the OAuth client_id in aud: list client ids, or real Dex tokens are rejected", as)))
			}
		}
	}
	for i, p := range objects.ListAt(jwt, "providers") {
		remote := objects.MapAt(p, "jwks", "remote")
		br := objects.ReadRef(objects.MapAt(remote, "backendRef"), "", "Service", e.NS())
		if remote == nil || br.Group != "" || br.Kind != "Service" {
			continue
		}
		port := ""
		if br.HasPort {
			port = fmt.Sprintf(":%d", br.Port)
		}
		out = append(out, e.Obj.Finding(fmt.Sprintf("spec.traffic.jwtAuthentication.providers[%d].jwks.remote", i), RuleJWKSReachability, finding.Info,
			fmt.Sprintf("the controller (not the proxy) fetches http://%s.%s.svc.cluster.local%s/%s over plain HTTP unless a backend TLS policy applies: NetworkPolicies must let agentgateway-system reach it", br.Name, br.NS, port, strings.TrimPrefix(objects.Str(remote, "jwksPath"), "/"))))
	}
	if p := objects.Str(objects.MapAt(jwt, "mcp"), "provider"); p != "" && dex {
		out = append(out, e.Obj.Finding("spec.traffic.jwtAuthentication.mcp.provider", RuleMCPProvider, finding.Warning,
			fmt.Sprintf("mcp.provider %s describes %s's metadata endpoints; omit it for a Dex issuer", p, p)))
	}
	return out
}

// lintMessagesRoutes: without policies.ai.routes every request is parsed as OpenAI completions,
// so a route serving /v1/messages to this backend breaks Anthropic-native clients.
func lintMessagesRoutes(s *objects.Set, be *objects.Entry) []finding.Finding {
	if objects.MapAt(be.Content, "spec", "ai") == nil || objects.MapAt(be.Content, "spec", "policies", "ai", "routes") != nil {
		return nil
	}
	if s.HasAIRoutesPolicy(be.NS(), be.Obj.Name) {
		return nil
	}
	var out []finding.Finding
	for _, rr := range s.RulesTo(be.NS(), be.Obj.Name) {
		if servesMessages(rr.Rule) {
			out = append(out, be.Obj.Finding("spec.ai", RuleMessagesRoutes, finding.Warning,
				fmt.Sprintf("HTTPRoute %s/%s rule %d sends /v1/messages here, but without policies.ai.routes every request is parsed as OpenAI completions: add routes: {\"/v1/messages\": Messages}", rr.Route.NS(), rr.Route.Obj.Name, rr.Index)))
		}
	}
	return out
}

// servesMessages reports whether a rule matches the Anthropic Messages path explicitly (a
// catch-all rule is left alone: OpenAI clients behind it are served correctly).
func servesMessages(rule map[string]any) bool {
	for _, m := range objects.ListAt(rule, "matches") {
		pm := objects.MapAt(m, "path")
		v := objects.Str(pm, "value")
		switch objects.Str(pm, "type") {
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
func lintChartTracing(e *objects.Entry) []finding.Finding {
	var out []finding.Finding
	check := func(src map[string]any, path string) {
		helm := objects.MapAt(src, "helm")
		if helm == nil {
			helm = src
		}
		if !strings.Contains(strings.ToLower(objects.Str(src, "chart")+objects.Str(src, "repoURL")+objects.Str(objects.MapAt(src, "chart", "spec"), "chart")), "agentgateway") {
			return
		}
		if objects.MapAt(helm, "valuesObject", "config", "tracing") != nil || objects.MapAt(helm, "values", "config", "tracing") != nil ||
			strings.Contains(objects.Str(helm, "values"), "otlpEndpoint") {
			out = append(out, e.Obj.Finding(path, RuleChartTracing, finding.Warning,
				"agentgateway chart v1.2.1 has no config.tracing: these values are ignored; set spec.frontend.tracing on an AgentgatewayPolicy that targets the Gateway"))
		}
	}
	if src := objects.MapAt(e.Content, "spec", "source"); src != nil {
		check(src, "spec.source.helm")
	}
	for i, src := range objects.ListAt(e.Content, "spec", "sources") {
		sm, _ := src.(map[string]any)
		check(sm, fmt.Sprintf("spec.sources[%d].helm", i))
	}
	if e.Obj.Kind == "HelmRelease" {
		check(objects.MapAt(e.Content, "spec"), "spec.values")
	}
	return out
}
