package refs

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/validate/objects"
)

// mcpAppProtocols are the Service port appProtocols agentgateway expands MCP selectors to.
var mcpAppProtocols = map[string]bool{
	"agentgateway.dev/mcp": true, "agentgateway.dev/mcp-sse": true,
	"kgateway.dev/mcp": true, "kgateway.dev/mcp-sse": true,
}

func checkPolicy(s *objects.Set, e *objects.Entry) []finding.Finding {
	var out []finding.Finding
	spec := objects.MapAt(e.Content, "spec")
	for i, t := range objects.ListAt(spec, "targetRefs") {
		tm, _ := t.(map[string]any)
		r := objects.ReadRef(tm, "", "", e.NS())
		r.NS = e.NS() // targets are in the policy's namespace
		path := fmt.Sprintf("spec.targetRefs[%d]", i)
		target := s.Get(r.Group, r.Kind, r.NS, r.Name)
		if target == nil {
			out = append(out, s.Unresolved(e, path, fmt.Sprintf("target %s not found in the input (targets must be in the policy's namespace)", r)))
			continue
		}
		if r.Section != "" && !hasSection(target, r.Section) {
			out = append(out, e.Obj.Finding(path+".sectionName", RuleTargetRef, finding.Error, fmt.Sprintf("%s has no section %q", r, r.Section)))
		}
	}
	for i, t := range objects.ListAt(spec, "targetSelectors") {
		tm, _ := t.(map[string]any)
		sel := map[string]any{"matchLabels": tm["matchLabels"]}
		found := false
		for _, c := range s.All {
			if c.Obj.Kind == objects.Str(tm, "kind") && c.Obj.Group() == objects.Str(tm, "group") && c.NS() == e.NS() && objects.SelectorMatches(sel, c.Obj.Labels()) {
				found = true
			}
		}
		if !found {
			out = append(out, e.Obj.Finding(fmt.Sprintf("spec.targetSelectors[%d]", i), RuleTargetRef, finding.Warning,
				fmt.Sprintf("targetSelector selects no %s in namespace %s", objects.Str(tm, "kind"), e.NS())))
		}
	}
	for i, p := range objects.ListAt(spec, "traffic", "jwtAuthentication", "providers") {
		pm, _ := p.(map[string]any)
		if br := objects.MapAt(pm, "jwks", "remote", "backendRef"); br != nil {
			out = append(out, checkJWKSBackend(s, e, objects.ReadRef(br, "", "Service", e.NS()), fmt.Sprintf("spec.traffic.jwtAuthentication.providers[%d].jwks.remote.backendRef", i))...)
		}
	}
	if br := objects.MapAt(spec, "backend", "mcp", "authentication", "jwks", "backendRef"); br != nil {
		out = append(out, checkJWKSBackend(s, e, objects.ReadRef(br, "", "Service", e.NS()), "spec.backend.mcp.authentication.jwks.backendRef")...)
	}
	// Every other backendRef (tracing, global rate limit, extAuth, extProc, ...) must resolve.
	walkRefs(spec, "spec", func(path, key string, m map[string]any) {
		switch {
		case key == "backendRef" && !strings.Contains(path, ".jwks."):
			r := objects.ReadRef(m, "", "Service", e.NS())
			switch {
			case r.Group == "" && r.Kind == "Service":
				out = append(out, resolveService(s, e, r, false, path, RuleBackendRef, "")...)
			case r.Group == objects.AgentgatewayGroup && r.Kind == "AgentgatewayBackend":
				if s.Get(r.Group, r.Kind, r.NS, r.Name) == nil {
					out = append(out, s.Unresolved(e, path, fmt.Sprintf("%s not found in the input", r)))
				}
			}
		case key == "secretRef" && objects.Str(m, "name") != "":
			if msg := secretExists(s, e.NS(), objects.Str(m, "name")); msg != "" {
				out = append(out, s.Unresolved(e, path, msg))
			}
		}
	})
	return out
}

