package validate

import (
	"context"
	"fmt"
	"strings"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/validate/registry"
	"github.com/infergw/gwctl/pkg/validate/schema"
	"github.com/infergw/gwctl/schemas"
)

// RuleInferenceExtensionVersion marks an InferencePool that the newest embedded inference
// extension release accepts and an older one rejects.
const RuleInferenceExtensionVersion = "version/inference-extension"

// inferenceExtension is how InferencePools are checked: against the release the user named, or
// (auto) against the newest embedded release, with a warning for what an older one rejects.
type inferenceExtension struct {
	use   *registry.Release
	older []*registry.Release // auto only: releases whose verdict is compared
}

func newInferenceExtension(version string) (inferenceExtension, error) {
	rs := registry.Releases(schemas.InferenceExtension)
	if version == "" {
		return inferenceExtension{use: rs[len(rs)-1], older: rs[:len(rs)-1]}, nil
	}
	ver, err := registry.ParseSemver(version)
	if err != nil {
		return inferenceExtension{}, fmt.Errorf("inference extension version: %w", err)
	}
	r := registry.Pick(rs, ver)
	if r.Ver.Major != ver.Major || r.Ver.Minor != ver.Minor {
		if ver.Less(rs[0].Ver) {
			return inferenceExtension{}, fmt.Errorf("inference extension version %s: gwctl embeds the InferencePool schemas of %s; pass your release's CRD with --crds", version, registry.ReleaseNames(rs))
		}
		// A newer release than any embedded: its API is at least as loose as the newest one.
	}
	return inferenceExtension{use: r}, nil
}

// olderReleases checks an InferencePool that passed the newest release's schema against the
// older releases' (auto mode): the pool's shape says which release it is written for, and a
// pool that only the newest accepts is worth a warning, since clusters on the older CRD refuse it.
func (v *Validator) olderReleases(ctx context.Context, o *manifest.Object) []finding.Finding {
	for i := len(v.gie.older) - 1; i >= 0; i-- {
		r := v.gie.older[i]
		c := r.Registry().Lookup(registry.GVK{Group: o.Group(), Version: o.Version(), Kind: o.Kind})
		if c == nil {
			continue
		}
		if err := c.Compile(); err != nil {
			return []finding.Finding{o.Finding("", schema.RuleBadSchema, finding.Error, err.Error())}
		}
		errs, _ := schema.ValidateCR(ctx, c, o.Content)
		var why []string
		field := ""
		for _, fe := range errs {
			f := schema.ToFinding(o, fe)
			if f.Severity != finding.Error {
				continue
			}
			if field == "" {
				field = f.Field
			}
			why = append(why, strings.TrimPrefix(f.Field+": ", ": ")+f.Message)
		}
		if len(why) == 0 {
			continue
		}
		return []finding.Finding{o.Finding(field, RuleInferenceExtensionVersion, finding.Warning, fmt.Sprintf(
			"valid for inference extension %s, but the InferencePool CRD of %s rejects it (%s); set --inference-extension-version to the release your cluster runs",
			v.gie.use.Set.Version, r.Set.Version, strings.Join(why, "; ")))}
	}
	return nil
}
