package render_test

import (
	"bytes"
	"context"
	"github.com/infergw/gwctl/internal/testenv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/infergw/gwctl/groups"
	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/platform"
	"github.com/infergw/gwctl/pkg/render"
	"github.com/infergw/gwctl/pkg/resolve"
)

func bundled(t testing.TB) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.Load(groups.FS, "bundled")
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func features(cat *catalog.Catalog) []string {
	var out []string
	for _, g := range cat.Optional() {
		out = append(out, g.Name)
	}
	return out
}

func renderWith(t testing.TB, cat *catalog.Catalog, enable []string, set ...string) *render.Result {
	t.Helper()
	out, err := render.Platform(context.Background(), cat, platform.Options{Enable: enable, Set: set})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func stream(t testing.TB, objs []*render.Object) []byte {
	t.Helper()
	b, err := render.Stream(objs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testenv.Golden(t, filepath.Join("testdata", name), got)
}

func TestGoldenStreams(t *testing.T) {
	cat := bundled(t)
	golden(t, "render-default.yaml", stream(t, renderWith(t, cat, nil).Objects))
	golden(t, "render-egress-mcp.yaml", stream(t, renderWith(t, cat, []string{"egress", "mcp"}, "secretStore.name=secret-store").Objects))
}

// Every feature combination renders, twice identically, to objects that parse as Kubernetes
// objects, in apply order, with the dataplane's ConfigMap carrying exactly the gateway resources.
func TestEveryFeatureCombination(t *testing.T) {
	cat := bundled(t)
	names := features(cat)
	for mask := 0; mask < 1<<len(names); mask++ {
		var on []string
		for i, n := range names {
			if mask&(1<<i) != 0 {
				on = append(on, n)
			}
		}
		t.Run(strings.Join(append([]string{"base"}, on...), "+"), func(t *testing.T) {
			a := renderWith(t, cat, on, "secretStore.name=secret-store")
			b := renderWith(t, cat, on, "secretStore.name=secret-store")
			sa, sb := stream(t, a.Objects), stream(t, b.Objects)
			if !bytes.Equal(sa, sb) {
				t.Fatal("two renders differ")
			}
			objs, err := manifest.Parse("render", sa, manifest.DefaultLimits)
			if err != nil {
				t.Fatalf("render does not parse: %v", err)
			}
			if len(objs) != len(a.Objects) {
				t.Fatalf("%d documents for %d objects", len(objs), len(a.Objects))
			}
			seenNonNS := false
			var cm *manifest.Object
			var gatewayObjs int
			for _, o := range objs {
				if o.Kind == "Namespace" && seenNonNS {
					t.Fatalf("Namespace %s after other kinds", o.Name)
				}
				if o.Kind != "Namespace" {
					seenNonNS = true
				}
				if o.Kind == "ConfigMap" && o.Name == "dataplane-resources" {
					cm = o
				}
				if render.IsGatewayResource(o.Group(), o.Kind) {
					gatewayObjs++
				}
				if o.Namespace == "" && o.Kind != "Namespace" && o.Kind != "GatewayClass" {
					t.Errorf("%s/%s has no namespace", o.Kind, o.Name)
				}
				if o.Labels()[render.GroupLabel] == "" {
					t.Errorf("%s/%s has no %s label", o.Kind, o.Name, render.GroupLabel)
				}
			}
			if cm == nil {
				t.Fatal("no dataplane-resources ConfigMap")
			}
			data, _ := cm.Get("data", render.GatewayResourcesKey)
			inner, err := manifest.Parse("resources.yaml", []byte(data.(string)), manifest.DefaultLimits)
			if err != nil {
				t.Fatalf("ConfigMap resources do not parse: %v", err)
			}
			if len(inner) != gatewayObjs {
				t.Fatalf("ConfigMap carries %d gateway resources, render has %d", len(inner), gatewayObjs)
			}
		})
	}
}

func TestFilterAndWriteDir(t *testing.T) {
	cat := bundled(t)
	res := renderWith(t, cat, []string{"egress"}, "secretStore.name=s")
	for _, o := range res.Select(render.Filter{Groups: []string{"egress"}}) {
		if o.Group != "egress" {
			t.Fatalf("group filter kept %s from %s", o.Name, o.Group)
		}
	}
	if n := len(res.Select(render.Filter{OnlyCRDs: true})); n != 0 {
		t.Fatalf("bundled platform has no CRDs, got %d", n)
	}
	if len(res.Select(render.Filter{SkipCRDs: true})) != len(res.Objects) {
		t.Fatal("skip crds dropped non-CRDs")
	}
	dir := t.TempDir()
	files, err := render.WriteDir(dir, res.Objects)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("files %v, want gateway and egress", files)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "egress.yaml"))
	if !strings.Contains(string(data), "kind: ExternalSecret") || strings.Contains(string(data), "\nkind: Gateway\n") {
		t.Fatalf("egress.yaml content wrong:\n%s", data)
	}
}

