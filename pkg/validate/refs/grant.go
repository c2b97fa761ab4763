package refs

import (
	"fmt"
	"slices"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/validate/objects"
)

// RuleGrantNamespace marks a ReferenceGrant that sits in the wrong namespace, the usual result
// of a kustomization's namespace: rewriting it along with the objects it grants from.
const RuleGrantNamespace = "refs/reference-grant-namespace"

// checkGrant reports a ReferenceGrant that can grant nothing: every from entry names its own
// namespace (same-namespace references need no grant), or a to entry matches nothing in its
// namespace while an object of the from side references such an object in another namespace.
func checkGrant(s *objects.Set, e *objects.Entry) []finding.Finding {
	var out []finding.Finding
	froms := objects.ListAt(e.Content, "spec", "from")
	own := len(froms) > 0
	for _, f := range froms {
		if fm, _ := f.(map[string]any); objects.Str(fm, "namespace") != e.NS() {
			own = false
		}
	}
	if own {
		out = append(out, e.Obj.Finding("spec.from", RuleGrantNamespace, finding.Warning,
			fmt.Sprintf("every from entry names the grant's own namespace %s, where no grant is needed: a kustomization namespace: probably moved this ReferenceGrant out of the namespace it grants into", e.NS())))
		return out
	}
	for i, t := range objects.ListAt(e.Content, "spec", "to") {
		tm, _ := t.(map[string]any)
		group, kind, name := objects.Str(tm, "group"), objects.Str(tm, "kind"), objects.Str(tm, "name")
		if grantTargetIn(s, group, kind, name, e.NS()) {
			continue
		}
		if where := grantedElsewhere(s, froms, group, kind, name, e.NS()); where != "" {
			out = append(out, e.Obj.Finding(fmt.Sprintf("spec.to[%d]", i), RuleGrantNamespace, finding.Warning,
				fmt.Sprintf("no %s%s is in %s, but %s: a ReferenceGrant only works in the namespace of its targets", kind, nameSuffix(name), e.NS(), where)))
		}
	}
	return out
}

func nameSuffix(name string) string {
	if name == "" {
		return ""
	}
	return " " + name
}

// grantTargetIn reports whether an object matching a to entry is in ns.
func grantTargetIn(s *objects.Set, group, kind, name, ns string) bool {
	if name != "" {
		return s.Get(group, kind, ns, name) != nil
	}
	for _, o := range s.Kind(group, kind) {
		if o.NS() == ns {
			return true
		}
	}
	return false
}

// grantedElsewhere names a from-side object that references an existing object matching the
// to entry in a namespace other than the grant's ("HTTPRoute apps/r references Service
// serving/vllm"); "" when there is none.
func grantedElsewhere(s *objects.Set, froms []any, group, kind, name, grantNS string) string {
	var found []string
	for _, f := range froms {
		fm, _ := f.(map[string]any)
		for _, src := range s.Kind(objects.Str(fm, "group"), objects.Str(fm, "kind")) {
			if src.NS() != objects.Str(fm, "namespace") {
				continue
			}
			namespacedRefs(src.Content, func(m map[string]any) {
				r := objects.ReadRef(m, group, kind, src.NS())
				if r.Group != group || r.Kind != kind || r.NS == src.NS() || r.NS == grantNS || (name != "" && r.Name != name) {
					return
				}
				if s.Get(group, kind, r.NS, r.Name) != nil {
					found = append(found, fmt.Sprintf("%s %s/%s references %s %s/%s", src.Obj.Kind, src.NS(), src.Obj.Name, kind, r.NS, r.Name))
				}
			})
		}
	}
	slices.Sort(found)
	if len(found) == 0 {
		return ""
	}
	return found[0]
}

// namespacedRefs calls fn on every map that has both a name and a namespace: the shape of a
// cross-namespace reference (backendRefs, certificateRefs). parentRefs and targetRefs are
// skipped: no ReferenceGrant governs them.
func namespacedRefs(v any, fn func(map[string]any)) {
	switch t := v.(type) {
	case map[string]any:
		if _, ok := t["name"].(string); ok {
			if _, ok := t["namespace"].(string); ok {
				fn(t)
			}
		}
		for k, c := range t {
			if k != "metadata" && k != "status" && k != "parentRefs" && k != "targetRefs" {
				namespacedRefs(c, fn)
			}
		}
	case []any:
		for _, c := range t {
			namespacedRefs(c, fn)
		}
	}
}
