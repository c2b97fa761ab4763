package validate

import (
	"fmt"
	"sort"
	"strings"

	"github.com/infergw/gwctl/pkg/finding"
)

// mcpAppProtocols are the Service port appProtocols agentgateway expands MCP selectors to.
var mcpAppProtocols = map[string]bool{
	"agentgateway.dev/mcp": true, "agentgateway.dev/mcp-sse": true,
	"kgateway.dev/mcp": true, "kgateway.dev/mcp-sse": true,
}

func checkPolicy(s *objectSet, e *entry) []finding.Finding {
	var out []finding.Finding
	spec := mapAt(e.content, "spec")
	for i, t := range listAt(spec, "targetRefs") {
		tm, _ := t.(map[string]any)
		r := readRef(tm, "", "", e.ns())
		r.ns = e.ns() // targets are in the policy's namespace
		path := fmt.Sprintf("spec.targetRefs[%d]", i)
		target := s.get(r.group, r.kind, r.ns, r.name)
		if target == nil {
			out = append(out, s.unresolved(e, path, fmt.Sprintf("target %s not found in the input (targets must be in the policy's namespace)", r)))
			continue
		}
		if r.section != "" && !hasSection(target, r.section) {
			out = append(out, e.obj.Finding(path+".sectionName", RuleTargetRef, finding.Error, fmt.Sprintf("%s has no section %q", r, r.section)))
		}
	}
	for i, t := range listAt(spec, "targetSelectors") {
		tm, _ := t.(map[string]any)
		sel := map[string]any{"matchLabels": tm["matchLabels"]}
		found := false
		for _, c := range s.all {
			if c.obj.Kind == str(tm, "kind") && c.obj.Group() == str(tm, "group") && c.ns() == e.ns() && selectorMatches(sel, c.obj.Labels()) {
				found = true
			}
		}
		if !found {
			out = append(out, e.obj.Finding(fmt.Sprintf("spec.targetSelectors[%d]", i), RuleTargetRef, finding.Warning,
				fmt.Sprintf("targetSelector selects no %s in namespace %s", str(tm, "kind"), e.ns())))
		}
	}
	for i, p := range listAt(spec, "traffic", "jwtAuthentication", "providers") {
		pm, _ := p.(map[string]any)
		if br := mapAt(pm, "jwks", "remote", "backendRef"); br != nil {
			out = append(out, checkJWKSBackend(s, e, readRef(br, "", "Service", e.ns()), fmt.Sprintf("spec.traffic.jwtAuthentication.providers[%d].jwks.remote.backendRef", i))...)
		}
	}
	if br := mapAt(spec, "backend", "mcp", "authentication", "jwks", "backendRef"); br != nil {
		out = append(out, checkJWKSBackend(s, e, readRef(br, "", "Service", e.ns()), "spec.backend.mcp.authentication.jwks.backendRef")...)
	}
	// Every other backendRef (tracing, global rate limit, extAuth, extProc, ...) must resolve.
	walkRefs(spec, "spec", func(path, key string, m map[string]any) {
		switch {
		case key == "backendRef" && !strings.Contains(path, ".jwks."):
			r := readRef(m, "", "Service", e.ns())
			switch {
			case r.group == "" && r.kind == "Service":
				out = append(out, resolveService(s, e, r, false, path, RuleBackendRef, "")...)
			case r.group == agentgatewayGroup && r.kind == "AgentgatewayBackend":
				if s.get(r.group, r.kind, r.ns, r.name) == nil {
					out = append(out, s.unresolved(e, path, fmt.Sprintf("%s not found in the input", r)))
				}
			}
		case key == "secretRef" && str(m, "name") != "":
			if msg := secretExists(s, e.ns(), str(m, "name")); msg != "" {
				out = append(out, s.unresolved(e, path, msg))
			}
		}
	})
	return out
}

// walkRefs calls fn for every map under a key ending in Ref (backendRef, secretRef, ...).
func walkRefs(v any, path string, fn func(path, key string, m map[string]any)) {
	switch t := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(t) {
			p := join(path, k)
			if m, ok := t[k].(map[string]any); ok && (k == "backendRef" || k == "secretRef") {
				fn(p, k, m)
				continue
			}
			walkRefs(t[k], p, fn)
		}
	case []any:
		for i, c := range t {
			walkRefs(c, fmt.Sprintf("%s[%d]", path, i), fn)
		}
	}
}

// hasSection reports whether a policy target has the section a sectionName names: a Gateway
// listener, an MCP target or an AI provider of an AgentgatewayBackend, a Service port name.
func hasSection(t *entry, section string) bool {
	if t.stub {
		return true
	}
	var names []any
	switch t.obj.Kind {
	case "Gateway":
		names = listAt(t.content, "spec", "listeners")
	case "AgentgatewayBackend":
		names = listAt(t.content, "spec", "mcp", "targets")
		for _, g := range listAt(t.content, "spec", "ai", "groups") {
			names = append(names, listAt(g, "providers")...)
		}
	case "Service":
		names = listAt(t.content, "spec", "ports")
	case "HTTPRoute":
		names = listAt(t.content, "spec", "rules")
	default:
		return true
	}
	for _, n := range names {
		if m, _ := n.(map[string]any); str(m, "name") == section {
			return true
		}
	}
	return false
}

