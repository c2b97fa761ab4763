package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/infergw/gwctl/pkg/docschema"
	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/render"
)

// RuleKustomizeBuild is a kustomization given with -k that cannot be built.
const RuleKustomizeBuild = "input/kustomize-build"

// readWithKustomizations reads paths as read does, and builds each -k directory in-process
// as render builds a group's kustomization (render.Kustomization.Build: helmCharts from the
// chart cache, nothing fetched). Each build is one input: its objects are duplicates of each
// other only, as in a render. A build refused is one error finding per reason, at its
// kustomization; the rest is still checked.
func (o *validateOptions) readWithKustomizations(ctx context.Context, paths []string) (*input, error) {
	if len(o.kustomize) == 0 {
		return o.read(ctx, paths)
	}
	in := &input{}
	if len(paths) > 0 {
		var err error
		if in, err = o.read(ctx, paths); err != nil {
			return nil, err
		}
	}
	cat, err := o.loadCatalog()
	if err != nil {
		return nil, err
	}
	store := o.chartStore(cat)
	var labels []string
	if in.label != "" {
		labels = append(labels, in.label)
	}
	for _, dir := range o.kustomize {
		label := "-k " + dir
		labels = append(labels, label)
		k, err := buildable(dir)
		if err != nil {
			return nil, withCode(ExitUsage, fmt.Errorf("-k %w", err))
		}
		k.Charts, k.Origins = store, true
		objs, warns, err := k.Build(ctx)
		for _, w := range warns {
			fmt.Fprintf(o.streams.Err, "warning: -k %s: %s\n", dir, w)
		}
		if err == nil {
			var loc *render.Located
			if loc, err = render.Locate(k, objs, label); err == nil {
				in.objs = append(in.objs, loc.Objects...)
				in.built = append(in.built, loc)
				continue
			}
		}
		var vs docschema.Errors
		if !errors.As(err, &vs) {
			vs = docschema.Errors{{File: kustomizationName(k), Msg: err.Error()}}
		}
		for _, v := range vs {
			in.findings = append(in.findings, finding.Finding{File: v.File, Line: v.Pos.Line, Column: v.Pos.Column,
				Field: v.Key, Rule: RuleKustomizeBuild, Severity: finding.Error, Message: v.Msg})
		}
	}
	in.label = strings.Join(labels, ", ")
	return in, nil
}

// buildable is the kustomization in dir as charts pull -k reads it (bases anywhere in the
// platform repo), its files named relative to the working directory as the user typed them.
func buildable(dir string) (render.Kustomization, error) {
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return render.Kustomization{}, fmt.Errorf("%s: cannot read: %w", dir, err)
	case !st.IsDir():
		return render.Kustomization{}, fmt.Errorf("%s: not a directory (-k takes the directory of a kustomization)", dir)
	}
	found := false
	for _, n := range manifest.KustomizationFiles {
		if st, err := os.Stat(filepath.Join(dir, n)); err == nil && st.Mode().IsRegular() {
			found = true
		}
	}
	if !found {
		return render.Kustomization{}, fmt.Errorf("%s: no kustomization.yaml, kustomization.yml or Kustomization in the directory", dir)
	}
	k, err := repoKustomization(dir)
	if err != nil {
		return k, err
	}
	abs := k.Display
	wd, err := os.Getwd()
	if err != nil {
		return k, err
	}
	k.Display = func(p string) string {
		if rel, err := filepath.Rel(wd, abs(p)); err == nil {
			return rel
		}
		return abs(p)
	}
	return k, nil
}

// kustomizationName is the kustomization file of k as messages name it.
func kustomizationName(k render.Kustomization) string {
	for _, n := range manifest.KustomizationFiles {
		p := filepath.ToSlash(filepath.Join(filepath.FromSlash(k.Dir), n))
		if k.Display != nil {
			if _, err := os.Stat(k.Display(p)); err == nil {
				return k.Display(p)
			}
		}
	}
	return k.Display(k.Dir)
}

// position moves findings on objects a -k build changed to the source file where the field is
// as written there.
func (in *input) position(fs []finding.Finding) []finding.Finding {
	for _, k := range in.built {
		k.Position(fs)
	}
	return fs
}
