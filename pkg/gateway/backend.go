package gateway

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/infergw/gwctl/pkg/manifest"
)

var aiProviders = []string{"openai", "azureopenai", "azure", "anthropic", "gemini", "vertexai", "bedrock"}

// agentBackend compiles an AgentgatewayBackend once; nil when it cannot be served.
func (c *compiler) agentBackend(o *manifest.Object) *Backend {
	namespace := ns(o)
	spec := root(c, o).get("spec")
	var kinds []string
	for _, k := range []string{"ai", "static", "mcp", "aws", "dynamicForwardProxy"} {
		if spec.get(k).exists() {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) != 1 {
		spec.errorf(ruleBackendKind, "AgentgatewayBackend needs exactly one of ai, static, mcp, aws, dynamicForwardProxy (found %d)", len(kinds))
		return nil
	}
	b := &Backend{Namespace: namespace, Name: o.Name}
	var providers [][]field // where each provider of b.AI.Groups is written
	switch kinds[0] {
	case "ai":
		b.Kind = KindAI
		b.AI, providers = c.aiBackend(spec.get("ai"))
		if b.AI == nil {
			return nil
		}
		routes := spec.at("policies", "ai", "routes")
		if m := routes.stringMap(); len(m) > 0 {
			b.AI.Routes = m
		}
	case "static":
		b.Kind = KindStatic
		sf := spec.get("static")
		host, port := sf.get("host").str(), sf.get("port").port()
		if sf.get("unixPath").exists() || host == "" || port == 0 {
			sf.errorf(ruleUnsupported, "static backend needs host and port (unixPath is not served by the dataplane)")
			return nil
		}
		b.Static = &StaticBackend{Address: joinHostPort(host, port)}
	case "mcp":
		b.Kind = KindMCP
		b.MCP = c.mcpBackend(o, spec.get("mcp"))
	default:
		spec.get(kinds[0]).errorf(ruleBackendKind, "AgentgatewayBackend spec.%s is not served by the dataplane", kinds[0])
		return nil
	}
	b.ID = string(b.Kind) + "/" + namespace + "/" + o.Name
	if prev, ok := c.backends[b.ID]; ok {
		return prev
	}
	b.Auth = backendAuth(spec.at("policies", "auth"))
	b.TLS = c.agentTLS(o, spec.at("policies", "tls"))
	c.backends[b.ID] = b
	if b.Kind == KindAI {
		// Policies may still fill b.Auth (backend.auth): check once they are attached.
		c.afterPolicies = append(c.afterPolicies, func() { checkAIAuth(spec, b, providers) })
	}
	return b
}

// checkAIAuth reports providers the dataplane cannot authenticate to: Anthropic and Gemini need
// an API key (policies.auth secretRef or key) from the provider entry, the backend or an
// AgentgatewayPolicy's backend.auth targeting it; passthrough cannot supply one.
func checkAIAuth(spec field, b *Backend, providers [][]field) {
	for i, g := range b.AI.Groups {
		for j, p := range g {
			if !keyedProviders[p.Type] {
				continue
			}
			auth, at := b.Auth, spec.at("policies", "auth")
			if p.Auth != nil {
				auth, at = p.Auth, providers[i][j].at("policies", "auth")
			}
			switch {
			case auth == nil:
				at.errorf(ruleBackendAuth, "the %s provider needs policies.auth with secretRef or key (or an AgentgatewayPolicy backend.auth targeting this backend)", p.Type)
			case auth.Passthrough:
				at.errorf(ruleBackendAuth, "the %s provider needs an API key: policies.auth passthrough cannot supply one (use secretRef or key)", p.Type)
			case auth.SecretRef == "" && auth.InlineKey == "":
				at.errorf(ruleBackendAuth, "the %s provider needs policies.auth with secretRef or key", p.Type)
			}
		}
	}
}

// aiBackend compiles spec.ai; providers holds the field of each provider in Groups, in order.
func (c *compiler) aiBackend(af field) (ai *AIBackend, providers [][]field) {
	if af.get("provider").exists() == af.get("groups").exists() {
		af.errorf(ruleBackendKind, "spec.ai needs exactly one of provider and groups")
		return nil, nil
	}
	if pf := af.get("provider"); pf.exists() {
		p, ok := aiProvider(pf)
		if !ok {
			return nil, nil
		}
		return &AIBackend{Provider: p, Groups: [][]AIProvider{{p}}}, [][]field{{pf}}
	}
	ai = &AIBackend{}
	names := map[string]bool{}
	for _, gf := range af.get("groups").list() {
		var group []AIProvider
		var fields []field
		for _, pf := range gf.get("providers").list() {
			p, ok := aiProvider(pf)
			if !ok {
				continue
			}
			// The failover handler tells providers apart by name (metrics, logs, health).
			p.Name = pf.get("name").str()
			switch {
			case p.Name == "":
				pf.get("name").errorf(ruleBackendKind, "a spec.ai.groups provider needs a name")
				continue
			case names[p.Name]:
				pf.get("name").errorf(ruleDuplicate, "duplicate provider name %q: names are unique across spec.ai.groups", p.Name)
				continue
			}
			names[p.Name] = true
			p.Auth = backendAuth(pf.at("policies", "auth"))
			group = append(group, p)
			fields = append(fields, pf)
		}
		if len(group) > 0 {
			ai.Groups = append(ai.Groups, group)
			providers = append(providers, fields)
		}
	}
	if len(ai.Groups) == 0 {
		af.get("groups").errorf(ruleBackendKind, "spec.ai.groups has no provider the dataplane can serve")
		return nil, nil
	}
	ai.Provider = ai.Groups[0][0]
	return ai, providers
}

// aiProvider compiles a provider block: one provider type plus host/port/path/pathPrefix.
func aiProvider(pf field) (AIProvider, bool) {
	var p AIProvider
	n := 0
	for _, t := range aiProviders {
		if pf.get(t).exists() {
			n++
			p.Type = t
			tf := pf.get(t)
			p.Model = tf.get("model").str()
			p.Fields = tf.object()
		}
	}
	if n != 1 {
		pf.errorf(ruleBackendKind, "AI provider needs exactly one of %s (found %d)", strings.Join(aiProviders, ", "), n)
		return p, false
	}
	p.Host = pf.get("host").str()
	p.Port = pf.get("port").port()
	p.Path = pf.get("path").str()
	p.PathPrefix = pf.get("pathPrefix").str()
	if (p.Host == "") != (p.Port == 0) {
		pf.errorf(ruleBackendKind, "both host and port must be set together")
		return p, false
	}
	if p.Host != "" {
		if err := CheckUpstreamHost(p.Host, int(p.Port)); err != nil {
			pf.get("host").errorf(ruleType, "%v", err)
			return p, false
		}
	}
	if !servedProviders[p.Type] {
		pf.get(p.Type).warnf(ruleUnsupported, "AI provider %s is not served by this dataplane: requests to it get 501 (served: anthropic, gemini, openai)", p.Type)
	}
	if p.Type == "gemini" && p.Model != "" {
		if err := CheckGeminiModel(p.Model); err != nil {
			pf.at("gemini", "model").errorf(ruleType, "%v: it is a path segment of the upstream URL", err)
			return p, false
		}
	}
	return p, true
}

// servedProviders are the AI provider types the dataplane has a handler for.
var servedProviders = map[string]bool{"anthropic": true, "gemini": true, "openai": true}

// keyedProviders are the served providers that need an API key from policies.auth.
var keyedProviders = map[string]bool{"anthropic": true, "gemini": true}

func backendAuth(af field) *BackendAuth {
	if !af.exists() {
		return nil
	}
	a := &BackendAuth{
		SecretRef:    af.at("secretRef", "name").str(),
		InlineKey:    af.get("key").str(),
		Passthrough:  af.get("passthrough").exists(),
		HeaderName:   af.at("location", "header", "name").str(),
		HeaderPrefix: af.at("location", "header", "prefix").str(),
	}
	for _, k := range []string{"aws", "azure", "gcp"} {
		if af.get(k).exists() {
			af.get(k).warnf(ruleUnsupported, "policies.auth.%s is not served by the dataplane: requests go upstream without it", k)
		}
	}
	return a
}

// mcpBackend compiles MCP targets; selector targets expand to Service ports with an MCP
// appProtocol. What the MCP handler would refuse to load is a finding here: no targets, a
// target name that cannot prefix tool names, a duplicate name, an unknown protocol or an
// address that does not make a URL.
func (c *compiler) mcpBackend(o *manifest.Object, mf field) *MCPBackend {
	m := &MCPBackend{
		Stateless: enum(mf.get("sessionRouting"), "Stateful", "Stateless") == "Stateless",
		FailOpen:  enum(mf.get("failureMode"), "FailClosed", "FailOpen") == "FailOpen",
	}
	namespace := ns(o)
	var at []field    // the field each target comes from
	var svcs []svcRef // the Service behind each target, if any (for BackendTLSPolicy)
	for _, tf := range mf.get("targets").list() {
		name := tf.get("name").str()
		switch {
		case tf.get("static").exists():
			sf := tf.get("static")
			t := MCPTarget{Name: name, Protocol: sf.get("protocol").strOr("StreamableHTTP"), Path: sf.get("path").str()}
			if t.Protocol != "StreamableHTTP" && t.Protocol != "SSE" {
				sf.get("protocol").errorf(ruleType, "unknown MCP protocol %q (StreamableHTTP, SSE)", t.Protocol)
				continue
			}
			port := sf.get("port").port()
			if port == 0 {
				sf.get("port").errorf(ruleBackendRef, "MCP target %q needs a port", name)
				continue
			}
			if svc := sf.at("backendRef", "name").str(); svc != "" {
				if c.lookup(GroupCore, "Service", namespace, svc) == nil && !c.resolvable(svc, namespace, port) {
					sf.at("backendRef", "name").errorf(ruleBackendRef, "MCP target backendRef to Service %s/%s, which is not in the input", namespace, svc)
					continue
				}
				t.Address = c.serviceAddress(svc, namespace, port)
				svcs = append(svcs, svcRef{NamespacedName{Namespace: namespace, Name: svc}, port})
			} else if host := sf.get("host").str(); host != "" {
				t.Address = joinHostPort(host, port)
				svcs = append(svcs, svcRef{})
			} else {
				sf.errorf(ruleBackendRef, "MCP target %q needs host or backendRef", name)
				continue
			}
			m.Targets = append(m.Targets, t)
			at = append(at, tf)
		case tf.get("selector").exists():
			ts, refs := c.selectMCPTargets(namespace, tf.get("selector"))
			m.Targets = append(m.Targets, ts...)
			svcs = append(svcs, refs...)
			for range ts {
				at = append(at, tf)
			}
		default:
			tf.errorf(ruleBackendKind, "MCP target %q needs selector or static", name)
		}
	}
	seen := map[string]bool{}
	for i := range m.Targets {
		t := &m.Targets[i]
		if t.Path == "" {
			t.Path = defaultMCPPath(t.Protocol)
		}
		if !strings.HasPrefix(t.Path, "/") {
			t.Path = "/" + t.Path
		}
		switch {
		case !mcpTargetName.MatchString(t.Name):
			at[i].get("name").errorf(ruleType, "MCP target name %q is not a lowercase DNS subdomain (it prefixes the target's tool names)", t.Name)
		case seen[t.Name]:
			at[i].get("name").errorf(ruleDuplicate, "duplicate MCP target name %q", t.Name)
		}
		seen[t.Name] = true
		if err := checkTargetURL(t.Address, t.Path); err != nil {
			at[i].errorf(ruleBackendRef, "MCP target %q: %v", t.Name, err)
		}
	}
	for i := range m.Targets {
		if s := svcs[i]; s.svc.Name != "" {
			c.useService(s.svc.Namespace, s.svc.Name, s.port, &m.Targets[i].TLS, nil)
		}
	}
	if len(m.Targets) == 0 {
		mf.get("targets").errorf(ruleBackendRef, "MCP backend has no targets (a selector that matches no Service port yields none): the dataplane cannot serve it")
	}
	return m
}

// mcpTargetName is what an MCP target name must look like: it prefixes tool and prompt names.
var mcpTargetName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

func defaultMCPPath(protocol string) string {
	if protocol == "SSE" {
		return "/sse"
	}
	return "/mcp"
}

// selectMCPTargets expands a selector into the matching Services' MCP ports, as the agentgateway
// controller does: ports without an MCP appProtocol are skipped; a selector matching nothing
// yields no targets.
func (c *compiler) selectMCPTargets(namespace string, sf field) ([]MCPTarget, []svcRef) {
	svcSel := sf.at("services", "matchLabels").stringMap()
	nsSel := sf.at("namespaces", "matchLabels").stringMap()
	hasNS := sf.get("namespaces").exists()
	var out []MCPTarget
	var refs []svcRef
	for _, svc := range c.services {
		if !hasNS && ns(svc) != namespace {
			continue
		}
		if hasNS {
			nsObj := c.lookup(GroupCore, "Namespace", "", ns(svc))
			if nsObj == nil || !labelsMatch(nsSel, nsObj.Labels()) {
				continue
			}
		}
		if !labelsMatch(svcSel, svc.Labels()) {
			continue
		}
		path := ""
		if a, ok := svc.Get("metadata", "annotations"); ok {
			if am, ok := a.(map[string]any); ok {
				for _, k := range []string{"agentgateway.dev/mcp-path", "kgateway.dev/mcp-path"} {
					if s, ok := am[k].(string); ok && path == "" {
						path = s
					}
				}
			}
		}
		for _, p := range servicePorts(c, svc) {
			var protocol string
			switch p.appProtocol {
			case "agentgateway.dev/mcp", "kgateway.dev/mcp":
				protocol = "StreamableHTTP"
			case "agentgateway.dev/mcp-sse", "kgateway.dev/mcp-sse":
				protocol = "SSE"
			default:
				continue
			}
			suffix := p.name
			if suffix == "" {
				suffix = strconv.FormatInt(int64(p.port), 10)
			}
			t := MCPTarget{Name: svc.Name + "-" + suffix, Address: c.serviceAddress(svc.Name, ns(svc), p.port), Protocol: protocol, Path: path}
			if t.Path == "" {
				t.Path = defaultMCPPath(protocol)
			}
			out = append(out, t)
			refs = append(refs, svcRef{NamespacedName{Namespace: ns(svc), Name: svc.Name}, p.port})
		}
	}
	if len(out) == 0 {
		sf.warnf(ruleBackendRef, "MCP selector matches no Service port with appProtocol agentgateway.dev/mcp or agentgateway.dev/mcp-sse in the input: the target has no servers")
	}
	return out, refs
}

// svcRef is a Service port a target calls.
type svcRef struct {
	svc  NamespacedName
	port int32
}

func labelsMatch(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// poolBackend compiles an InferencePool.
func (c *compiler) poolBackend(o *manifest.Object) *Backend {
	id := string(KindInferencePool) + "/" + ns(o) + "/" + o.Name
	if b, ok := c.backends[id]; ok {
		return b
	}
	spec := root(c, o).get("spec")
	p := &PoolBackend{
		Selector:    spec.at("selector", "matchLabels").stringMap(),
		AppProtocol: spec.get("appProtocol").strOr("http"),
	}
	for _, tp := range spec.get("targetPorts").list() {
		if n := tp.get("number").port(); n != 0 {
			p.TargetPorts = append(p.TargetPorts, n)
		}
	}
	if len(p.TargetPorts) == 0 {
		spec.get("targetPorts").errorf(ruleBackendRef, "InferencePool needs at least one targetPorts number")
		return nil
	}
	p.Picker = c.endpointPicker(o, spec)
	b := &Backend{ID: id, Kind: KindInferencePool, Namespace: ns(o), Name: o.Name, Pool: p}
	c.backends[id] = b
	return b
}

func joinHostPort(host string, port int32) string {
	if strings.IndexByte(host, ':') >= 0 && !strings.HasPrefix(host, "[") {
		return "[" + host + "]:" + strconv.FormatInt(int64(port), 10)
	}
	return host + ":" + strconv.FormatInt(int64(port), 10)
}
