package validate

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/validate/objects"
)

// objectSet indexes the input for the checks over the whole set, in the validator's world,
// with the objects known to exist outside it.
func (v *Validator) objectSet(objs []*manifest.Object, defaulted []map[string]any) *objects.Set {
	s := objects.New(objs, defaulted)
	s.Open = v.opts.OpenWorld
	s.AddKnown(v.opts.Known)
	return s
}

// restated drops the compiler's findings about references to objects that are not in the
// input: the cross-resource checks report each such reference, as an error or a warning by
// the world (refs/unresolved), or resolve it against Options.Known, which the compiler does
// not see. In an open world it drops the compiler's duplicates too: it compares objects of
// unrelated inputs.
func (v *Validator) restated(compiled []finding.Finding) (kept, dropped []finding.Finding) {
	if v.opts.SkipCrossResource {
		return compiled, nil
	}
	for _, f := range compiled {
		if strings.HasSuffix(f.Message, ", which is not in the input") ||
			strings.Contains(f.Message, " is not in the input (and no ") { // a Service: the dataplane's overrides name none
			dropped = append(dropped, f)
			continue
		}
		// Duplicates are set/duplicate-object's to judge: the compiler sees one world.
		if v.opts.OpenWorld && f.Rule == "gateway.duplicate" && f.Field == "metadata.name" {
			continue
		}
		kept = append(kept, f)
	}
	return kept, dropped
}

// knockOns are compiler findings that only follow from others beneath their field: alone they
// do not say what to fix.
var knockOns = map[string]bool{
	"jwtAuthentication has no usable provider":               true,
	"spec.ai.groups has no provider the dataplane can serve": true,
}

// maxCauses bounds the causes one knock-on finding names.
const maxCauses = 3

// explainKnockOns names the causes of each knock-on finding: the findings about the same
// object beneath its field. When every cause is a warning (a reference the open world
// assumes is satisfied outside the input), the knock-on is a warning too; when its only
// causes are references the compiler could not see and the cross-resource checks resolved
// (restated, with nothing reported), it goes.
func explainKnockOns(fs, restated []finding.Finding) []finding.Finding {
	beneath := func(g, f *finding.Finding) bool {
		return g.Severity != finding.Info && g.File == f.File && g.Resource == f.Resource &&
			(strings.HasPrefix(g.Field, f.Field+"[") || strings.HasPrefix(g.Field, f.Field+"."))
	}
	out := fs[:0]
	for i := range fs {
		f := fs[i]
		if !knockOns[f.Message] || f.Field == "" {
			out = append(out, f)
			continue
		}
		var causes []finding.Finding
		for j := range fs {
			if beneath(&fs[j], &f) {
				causes = append(causes, fs[j])
			}
		}
		if len(causes) == 0 {
			if !slices.ContainsFunc(restated, func(g finding.Finding) bool { return beneath(&g, &f) }) {
				out = append(out, f)
			}
			continue
		}
		sort.SliceStable(causes, func(a, b int) bool { return causes[a].Field < causes[b].Field })
		leaf := f.Field[strings.LastIndexByte(f.Field, '.')+1:]
		worst := finding.Info
		var parts []string
		for j, c := range causes {
			worst = max(worst, c.Severity)
			if j < maxCauses {
				parts = append(parts, fmt.Sprintf("%s%s: %s (see %s)", leaf, strings.TrimPrefix(c.Field, f.Field), c.Message, c.Rule))
			}
		}
		if len(causes) > maxCauses {
			parts = append(parts, fmt.Sprintf("and %d more", len(causes)-maxCauses))
		}
		f.Message += ": " + strings.Join(parts, "; ")
		if worst < f.Severity {
			f.Severity = worst
		}
		out = append(out, f)
	}
	return out
}