func TestErrorsNameGroupAndFile(t *testing.T) {
	fsys := fstest.MapFS{
		"catalog.yaml":                  {Data: []byte("apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Catalog\nlayers: [base]\n")},
		"bad/group.yaml":                {Data: []byte("apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Group\nmetadata: {name: bad}\nspec:\n  layer: base\n  core: true\n  namespace: x\n  content:\n    charts: [{path: charts/c}]\n")},
		"bad/charts/c/Chart.yaml":       {Data: []byte("apiVersion: v2\nname: c\nversion: 0.1.0\n")},
		"bad/charts/c/templates/a.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ required \"name is required\" .Values.nope }}\n")},
	}
	cat, err := catalog.Load(fsys, "/repo/catalog")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := platform.Load(platform.Options{})
	res, _ := resolve.Resolve(cat, cfg)
	_, err = render.Render(context.Background(), render.Options{Catalog: cat, Config: cfg, Groups: res.Order})
	if err == nil {
		t.Fatal("render of a failing chart succeeded")
	}
	for _, want := range []string{`group "bad"`, "charts/c", "templates/a.yaml", "name is required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

// Keys gwctl does not own reach charts as written, so a repo's own charts keep reading them.
func TestForeignKeysReachCharts(t *testing.T) {
	fsys := fstest.MapFS{
		"catalog.yaml":                  {Data: []byte("apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Catalog\nlayers: [base]\n")},
		"app/group.yaml":                {Data: []byte("apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Group\nmetadata: {name: app}\nspec:\n  layer: base\n  core: true\n  namespace: x\n  content:\n    charts: [{path: charts/c}]\n")},
		"app/charts/c/Chart.yaml":       {Data: []byte("apiVersion: v2\nname: c\nversion: 0.1.0\n")},
		"app/charts/c/templates/a.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  domain: {{ .Values.domain | quote }}\n  repo: {{ .Values.repoURL | quote }}\n  dns: {{ .Values.dns.provider | quote }}\n")},
	}
	cat, err := catalog.Load(fsys, "/repo/catalog")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(file, []byte("domain: example.org\nrepoURL: https://git.example.org/platform\ndns: {provider: none}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := platform.Load(platform.Options{File: file})
	if err != nil {
		t.Fatal(err)
	}
	res, err := resolve.Resolve(cat, cfg)
	if err != nil {
		t.Fatal(err)
	}
	out, err := render.Render(context.Background(), render.Options{Catalog: cat, Config: cfg, Groups: res.Order})
	if err != nil {
		t.Fatal(err)
	}
	got := string(stream(t, out.Objects))
	for _, want := range []string{"domain: example.org", "repo: https://git.example.org/platform", "dns: none"} {
		if !strings.Contains(got, want) {
			t.Errorf("render lacks %q:\n%s", want, got)
		}
	}
}

// A group without spec.content is listed by resolve-groups (for an Argo CD Application that
// renders it) and renders nothing; its neighbours render as usual.
func TestGroupWithoutContent(t *testing.T) {
	fsys := fstest.MapFS{
		"catalog.yaml":                  {Data: []byte("apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Catalog\nlayers: [base]\n")},
		"listed/group.yaml":             {Data: []byte("apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Group\nmetadata: {name: listed}\nspec:\n  layer: base\n  core: true\n")},
		"app/group.yaml":                {Data: []byte("apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Group\nmetadata: {name: app}\nspec:\n  layer: base\n  core: true\n  namespace: x\n  content:\n    charts: [{path: charts/c}]\n")},
		"app/charts/c/Chart.yaml":       {Data: []byte("apiVersion: v2\nname: c\nversion: 0.1.0\n")},
		"app/charts/c/templates/a.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n")},
	}
	cat, err := catalog.Load(fsys, "/repo/catalog")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := platform.Load(platform.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := resolve.Resolve(cat, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range res.Order {
		names = append(names, g.Name)
	}
	if strings.Join(names, ",") != "app,listed" && strings.Join(names, ",") != "listed,app" {
		t.Fatalf("enabled groups %v, want app and listed", names)
	}
	out, err := render.Render(context.Background(), render.Options{Catalog: cat, Config: cfg, Groups: res.Order})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Objects) != 1 || out.Objects[0].Kind != "ConfigMap" {
		t.Fatalf("rendered %d objects, want the one ConfigMap", len(out.Objects))
	}
}
