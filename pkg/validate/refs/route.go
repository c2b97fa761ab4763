package refs

import (
	"fmt"
	"slices"
	"strings"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/validate/objects"
)

// RuleHeaderCase marks header names in one match that differ only in case.
const RuleHeaderCase = "refs/header-case"

func checkRoute(s *objects.Set, e *objects.Entry) []finding.Finding {
	var out []finding.Finding
	ns := e.NS()
	for i, p := range objects.ListAt(e.Content, "spec", "parentRefs") {
		pm, _ := p.(map[string]any)
		path := fmt.Sprintf("spec.parentRefs[%d]", i)
		r := objects.ReadRef(pm, objects.GatewayGroup, "Gateway", ns)
		if r.Group != objects.GatewayGroup || r.Kind != "Gateway" {
			continue
		}
		gw := s.Get(objects.GatewayGroup, "Gateway", r.NS, r.Name)
		switch {
		case gw == nil:
			out = append(out, s.Unresolved(e, path, fmt.Sprintf("parent Gateway %s/%s not found in the input", r.NS, r.Name)))
			continue
		case gw.Stub:
			continue // its listeners are not known
		}
		out = append(out, admitted(s, e, gw, r, path)...)
	}
	for i, rule := range objects.ListAt(e.Content, "spec", "rules") {
		rm, _ := rule.(map[string]any)
		for j, b := range objects.ListAt(rm, "backendRefs") {
			bm, _ := b.(map[string]any)
			out = append(out, checkRouteBackend(s, e, objects.ReadRef(bm, "", "Service", ns), fmt.Sprintf("spec.rules[%d].backendRefs[%d]", i, j))...)
		}
		for j, m := range objects.ListAt(rm, "matches") {
			mm, _ := m.(map[string]any)
			for _, list := range []string{"headers", "queryParams"} {
				seen := map[string]string{}
				for k, h := range objects.ListAt(mm, list) {
					hm, _ := h.(map[string]any)
					name := objects.Str(hm, "name")
					if list == "queryParams" {
						break // query parameter names are case-sensitive
					}
					if prev, ok := seen[strings.ToLower(name)]; ok && prev != name {
						out = append(out, e.Obj.Finding(fmt.Sprintf("spec.rules[%d].matches[%d].%s[%d].name", i, j, list, k), RuleHeaderCase, finding.Warning,
							fmt.Sprintf("header %q repeats %q in another case: header names match case-insensitively and only the first counts", name, prev)))
					}
					seen[strings.ToLower(name)] = name
				}
			}
		}
	}
	return out
}

// admitted checks that some listener of gw takes the route (sectionName, port, allowedRoutes).
func admitted(s *objects.Set, route, gw *objects.Entry, r objects.Ref, path string) []finding.Finding {
	listeners := objects.ListAt(gw.Content, "spec", "listeners")
	var why []string
	matched := false
	for _, l := range listeners {
		lm, _ := l.(map[string]any)
		if r.Section != "" && objects.Str(lm, "name") != r.Section {
			continue
		}
		if r.HasPort {
			if p, _ := objects.Num(lm, "port"); p != r.Port {
				continue
			}
		}
		matched = true
		if reason := listenerRefuses(s, lm, route, gw); reason != "" {
			why = append(why, fmt.Sprintf("listener %q %s", objects.Str(lm, "name"), reason))
			continue
		}
		return nil
	}
	if !matched {
		target := "a listener"
		if r.Section != "" {
			target = fmt.Sprintf("listener %q", r.Section)
		}
		if r.HasPort {
			target += fmt.Sprintf(" on port %d", r.Port)
		}
		return []finding.Finding{route.Obj.Finding(path, RuleListener, finding.Error, fmt.Sprintf("Gateway %s/%s has no %s", gw.NS(), gw.Obj.Name, target))}
	}
	return []finding.Finding{route.Obj.Finding(path, RuleListener, finding.Error,
		fmt.Sprintf("Gateway %s/%s does not admit this route (NotAllowedByListeners): %s", gw.NS(), gw.Obj.Name, strings.Join(why, "; ")))}
}

// listenerRefuses says why a listener does not take the route, or "".
func listenerRefuses(s *objects.Set, l map[string]any, route, gw *objects.Entry) string {
	if kinds := objects.ListAt(l, "allowedRoutes", "kinds"); len(kinds) > 0 {
		ok := false
		for _, k := range kinds {
			km, _ := k.(map[string]any)
			g, hasG := km["group"].(string)
			if !hasG {
				g = objects.GatewayGroup
			}
			if objects.Str(km, "kind") == "HTTPRoute" && g == objects.GatewayGroup {
				ok = true
			}
		}
		if !ok {
			return "does not allow kind HTTPRoute"
		}
	}
	from := objects.Str(objects.MapAt(l, "allowedRoutes", "namespaces"), "from")
	if from == "" {
		from = "Same"
	}
	switch from {
	case "All":
		return ""
	case "Same":
		if route.NS() != gw.NS() {
			return fmt.Sprintf("allows routes from its own namespace (%s) only; set allowedRoutes.namespaces.from: All or Selector", gw.NS())
		}
	case "Selector":
		sel := objects.MapAt(l, "allowedRoutes", "namespaces", "selector")
		nsObj := s.Get("", "Namespace", "", route.NS())
		if nsObj == nil {
			return "" // cannot tell without the Namespace: assume it is labelled as intended
		}
		labels := nsObj.Obj.Labels()
		labels["kubernetes.io/metadata.name"] = route.NS()
		if !objects.SelectorMatches(sel, labels) {
			return fmt.Sprintf("selects namespaces by label and %s does not match", route.NS())
		}
	}
	return ""
}

