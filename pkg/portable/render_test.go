package portable_test

import (
	"context"
	"github.com/infergw/gwctl/internal/testenv"
	"path/filepath"
	"testing"

	"github.com/infergw/gwctl/groups"
	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/platform"
	"github.com/infergw/gwctl/pkg/render"
)

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
	out, err := render.Platform(context.Background(), cat, platform.Options{Enable: enable, Set: append(set, storeSet)})
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
	testenv.Golden(t, filepath.Join("testdata", name), got)
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
