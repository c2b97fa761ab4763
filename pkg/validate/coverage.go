package validate

import (
	"fmt"
	"sort"
	"strings"

	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
)

// RuleUnmodelled marks a section of an object that our embedded schema accepts without checks.
const RuleUnmodelled = "schema/unmodelled"

// unmodelledMarker starts the description of the sections our hand-written schemas leave open.
const unmodelledMarker = "gwctl: not modelled"

const embeddedLabel = "embedded:schemas"

func isEmbeddedSource(src string) bool { return strings.HasPrefix(src, embeddedLabel) }

// unmodelled lists the fields of o that fall in sections our schema does not model (verbose only).
func unmodelled(o *manifest.Object, c *crdVersion) []finding.Finding {
	var out []finding.Finding
	var walk func(v any, s *structuralschema.Structural, at string)
	walk = func(v any, s *structuralschema.Structural, at string) {
		if s == nil || v == nil {
			return
		}
		if strings.HasPrefix(s.Generic.Description, unmodelledMarker) {
			out = append(out, o.Finding(at, RuleUnmodelled, finding.Info,
				fmt.Sprintf("%s is not modelled by gwctl's %s schema: accepted without checks", at, o.Kind)))
			return
		}
		switch t := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if p, ok := s.Properties[k]; ok {
					walk(t[k], &p, join(at, k))
				} else if s.AdditionalProperties != nil && s.AdditionalProperties.Structural != nil {
					walk(t[k], s.AdditionalProperties.Structural, join(at, k))
				}
			}
		case []any:
			for i, e := range t {
				walk(e, s.Items, fmt.Sprintf("%s[%d]", at, i))
			}
		}
	}
	walk(o.Content, c.ss, "")
	return out
}

// otherVersions lists the served versions of k's group and kind, when k's version is not one.
func (r *run) otherVersions(k gvk) string {
	var vs []string
	for _, reg := range []*registry{r.overlay, r.v.embedded} {
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
