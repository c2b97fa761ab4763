package gateway

import (
	"sort"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
)

// compiledPolicy is one AgentgatewayPolicy's sections, before attachment.
type compiledPolicy struct {
	name       NamespacedName
	preRouting bool
	traffic    *TrafficPolicy
	tracing    *Tracing
	auth       *BackendAuth
	mcpAuthz   *MCPAuthorization
	// frontendTLS and backendTLS are frontend.tls and backend.tls.
	frontendTLS *TLSOptions
	backendTLS  *UpstreamTLS
}

// attached collects policies per target, oldest first.
type attached struct {
	gateway  map[string][]*compiledPolicy // gateway ns/name
	listener map[*Listener][]*compiledPolicy
	route    map[*Route][]*compiledPolicy
	rule     map[*Rule][]*compiledPolicy
}

func (c *compiler) compilePolicies() {
	sortByAge(c.policies)
	at := attached{
		gateway:  map[string][]*compiledPolicy{},
		listener: map[*Listener][]*compiledPolicy{},
		route:    map[*Route][]*compiledPolicy{},
		rule:     map[*Rule][]*compiledPolicy{},
	}
	for _, o := range c.policies {
		p := c.compilePolicy(o)
		c.attachPolicy(o, p, &at)
	}
	for _, l := range c.cfg.Listeners {
		gw := at.gateway[l.Gateway.String()]
		l.Policy = merged(false, gw, at.listener[l])
		l.PreRouting = merged(true, gw, at.listener[l])
	}
	for _, r := range c.cfg.Routes {
		for _, rule := range r.Rules {
			rule.Policy = merged(false, at.route[r], at.rule[rule])
		}
		for _, ps := range [][]*compiledPolicy{at.route[r]} {
			for _, p := range ps {
				if p.preRouting {
					c.add(c.routeObj[r].Finding("metadata.name", rulePolicy, finding.Warning,
						"policy "+p.name.String()+" has phase PreRouting, which applies only to Gateway targets; ignored on this route"))
				}
			}
		}
	}
}

// merged applies levels from least to most specific; within a level the oldest policy wins
// each field, as Gateway API policy attachment specifies.
func merged(preRouting bool, levels ...[]*compiledPolicy) *TrafficPolicy {
	var out *TrafficPolicy
	for _, level := range levels {
		for i := len(level) - 1; i >= 0; i-- {
			p := level[i]
			if p.traffic == nil || p.preRouting != preRouting {
				continue
			}
			out = MergeTraffic(out, p.traffic)
		}
	}
	return out
}

// MergeTraffic returns base with every field set in over replacing base's (field-by-field
// merge; more specific attachment points are passed as over). Either may be nil.
func MergeTraffic(base, over *TrafficPolicy) *TrafficPolicy {
	if over.Empty() {
		return base
	}
	if base.Empty() {
		return over
	}
	out := *base
	if over.JWT != nil {
		out.JWT = over.JWT
	}
	if over.RateLimit != nil {
		out.RateLimit = over.RateLimit
	}
	if over.Transformation != nil {
		out.Transformation = over.Transformation
	}
	out.Sources = append(append([]NamespacedName(nil), base.Sources...), over.Sources...)
	return &out
}

type policyTarget struct {
	group, kind, name, section string
	f                          field
}

func (c *compiler) targets(o *manifest.Object) []policyTarget {
	spec := root(c, o).get("spec")
	var out []policyTarget
	for _, tf := range spec.get("targetRefs").list() {
		out = append(out, policyTarget{group: tf.get("group").str(), kind: tf.get("kind").str(), name: tf.get("name").str(),
			section: tf.get("sectionName").str(), f: tf})
	}
	for _, sf := range spec.get("targetSelectors").list() {
		group, kind := sf.get("group").str(), sf.get("kind").str()
		sel := sf.get("matchLabels").stringMap()
		n := 0
		keys := make([]string, 0, len(c.objs))
		for k := range c.objs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			obj := c.objs[k]
			if obj.Group() != group || obj.Kind != kind || ns(obj) != ns(o) || !labelsMatch(sel, obj.Labels()) {
				continue
			}
			n++
			out = append(out, policyTarget{group: group, kind: kind, name: obj.Name, section: sf.get("sectionName").str(), f: sf})
		}
		if n == 0 {
			sf.warnf(ruleTarget, "targetSelector matches no %s in namespace %s in the input", kind, ns(o))
		}
	}
	return out
}

