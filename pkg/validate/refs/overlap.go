package refs

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/validate/objects"
)

// RuleRouteConflict marks two routes on one Gateway whose hostnames and matches are identical:
// only one of them gets the traffic (Gateway API precedence: oldest, then name).
const RuleRouteConflict = "refs/route-conflict"

// checkRouteConflicts reports rule matches that an earlier route on the same Gateway already
// claims for the same hostname.
func CheckRouteConflicts(s *objects.Set) []finding.Finding {
	type claim struct {
		e    *objects.Entry
		path string
	}
	seen := map[string]claim{}
	var out []finding.Finding
	for _, rt := range s.Kind(objects.GatewayGroup, "HTTPRoute") {
		hosts := []string{"*"}
		if hs := objects.ListAt(rt.Content, "spec", "hostnames"); len(hs) > 0 {
			hosts = hosts[:0]
			for _, h := range hs {
				if hv, ok := h.(string); ok {
					hosts = append(hosts, strings.ToLower(hv))
				}
			}
		}
		var parents []string
		for _, p := range objects.ListAt(rt.Content, "spec", "parentRefs") {
			pm, _ := p.(map[string]any)
			r := objects.ReadRef(pm, objects.GatewayGroup, "Gateway", rt.NS())
			parents = append(parents, r.NS+"/"+r.Name+"/"+r.Section)
		}
		for i, rule := range objects.ListAt(rt.Content, "spec", "rules") {
			matches := objects.ListAt(rule, "matches")
			if len(matches) == 0 {
				matches = []any{map[string]any{}}
			}
			for j, m := range matches {
				sig := matchSignature(m)
				path := fmt.Sprintf("spec.rules[%d].matches[%d]", i, j)
				if len(objects.ListAt(rule, "matches")) == 0 {
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
						out = append(out, rt.Obj.Finding(path, RuleRouteConflict, finding.Warning,
							fmt.Sprintf("HTTPRoute %s/%s %s already matches the same requests (host %s) on Gateway %s: only one route gets them", prev.e.NS(), prev.e.Obj.Name, prev.path, h, strings.TrimSuffix(parent, "/"))))
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
	path := objects.MapAt(mm, "path")
	pt, pv := objects.Str(path, "type"), objects.Str(path, "value")
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
			t := objects.Str(xm, "type")
			if t == "" {
				t = "Exact"
			}
			out = append(out, strings.ToLower(objects.Str(xm, "name"))+"="+t+":"+objects.Str(xm, "value"))
		}
		sort.Strings(out)
		return out
	}
	sig, _ := json.Marshal([]any{pt, pv, objects.Str(mm, "method"), canon(objects.ListAt(mm, "headers")), canon(objects.ListAt(mm, "queryParams"))})
	return string(sig)
}
