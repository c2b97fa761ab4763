package render

import (
	"fmt"

	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/charts"
)

// ChartUse is one place a remote chart is used.
type ChartUse struct {
	charts.Ref
	// Group is the group that renders it; Where the file and field naming it.
	Group, Where string
}

// RemoteCharts lists every remote chart the catalog can render, whether its group is enabled
// or not (one lock serves every environment): the groups' remote charts and the helmCharts
// with a repo of the kustomizations each group builds. A chart Kustomize would find in its
// chartHome is in the repo already and is not listed.
func RemoteCharts(cat *catalog.Catalog) ([]ChartUse, error) {
	var out []ChartUse
	for _, g := range cat.Groups {
		for i, ch := range g.Charts {
			if ch.Remote != nil {
				out = append(out, ChartUse{Ref: *ch.Remote, Group: g.Name, Where: fmt.Sprintf("%s: spec.content.charts[%d]", g.File, i)})
			}
		}
		if !g.Kustomize {
			continue
		}
		_, ks, err := groupKustomizations(g)
		if err != nil {
			return nil, fmt.Errorf("group %q: %w", g.Name, err)
		}
		uses, err := kustomizationCharts(g.ContentFS, ks, g.Name, g.SourceName)
		if err != nil {
			return nil, fmt.Errorf("group %q: %w", g.Name, err)
		}
		out = append(out, uses...)
	}
	return out, nil
}
