package resolve

import (
	"errors"
	"fmt"
	"github.com/infergw/gwctl/internal/testenv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/infergw/gwctl/groups"
	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/platform"
)

var update = testenv.Update

// group is a compact group.yaml for test catalogs.
func group(name, layer, extra string) string {
	return fmt.Sprintf("apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Group\nmetadata: {name: %s}\nspec:\n  layer: %s\n  content: {kustomize: true}\n%s", name, layer, extra)
}

func testCatalog(t *testing.T, groups map[string]string, table string) *catalog.Catalog {
	t.Helper()
	fsys := fstest.MapFS{"catalog.yaml": {Data: []byte("apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Catalog\nlayers: [platform, routing]\n" + table)}}
	for name, body := range groups {
		fsys[name+"/group.yaml"] = &fstest.MapFile{Data: []byte(body)}
		fsys[name+"/kustomization.yaml"] = &fstest.MapFile{Data: []byte("resources: []\n")}
	}
	cat, err := catalog.Load(fsys, "test")
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func config(t *testing.T, cat *catalog.Catalog, opts platform.Options) *platform.Config {
	t.Helper()
	for _, g := range cat.Optional() {
		opts.Features = append(opts.Features, g.Feature)
	}
	cfg, err := platform.Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func names(r *Result) string {
	var out []string
	for _, g := range r.Order {
		out = append(out, g.Name)
	}
	return strings.Join(out, ",")
}

func TestResolutionRules(t *testing.T) {
	cat := testCatalog(t, map[string]string{
		"core":     group("core", "routing", "  core: true\n"),
		"auth":     group("auth", "platform", "  default: false\n"),
		"tools":    group("tools", "routing", "  requires: [auth, core]\n"),
		"metrics":  group("metrics", "platform", "  default: true\n"),
		"gpu":      group("gpu", "platform", "  enabledBy: {knob: gateway.className, equals: gpu}\n"),
		"external": group("external", "routing", "  conditions:\n  - {knob: secretStore.name, message: needs a store}\n"),
	}, "groups: [metrics, auth, gpu, core, tools, external]\n")

	cases := []struct {
		name    string
		opts    platform.Options
		order   string
		reasons map[string]string
		err     string
	}{
		{name: "defaults: core and default-on groups", order: "metrics,core",
			reasons: map[string]string{"core": "core", "metrics": "default", "auth": "off"}},
		{name: "flag off beats default", opts: platform.Options{Disable: []string{"metrics"}}, order: "core"},
		{name: "requires closure, in dependency order", opts: platform.Options{Enable: []string{"tools"}},
			order: "metrics,auth,core,tools", reasons: map[string]string{"auth": "required by tools", "tools": "feature flag"}},
		{name: "required group explicitly off", opts: platform.Options{Enable: []string{"tools"}, Disable: []string{"auth"}},
			err: `group "tools" requires "auth", but features.auth is explicitly false (tools -> auth)`},
		{name: "knob turns a group on", opts: platform.Options{Set: []string{"gateway.className=gpu"}},
			order: "metrics,gpu,core", reasons: map[string]string{"gpu": "knob gateway.className=gpu"}},
		{name: "explicit off beats knob", opts: platform.Options{Set: []string{"gateway.className=gpu"}, Disable: []string{"gpu"}}, order: "metrics,core"},
		{name: "unmet condition", opts: platform.Options{Enable: []string{"external"}}, err: `group "external" (feature flag): needs a store`},
		{name: "condition met", opts: platform.Options{Enable: []string{"external"}, Set: []string{"secretStore.name=vault"}}, order: "metrics,core,external"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := Resolve(cat, config(t, cat, c.opts))
			if c.err != "" {
				var re *Error
				if !errors.As(err, &re) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %v, want *resolve.Error containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := names(res); got != c.order {
				t.Fatalf("order %s, want %s", got, c.order)
			}
			for _, e := range res.All {
				if want, ok := c.reasons[e.Name]; ok && e.Reason != want {
					t.Errorf("%s: reason %q, want %q", e.Name, e.Reason, want)
				}
			}
			// Every group appears in the file, in table order (layers first).
			var all []string
			for _, e := range res.All {
				all = append(all, e.Name)
			}
			if strings.Join(all, ",") != "metrics,auth,gpu,core,tools,external" {
				t.Fatalf("table order %v", all)
			}
		})
	}
}

func TestGraphErrors(t *testing.T) {
	cycle := testCatalog(t, map[string]string{
		"a": group("a", "routing", "  requires: [b]\n"),
		"b": group("b", "routing", "  requires: [c]\n"),
		"c": group("c", "routing", "  requires: [a]\n"),
	}, "")
	_, err := Resolve(cycle, config(t, cycle, platform.Options{}))
	if err == nil || !strings.Contains(err.Error(), "requirement cycle: a -> b -> c -> a") {
		t.Fatalf("cycle: %v", err)
	}
	unknown := testCatalog(t, map[string]string{"a": group("a", "routing", "  requires: [ghost]\n")}, "")
	_, err = Resolve(unknown, config(t, unknown, platform.Options{}))
	if err == nil || !strings.Contains(err.Error(), `group "a" requires unknown group "ghost"`) || !strings.Contains(err.Error(), "a/group.yaml") {
		t.Fatalf("unknown: %v", err)
	}
}

// The bundled catalog's groups file, with egress and mcp off and on, is golden. It goes through
// Platform, the entry gwctl, render and the tests share.
func TestBundledGroupsFileGolden(t *testing.T) {
	cat, err := catalog.Load(groups.FS, "bundled")
	if err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string]platform.Options{
		"groups-default.generated.yaml":    {},
		"groups-egress-mcp.generated.yaml": {Enable: []string{"egress", "mcp"}, Set: []string{"secretStore.name=secret-store", "environment=dev"}},
	} {
		_, res, err := Platform(cat, opts)
		if err != nil {
			t.Fatal(err)
		}
		got := res.GroupsFile()
		p := filepath.Join("testdata", name)
		if *update {
			_ = os.MkdirAll("testdata", 0o755)
			_ = os.WriteFile(p, got, 0o644)
		}
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%v (go test ./pkg/resolve -update)", err)
		}
		if string(got) != string(want) {
			t.Fatalf("%s differs:\n%s", name, got)
		}
	}
	// Egress without a secret store is an error, not a silent partial; the config comes back
	// with it (its warnings may say why).
	cfg, _, err := Platform(cat, platform.Options{Enable: []string{"egress"}})
	if err == nil || !strings.Contains(err.Error(), "secretStore.name") || cfg == nil {
		t.Fatalf("egress without store: config %v, %v", cfg != nil, err)
	}
	// mcp requires identity: turning identity explicitly off names the chain.
	_, err = Resolve(cat, config(t, cat, platform.Options{Enable: []string{"mcp"}, Disable: []string{"identity"}}))
	if err == nil || !strings.Contains(err.Error(), "mcp -> identity") {
		t.Fatalf("mcp without identity: %v", err)
	}
}