func (c *compiler) attachPolicy(o *manifest.Object, p *compiledPolicy, at *attached) {
	namespace := ns(o)
	for _, t := range c.targets(o) {
		switch t.group + "/" + t.kind {
		case GroupGateway + "/Gateway":
			gw := NamespacedName{Namespace: namespace, Name: t.name}
			if c.foreignGateway(gw) {
				continue
			}
			if c.lookup(GroupGateway, "Gateway", namespace, t.name) == nil {
				t.f.get("name").errorf(ruleTarget, "policy targets Gateway %s, which is not in the input", gw)
				continue
			}
			if p.tracing != nil && t.section == "" {
				if c.cfg.Tracing != nil && c.cfg.Tracing.Policy != p.name {
					t.f.warnf(rulePolicy, "more than one policy sets frontend.tracing; %s (oldest) is used", c.cfg.Tracing.Policy)
				} else {
					c.cfg.Tracing = p.tracing
				}
			}
			if p.frontendTLS != nil && t.section == "" {
				c.attachFrontendTLS(gw, p.frontendTLS, t.f)
			}
			if t.section == "" {
				at.gateway[gw.String()] = append(at.gateway[gw.String()], p)
				continue
			}
			found := false
			for _, l := range c.listeners[gw.String()] {
				if l.Name == t.section {
					at.listener[l] = append(at.listener[l], p)
					found = true
				}
			}
			if !found {
				t.f.get("sectionName").errorf(ruleTarget, "Gateway %s has no HTTP listener %q", gw, t.section)
			}
		case GroupGateway + "/HTTPRoute":
			r := c.routeByKey[namespace+"/"+t.name]
			if r == nil {
				if c.lookup(GroupGateway, "HTTPRoute", namespace, t.name) == nil {
					t.f.get("name").errorf(ruleTarget, "policy targets HTTPRoute %s/%s, which is not in the input", namespace, t.name)
				}
				continue // a route that attached nowhere already has its own finding
			}
			if t.section == "" {
				at.route[r] = append(at.route[r], p)
				continue
			}
			found := false
			for _, rule := range r.Rules {
				if rule.Name == t.section {
					at.rule[rule] = append(at.rule[rule], p)
					found = true
				}
			}
			if !found {
				t.f.get("sectionName").errorf(ruleTarget, "HTTPRoute %s/%s has no rule named %q", namespace, t.name, t.section)
			}
		case GroupInference + "/InferencePool":
			if c.lookup(GroupInference, "InferencePool", namespace, t.name) == nil {
				t.f.get("name").errorf(ruleTarget, "policy targets InferencePool %s/%s, which is not in the input", namespace, t.name)
				continue
			}
			if b := c.backends[string(KindInferencePool)+"/"+namespace+"/"+t.name]; b != nil && p.traffic != nil {
				b.Policy = MergeTraffic(p.traffic, b.Policy) // oldest (applied first) wins
			}
			if b := c.backends[string(KindInferencePool)+"/"+namespace+"/"+t.name]; b != nil && p.backendTLS != nil && b.TLS == nil {
				b.TLS = p.backendTLS
			}
		case GroupAgent + "/AgentgatewayBackend":
			if c.lookup(GroupAgent, "AgentgatewayBackend", namespace, t.name) == nil {
				t.f.get("name").errorf(ruleTarget, "policy targets AgentgatewayBackend %s/%s, which is not in the input", namespace, t.name)
				continue
			}
			for _, b := range c.backends {
				if b.Namespace == namespace && b.Name == t.name && b.Kind != KindService && b.Kind != KindInferencePool {
					applyBackendSection(b, p)
				}
			}
		case GroupCore + "/Service":
			if c.lookup(GroupCore, "Service", namespace, t.name) == nil {
				t.f.get("name").errorf(ruleTarget, "policy targets Service %s/%s, which is not in the input", namespace, t.name)
				continue
			}
			for _, b := range c.backends {
				if b.Kind == KindService && b.Namespace == namespace && b.Name == t.name {
					applyBackendSection(b, p)
				}
			}
		case GroupGateway + "/ListenerSet", GroupGateway + "/GRPCRoute":
			t.f.get("kind").warnf(ruleUnsupported, "%s targets are not served by the dataplane; policy ignored there", t.kind)
		default:
			t.f.get("kind").errorf(ruleTarget, "policy target kind %s (group %q) is not supported", t.kind, t.group)
		}
	}
}

// applyBackendSection overlays a policy's backend section: the AgentgatewayBackend's own
// spec.policies take precedence over AgentgatewayPolicy, so only unset fields are filled.
func applyBackendSection(b *Backend, p *compiledPolicy) {
	if p.auth != nil && b.Auth == nil {
		b.Auth = p.auth
	}
	if p.mcpAuthz != nil && b.MCPAuthorization == nil {
		b.MCPAuthorization = p.mcpAuthz
	}
	if p.backendTLS != nil && b.TLS == nil {
		b.TLS = p.backendTLS
	}
}
