package kube

import (
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/infergw/gwctl/pkg/gateway"
)

// backendTLSStatus is a BackendTLSPolicy's status: its ancestors are our Gateways whose routes
// send to a Service it targets (the Gateway API's choice for BackendTLSPolicy), each with the
// compile's Accepted and ResolvedRefs. Nil when it has no such Gateway, now or before.
func backendTLSStatus(u *unstructured.Unstructured, ctl string, out *gateway.Outcome, byKey map[string]*unstructured.Unstructured) map[string]any {
	po := out.TLSPolicies[gateway.NamespacedName{Namespace: u.GetNamespace(), Name: u.GetName()}]
	var refs []map[string]any
	if po != nil {
		services := map[string]bool{}
		targets, _, _ := unstructured.NestedSlice(u.Object, "spec", "targetRefs")
		for _, t := range targets {
			if m, _ := t.(map[string]any); m != nil && (m["group"] == nil || m["group"] == "") && m["kind"] == "Service" {
				name, _ := m["name"].(string)
				services[name] = true
			}
		}
		gws := map[gateway.NamespacedName]bool{}
		for n, ro := range out.Routes {
			r := byKey[objKey("HTTPRoute", n.Namespace, n.Name)]
			if r == nil || !sendsTo(r, u.GetNamespace(), services) {
				continue
			}
			for _, p := range ro.Parents {
				if p.Accepted.OK {
					gws[p.Gateway] = true
				}
			}
		}
		sorted := make([]gateway.NamespacedName, 0, len(gws))
		for g := range gws {
			sorted = append(sorted, g)
		}
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].String() < sorted[j].String() })
		for _, g := range sorted {
			refs = append(refs, map[string]any{"group": gateway.GroupGateway, "kind": "Gateway", "namespace": g.Namespace, "name": g.Name})
		}
	}
	return ancestorStatus(u, ctl, refs, func(old []any) []any {
		return conditions(old, u.GetGeneration(), nc("Accepted", fromCond(po.Accepted)), nc("ResolvedRefs", fromCond(po.ResolvedRefs)))
	})
}

// sendsTo reports whether HTTPRoute r has a backendRef to one of services in namespace ns.
func sendsTo(r *unstructured.Unstructured, ns string, services map[string]bool) bool {
	rules, _, _ := unstructured.NestedSlice(r.Object, "spec", "rules")
	for _, rule := range rules {
		rm, _ := rule.(map[string]any)
		refs, _, _ := unstructured.NestedSlice(rm, "backendRefs")
		for _, b := range refs {
			m, _ := b.(map[string]any)
			group, _ := m["group"].(string)
			kind, _ := m["kind"].(string)
			name, _ := m["name"].(string)
			bns, _ := m["namespace"].(string)
			if bns == "" {
				bns = r.GetNamespace()
			}
			if group == "" && (kind == "" || kind == "Service") && bns == ns && services[name] {
				return true
			}
		}
	}
	return false
}
