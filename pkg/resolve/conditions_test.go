package resolve

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/platform"
)

// knobConfig is a platform repo's config: gwctl's keys and other tools' keys side by side.
const knobConfig = "environment: dev\ncluster: dev-eu-1\ngpu_stack: operator\ndomain: \"\"\ndns:\n  provider: none\n"

func fileOpts(t *testing.T, body string, opts platform.Options) platform.Options {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	opts.File = p
	return opts
}

// enabledBy reads any key path, foreign keys included, with each test.
func TestEnabledByTests(t *testing.T) {
	cat := testCatalog(t, map[string]string{
		"gpu":      group("gpu", "platform", "  enabledBy: {knob: gpu_stack, equals: operator}\n"),
		"nodns":    group("nodns", "platform", "  enabledBy: {knob: dns.provider, notEquals: none}\n"),
		"managed":  group("managed", "platform", "  enabledBy: {knob: gpu_stack, in: [operator, driver]}\n"),
		"cluster":  group("cluster", "platform", "  enabledBy: {knob: cluster, exists: true}\n"),
		"nolegacy": group("nolegacy", "platform", "  enabledBy: {knob: legacy, exists: false}\n"),
		"port":     group("port", "platform", "  enabledBy: {knob: gateway.port, equals: 8080}\n"),
	}, "")
	cases := []struct {
		name string
		opts platform.Options
		on   string
	}{
		{"from the file", fileOpts(t, knobConfig, platform.Options{}), "cluster,gpu,managed,nolegacy"},
		{"--set a foreign key", fileOpts(t, knobConfig, platform.Options{Set: []string{"gpu_stack=driver", "dns.provider=route53"}}), "cluster,managed,nodns,nolegacy"},
		{"env of a foreign key", fileOpts(t, knobConfig, platform.Options{Environ: []string{"GWCTL_GPU_STACK=x"}}), "cluster,nolegacy"},
		{"exists false fails once set", fileOpts(t, knobConfig, platform.Options{Set: []string{"legacy=1"}}), "cluster,gpu,managed"},
		{"a number compares as text", platform.Options{Set: []string{"gateway.port=8080"}}, "nodns,nolegacy,port"},
		{"explicitly off beats the knob", fileOpts(t, knobConfig, platform.Options{Disable: []string{"gpu"}}), "cluster,managed,nolegacy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := Resolve(cat, config(t, cat, c.opts))
			if err != nil {
				t.Fatal(err)
			}
			var on []string
			for _, e := range res.All {
				if e.Enabled {
					on = append(on, e.Name)
				}
			}
			if got := strings.Join(on, ","); got != c.on {
				t.Fatalf("enabled %s, want %s", got, c.on)
			}
		})
	}
	res, _ := Resolve(cat, config(t, cat, fileOpts(t, knobConfig, platform.Options{})))
	for _, e := range res.All {
		if want := map[string]string{"gpu": "knob gpu_stack=operator", "nolegacy": "knob legacy unset"}[e.Name]; want != "" && e.Reason != want {
			t.Errorf("%s: reason %q, want %q", e.Name, e.Reason, want)
		}
	}
}

// A warning condition is reported and the run goes on; an error condition stops it; both name
// the group and why it is on.
func TestConditionSeverity(t *testing.T) {
	cat := testCatalog(t, map[string]string{
		"base": group("base", "platform", `  core: true
  conditions:
  - {knob: domain, severity: warning, message: domain is empty}
  - {knob: dns.provider, notEquals: none, severity: warning}
  - {knob: environment, in: [dev, prod], severity: warning}
`),
		"edge": group("edge", "routing", "  conditions:\n  - {knob: domain, message: edge needs a domain}\n"),
	}, "")
	res, err := Resolve(cat, config(t, cat, fileOpts(t, knobConfig+"featurs: {}\n", platform.Options{})))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`featurs: gwctl does not read this key (did you mean "features"?)`,
		`group "base" (core): domain is empty`,
		`group "base" (core): needs dns.provider other than none (it is "none")`,
	}
	if len(res.Warnings) != len(want) {
		t.Fatalf("warnings %q", res.Warnings)
	}
	for i, w := range want {
		if !strings.Contains(res.Warnings[i], w) {
			t.Errorf("warning %d: %q, want %q", i, res.Warnings[i], w)
		}
	}
	b, err := res.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Warnings []string }
	if err := json.Unmarshal(b, &out); err != nil || len(out.Warnings) != 3 || out.Warnings[1] != res.Warnings[1] {
		t.Fatalf("json warnings: %s", b)
	}
	_, err = Resolve(cat, config(t, cat, fileOpts(t, knobConfig, platform.Options{Enable: []string{"edge"}})))
	var re *Error
	if !errors.As(err, &re) || err.Error() != `group "edge" (feature flag): edge needs a domain` {
		t.Fatalf("error condition: %v", err)
	}
	// No warnings is an empty list in JSON, not null.
	res, err = Resolve(cat, config(t, cat, platform.Options{Set: []string{"domain=x", "dns.provider=r53", "environment=dev"}}))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := res.JSON(); !strings.Contains(string(b), `"warnings": []`) {
		t.Fatalf("json: %s", b)
	}
}

// The catalog says how the groups file starts; without a header the file is the list alone.
func TestGroupsFileHeader(t *testing.T) {
	for header, want := range map[string]string{
		"":                                   catalog.GeneratedHeader,
		"groupsFile: {header: none}\n":       "",
		"groupsFile: {header: \"# mine\"}\n": "# mine\n",
	} {
		cat := testCatalog(t, map[string]string{"a": group("a", "routing", "  core: true\n")}, header)
		res, err := Resolve(cat, config(t, cat, platform.Options{}))
		if err != nil {
			t.Fatal(err)
		}
		body := "- { name: a, layer: routing, enabled: \"true\", catalogPath: clusters/example/catalog/a }\n"
		if got := string(res.GroupsFile()); got != want+body {
			t.Errorf("header %q: file\n%s", header, got)
		}
	}
}
