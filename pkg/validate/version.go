package validate

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/validate/registry"
	"github.com/infergw/gwctl/pkg/validate/schema"
)

// DefaultAgentgatewayVersion is the agentgateway release validated against by default.
const DefaultAgentgatewayVersion = "v1.2.1"

// RuleVersion marks fields and values that exist only in other agentgateway releases.
const RuleVersion = "version/field"

// versionedField is a row of the agentgateway version table for releases older than any gwctl embeds: a
// field (path without list indexes) of a kind, added in since and removed in until (zero when
// still present). Later releases need no table: their schemas are embedded and compared.
type versionedField struct {
	kind  string
	path  string
	since registry.Semver
	until registry.Semver
}

var (
	v100 = registry.MustSemver("v1.0.0")
	v110 = registry.MustSemver("v1.1.0")
	v120 = registry.MustSemver("v1.2.0")
)

// versionFields is the agentgateway version table up to v1.2;
// TestVersionTableMatchesSchemas holds it to the oldest embedded release.
var versionFields = []versionedField{
	{kind: "AgentgatewayPolicy", path: "spec.traffic.jwtAuthentication.mcp", since: v110},
	{kind: "AgentgatewayPolicy", path: "spec.traffic.jwtAuthentication.location", since: v120},
	{kind: "AgentgatewayPolicy", path: "spec.traffic.rateLimit.conditional", since: v120},
	{kind: "AgentgatewayPolicy", path: "spec.traffic.rateLimit.global.failureMode", since: v110},
	{kind: "AgentgatewayPolicy", path: "spec.traffic.rateLimit.global.descriptors.cost", since: v120},
	{kind: "AgentgatewayPolicy", path: "spec.frontend.metrics", since: v120},
	{kind: "AgentgatewayPolicy", path: "spec.frontend.proxyProtocol", since: v120},
	{kind: "AgentgatewayPolicy", path: "spec.backend.extAuth", since: v120},
	{kind: "AgentgatewayBackend", path: "spec.ai.provider.azure", since: v120},
	{kind: "AgentgatewayBackend", path: "spec.ai.provider.pathPrefix", since: v110},
	{kind: "AgentgatewayBackend", path: "spec.mcp.targets.static.backendRef", since: v110},
	{kind: "AgentgatewayBackend", path: "spec.mcp.targets.static.policies.mcp", since: v100, until: v110},
	{kind: "AgentgatewayBackend", path: "spec.static.unixPath", since: v120},
}

var listIndex = regexp.MustCompile(`\[[^\]]*\]`)

// normPath drops list indexes: spec.targetRefs[0].port -> spec.targetRefs.port.
func normPath(p string) string { return listIndex.ReplaceAllString(p, "") }

// shortPath drops the leading spec. and the section names a user recognises less than the field.
func shortPath(p string) string {
	p = normPath(p)
	p = strings.TrimPrefix(p, "spec.")
	p = strings.TrimPrefix(p, "traffic.")
	return p
}

// versionFindings rewrites schema findings on agentgateway objects: a field or enum value that
// the target release's schemas lack but another embedded release has says which release has it,
// and fields of the schemas that the (older) target release does not have yet are errors.
func (v *Validator) versionFindings(o *manifest.Object, fs []finding.Finding) []finding.Finding {
	out := fs[:0]
	for _, f := range fs {
		switch f.Rule {
		case schema.RuleUnknownField:
			f = v.unknownField(o, f)
		case schema.RuleEnum:
			f = v.unsupportedValue(o, f)
		}
		out = append(out, f)
	}
	if used := v.agw.Ver; v.version.Less(used) {
		for _, vf := range versionFields {
			if vf.kind != o.Kind || !v.version.Less(vf.since) || used.Less(vf.since) {
				continue
			}
			for _, p := range presentPaths(o.Content, vf.path) {
				out = append(out, o.Finding(p, RuleVersion, finding.Error,
					fmt.Sprintf("`%s` needs agentgateway %s or later (target %s)", shortPath(p), vf.since, v.version)))
			}
		}
	}
	return out
}

// unknownField says which release has a field the target's schema does not.
func (v *Validator) unknownField(o *manifest.Object, f finding.Finding) finding.Finding {
	path := normPath(f.Field)
	if vf, ok := lookupVersionField(o.Kind, path); ok {
		return v.fieldFinding(f, vf)
	}
	if r := v.otherRelease(o, path, ""); r != nil {
		f.Rule = RuleVersion
		f.Message = fmt.Sprintf("unknown field `%s` in agentgateway %s (the target); %s %s it", shortPath(f.Field), v.version, r.Set.Version, hasHad(r, v.agw))
		return f
	}
	if v.beyondEmbedded() && strings.HasPrefix(path, "spec.") {
		f.Rule, f.Severity = RuleVersion, finding.Warning
		f.Message = fmt.Sprintf("unknown field `%s` in agentgateway %s, the newest release gwctl embeds; if %s (the target) has it, pass its CRDs with --crds", shortPath(f.Field), v.agw.Set.Version, v.version)
	}
	return f
}