// walkRefs calls fn for every map under a key ending in Ref (backendRef, secretRef, ...), in
// the order of sorted keys.
func walkRefs(v any, path string, fn func(path, key string, m map[string]any)) {
	w := refWalker{fn: fn, path: append(make([]byte, 0, 128), path...)}
	w.walk(v)
}

// refWalker builds the path in one buffer and sorts each map's keys in one stack, so that
// visiting every field of every policy allocates only the paths of the refs it finds.
type refWalker struct {
	fn   func(path, key string, m map[string]any)
	path []byte
	keys []string
}

func (w *refWalker) walk(v any) {
	switch t := v.(type) {
	case map[string]any:
		base := len(w.keys)
		for k := range t {
			w.keys = append(w.keys, k)
		}
		slices.Sort(w.keys[base:])
		for i := base; i < len(w.keys); i++ {
			k := w.keys[i]
			l := len(w.path)
			if l > 0 {
				w.path = append(w.path, '.')
			}
			w.path = append(w.path, k...)
			if m, ok := t[k].(map[string]any); ok && (k == "backendRef" || k == "secretRef") {
				w.fn(string(w.path), k, m)
			} else {
				w.walk(t[k])
			}
			w.path = w.path[:l]
		}
		w.keys = w.keys[:base]
	case []any:
		for i, c := range t {
			l := len(w.path)
			w.path = append(w.path, '[')
			w.path = strconv.AppendInt(w.path, int64(i), 10)
			w.path = append(w.path, ']')
			w.walk(c)
			w.path = w.path[:l]
		}
	}
}

// hasSection reports whether a policy target has the section a sectionName names: a Gateway
// listener, an MCP target or an AI provider of an AgentgatewayBackend, a Service port name.
func hasSection(t *objects.Entry, section string) bool {
	if t.Stub {
		return true
	}
	var names []any
	switch t.Obj.Kind {
	case "Gateway":
		names = objects.ListAt(t.Content, "spec", "listeners")
	case "AgentgatewayBackend":
		names = objects.ListAt(t.Content, "spec", "mcp", "targets")
		for _, g := range objects.ListAt(t.Content, "spec", "ai", "groups") {
			names = append(names, objects.ListAt(g, "providers")...)
		}
	case "Service":
		names = objects.ListAt(t.Content, "spec", "ports")
	case "HTTPRoute":
		names = objects.ListAt(t.Content, "spec", "rules")
	default:
		return true
	}
	for _, n := range names {
		if m, _ := n.(map[string]any); objects.Str(m, "name") == section {
			return true
		}
	}
	return false
}

// checkJWKSBackend: the controller fetches remote JWKS from a Service port or a static
// AgentgatewayBackend; anything else never resolves.
func checkJWKSBackend(s *objects.Set, e *objects.Entry, r objects.Ref, path string) []finding.Finding {
	var out []finding.Finding
	switch {
	case r.Group == "" && r.Kind == "Service":
		out = append(out, resolveService(s, e, r, true, path, RuleJWKSBackend, "remote JWKS: ")...)
	case r.Group == objects.AgentgatewayGroup && r.Kind == "AgentgatewayBackend":
		be := s.Get(r.Group, r.Kind, r.NS, r.Name)
		if be == nil {
			out = append(out, s.Unresolved(e, path, fmt.Sprintf("remote JWKS: %s not found in the input", r)))
		} else if !be.Stub && objects.MapAt(be.Content, "spec", "static") == nil {
			out = append(out, e.Obj.Finding(path, RuleJWKSBackend, finding.Error, fmt.Sprintf("remote JWKS: %s has no spec.static: the controller fetches JWKS only from a Service or a static AgentgatewayBackend", r)))
		}
	default:
		out = append(out, e.Obj.Finding(path, RuleJWKSBackend, finding.Error, fmt.Sprintf("remote JWKS backendRef %s: only a Service or an AgentgatewayBackend with spec.static resolve", r)))
	}
	if r.NS != e.NS() && !objects.Granted(s, objects.AgentgatewayGroup, "AgentgatewayPolicy", e.NS(), r) {
		out = append(out, e.Obj.Finding(path, RuleReferenceGrant, finding.Info,
			fmt.Sprintf("remote JWKS in namespace %s: v1.2.1 needs no ReferenceGrant, but from v1.3 (AGW_BACKEND_REF_GRANT_MODE=route-and-policy) one in %s from AgentgatewayPolicy in %s is required", r.NS, r.NS, e.NS())))
	}
	return out
}

