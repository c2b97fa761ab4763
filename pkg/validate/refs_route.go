package validate

import (
	"fmt"
	"strings"

	"github.com/infergw/gwctl/pkg/finding"
)

// RuleHeaderCase marks header names in one match that differ only in case.
const RuleHeaderCase = "refs/header-case"

func checkRoute(s *objectSet, e *entry) []finding.Finding {
	var out []finding.Finding
	ns := e.ns()
	for i, p := range listAt(e.content, "spec", "parentRefs") {
		pm, _ := p.(map[string]any)
		path := fmt.Sprintf("spec.parentRefs[%d]", i)
		r := readRef(pm, gatewayGroup, "Gateway", ns)
		if r.group != gatewayGroup || r.kind != "Gateway" {
			continue
		}
		gw := s.get(gatewayGroup, "Gateway", r.ns, r.name)
		switch {
		case gw == nil:
			out = append(out, s.unresolved(e, path, fmt.Sprintf("parent Gateway %s/%s not found in the input", r.ns, r.name)))
			continue
		case gw.stub:
			continue // its listeners are not known
		}
		out = append(out, admitted(s, e, gw, r, path)...)
	}
	for i, rule := range listAt(e.content, "spec", "rules") {
		rm, _ := rule.(map[string]any)
		for j, b := range listAt(rm, "backendRefs") {
			bm, _ := b.(map[string]any)
			out = append(out, checkRouteBackend(s, e, readRef(bm, "", "Service", ns), fmt.Sprintf("spec.rules[%d].backendRefs[%d]", i, j))...)
		}
		for j, m := range listAt(rm, "matches") {
			mm, _ := m.(map[string]any)
			for _, list := range []string{"headers", "queryParams"} {
				seen := map[string]string{}
				for k, h := range listAt(mm, list) {
					hm, _ := h.(map[string]any)
					name := str(hm, "name")
					if list == "queryParams" {
						break // query parameter names are case-sensitive
					}
					if prev, ok := seen[strings.ToLower(name)]; ok && prev != name {
						out = append(out, e.obj.Finding(fmt.Sprintf("spec.rules[%d].matches[%d].%s[%d].name", i, j, list, k), RuleHeaderCase, finding.Warning,
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
func admitted(s *objectSet, route, gw *entry, r ref, path string) []finding.Finding {
	listeners := listAt(gw.content, "spec", "listeners")
	var why []string
	matched := false
	for _, l := range listeners {
		lm, _ := l.(map[string]any)
		if r.section != "" && str(lm, "name") != r.section {
			continue
		}
		if r.hasPort {
			if p, _ := num(lm, "port"); p != r.port {
				continue
			}
		}
		matched = true
		if reason := listenerRefuses(s, lm, route, gw); reason != "" {
			why = append(why, fmt.Sprintf("listener %q %s", str(lm, "name"), reason))
			continue
		}
		return nil
	}
	if !matched {
		target := "a listener"
		if r.section != "" {
			target = fmt.Sprintf("listener %q", r.section)
		}
		if r.hasPort {
			target += fmt.Sprintf(" on port %d", r.port)
		}
		return []finding.Finding{route.obj.Finding(path, RuleListener, finding.Error, fmt.Sprintf("Gateway %s/%s has no %s", gw.ns(), gw.obj.Name, target))}
	}
	return []finding.Finding{route.obj.Finding(path, RuleListener, finding.Error,
		fmt.Sprintf("Gateway %s/%s does not admit this route (NotAllowedByListeners): %s", gw.ns(), gw.obj.Name, strings.Join(why, "; ")))}
}

// listenerRefuses says why a listener does not take the route, or "".
func listenerRefuses(s *objectSet, l map[string]any, route, gw *entry) string {
	if kinds := listAt(l, "allowedRoutes", "kinds"); len(kinds) > 0 {
		ok := false
		for _, k := range kinds {
			km, _ := k.(map[string]any)
			g, hasG := km["group"].(string)
			if !hasG {
				g = gatewayGroup
			}
			if str(km, "kind") == "HTTPRoute" && g == gatewayGroup {
				ok = true
			}
		}
		if !ok {
			return "does not allow kind HTTPRoute"
		}
	}
	from := str(mapAt(l, "allowedRoutes", "namespaces"), "from")
	if from == "" {
		from = "Same"
	}
	switch from {
	case "All":
		return ""
	case "Same":
		if route.ns() != gw.ns() {
			return fmt.Sprintf("allows routes from its own namespace (%s) only; set allowedRoutes.namespaces.from: All or Selector", gw.ns())
		}
	case "Selector":
		sel := mapAt(l, "allowedRoutes", "namespaces", "selector")
		nsObj := s.get("", "Namespace", "", route.ns())
		if nsObj == nil {
			return "" // cannot tell without the Namespace: assume it is labelled as intended
		}
		labels := nsObj.obj.Labels()
		labels["kubernetes.io/metadata.name"] = route.ns()
		if !selectorMatches(sel, labels) {
			return fmt.Sprintf("selects namespaces by label and %s does not match", route.ns())
		}
	}
	return ""
}

func checkRouteBackend(s *objectSet, e *entry, r ref, path string) []finding.Finding {
	var out []finding.Finding
	switch {
	case r.group == "" && r.kind == "Service":
		out = append(out, resolveService(s, e, r, false, path, RuleBackendRef, "")...)
	case r.group == agentgatewayGroup && r.kind == "AgentgatewayBackend", r.group == inferenceGroup && r.kind == "InferencePool":
		if s.get(r.group, r.kind, r.ns, r.name) == nil {
			out = append(out, s.unresolved(e, path, fmt.Sprintf("%s not found in the input", r)))
		}
	default:
		out = append(out, e.obj.Finding(path, RuleBackendRef, finding.Warning, fmt.Sprintf("backendRef kind %s is not one agentgateway serves (Service, AgentgatewayBackend, InferencePool)", r)))
	}
	if r.ns != e.ns() {
		if !granted(s, gatewayGroup, "HTTPRoute", e.ns(), r) {
			out = append(out, e.obj.Finding(path, RuleReferenceGrant, finding.Error,
				fmt.Sprintf("backendRef to %s crosses namespaces without a ReferenceGrant in %s from HTTPRoute in %s: agentgateway answers 500 (RefNotPermitted)", r, r.ns, e.ns())))
		} else if r.kind == "InferencePool" {
			out = append(out, e.obj.Finding(path, RuleReferenceGrant, finding.Warning,
				"agentgateway reportedly ignores ReferenceGrants for InferencePool backendRefs: keep the route and the pool in one namespace"))
		}
	}
	return out
}

// selectorMatches evaluates a metav1.LabelSelector (matchLabels and matchExpressions).
func selectorMatches(sel map[string]any, labels map[string]string) bool {
	if sel == nil {
		return false
	}
	for k, v := range mapAt(sel, "matchLabels") {
		if vs, _ := v.(string); labels[k] != vs {
			return false
		}
	}
	for _, x := range listAt(sel, "matchExpressions") {
		xm, _ := x.(map[string]any)
		key := str(xm, "key")
		val, present := labels[key]
		in := false
		for _, v := range listAt(xm, "values") {
			if vs, _ := v.(string); present && vs == val {
				in = true
			}
		}
		switch str(xm, "operator") {
		case "In":
			if !in {
				return false
			}
		case "NotIn":
			if in {
				return false
			}
		case "Exists":
			if !present {
				return false
			}
		case "DoesNotExist":
			if present {
				return false
			}
		}
	}
	return true
}

// checkModelHeader reports X-Gateway-Base-Model-Name values that reach more than one backend
// (or none) on the same Gateway.
func checkModelHeader(s *objectSet) []finding.Finding {
	type use struct {
		e        *entry
		path     string
		parents  []string
		backends []string
	}
	byValue := map[string][]use{}
	for _, e := range s.kind(gatewayGroup, "HTTPRoute") {
		var parents []string
		for _, p := range listAt(e.content, "spec", "parentRefs") {
			pm, _ := p.(map[string]any)
			r := readRef(pm, gatewayGroup, "Gateway", e.ns())
			parents = append(parents, r.ns+"/"+r.name)
		}
		for i, rule := range listAt(e.content, "spec", "rules") {
			rm, _ := rule.(map[string]any)
			var backends []string
			for _, b := range listAt(rm, "backendRefs") {
				bm, _ := b.(map[string]any)
				backends = append(backends, readRef(bm, "", "Service", e.ns()).String())
			}
			for j, m := range listAt(rm, "matches") {
				mm, _ := m.(map[string]any)
				for k, h := range listAt(mm, "headers") {
					hm, _ := h.(map[string]any)
					if !strings.EqualFold(str(hm, "name"), ModelHeader) || (str(hm, "type") != "" && str(hm, "type") != "Exact") {
						continue
					}
					v := str(hm, "value")
					byValue[v] = append(byValue[v], use{e, fmt.Sprintf("spec.rules[%d].matches[%d].headers[%d].value", i, j, k), parents, backends})
				}
			}
		}
	}
	var out []finding.Finding
	for _, value := range sortedKeys(byValue) {
		us := byValue[value]
		perGateway := map[string]map[string]bool{}
		for _, u := range us {
			for _, p := range u.parents {
				if perGateway[p] == nil {
					perGateway[p] = map[string]bool{}
				}
				for _, b := range u.backends {
					perGateway[p][b] = true
				}
			}
		}
		for _, u := range us {
			if len(u.backends) == 0 {
				out = append(out, u.e.obj.Finding(u.path, RuleModelHeader, finding.Error, fmt.Sprintf("model %q is routed to no backend", value)))
				continue
			}
			for _, p := range u.parents {
				if distinct := perGateway[p]; len(distinct) > 1 {
					out = append(out, u.e.obj.Finding(u.path, RuleModelHeader, finding.Error,
						fmt.Sprintf("model %q on Gateway %s is routed to %d backends (%s): each %s value needs exactly one", value, p, len(distinct), strings.Join(sortedKeys(distinct), ", "), ModelHeader)))
					break
				}
			}
		}
	}
	return out
}
