package validate

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
)

// DefaultAgentgatewayVersion is the agentgateway release validated against by default.
const DefaultAgentgatewayVersion = "v1.2.1"

// RuleVersion marks fields and values that exist only in other agentgateway releases.
const RuleVersion = "version/field"

const agentgatewayGroup = "agentgateway.dev"

type semver struct{ major, minor, patch int }

func parseSemver(s string) (semver, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "v")
	parts := strings.Split(t, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return semver{}, fmt.Errorf("%q is not a version like v1.2.1", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return semver{}, fmt.Errorf("%q is not a version like v1.2.1", s)
		}
		n[i] = v
	}
	return semver{n[0], n[1], n[2]}, nil
}

func (a semver) less(b semver) bool {
	if a.major != b.major {
		return a.major < b.major
	}
	if a.minor != b.minor {
		return a.minor < b.minor
	}
	return a.patch < b.patch
}

func (a semver) String() string {
	if a.patch == 0 {
		return fmt.Sprintf("v%d.%d", a.major, a.minor)
	}
	return fmt.Sprintf("v%d.%d.%d", a.major, a.minor, a.patch)
}

func mustSemver(s string) semver {
	v, err := parseSemver(s)
	if err != nil {
		panic(err)
	}
	return v
}

// versionedField is a row of the agentgateway version table for releases older than any gwctl embeds: a
// field (path without list indexes) of a kind, added in since and removed in until (zero when
// still present). Later releases need no table: their schemas are embedded and compared.
type versionedField struct {
	kind  string
	path  string
	since semver
	until semver
}

var (
	v100 = mustSemver("v1.0.0")
	v110 = mustSemver("v1.1.0")
	v120 = mustSemver("v1.2.0")
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
		case RuleUnknownField:
			f = v.unknownField(o, f)
		case RuleEnum:
			f = v.unsupportedValue(o, f)
		}
		out = append(out, f)
	}
	if used := v.agw.ver; v.version.less(used) {
		for _, vf := range versionFields {
			if vf.kind != o.Kind || !v.version.less(vf.since) || used.less(vf.since) {
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
		f.Message = fmt.Sprintf("unknown field `%s` in agentgateway %s (the target); %s %s it", shortPath(f.Field), v.version, r.set.Version, hasHad(r, v.agw))
		return f
	}
	if v.beyondEmbedded() && strings.HasPrefix(path, "spec.") {
		f.Rule, f.Severity = RuleVersion, finding.Warning
		f.Message = fmt.Sprintf("unknown field `%s` in agentgateway %s, the newest release gwctl embeds; if %s (the target) has it, pass its CRDs with --crds", shortPath(f.Field), v.agw.set.Version, v.version)
	}
	return f
}

// unsupportedValue says which release accepts an enum value the target's schema does not.
func (v *Validator) unsupportedValue(o *manifest.Object, f finding.Finding) finding.Finding {
	val, ok := valueAt(o.Content, f.Field)
	if !ok {
		return f
	}
	if r := v.otherRelease(o, normPath(f.Field), val); r != nil {
		f.Rule = RuleVersion
		verb := "accepts"
		if r.ver.less(v.agw.ver) {
			verb = "accepted"
		}
		f.Message = fmt.Sprintf("`%s: %s` is not valid in agentgateway %s (the target); %s %s it", shortPath(f.Field), val, v.version, r.set.Version, verb)
		return f
	}
	if v.beyondEmbedded() {
		f.Rule, f.Severity = RuleVersion, finding.Warning
		f.Message = fmt.Sprintf("%s (in agentgateway %s, the newest release gwctl embeds; if %s, the target, accepts it, pass its CRDs with --crds)", f.Message, v.agw.set.Version, v.version)
	}
	return f
}

func hasHad(r, used *release) string {
	if r.ver.less(used.ver) {
		return "had"
	}
	return "has"
}

// beyondEmbedded reports whether the target is newer than every embedded release.
func (v *Validator) beyondEmbedded() bool {
	return v.agw.ver.less(v.version) && (v.agw.ver.major != v.version.major || v.agw.ver.minor != v.version.minor)
}

// otherRelease returns the embedded agentgateway release nearest the target whose schema for o
// has the field at path (with value among its enum values, when value is set), or nil.
func (v *Validator) otherRelease(o *manifest.Object, path, value string) *release {
	var found *release
	for _, r := range v.agwReleases {
		if r == v.agw {
			continue
		}
		c := r.registry().lookup(gvk{o.Group(), o.Version(), o.Kind})
		if c == nil {
			continue
		}
		props, err := c.schema()
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
		case v.agw.ver.less(r.ver) && (found.ver.less(v.agw.ver) || r.ver.less(found.ver)):
			found = r
		case r.ver.less(v.agw.ver) && found.ver.less(r.ver):
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
	existsInTarget := !v.version.less(vf.since) && (vf.until == semver{} || v.version.less(vf.until))
	switch {
	case existsInTarget:
		f.Severity = finding.Info
		f.Message = fmt.Sprintf("`%s` exists in agentgateway %s; gwctl's schemas describe %s and did not check it", shortPath(f.Field), v.version, v.agw.set.Version)
	case vf.until != semver{} && !v.version.less(vf.until):
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

// valueAt returns the string at an API-server field path (a.b[0].c).
func valueAt(content map[string]any, path string) (string, bool) {
	var cur any = content
	for _, seg := range splitPath(path) {
		switch t := cur.(type) {
		case map[string]any:
			cur = t[seg.key]
		default:
			return "", false
		}
		for _, idx := range seg.idx {
			l, ok := cur.([]any)
			if !ok || idx < 0 || idx >= len(l) {
				return "", false
			}
			cur = l[idx]
		}
	}
	s, ok := cur.(string)
	return s, ok
}

type pathSeg struct {
	key string
	idx []int
}

func splitPath(path string) []pathSeg {
	var out []pathSeg
	for _, part := range strings.Split(path, ".") {
		seg := pathSeg{}
		if i := strings.IndexByte(part, '['); i >= 0 {
			seg.key = part[:i]
			for _, m := range listIndex.FindAllString(part[i:], -1) {
				n, err := strconv.Atoi(strings.Trim(m, "[]"))
				if err != nil {
					n = -1
				}
				seg.idx = append(seg.idx, n)
			}
		} else {
			seg.key = part
		}
		out = append(out, seg)
	}
	return out
}
