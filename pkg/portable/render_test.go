package portable_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/infergw/gwctl/groups"
	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/platform"
	"github.com/infergw/gwctl/pkg/render"
	"github.com/infergw/gwctl/pkg/resolve"
)

var update = flag.Bool("update", false, "rewrite golden files")

// renderBundled renders the bundled catalog with these optional groups on.
func renderBundled(t testing.TB, enable []string, set ...string) *render.Result {
	t.Helper()
	cat, err := catalog.Load(groups.FS, "bundled")
	if err != nil {
		t.Fatal(err)
	}
	return renderCatalog(t, cat, enable, set...)
}

func renderCatalog(t testing.TB, cat *catalog.Catalog, enable []string, set ...string) *render.Result {
	t.Helper()
	set = append(set, storeSet)
	var names []string
	for _, g := range cat.Optional() {
		names = append(names, g.Name)
	}
	cfg, err := platform.Load(platform.Options{Features: names, Enable: enable, Set: set})
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
	return out
}

// parsed is the render as gwctl validate reads it: one stream, objects with positions.
func parsed(t testing.TB, objs []*render.Object) []*manifest.Object {
	t.Helper()
	b, err := render.Stream(objs)
	if err != nil {
		t.Fatal(err)
	}
	out, err := manifest.Parse("render.yaml", b, manifest.DefaultLimits)
	if err != nil {
		t.Fatalf("render does not parse: %v", err)
	}
	return out
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/portable -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("output differs from %s (run go test ./pkg/portable -update and review the diff)", p)
	}
}

const storeSet = "secretStore.name=secret-store"

func TestStandbyRenderGolden(t *testing.T) {
	for name, enable := range map[string][]string{
		"standby-all.yaml":  {"fallback", "egress", "mcp"},
		"standby-only.yaml": {"fallback"},
	} {
		t.Run(name, func(t *testing.T) {
			res := renderBundled(t, enable, storeSet)
			b, err := render.Stream(res.Select(render.Filter{Groups: []string{"fallback"}}))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name, b)
		})
	}
}