func checkRouteBackend(s *objects.Set, e *objects.Entry, r objects.Ref, path string) []finding.Finding {
	var out []finding.Finding
	switch {
	case r.Group == "" && r.Kind == "Service":
		out = append(out, resolveService(s, e, r, false, path, RuleBackendRef, "")...)
	case r.Group == objects.AgentgatewayGroup && r.Kind == "AgentgatewayBackend", r.Group == objects.InferenceGroup && r.Kind == "InferencePool":
		if s.Get(r.Group, r.Kind, r.NS, r.Name) == nil {
			out = append(out, s.Unresolved(e, path, fmt.Sprintf("%s not found in the input", r)))
		}
	default:
		out = append(out, e.Obj.Finding(path, RuleBackendRef, finding.Warning, fmt.Sprintf("backendRef kind %s is not one agentgateway serves (Service, AgentgatewayBackend, InferencePool)", r)))
	}
	if r.NS != e.NS() {
		if !objects.Granted(s, objects.GatewayGroup, "HTTPRoute", e.NS(), r) {
			out = append(out, e.Obj.Finding(path, RuleReferenceGrant, finding.Error,
				fmt.Sprintf("backendRef to %s crosses namespaces without a ReferenceGrant in %s from HTTPRoute in %s: agentgateway answers 500 (RefNotPermitted)", r, r.NS, e.NS())))
		} else if r.Kind == "InferencePool" {
			out = append(out, e.Obj.Finding(path, RuleReferenceGrant, finding.Warning,
				"agentgateway reportedly ignores ReferenceGrants for InferencePool backendRefs: keep the route and the pool in one namespace"))
		}
	}
	return out
}

// checkModelHeader reports X-Gateway-Base-Model-Name values that rules with different backends
// match on the same Gateway (or that reach no backend).
func checkModelHeader(s *objects.Set) []finding.Finding {
	type use struct {
		e        *objects.Entry
		path     string
		parents  []string
		backends []string
	}
	byValue := map[string][]use{}
	for _, e := range s.Kind(objects.GatewayGroup, "HTTPRoute") {
		var parents []string
		for _, p := range objects.ListAt(e.Content, "spec", "parentRefs") {
			pm, _ := p.(map[string]any)
			r := objects.ReadRef(pm, objects.GatewayGroup, "Gateway", e.NS())
			parents = append(parents, r.NS+"/"+r.Name)
		}
		for i, rule := range objects.ListAt(e.Content, "spec", "rules") {
			rm, _ := rule.(map[string]any)
			var backends []string
			for _, b := range objects.ListAt(rm, "backendRefs") {
				bm, _ := b.(map[string]any)
				backends = append(backends, objects.ReadRef(bm, "", "Service", e.NS()).String())
			}
			for j, m := range objects.ListAt(rm, "matches") {
				mm, _ := m.(map[string]any)
				for k, h := range objects.ListAt(mm, "headers") {
					hm, _ := h.(map[string]any)
					if !strings.EqualFold(objects.Str(hm, "name"), objects.ModelHeader) || (objects.Str(hm, "type") != "" && objects.Str(hm, "type") != "Exact") {
						continue
					}
					v := objects.Str(hm, "value")
					byValue[v] = append(byValue[v], use{e, fmt.Sprintf("spec.rules[%d].matches[%d].headers[%d].value", i, j, k), parents, backends})
				}
			}
		}
	}
	var out []finding.Finding
	for _, value := range sortedKeys(byValue) {
		us := byValue[value]
		// The weighted backendRefs of one rule are one routing decision (a 90/10 canary):
		// only rules whose backend sets differ disagree about where the model goes.
		perGateway := map[string]map[string]bool{}
		for _, u := range us {
			set := slices.Clone(u.backends)
			slices.Sort(set)
			set = slices.Compact(set)
			for _, p := range u.parents {
				if perGateway[p] == nil {
					perGateway[p] = map[string]bool{}
				}
				perGateway[p]["["+strings.Join(set, ", ")+"]"] = true
			}
		}
		for _, u := range us {
			if len(u.backends) == 0 {
				out = append(out, u.e.Obj.Finding(u.path, RuleModelHeader, finding.Error, fmt.Sprintf("model %q is routed to no backend", value)))
				continue
			}
			for _, p := range u.parents {
				if distinct := perGateway[p]; len(distinct) > 1 {
					out = append(out, u.e.Obj.Finding(u.path, RuleModelHeader, finding.Error,
						fmt.Sprintf("model %q on Gateway %s is matched by rules routing to %d different backend sets (%s): each %s value needs exactly one rule", value, p, len(distinct), strings.Join(sortedKeys(distinct), " vs "), objects.ModelHeader)))
					break
				}
			}
		}
	}
	return out
}