func checkBackend(s *objects.Set, e *objects.Entry) []finding.Finding {
	var out []finding.Finding
	spec := objects.MapAt(e.Content, "spec")
	for i, t := range objects.ListAt(spec, "mcp", "targets") {
		tm, _ := t.(map[string]any)
		base := fmt.Sprintf("spec.mcp.targets[%d]", i)
		if sel := objects.MapAt(tm, "selector"); sel != nil {
			out = append(out, checkMCPSelector(s, e, sel, base+".selector")...)
		}
		if br := objects.MapAt(tm, "static", "backendRef"); br != nil {
			out = append(out, resolveService(s, e, objects.Ref{Kind: "Service", NS: e.NS(), Name: objects.Str(br, "name")}, false, base+".static.backendRef", RuleBackendRef, "")...)
		}
	}
	walkRefs(objects.MapAt(spec, "policies"), "spec.policies", func(path, key string, m map[string]any) {
		if key != "secretRef" || objects.Str(m, "name") == "" {
			return
		}
		name := objects.Str(m, "name")
		if msg := secretExists(s, e.NS(), name); msg != "" {
			out = append(out, s.Unresolved(e, path, msg))
			return
		}
		if path == "spec.policies.auth.secretRef" {
			keys := secretKeys(s, e.NS(), name)
			if keys != nil && !contains(keys, "Authorization") {
				sort.Strings(keys)
				out = append(out, e.Obj.Finding(path, RuleSecretRef, finding.Error,
					fmt.Sprintf("Secret %s/%s has keys [%s]; provider auth reads the key Authorization", e.NS(), name, strings.Join(keys, " "))))
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
func checkMCPSelector(s *objects.Set, e *objects.Entry, sel map[string]any, path string) []finding.Finding {
	nsSel := objects.MapAt(sel, "namespaces")
	svcSel := objects.MapAt(sel, "services")
	var matched, mcp []string
	for _, svc := range s.Kind("", "Service") {
		if nsSel == nil {
			if svc.NS() != e.NS() {
				continue
			}
		} else {
			labels := map[string]string{"kubernetes.io/metadata.name": svc.NS()}
			if nsObj := s.Get("", "Namespace", "", svc.NS()); nsObj != nil {
				for k, v := range nsObj.Obj.Labels() {
					labels[k] = v
				}
			}
			if !objects.SelectorMatches(nsSel, labels) {
				continue
			}
		}
		if svcSel != nil && !objects.SelectorMatches(svcSel, svc.Obj.Labels()) {
			continue
		}
		matched = append(matched, svc.NS()+"/"+svc.Obj.Name)
		for _, p := range objects.ListAt(svc.Content, "spec", "ports") {
			pm, _ := p.(map[string]any)
			if mcpAppProtocols[objects.Str(pm, "appProtocol")] {
				mcp = append(mcp, svc.NS()+"/"+svc.Obj.Name)
				break
			}
		}
	}
	switch {
	case len(matched) == 0:
		where := "namespace " + e.NS()
		if nsSel != nil {
			where = "the selected namespaces"
		}
		return []finding.Finding{e.Obj.Finding(path, RuleMCPSelector, finding.Warning, fmt.Sprintf("MCP selector matches no Service in %s: the target expands to zero MCP servers", where))}
	case len(mcp) == 0:
		return []finding.Finding{e.Obj.Finding(path, RuleMCPSelector, finding.Warning,
			fmt.Sprintf("MCP selector matches %s but no port has appProtocol agentgateway.dev/mcp or agentgateway.dev/mcp-sse: such ports are skipped, so the target is empty", strings.Join(matched, ", ")))}
	}
	return nil
}
