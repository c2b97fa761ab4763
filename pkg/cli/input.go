package cli

import (
	"context"

	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/render"
)

// RenderedFile labels objects that come from an in-process render in findings.
const RenderedFile = "<gwctl render>"

// renderedObjects renders the current platform in-process and reads it back as manifests, so
// commands that inspect a render see exactly the stream `gwctl render` prints.
func (g *globalOptions) renderedObjects(ctx context.Context) ([]*manifest.Object, error) {
	l, err := g.load()
	if err != nil {
		return nil, err
	}
	res, err := render.Render(ctx, render.Options{Catalog: l.catalog, Config: l.config, Groups: l.result.Order})
	if err != nil {
		return nil, err
	}
	stream, err := render.Stream(res.Objects)
	if err != nil {
		return nil, err
	}
	return manifest.Parse(RenderedFile, stream, manifest.DefaultLimits)
}

// objects reads the named inputs (files, directories, - for stdin) or, with none, the current render.
func (g *globalOptions) objects(ctx context.Context, paths []string) ([]*manifest.Object, error) {
	if len(paths) == 0 {
		return g.renderedObjects(ctx)
	}
	return manifest.Load(paths, g.streams.In, manifest.DefaultLimits)
}
