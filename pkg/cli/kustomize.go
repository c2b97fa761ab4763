package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/render"
)

// RuleKustomizeBuild is a kustomization given with -k that cannot be built.
const RuleKustomizeBuild = "input/kustomize-build"

// readWithKustomizations reads paths as read does, and builds each -k directory in-process
// (as render builds a group's kustomization). Each build is one input: its objects are
// duplicates of each other only, as in a render. A build kustomize refuses is one error finding
// at its kustomization; the rest is still checked.
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
	labels := []string{}
	if in.label != "" {
		labels = append(labels, in.label)
	}
	for _, dir := range o.kustomize {
		label := "-k " + dir
		labels = append(labels, label)
		k, err := render.BuildKustomization(dir, label)
		var nk *render.NoKustomizationError
		var ke *render.KustomizeError
		var be *render.BuildError
		switch {
		case errors.As(err, &nk):
			return nil, withCode(ExitUsage, fmt.Errorf("-k %w", err))
		case errors.As(err, &ke):
			in.findings = append(in.findings, finding.Finding{File: ke.File, Line: ke.Pos.Line, Column: ke.Pos.Column,
				Field: ke.Field, Rule: RuleKustomizeBuild, Severity: finding.Error, Message: ke.Msg})
			continue
		case errors.As(err, &be):
			in.findings = append(in.findings, finding.Finding{File: be.File, Rule: RuleKustomizeBuild, Severity: finding.Error, Message: "kustomize: " + be.Msg})
			continue
		case err != nil:
			return nil, withCode(ExitUsage, fmt.Errorf("-k %s: %w", dir, err))
		}
		in.objs = append(in.objs, k.Objects...)
		in.built = append(in.built, k)
	}
	in.label = strings.Join(labels, ", ")
	return in, nil
}

// position moves findings on objects a -k build changed to the source file where the field is
// as written there.
func (in *input) position(fs []finding.Finding) []finding.Finding {
	for _, k := range in.built {
		k.Position(fs)
	}
	return fs
}
