package resolve

import (
	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/platform"
)

// Platform is the one way from a catalog to its enabled groups, for gwctl, render.Platform and
// the tests: it reads the platform config from opts (its Features default to the catalog's
// optional groups) and resolves it. When resolving fails it still returns the config, whose
// Warnings may explain why; a *Error carries the partial resolution.
func Platform(cat *catalog.Catalog, opts platform.Options) (*platform.Config, *Result, error) {
	if opts.Features == nil {
		for _, g := range cat.Optional() {
			opts.Features = append(opts.Features, g.Feature)
		}
	}
	cfg, err := platform.Load(opts)
	if err != nil {
		return nil, nil, err
	}
	res, err := Resolve(cat, cfg)
	return cfg, res, err
}
