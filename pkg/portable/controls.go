package portable

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/infergw/gwctl/pkg/manifest"
)

// controls lists what one implementation resource provides, and notes on each route it
// applies to what that route loses on the standby.
func (c *checker) controls(o *manifest.Object) []control {
	ref := fmt.Sprintf("%s %s/%s", o.Kind, o.Namespace, o.Name)
	var out []control
	switch {
	case o.Group() == "agentgateway.dev" && o.Kind == "AgentgatewayBackend":
		out = c.backendControls(o, ref)
	case o.Group() == "agentgateway.dev" && o.Kind == "AgentgatewayPolicy":
		out = c.policyControls(o, ref)
	case o.Group() == "inference.networking.k8s.io" && o.Kind == "InferencePool":
		instead, _ := c.standbyFor(c.referrers("InferencePool", o.Namespace, o.Name), " (a plain Service: kube-proxy spreads requests)")
		out = []control{{rule: RuleCRD, lost: true, instead: instead,
			what: ref + ": endpoint picking by queue depth, KV cache, prefix and LoRA affinity"}}
	default:
		out = []control{{rule: RuleCRD, lost: true, instead: "no standard equivalent",
			what: fmt.Sprintf("%s is %s's own resource", ref, implementationGroups[o.Group()])}}
	}
	routes := c.affected(o)
	for _, ct := range out {
		if ct.field == "spec.policies.auth" && ct.lost {
			for _, rt := range routes {
				c.creds[rt.Namespace+"/"+rt.Name] = true
			}
		}
		if !ct.lost {
			continue
		}
		for _, rt := range routes {
			k := rt.Namespace + "/" + rt.Name
			c.lost[k] = append(c.lost[k], ct.what)
		}
	}
	return out
}

func (c *checker) backendControls(o *manifest.Object, ref string) []control {
	routes := c.referrers("AgentgatewayBackend", o.Namespace, o.Name)
	var out []control
	if ai, ok := get(o.Content, "spec", "ai").(map[string]any); ok {
		provider, _ := ai["provider"].(map[string]any)
		typ := ""
		for _, k := range slices.Sorted(maps.Keys(provider)) {
			if _, ok := provider[k].(map[string]any); ok {
				typ = k
			}
		}
		instead, _ := c.standbyFor(routes, ": requests pass through untranslated")
		if typ != "" {
			out = append(out, control{field: "spec.ai", rule: RuleCRD, lost: true, instead: instead,
				what: fmt.Sprintf("%s: OpenAI requests translated to the %s API and back", ref, typ)})
			if m := str(provider, typ, "model"); m != "" {
				out = append(out, control{field: "spec.ai.provider." + typ + ".model", rule: RuleCRD, lost: true,
					what: fmt.Sprintf("%s: model set to %s whatever the client sends", ref, m), instead: "the client's model is sent as is"})
			}
		}
		if g := list(ai, "groups"); len(g) > 0 {
			out = append(out, control{field: "spec.ai.groups", rule: RuleCRD, lost: true, instead: instead + "; no failover between providers",
				what: fmt.Sprintf("%s: failover across %d provider priority groups", ref, len(g))})
		}
	}
	if mcp, ok := get(o.Content, "spec", "mcp").(map[string]any); ok {
		instead, _ := c.standbyFor(routes, "")
		out = append(out, control{field: "spec.mcp", rule: RuleCRD, lost: true, instead: instead,
			what: fmt.Sprintf("%s: MCP gateway over %d target(s) (sessions, tool multiplexing)", ref, len(list(mcp, "targets")))})
	}
	for _, k := range []string{"static", "dynamicForwardProxy", "aws"} {
		if _, ok := get(o.Content, "spec", k).(map[string]any); ok {
			instead, _ := c.standbyFor(routes, "")
			out = append(out, control{field: "spec." + k, rule: RuleCRD, lost: true, instead: instead,
				what: fmt.Sprintf("%s: %s backend", ref, k)})
		}
	}
	if auth, ok := get(o.Content, "spec", "policies", "auth").(map[string]any); ok {
		what := ref + ": provider credentials added by the gateway"
		ct := control{field: "spec.policies.auth", rule: RulePolicy, lost: true,
			instead: "none: clients send the provider key themselves (Authorization: Bearer)"}
		if s := str(auth, "secretRef", "name"); s != "" {
			what = fmt.Sprintf("%s: provider key injected from Secret %s/%s", ref, o.Namespace, s)
			if by := c.secretUsers(routes, o.Namespace, s); len(by) > 0 {
				ct.lost, ct.instead = false, strings.Join(by, ", ")+" adds it from the same Secret"
			}
		}
		ct.what = what
		out = append(out, ct)
	}
	if pol, ok := get(o.Content, "spec", "policies").(map[string]any); ok {
		for _, k := range slices.Sorted(maps.Keys(pol)) {
			switch k {
			case "auth":
			case "tls":
				out = append(out, control{field: "spec.policies.tls", rule: RulePolicy, lost: true,
					what:    ref + ": TLS to the backend (policies.tls: CA, SNI, client certificate)",
					instead: "a BackendTLSPolicy on a Service, where the standby supports it; else plain HTTP"})
			default:
				out = append(out, control{field: "spec.policies." + k, rule: RulePolicy, lost: true,
					what: fmt.Sprintf("%s: backend policy %s", ref, k), instead: "none"})
			}
		}
	}
	if len(out) == 0 {
		out = append(out, control{rule: RuleCRD, lost: true, what: ref + " is agentgateway's own resource", instead: "no standard equivalent"})
	}
	return out
}

