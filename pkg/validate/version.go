package validate

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
)

// DefaultAgentgatewayVersion is the agentgateway release the embedded schemas describe.
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

// versionedField is a row of agentgateway.md §10: a field (path without list indexes) of a kind,
// added in Since and removed in Until (zero when still present).
type versionedField struct {
	kind  string
	path  string
	since semver
	until semver
}

// versionedValue is an enum value added in a later release.
type versionedValue struct {
	kind  string
	path  string
	value string
	since semver
}

var (
	v100 = mustSemver("v1.0.0")
	v110 = mustSemver("v1.1.0")
	v120 = mustSemver("v1.2.0")
	v130 = mustSemver("v1.3.0")
	v140 = mustSemver("v1.4.0")
)

// versionFields is the version table (agentgateway.md §10).
var versionFields = []versionedField{
	{kind: "AgentgatewayPolicy", path: "spec.traffic.jwtAuthentication.mcp", since: v110},
	{kind: "AgentgatewayPolicy", path: "spec.traffic.jwtAuthentication.mcp.clientId", since: v130},
	{kind: "AgentgatewayPolicy", path: "spec.traffic.jwtAuthentication.location", since: v120},
	{kind: "AgentgatewayPolicy", path: "spec.traffic.jwtAuthentication.location.expression", since: v130},
	{kind: "AgentgatewayPolicy", path: "spec.backend.mcp.authentication.clientId", since: v130},
	{kind: "AgentgatewayPolicy", path: "spec.backend.mcp.authentication.clientSecretRef", since: v140},
	{kind: "AgentgatewayPolicy", path: "spec.traffic.rateLimit.conditional", since: v120},
	{kind: "AgentgatewayPolicy", path: "spec.traffic.rateLimit.global.failureMode", since: v110},
	{kind: "AgentgatewayPolicy", path: "spec.traffic.rateLimit.global.descriptors.cost", since: v120},
	{kind: "AgentgatewayPolicy", path: "spec.frontend.metrics", since: v120},
	{kind: "AgentgatewayPolicy", path: "spec.frontend.proxyProtocol", since: v120},
	{kind: "AgentgatewayPolicy", path: "spec.backend.extAuth", since: v120},
	{kind: "AgentgatewayPolicy", path: "spec.frontend.tracing.filter", since: v140},
	{kind: "AgentgatewayPolicy", path: "spec.targetRefs.port", since: v140},
	{kind: "AgentgatewayPolicy", path: "spec.targetSelectors.port", since: v140},
	{kind: "AgentgatewayPolicy", path: "spec.traffic.buffer", since: v130},
	{kind: "AgentgatewayPolicy", path: "spec.traffic.directResponse.headers", since: v130},
	{kind: "AgentgatewayPolicy", path: "spec.traffic.directResponse.bodyExpression", since: v130},
	{kind: "AgentgatewayPolicy", path: "spec.traffic.retry.condition", since: v130},
	{kind: "AgentgatewayPolicy", path: "spec.traffic.extAuth.cache", since: v130},
	{kind: "AgentgatewayPolicy", path: "spec.traffic.delay", since: v140},
	{kind: "AgentgatewayPolicy", path: "spec.traffic.apiKeyAuthentication.configMapSelector", since: v140},
	{kind: "AgentgatewayPolicy", path: "spec.traffic.extProc.failureMode", since: v140},
	{kind: "AgentgatewayPolicy", path: "spec.traffic.extProc.attributes", since: v140},
	{kind: "AgentgatewayPolicy", path: "spec.strategy", since: v130},
	{kind: "AgentgatewayBackend", path: "spec.ai.provider.azure", since: v120},
	{kind: "AgentgatewayBackend", path: "spec.ai.provider.pathPrefix", since: v110},
	{kind: "AgentgatewayBackend", path: "spec.mcp.targets.static.backendRef", since: v110},
	{kind: "AgentgatewayBackend", path: "spec.mcp.targets.static.policies.mcp", since: v100, until: v110},
	{kind: "AgentgatewayBackend", path: "spec.static.unixPath", since: v120},
	{kind: "AgentgatewayBackend", path: "spec.ai.provider.custom", since: v130},
	{kind: "AgentgatewayBackend", path: "spec.a2a", since: v130},
	{kind: "AgentgatewayBackend", path: "spec.mcp.prefixMode", since: v140},
	{kind: "AgentgatewayBackend", path: "spec.policies.auth.secretRef.group", since: v130},
	{kind: "AgentgatewayBackend", path: "spec.policies.auth.secretRef.kind", since: v130},
	{kind: "AgentgatewayBackend", path: "spec.policies.auth.secretRef.key", since: v140},
	{kind: "AgentgatewayBackend", path: "spec.policies.auth.oauthTokenExchange", since: v140},
	{kind: "AgentgatewayBackend", path: "spec.policies.auth.crossAppAccess", since: v140},
	{kind: "AgentgatewayBackend", path: "spec.policies.auth.credentials", since: v140},
	{kind: "AgentgatewayBackend", path: "spec.policies.auth.azure.workloadIdentity", since: v140},
}

