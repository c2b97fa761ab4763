package validate

import (
	"fmt"
	"sort"
	"strings"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
)

// otherVersions lists the served versions of k's group and kind, when k's version is not one.
func (r *run) otherVersions(k gvk) string {
	var vs []string
	for _, reg := range []*registry{r.overlay, r.v.embedded} {
		reg.readKind(k.Group, k.Kind)
		reg.mu.RLock()
		for kk := range reg.kinds {
			if kk.Group == k.Group && kk.Kind == k.Kind {
				vs = append(vs, kk.Version)
			}
		}
		reg.mu.RUnlock()
	}
	sort.Strings(vs)
	return strings.Join(vs, ", ")
}

// checkCRD compiles each version of a CRD in the input, reporting schemas the API server would refuse.
func checkCRD(o *manifest.Object) []finding.Finding {
	crd, err := crdFromObject(o)
	if err != nil {
		return []finding.Finding{o.Finding("spec", RuleBadSchema, finding.Error, err.Error())}
	}
	reg := newRegistry()
	reg.add(crd, o.File)
	var out []finding.Finding
	for i, v := range crd.Spec.Versions {
		c := reg.kinds[gvk{crd.Spec.Group, v.Name, crd.Spec.Names.Kind}]
		if c == nil {
			continue
		}
		if err := c.compile(); err != nil {
			out = append(out, o.Finding(fmt.Sprintf("spec.versions[%d].schema.openAPIV3Schema", i), RuleBadSchema, finding.Error, err.Error()))
		}
	}
	return out
}
