package render_test

import (
	"context"
	"testing"

	"github.com/infergw/gwctl/pkg/platform"
	"github.com/infergw/gwctl/pkg/render"
	"github.com/infergw/gwctl/pkg/resolve"
)

// BenchmarkRenderFullPlatform renders every bundled group (all features on) into the stream.
func BenchmarkRenderFullPlatform(b *testing.B) {
	cat := bundled(b)
	cfg, err := platform.Load(platform.Options{Features: features(cat), Enable: features(cat), Set: []string{"secretStore.name=secret-store"}})
	if err != nil {
		b.Fatal(err)
	}
	res, err := resolve.Resolve(cat, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		out, err := render.Render(context.Background(), render.Options{Catalog: cat, Config: cfg, Groups: res.Order})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := render.Stream(out.Objects); err != nil {
			b.Fatal(err)
		}
	}
}