// checkJWKSBackend: the controller fetches remote JWKS from a Service port or a static
// AgentgatewayBackend; anything else never resolves.
func checkJWKSBackend(s *objectSet, e *entry, r ref, path string) []finding.Finding {
	var out []finding.Finding
	switch {
	case r.group == "" && r.kind == "Service":
		out = append(out, resolveService(s, e, r, true, path, RuleJWKSBackend, "remote JWKS: ")...)
	case r.group == agentgatewayGroup && r.kind == "AgentgatewayBackend":
		be := s.get(r.group, r.kind, r.ns, r.name)
		if be == nil {
			out = append(out, s.unresolved(e, path, fmt.Sprintf("remote JWKS: %s not found in the input", r)))
		} else if !be.stub && mapAt(be.content, "spec", "static") == nil {
			out = append(out, e.obj.Finding(path, RuleJWKSBackend, finding.Error, fmt.Sprintf("remote JWKS: %s has no spec.static: the controller fetches JWKS only from a Service or a static AgentgatewayBackend", r)))
		}
	default:
		out = append(out, e.obj.Finding(path, RuleJWKSBackend, finding.Error, fmt.Sprintf("remote JWKS backendRef %s: only a Service or an AgentgatewayBackend with spec.static resolve", r)))
	}
	if r.ns != e.ns() && !granted(s, agentgatewayGroup, "AgentgatewayPolicy", e.ns(), r) {
		out = append(out, e.obj.Finding(path, RuleReferenceGrant, finding.Info,
			fmt.Sprintf("remote JWKS in namespace %s: v1.2.1 needs no ReferenceGrant, but from v1.3 (AGW_BACKEND_REF_GRANT_MODE=route-and-policy) one in %s from AgentgatewayPolicy in %s is required", r.ns, r.ns, e.ns())))
	}
	return out
}

func checkBackend(s *objectSet, e *entry) []finding.Finding {
	var out []finding.Finding
	spec := mapAt(e.content, "spec")
	for i, t := range listAt(spec, "mcp", "targets") {
		tm, _ := t.(map[string]any)
		base := fmt.Sprintf("spec.mcp.targets[%d]", i)
		if sel := mapAt(tm, "selector"); sel != nil {
			out = append(out, checkMCPSelector(s, e, sel, base+".selector")...)
		}
		if br := mapAt(tm, "static", "backendRef"); br != nil {
			out = append(out, resolveService(s, e, ref{kind: "Service", ns: e.ns(), name: str(br, "name")}, false, base+".static.backendRef", RuleBackendRef, "")...)
		}
	}
	walkRefs(mapAt(spec, "policies"), "spec.policies", func(path, key string, m map[string]any) {
		if key != "secretRef" || str(m, "name") == "" {
			return
		}
		name := str(m, "name")
		if msg := secretExists(s, e.ns(), name); msg != "" {
			out = append(out, s.unresolved(e, path, msg))
			return
		}
		if path == "spec.policies.auth.secretRef" {
			keys := secretKeys(s, e.ns(), name)
			if keys != nil && !contains(keys, "Authorization") {
				sort.Strings(keys)
				out = append(out, e.obj.Finding(path, RuleSecretRef, finding.Error,
					fmt.Sprintf("Secret %s/%s has keys [%s]; provider auth reads the key Authorization", e.ns(), name, strings.Join(keys, " "))))
			}
		}
	})
	return out
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// checkMCPSelector: the selector must reach a Service port whose appProtocol is MCP, or the
// target expands to nothing (agentgateway does not report it).
func checkMCPSelector(s *objectSet, e *entry, sel map[string]any, path string) []finding.Finding {
	nsSel := mapAt(sel, "namespaces")
	svcSel := mapAt(sel, "services")
	var matched, mcp []string
	for _, svc := range s.kind("", "Service") {
		if nsSel == nil {
			if svc.ns() != e.ns() {
				continue
			}
		} else {
			labels := map[string]string{"kubernetes.io/metadata.name": svc.ns()}
			if nsObj := s.get("", "Namespace", "", svc.ns()); nsObj != nil {
				for k, v := range nsObj.obj.Labels() {
					labels[k] = v
				}
			}
			if !selectorMatches(nsSel, labels) {
				continue
			}
		}
		if svcSel != nil && !selectorMatches(svcSel, svc.obj.Labels()) {
			continue
		}
		matched = append(matched, svc.ns()+"/"+svc.obj.Name)
		for _, p := range listAt(svc.content, "spec", "ports") {
			pm, _ := p.(map[string]any)
			if mcpAppProtocols[str(pm, "appProtocol")] {
				mcp = append(mcp, svc.ns()+"/"+svc.obj.Name)
				break
			}
		}
	}
	switch {
	case len(matched) == 0:
		where := "namespace " + e.ns()
		if nsSel != nil {
			where = "the selected namespaces"
		}
		return []finding.Finding{e.obj.Finding(path, RuleMCPSelector, finding.Warning, fmt.Sprintf("MCP selector matches no Service in %s: the target expands to zero MCP servers", where))}
	case len(mcp) == 0:
		return []finding.Finding{e.obj.Finding(path, RuleMCPSelector, finding.Warning,
			fmt.Sprintf("MCP selector matches %s but no port has appProtocol agentgateway.dev/mcp or agentgateway.dev/mcp-sse: such ports are skipped, so the target is empty", strings.Join(matched, ", ")))}
	}
	return nil
}