// versionValues are enum values of later releases.
var versionValues = []versionedValue{
	{kind: "AgentgatewayPolicy", path: "spec.traffic.jwtAuthentication.mcp.provider", value: "Okta", since: v130},
	{kind: "AgentgatewayPolicy", path: "spec.traffic.jwtAuthentication.mcp.provider", value: "Authentik", since: v140},
	{kind: "AgentgatewayPolicy", path: "spec.traffic.jwtAuthentication.mcp.provider", value: "Descope", since: v140},
	{kind: "AgentgatewayPolicy", path: "spec.traffic.jwtAuthentication.mcp.provider", value: "Entra", since: v140},
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

// embeddedVersion is the release our embedded agentgateway schemas describe.
var embeddedVersion = mustSemver(DefaultAgentgatewayVersion)

// versionFindings rewrites schema findings on agentgateway objects using the version table:
// a field or value from another release says which release has it; one that the target
// release has (but our v1.2.1 schemas do not) is not an error.
func (v *Validator) versionFindings(o *manifest.Object, fs []finding.Finding) []finding.Finding {
	out := fs[:0]
	for _, f := range fs {
		switch f.Rule {
		case RuleUnknownField:
			if vf, ok := lookupVersionField(o.Kind, normPath(f.Field)); ok {
				f = v.fieldFinding(f, vf)
			}
		case RuleEnum:
			if val, ok := valueAt(o.Content, f.Field); ok {
				for _, vv := range versionValues {
					if vv.kind == o.Kind && vv.path == normPath(f.Field) && vv.value == val {
						if !v.version.less(vv.since) {
							f.Severity = finding.Info
							f.Rule = RuleVersion
							f.Message = fmt.Sprintf("%s: %s is valid in agentgateway %s; gwctl's schemas describe %s and did not check it", shortPath(f.Field), val, v.version, embeddedVersion)
						} else {
							f.Rule = RuleVersion
							f.Message = fmt.Sprintf("`%s: %s` needs agentgateway %s or later (target %s)", shortPath(f.Field), val, vv.since, v.version)
						}
					}
				}
			}
		}
		out = append(out, f)
	}
	// Fields our schemas know but the (older) target release does not.
	if v.version.less(embeddedVersion) {
		for _, vf := range versionFields {
			if vf.kind != o.Kind || !v.version.less(vf.since) || embeddedVersion.less(vf.since) {
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

// validInTarget reports whether a schema error is about an enum value the target release accepts.
func (v *Validator) validInTarget(o *manifest.Object, fe *field.Error) bool {
	if fe.Type != field.ErrorTypeNotSupported {
		return false
	}
	val, ok := valueAt(o.Content, fe.Field)
	if !ok {
		return false
	}
	for _, vv := range versionValues {
		if vv.kind == o.Kind && vv.path == normPath(fe.Field) && vv.value == val && !v.version.less(vv.since) {
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
		f.Message = fmt.Sprintf("`%s` exists in agentgateway %s; gwctl's schemas describe %s and did not check it", shortPath(f.Field), v.version, embeddedVersion)
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