func (c *checker) policyControls(o *manifest.Object, ref string) []control {
	var out []control
	for _, sec := range []string{"traffic", "backend", "frontend"} {
		m, _ := get(o.Content, "spec", sec).(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if k == "phase" {
				continue
			}
			field := "spec." + sec + "." + k
			v := m[k]
			ct := control{field: field, rule: RulePolicy, lost: true, instead: "none",
				what: fmt.Sprintf("%s: %s.%s", ref, sec, k)}
			switch sec + "." + k {
			case "traffic.jwtAuthentication":
				var issuers []string
				for _, p := range list(v, "providers") {
					issuers = append(issuers, str(p, "issuer"))
				}
				ct.what = fmt.Sprintf("%s: JWT authentication (%s, issuer %s)", ref, joinNonEmpty(str(v, "mode")), strings.Join(issuers, ", "))
				ct.instead = "none: requests are not authenticated"
			case "traffic.rateLimit":
				var lims []string
				for _, l := range list(v, "local") {
					req, _ := get(l, "requests").(int64)
					burst, _ := get(l, "burst").(int64)
					lims = append(lims, fmt.Sprintf("%d/%s, bucket %d", req, str(l, "unit"), req+burst))
				}
				ct.what = fmt.Sprintf("%s: rate limit (%s)", ref, joinNonEmpty(strings.Join(lims, "; "), map[bool]string{true: "global"}[get(v, "global") != nil]))
				ct.instead = "none: requests are not rate limited"
			case "traffic.transformation":
				var set []string
				for _, h := range list(v, "request", "set") {
					set = append(set, str(h, "name"))
				}
				ct.what = fmt.Sprintf("%s: request transformation (sets %s)", ref, strings.Join(set, ", "))
				for _, h := range set {
					if strings.EqualFold(h, modelHeader) {
						ct.what = fmt.Sprintf("%s: body-based routing (%s set from the request body's model)", ref, modelHeader)
						ct.instead = "none: clients send " + modelHeader + " themselves"
					}
				}
			case "backend.mcp":
				if get(v, "authorization") != nil {
					ct.what = fmt.Sprintf("%s: MCP tool authorization (%s)", ref, str(v, "authorization", "action"))
					ct.instead = "none: every tool is callable"
				}
			case "frontend.tracing":
				ct.what = ref + ": gateway tracing (OTLP)"
				ct.instead = "the standby implementation's own tracing, if configured"
			case "frontend.tls":
				ct.what = ref + ": TLS versions, cipher suites and ALPN of the Gateway's HTTPS listeners"
				ct.instead = "the standby implementation's TLS defaults"
			case "backend.tls":
				ct.what = ref + ": TLS to the targeted backend (CA, SNI, client certificate)"
				ct.instead = "a BackendTLSPolicy on the Service, where the standby supports it; else plain HTTP"
			}
			out = append(out, ct)
		}
	}
	if len(out) == 0 {
		out = append(out, control{field: "spec.targetRefs", rule: RulePolicy, lost: true, what: ref + ": policy attachment", instead: "none"})
	}
	return out
}

// affected are the primary routes an implementation resource applies to.
func (c *checker) affected(o *manifest.Object) []*manifest.Object {
	if o.Kind != "AgentgatewayPolicy" {
		return c.referrers(o.Kind, o.Namespace, o.Name)
	}
	var out []*manifest.Object
	seen := map[*manifest.Object]bool{}
	addRoute := func(rt *manifest.Object) {
		if !seen[rt] {
			seen[rt] = true
			out = append(out, rt)
		}
	}
	for _, t := range list(o.Content, "spec", "targetRefs") {
		name := str(t, "name")
		switch str(t, "kind") {
		case "HTTPRoute":
			for _, rt := range c.ix.routes {
				if rt.Namespace == o.Namespace && rt.Name == name {
					addRoute(rt)
				}
			}
		case "Gateway":
			for _, rt := range c.ix.routes {
				if c.ix.isStandbyRoute(rt) {
					continue
				}
				for _, p := range c.ix.parents(rt) {
					if p == o.Namespace+"/"+name {
						addRoute(rt)
					}
				}
			}
		default:
			for _, rt := range c.referrers(str(t, "kind"), o.Namespace, name) {
				addRoute(rt)
			}
		}
	}
	return out
}

