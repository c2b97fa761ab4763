package catalog

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/infergw/gwctl/groups"
)

func TestBundledCatalog(t *testing.T) {
	c, err := Load(groups.FS, "bundled")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range c.Groups {
		names = append(names, g.Name)
	}
	if strings.Join(names, ",") != "identity,observability,gateway,egress,mcp,fallback" {
		t.Fatalf("table order %v", names)
	}
	gw, _ := c.Group("gateway")
	if !gw.Core || len(gw.Charts) != 2 || gw.Charts[1].ReleaseName != "dataplane" || gw.Charts[1].Namespace != "inference" {
		t.Fatalf("gateway group %+v", gw)
	}
	eg, _ := c.Group("egress")
	if eg.Core || eg.Default || eg.Feature != "egress" || len(eg.Secrets) != 1 || eg.Secrets[0].Key != "Authorization" {
		t.Fatalf("egress group %+v", eg)
	}
	if obs, _ := c.Group("observability"); !obs.Kustomize {
		t.Fatal("observability has a kustomize directory")
	}
	for _, g := range c.Optional() {
		if g.Default {
			t.Errorf("optional group %s is on by default", g.Name)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	const head = "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Group\n"
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"schema: unknown key with position", map[string]string{
			"a/group.yaml": head + "metadata: {name: a}\nspec:\n  layer: x\n  requirez: [b]\n  content: {kustomize: true}\n",
		}, "/cat/a/group.yaml:6:13: spec.requirez: unknown key"},
		{"schema: wrong type", map[string]string{
			"a/group.yaml": head + "metadata: {name: a}\nspec:\n  layer: x\n  core: sometimes\n  content: {kustomize: true}\n",
		}, "/cat/a/group.yaml:6:9: spec.core"},
		{"name differs from folder", map[string]string{
			"a/group.yaml": head + "metadata: {name: b}\nspec:\n  layer: x\n  content: {kustomize: true}\n",
		}, `metadata.name "b" must equal the folder name "a"`},
		{"missing kustomization", map[string]string{
			"a/group.yaml": head + "metadata: {name: a}\nspec:\n  layer: x\n  content: {kustomize: true}\n",
		}, "a/kustomization.yaml is missing"},
		{"missing chart", map[string]string{
			"a/group.yaml": head + "metadata: {name: a}\nspec:\n  layer: x\n  content: {charts: [{path: charts/z}]}\n",
		}, "/cat/a/group.yaml: spec.content.charts[0].path: no Chart.yaml in /cat/a/charts/z"},
		{"no content", map[string]string{
			"a/group.yaml": head + "metadata: {name: a}\nspec:\n  layer: x\n  content: {}\n",
		}, "needs a kustomize directory or at least one chart"},
		{"layer not declared", map[string]string{
			"catalog.yaml":         "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Catalog\nlayers: [base]\n",
			"a/group.yaml":         head + "metadata: {name: a}\nspec:\n  layer: x\n  content: {kustomize: true}\n",
			"a/kustomization.yaml": "resources: []\n",
		}, `layer "x", which is not in layers`},
		{"table lists a missing group", map[string]string{
			"catalog.yaml":         "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Catalog\ngroups: [a, ghost]\n",
			"a/group.yaml":         head + "metadata: {name: a}\nspec:\n  layer: x\n  content: {kustomize: true}\n",
			"a/kustomization.yaml": "resources: []\n",
		}, `groups lists "ghost"`},
		{"empty catalog", map[string]string{"README.md": "x"}, "no groups"},
		{"two tests in one condition", map[string]string{
			"a/group.yaml": head + "metadata: {name: a}\nspec:\n  layer: x\n  content: {kustomize: true}\n  conditions:\n  - {knob: k, equals: a, in: [b]}\n",
		}, "/cat/a/group.yaml:8:5: spec.conditions[0]: one test per condition, found equals and in"},
		{"unknown severity", map[string]string{
			"a/group.yaml": head + "metadata: {name: a}\nspec:\n  layer: x\n  content: {kustomize: true}\n  conditions:\n  - {knob: k, severity: info}\n",
		}, "spec.conditions[0].severity: value must be one of"},
		{"severity on enabledBy", map[string]string{
			"a/group.yaml": head + "metadata: {name: a}\nspec:\n  layer: x\n  content: {kustomize: true}\n  enabledBy: {knob: k, severity: warning}\n",
		}, "spec.enabledBy.severity: unknown key"},
		{"header that is not a comment", map[string]string{
			"catalog.yaml":         "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Catalog\ngroupsFile:\n  header: |\n    # ok\n    not a comment\n",
			"a/group.yaml":         head + "metadata: {name: a}\nspec:\n  layer: x\n  content: {kustomize: true}\n",
			"a/kustomization.yaml": "resources: []\n",
		}, "/cat/catalog.yaml:4:11: groupsFile.header: line 2 of the header is not a comment"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for k, v := range c.files {
				fsys[k] = &fstest.MapFile{Data: []byte(v)}
			}
			_, err := Load(fsys, "/cat")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

func TestConditionsAndHeader(t *testing.T) {
	const head = "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Group\n"
	cases := []struct {
		name, catalog string
		header        string
	}{
		{"no catalog.yaml: the generated marker", "", GeneratedHeader},
		{"generated", "groupsFile: {header: generated}\n", GeneratedHeader},
		{"none", "groupsFile: {header: none}\n", ""},
		{"a text, newline added", "groupsFile: {header: \"# managed by platform tooling\"}\n", "# managed by platform tooling\n"},
		{"a block", "groupsFile:\n  header: |\n    # one\n\n    # two\n", "# one\n\n# two\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"a/group.yaml": {Data: []byte(head + `metadata: {name: a}
spec:
  layer: x
  content: {kustomize: true}
  enabledBy: {knob: gpu_stack, equals: operator}
  conditions:
  - {knob: dns.provider, notEquals: none, severity: warning, message: dns provider none}
  - {knob: profile, in: [small, 3, true]}
  - {knob: legacy, exists: false}
  - {knob: domain}
`)},
				"a/kustomization.yaml": {Data: []byte("resources: []\n")},
			}
			if c.catalog != "" {
				fsys["catalog.yaml"] = &fstest.MapFile{Data: []byte("apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Catalog\n" + c.catalog)}
			}
			cat, err := Load(fsys, "/cat")
			if err != nil {
				t.Fatal(err)
			}
			if cat.Header != c.header {
				t.Fatalf("header %q, want %q", cat.Header, c.header)
			}
			g, _ := cat.Group("a")
			if eb := g.EnabledBy; eb == nil || eb.Knob != "gpu_stack" || eb.Op != OpEquals || eb.Values[0] != "operator" {
				t.Fatalf("enabledBy %+v", g.EnabledBy)
			}
			want := []Condition{
				{Knob: "dns.provider", Op: OpNotEquals, Values: []string{"none"}, Message: "dns provider none", Severity: SeverityWarning},
				{Knob: "profile", Op: OpIn, Values: []string{"small", "3", "true"}, Severity: SeverityError},
				{Knob: "legacy", Op: OpExists, Severity: SeverityError},
				{Knob: "domain", Severity: SeverityError},
			}
			if fmt.Sprint(g.Conditions) != fmt.Sprint(want) {
				t.Fatalf("conditions\n%+v\nwant\n%+v", g.Conditions, want)
			}
		})
	}
}
