// Package bundled renders gwctl's bundled example platform for tests, the way `gwctl render`
// does, and hands back what the dataplane would serve. It lives apart from internal/testenv because
// it imports the render pipeline, whose own tests import internal/testenv.
package bundled

import (
	"context"
	"testing"

	"github.com/infergw/gwctl/groups"
	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/platform"
	"github.com/infergw/gwctl/pkg/render"
)

// Render renders the bundled platform with the optional groups in enable turned on and the
// --set values in set, and returns the whole YAML stream and the dataplane ConfigMap's
// resources.yaml (exactly what the dataplane serves in a cluster). Any failure fails t.
func Render(t testing.TB, enable, set []string) (stream, resources []byte) {
	t.Helper()
	cat, err := catalog.Load(groups.FS, "bundled")
	if err != nil {
		t.Fatal(err)
	}
	out, err := render.Platform(context.Background(), cat, platform.Options{Enable: enable, Set: set})
	if err != nil {
		t.Fatal(err)
	}
	stream, err = render.Stream(out.Objects)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifest.Parse("render", stream, manifest.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.Kind == "ConfigMap" && o.Name == "dataplane-resources" {
			v, _ := o.Get("data", render.GatewayResourcesKey)
			s, ok := v.(string)
			if !ok {
				t.Fatalf("dataplane-resources has no string %s", render.GatewayResourcesKey)
			}
			return stream, []byte(s)
		}
	}
	t.Fatal("no dataplane-resources ConfigMap in the render")
	return nil, nil
}