// route is a primary route's move to the standby.
func (c *checker) route(rt *manifest.Object) Route {
	k := rt.Namespace + "/" + rt.Name
	out := Route{Namespace: rt.Namespace, Name: rt.Name, Backends: c.backendsOf(rt), Lost: c.lost[k], ClientCredentials: c.creds[k]}
	sb := c.ix.standbyOf[rt.Namespace+"/"+rt.Name]
	if sb == nil {
		c.add(rt, control{rule: RuleStandby, lost: true, what: fmt.Sprintf("HTTPRoute %s/%s has no standby route", rt.Namespace, rt.Name),
			instead: "the standby does not serve it (requests get 404 after a switch)"})
		return out
	}
	out.Standby, out.StandbyBackends = sb.Name, c.backendsOf(sb)
	seen := map[*manifest.Object]bool{}
	for _, rule := range list(sb.Content, "spec", "rules") {
		for _, ref := range list(rule, "backendRefs") {
			if str(ref, "group") != "" || (str(ref, "kind") != "" && str(ref, "kind") != "Service") {
				continue
			}
			ns := str(ref, "namespace")
			if ns == "" {
				ns = sb.Namespace
			}
			if svc := c.ix.services[ns+"/"+str(ref, "name")]; svc != nil {
				for _, w := range c.ix.workloadsOf(svc) {
					if !seen[w] {
						seen[w] = true
						out.StandbyWorkloads = append(out.StandbyWorkloads, Workload{Kind: w.Kind, Namespace: w.Namespace, Name: w.Name})
					}
				}
			}
		}
	}
	c.add(rt, control{rule: RuleStandby, what: fmt.Sprintf("HTTPRoute %s/%s has a standby route", rt.Namespace, rt.Name),
		instead: fmt.Sprintf("HTTPRoute %s/%s to %s", sb.Namespace, sb.Name, strings.Join(out.StandbyBackends, ", "))})
	for _, rule := range list(sb.Content, "spec", "rules") {
		ms := list(rule, "matches")
		if len(ms) == 0 {
			out.Probes = append(out.Probes, Probe{Path: "/"})
			continue
		}
		m := ms[0]
		p := Probe{Path: str(m, "path", "value")}
		for _, h := range list(m, "headers") {
			if t := str(h, "type"); t == "" || t == "Exact" {
				p.Headers = append(p.Headers, [2]string{str(h, "name"), str(h, "value")})
				if strings.EqualFold(str(h, "name"), modelHeader) && p.Path == "" {
					p.Path = "/v1/chat/completions"
				}
			}
		}
		if p.Path == "" {
			p.Path = "/"
		}
		out.Probes = append(out.Probes, p)
	}
	return out
}

// standbyFor says what the standby does for the routes that use a backend.
func (c *checker) standbyFor(routes []*manifest.Object, suffix string) (string, bool) {
	var parts []string
	lost := false
	for _, rt := range routes {
		sb := c.ix.standbyOf[rt.Namespace+"/"+rt.Name]
		if sb == nil {
			parts = append(parts, fmt.Sprintf("route %s/%s is not served on the standby", rt.Namespace, rt.Name))
			lost = true
			continue
		}
		parts = append(parts, fmt.Sprintf("HTTPRoute %s/%s sends it to %s%s", sb.Namespace, sb.Name, strings.Join(c.backendsOf(sb), ", "), suffix))
	}
	if len(parts) == 0 {
		return "no route uses it", false
	}
	return strings.Join(parts, "; "), lost
}

// secretUsers are the workloads behind the standby routes of routes that read Secret ns/name:
// the standby adds the credential itself.
func (c *checker) secretUsers(routes []*manifest.Object, ns, secret string) []string {
	var out []string
	seen := map[string]bool{}
	for _, rt := range routes {
		sb := c.ix.standbyOf[rt.Namespace+"/"+rt.Name]
		if sb == nil {
			continue
		}
		for _, rule := range list(sb.Content, "spec", "rules") {
			for _, ref := range list(rule, "backendRefs") {
				if str(ref, "group") != "" || (str(ref, "kind") != "" && str(ref, "kind") != "Service") {
					continue
				}
				rns := str(ref, "namespace")
				if rns == "" {
					rns = sb.Namespace
				}
				svc := c.ix.services[rns+"/"+str(ref, "name")]
				if svc == nil || rns != ns {
					continue
				}
				for _, d := range c.ix.workloadsOf(svc) {
					if readsSecret(d, secret) && !seen[d.Name] {
						seen[d.Name] = true
						out = append(out, fmt.Sprintf("%s %s/%s", d.Kind, d.Namespace, d.Name))
					}
				}
			}
		}
	}
	return out
}

// readsSecret reports whether a workload's pods read the Secret (env, envFrom or volume).
func readsSecret(w *manifest.Object, secret string) bool {
	spec := get(w.Content, "spec", "template", "spec")
	for _, v := range list(spec, "volumes") {
		if str(v, "secret", "secretName") == secret {
			return true
		}
	}
	for _, key := range []string{"containers", "initContainers"} {
		for _, ctr := range list(spec, key) {
			for _, e := range list(ctr, "env") {
				if str(e, "valueFrom", "secretKeyRef", "name") == secret {
					return true
				}
			}
			for _, e := range list(ctr, "envFrom") {
				if str(e, "secretRef", "name") == secret {
					return true
				}
			}
		}
	}
	return false
}
