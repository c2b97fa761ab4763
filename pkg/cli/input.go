package cli

import (
	"context"
	"errors"
	"strings"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/render"
)

// RenderedFile labels objects that come from an in-process render in findings.
const RenderedFile = "<gwctl render>"

// renderedObjects renders the current platform in-process and reads it back as manifests, so
// commands that inspect a render see exactly the stream `gwctl render` prints.
func (g *globalOptions) renderedObjects(ctx context.Context, l *loaded) ([]*manifest.Object, error) {
	res, err := render.Render(ctx, render.Options{Catalog: l.catalog, Config: l.config, Groups: l.result.Order, Charts: l.charts})
	if err != nil {
		return nil, err
	}
	stream, err := render.Stream(res.Objects)
	if err != nil {
		return nil, err
	}
	return manifest.Parse(RenderedFile, stream, manifest.DefaultLimits)
}

// input is what a command reads: objects, the findings about files that gave none (skipped,
// unparsable), and how to name where they came from.
type input struct {
	objs     []*manifest.Object
	findings []finding.Finding
	// label names the inputs in messages: "the render", "stdin", the paths given.
	label string
	// rendered: the input is the whole render, a closed world.
	rendered bool
	// controllerName is the render's dataplane.controllerName: the dataplane it configures.
	controllerName string
	// built are the kustomizations given with -k: their findings are positioned after validation.
	built []*render.Located
}

// read reads the named inputs (files, directories, - for stdin) or, with none, the current render.
func (g *globalOptions) read(ctx context.Context, paths []string) (*input, error) {
	if len(paths) == 0 {
		l, err := g.load()
		if err != nil {
			return nil, err
		}
		objs, err := g.renderedObjects(ctx, l)
		if err != nil {
			return nil, err
		}
		return &input{objs: objs, label: "the render", rendered: true, controllerName: l.config.Dataplane.ControllerName}, nil
	}
	in, err := manifest.Read(paths, g.streams.In, manifest.DefaultLimits)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = p
		if p == "-" {
			names[i] = "stdin"
		}
	}
	return &input{objs: in.Objects, findings: in.Findings, label: strings.Join(names, ", ")}, nil
}

// objects is read for commands with no findings to report: a file that cannot be parsed is an
// input error (exit 2); files that are not manifests are skipped.
func (g *globalOptions) objects(ctx context.Context, paths []string) ([]*manifest.Object, error) {
	in, err := g.read(ctx, paths)
	if err != nil {
		return nil, err
	}
	for _, f := range in.findings {
		if f.Severity == finding.Error {
			return nil, withCode(ExitUsage, errors.New(f.String()))
		}
	}
	return in.objs, nil
}
