package cli

import (
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/finding"
)

// routes: r has a reasoned ignore of refs/unresolved, s has one without a reason.
const ignoredRoutes = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r
  namespace: apps
  annotations:
    gwctl.infergw.dev/ignore: refs/unresolved -- the Gateway lives in the infra repo
spec:
  parentRefs: [{name: gw, namespace: infra}]
  hostnames: [r.example.com]
  rules:
  - backendRefs: [{name: svc, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: s
  namespace: apps
  annotations:
    gwctl.infergw.dev/ignore: refs/unresolved
spec:
  parentRefs: [{name: gw, namespace: infra}]
  hostnames: [s.example.com]
`

const sFindings = `r.yaml
  20:31    warning HTTPRoute/apps/s metadata.annotations[gwctl.infergw.dev/ignore]: gwctl.infergw.dev/ignore needs a reason: "refs/unresolved" -- <why>; nothing is suppressed [lint/ignore-without-reason]
  22:16    warning HTTPRoute/apps/s spec.parentRefs[0]: parent Gateway infra/gw not found in the input [refs/unresolved]

2 resources in 1 file: 0 errors, 2 warnings, 0 info — passed
`

// TestValidateIgnoreAnnotation: a reasoned ignore suppresses the object's findings of that rule
// (listed with the reason under --verbose); an ignore without a reason suppresses nothing and
// is itself a warning.
func TestValidateIgnoreAnnotation(t *testing.T) {
	dir := repoTree(t, map[string]string{"r.yaml": ignoredRoutes})
	expect(t, validateIn(t, dir, "", "r.yaml"), 0, sFindings, "")
	expect(t, validateIn(t, dir, "", "r.yaml", "--strict"), 1, strings.Replace(sFindings, "— passed", "(strict) — failed", 1), "")
	unknown := repoTree(t, map[string]string{"r.yaml": strings.Replace(ignoredRoutes, "ignore: refs/unresolved -- the", "ignore: refs/unresolved, refs/nope -- the", 1)})
	// An unknown rule id is a warning; the known ones are still suppressed.
	expect(t, validateIn(t, unknown, "", "r.yaml"), 0, `r.yaml
  7:31     warning HTTPRoute/apps/r metadata.annotations[gwctl.infergw.dev/ignore]: gwctl.infergw.dev/ignore names "refs/nope", which is no rule id (gwctl validate --list-rules lists them) [lint/ignore-unknown-rule]
  20:31    warning HTTPRoute/apps/s metadata.annotations[gwctl.infergw.dev/ignore]: gwctl.infergw.dev/ignore needs a reason: "refs/unresolved" -- <why>; nothing is suppressed [lint/ignore-without-reason]
  22:16    warning HTTPRoute/apps/s spec.parentRefs[0]: parent Gateway infra/gw not found in the input [refs/unresolved]

2 resources in 1 file: 0 errors, 3 warnings, 0 info — passed
`, "")
	expect(t, validateIn(t, dir, "", "r.yaml", "--verbose"), 0, sFindings,
		`suppressed: r.yaml:9:16: warning HTTPRoute/apps/r spec.parentRefs[0]: parent Gateway infra/gw not found in the input [refs/unresolved] (ignored: the Gateway lives in the infra repo)
suppressed: r.yaml:12:19: warning HTTPRoute/apps/r spec.rules[0].backendRefs[0]: Service apps/svc not found in the input [refs/unresolved] (ignored: the Gateway lives in the infra repo)
`)
}

// TestValidateRulesConfig: .gwctl.yaml in the current directory (or --rules-config) turns rules
// off or changes their severity; an unknown rule id or level is a usage error.
func TestValidateRulesConfig(t *testing.T) {
	dir := repoTree(t, map[string]string{
		"r.yaml":      ignoredRoutes,
		".gwctl.yaml": "rules:\n  refs/unresolved: error\n  lint/ignore-without-reason: off\n",
		"quiet.yaml":  "rules: {refs/unresolved: info}\n",
		"typo.yaml":   "rules: {refs/unresolvd: off}\n",
		"level.yaml":  "rules: {refs/unresolved: loud}\n",
	})
	expect(t, validateIn(t, dir, "", "r.yaml"), 1, `r.yaml
  22:16    error   HTTPRoute/apps/s spec.parentRefs[0]: parent Gateway infra/gw not found in the input [refs/unresolved]

2 resources in 1 file: 1 error, 0 warnings, 0 info — failed
`, "")
	expect(t, validateIn(t, dir, "", "r.yaml", "--rules-config", "quiet.yaml"), 0, `r.yaml
  20:31    warning HTTPRoute/apps/s metadata.annotations[gwctl.infergw.dev/ignore]: gwctl.infergw.dev/ignore needs a reason: "refs/unresolved" -- <why>; nothing is suppressed [lint/ignore-without-reason]
  22:16    info    HTTPRoute/apps/s spec.parentRefs[0]: parent Gateway infra/gw not found in the input [refs/unresolved]

2 resources in 1 file: 0 errors, 1 warning, 1 info — passed
`, "")
	expect(t, validateIn(t, dir, "", "r.yaml", "--rules-config", "typo.yaml"), 2, "",
		"gwctl: --rules-config: typo.yaml:1:9: rules.refs/unresolvd: unknown rule id (did you mean \"refs/unresolved\"?); gwctl validate --list-rules lists them\n")
	expect(t, validateIn(t, dir, "", "r.yaml", "--rules-config", "level.yaml"), 2, "",
		"gwctl: --rules-config: level.yaml:1:26: rules.refs/unresolved: level \"loud\": want off, info, warning or error\n")
	expect(t, validateIn(t, dir, "", "r.yaml", "--rules-config", "none.yaml"), 2, "",
		"gwctl: --rules-config: open none.yaml: no such file or directory\n")
}

// TestValidateRulesLayers: the platform config's validate: section is a rules config too;
// rule by rule, .gwctl.yaml wins over it and --rule over both, as linters layer flags over files.
func TestValidateRulesLayers(t *testing.T) {
	dir := repoTree(t, map[string]string{
		"r.yaml": ignoredRoutes,
		"env/config.yaml": "environment: dev\ncluster: dev-1\nvalidate:\n  rules:\n" +
			"    refs/unresolved: error\n    lint/ignore-without-reason: off\n",
		"quiet.yaml": "rules: {refs/unresolved: info}\n",
	})
	const failed = `r.yaml
  22:16    error   HTTPRoute/apps/s spec.parentRefs[0]: parent Gateway infra/gw not found in the input [refs/unresolved]

2 resources in 1 file: 1 error, 0 warnings, 0 info — failed
`
	// The platform config alone, by -c or GWCTL_CONFIG.
	expect(t, validateIn(t, dir, "", "r.yaml", "-c", "env/config.yaml"), 1, failed, "")
	// .gwctl.yaml (here --rules-config) wins for the rule it names; the other stays off.
	expect(t, validateIn(t, dir, "", "r.yaml", "-c", "env/config.yaml", "--rules-config", "quiet.yaml"), 0, `r.yaml
  22:16    info    HTTPRoute/apps/s spec.parentRefs[0]: parent Gateway infra/gw not found in the input [refs/unresolved]

2 resources in 1 file: 0 errors, 0 warnings, 1 info — passed
`, "")
	// --rule wins over both.
	expect(t, validateIn(t, dir, "", "r.yaml", "-c", "env/config.yaml", "--rules-config", "quiet.yaml", "--rule", "refs/unresolved=off"), 0,
		"2 resources in 1 file: 0 errors, 0 warnings, 0 info — passed\n", "")
}

// TestValidateRulesConfigErrors: every mistake in a rules config is reported at once, at its
// key (or, for a level, its value), in position order, the same on every run.
func TestValidateRulesConfigErrors(t *testing.T) {
	dir := repoTree(t, map[string]string{
		"r.yaml":      ignoredRoutes,
		"config.yaml": "cluster: a\nvalidate:\n  rulez: {}\n  rules:\n    refs/unresolved: loud\n    lint/ignor-without-reason: off\n",
		"list.yaml":   "validate: [a]\n",
		"keys.yaml":   "rule:\n  refs/unresolved: off\n",
		"notmap.yaml": "rules: off\n",
		"dup.yaml":    "rules:\n  refs/unresolved: off\n  refs/unresolved: info\n",
		"nested.yaml": "rules:\n  refs/unresolved: {level: off}\n",
	})
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-c", "config.yaml"}, `gwctl: config.yaml:3:3: validate.rulez: unknown key (did you mean "rules"?); a rules config holds rules: {<rule-id>: off|info|warning|error}
config.yaml:5:22: validate.rules.refs/unresolved: level "loud": want off, info, warning or error
config.yaml:6:5: validate.rules.lint/ignor-without-reason: unknown rule id (did you mean "lint/ignore-without-reason"?); gwctl validate --list-rules lists them
`},
		{[]string{"-c", "list.yaml"}, "gwctl: list.yaml:1:11: validate: want a mapping: rules: {<rule-id>: off|info|warning|error}\n"},
		{[]string{"--rules-config", "keys.yaml"}, `gwctl: --rules-config: keys.yaml:1:1: rule: unknown key (did you mean "rules"?); a rules config holds rules: {<rule-id>: off|info|warning|error}` + "\n"},
		{[]string{"--rules-config", "notmap.yaml"}, "gwctl: --rules-config: notmap.yaml:1:8: rules: want a mapping of rule id to off, info, warning or error\n"},
		{[]string{"--rules-config", "dup.yaml"}, "gwctl: --rules-config: dup.yaml:3:3: duplicate key \"refs/unresolved\"\n"},
		{[]string{"--rules-config", "nested.yaml"}, "gwctl: --rules-config: nested.yaml:2:20: rules.refs/unresolved: want off, info, warning or error\n"},
		{[]string{"--rule", "refs/unresolvd=off"}, `gwctl: --rule refs/unresolvd: unknown rule id (did you mean "refs/unresolved"?); gwctl validate --list-rules lists them` + "\n"},
		{[]string{"--rule", "refs/unresolved=quiet"}, `gwctl: --rule refs/unresolved: level "quiet": want off, info, warning or error` + "\n"},
		{[]string{"--rule", "refs/unresolved"}, `gwctl: --rule "refs/unresolved": want <rule-id>=off|info|warning|error` + "\n"},
	}
	for _, c := range cases {
		expect(t, validateIn(t, dir, "", append([]string{"r.yaml"}, c.args...)...), 2, "", c.want)
	}
}

// TestValidateBaseline: --baseline reports only findings not in an earlier -o json run, matched
// on rule, resource and field, so lines moved by an unrelated edit do not resurface old ones.
func TestValidateBaseline(t *testing.T) {
	dir := repoTree(t, map[string]string{"r.yaml": ignoredRoutes})
	base := validateIn(t, dir, "", "r.yaml", "-o", "json")
	writeFile(t, dir, "base.json", base.out)
	// Move every line down and add a new finding on s.
	edited := "# moved\n# down\n" + strings.Replace(ignoredRoutes, "hostnames: [s.example.com]", "hostnames: [s.example.com]\n  rules:\n  - backendRefs: [{name: other, port: 80}]", 1)
	writeFile(t, dir, "r.yaml", edited)
	expect(t, validateIn(t, dir, "", "r.yaml", "--baseline", "base.json"), 0, `r.yaml
  27:19    warning HTTPRoute/apps/s spec.rules[0].backendRefs[0]: Service apps/other not found in the input [refs/unresolved]

2 resources in 1 file: 0 errors, 1 warning, 0 info — passed
`, "2 findings in the baseline base.json not shown\n")
	writeFile(t, dir, "bad.json", "[]")
	expect(t, validateIn(t, dir, "", "r.yaml", "--baseline", "bad.json"), 2, "",
		"gwctl: --baseline: bad.json: not gwctl validate -o json output (want {\"findings\": [...]})\n")
	writeFile(t, dir, "broken.json", "{")
	expect(t, validateIn(t, dir, "", "r.yaml", "--baseline", "broken.json"), 2, "",
		"gwctl: --baseline: broken.json: JSON syntax at byte 1: unexpected end of JSON input\n")
}

// TestValidateListRules: every registered rule is listed once, with its severity.
func TestValidateListRules(t *testing.T) {
	r := validateIn(t, t.TempDir(), "", "--list-rules")
	if r.code != 0 || r.err != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
	lines := strings.Split(strings.TrimSuffix(r.out, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "RULE") || len(lines) != len(finding.Rules())+1 {
		t.Fatalf("want a header and %d rules, got:\n%s", len(finding.Rules()), r.out)
	}
	for i, rule := range finding.Rules() {
		if f := strings.Fields(lines[i+1]); f[0] != rule.ID || f[1] != rule.Severity.String() {
			t.Errorf("line %d: %q, want %s %s", i+1, lines[i+1], rule.ID, rule.Severity)
		}
	}
}