// unsupportedValue says which release accepts an enum value the target's schema does not.
func (v *Validator) unsupportedValue(o *manifest.Object, f finding.Finding) finding.Finding {
	raw, _ := manifest.ValueAt(o.Content, f.Field)
	val, ok := raw.(string)
	if !ok {
		return f
	}
	if r := v.otherRelease(o, normPath(f.Field), val); r != nil {
		f.Rule = RuleVersion
		verb := "accepts"
		if r.Ver.Less(v.agw.Ver) {
			verb = "accepted"
		}
		f.Message = fmt.Sprintf("`%s: %s` is not valid in agentgateway %s (the target); %s %s it", shortPath(f.Field), val, v.version, r.Set.Version, verb)
		return f
	}
	if v.beyondEmbedded() {
		f.Rule, f.Severity = RuleVersion, finding.Warning
		f.Message = fmt.Sprintf("%s (in agentgateway %s, the newest release gwctl embeds; if %s, the target, accepts it, pass its CRDs with --crds)", f.Message, v.agw.Set.Version, v.version)
	}
	return f
}

func hasHad(r, used *registry.Release) string {
	if r.Ver.Less(used.Ver) {
		return "had"
	}
	return "has"
}

// beyondEmbedded reports whether the target is newer than every embedded release.
func (v *Validator) beyondEmbedded() bool {
	return v.agw.Ver.Less(v.version) && (v.agw.Ver.Major != v.version.Major || v.agw.Ver.Minor != v.version.Minor)
}

// otherRelease returns the embedded agentgateway release nearest the target whose schema for o
// has the field at path (with value among its enum values, when value is set), or nil.
func (v *Validator) otherRelease(o *manifest.Object, path, value string) *registry.Release {
	var found *registry.Release
	for _, r := range v.agwReleases {
		if r == v.agw {
			continue
		}
		c := r.Registry().Lookup(registry.GVK{Group: o.Group(), Version: o.Version(), Kind: o.Kind})
		if c == nil {
			continue
		}
		props, err := c.Schema()
		if err != nil {
			continue
		}
		s := schemaAt(props, strings.Split(path, "."))
		if s == nil || (value != "" && !enumHas(s, value)) {
			continue
		}
		// Later releases first (the common case: a field the target does not have yet), the
		// nearest one of each side.
		switch {
		case found == nil:
			found = r
		case v.agw.Ver.Less(r.Ver) && (found.Ver.Less(v.agw.Ver) || r.Ver.Less(found.Ver)):
			found = r
		case r.Ver.Less(v.agw.Ver) && found.Ver.Less(r.Ver):
			found = r
		}
	}
	return found
}

// schemaAt returns the schema of a field path (without list indexes), or nil.
func schemaAt(s *apiextv1.JSONSchemaProps, path []string) *apiextv1.JSONSchemaProps {
	for _, seg := range path {
		for s.Items != nil && s.Items.Schema != nil {
			s = s.Items.Schema
		}
		if p, ok := s.Properties[seg]; ok {
			s = &p
			continue
		}
		if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
			s = s.AdditionalProperties.Schema
			continue
		}
		return nil
	}
	return s
}

func enumHas(s *apiextv1.JSONSchemaProps, value string) bool {
	for s.Items != nil && s.Items.Schema != nil && len(s.Enum) == 0 {
		s = s.Items.Schema
	}
	for _, e := range s.Enum {
		if string(e.Raw) == strconv.Quote(value) {
			return true
		}
	}
	return false
}

func lookupVersionField(kind, path string) (versionedField, bool) {
	for _, vf := range versionFields {
		if vf.kind == kind && vf.path == path {
			return vf, true
		}
	}
	return versionedField{}, false
}

func (v *Validator) fieldFinding(f finding.Finding, vf versionedField) finding.Finding {
	f.Rule = RuleVersion
	existsInTarget := !v.version.Less(vf.since) && (vf.until == registry.Semver{} || v.version.Less(vf.until))
	switch {
	case existsInTarget:
		f.Severity = finding.Info
		f.Message = fmt.Sprintf("`%s` exists in agentgateway %s; gwctl's schemas describe %s and did not check it", shortPath(f.Field), v.version, v.agw.Set.Version)
	case vf.until != registry.Semver{} && !v.version.Less(vf.until):
		f.Message = fmt.Sprintf("unknown field `%s`: it was removed in agentgateway %s (target %s)", shortPath(f.Field), vf.until, v.version)
	default:
		f.Message = fmt.Sprintf("unknown field `%s`: it needs agentgateway %s or later (target %s)", shortPath(f.Field), vf.since, v.version)
	}
	return f
}

// presentPaths returns the concrete paths (with list indexes) of a normalised path present in content.
func presentPaths(content map[string]any, norm string) []string {
	var out []string
	var walk func(v any, rest []string, at string)
	walk = func(v any, rest []string, at string) {
		if len(rest) == 0 {
			out = append(out, at)
			return
		}
		switch t := v.(type) {
		case map[string]any:
			if c, ok := t[rest[0]]; ok {
				walk(c, rest[1:], join(at, rest[0]))
			}
		case []any:
			for i, e := range t {
				walk(e, rest, fmt.Sprintf("%s[%d]", at, i))
			}
		}
	}
	walk(content, strings.Split(norm, "."), "")
	return out
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}
