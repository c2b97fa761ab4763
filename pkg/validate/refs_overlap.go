package validate

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/infergw/gwctl/pkg/finding"
)

// RuleRouteConflict marks two routes on one Gateway whose hostnames and matches are identical:
// only one of them gets the traffic (Gateway API precedence: oldest, then name).
const RuleRouteConflict = "refs/route-conflict"

// checkRouteConflicts reports rule matches that an earlier route on the same Gateway already
// claims for the same hostname.
func checkRouteConflicts(s *objectSet) []finding.Finding {
	type claim struct {
		e    *entry
		path string
	}
	seen := map[string]claim{}
	var out []finding.Finding
	for _, rt := range s.kind(gatewayGroup, "HTTPRoute") {
		hosts := []string{"*"}
		if hs := listAt(rt.content, "spec", "hostnames"); len(hs) > 0 {
			hosts = hosts[:0]
			for _, h := range hs {
				if hv, ok := h.(string); ok {
					hosts = append(hosts, strings.ToLower(hv))
				}
			}
		}
		var parents []string
		for _, p := range listAt(rt.content, "spec", "parentRefs") {
			pm, _ := p.(map[string]any)
			r := readRef(pm, gatewayGroup, "Gateway", rt.ns())
			parents = append(parents, r.ns+"/"+r.name+"/"+r.section)
		}
		for i, rule := range listAt(rt.content, "spec", "rules") {
			matches := listAt(rule, "matches")
			if len(matches) == 0 {
				matches = []any{map[string]any{}}
			}
			for j, m := range matches {
				sig := matchSignature(m)
				path := fmt.Sprintf("spec.rules[%d].matches[%d]", i, j)
				if len(listAt(rule, "matches")) == 0 {
					path = fmt.Sprintf("spec.rules[%d]", i)
				}
				for _, parent := range parents {
					for _, h := range hosts {
						key := parent + "\x00" + h + "\x00" + sig
						prev, ok := seen[key]
						if !ok {
							seen[key] = claim{rt, path}
							continue
						}
						if prev.e == rt {
							continue // repeats inside one route are the schema's business
						}
						out = append(out, rt.obj.Finding(path, RuleRouteConflict, finding.Warning,
							fmt.Sprintf("HTTPRoute %s/%s %s already matches the same requests (host %s) on Gateway %s: only one route gets them", prev.e.ns(), prev.e.obj.Name, prev.path, h, strings.TrimSuffix(parent, "/"))))
					}
				}
			}
		}
	}
	return out
}

// matchSignature is a canonical form of one HTTPRouteMatch with the API's defaults applied.
func matchSignature(m any) string {
	mm, _ := m.(map[string]any)
	path := mapAt(mm, "path")
	pt, pv := str(path, "type"), str(path, "value")
	if pt == "" {
		pt = "PathPrefix"
	}
	if pv == "" {
		pv = "/"
	}
	canon := func(list []any) []string {
		var out []string
		for _, x := range list {
			xm, _ := x.(map[string]any)
			t := str(xm, "type")
			if t == "" {
				t = "Exact"
			}
			out = append(out, strings.ToLower(str(xm, "name"))+"="+t+":"+str(xm, "value"))
		}
		sort.Strings(out)
		return out
	}
	sig, _ := json.Marshal([]any{pt, pv, str(mm, "method"), canon(listAt(mm, "headers")), canon(listAt(mm, "queryParams"))})
	return string(sig)
}
