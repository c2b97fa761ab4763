package manifest_test

import (
	"testing"

	"github.com/infergw/gwctl/internal/testenv/bundled"
	"github.com/infergw/gwctl/pkg/manifest"
)

// TestFastParseBundledRender: what `gwctl render` emits for the bundled platform, and the
// resources the dataplane serves from it, are entirely on the fast path, with yaml.v3's trees.
func TestFastParseBundledRender(t *testing.T) {
	stream, resources := bundled.Render(t, nil, nil)
	for name, data := range map[string][]byte{"render stream": stream, "dataplane resources": resources} {
		accepted, diff := manifest.DiffFast(data)
		if diff != "" {
			t.Fatalf("%s: %s", name, diff)
		}
		if !accepted {
			t.Errorf("%s: declined by the fast path", name)
		}
	}
}
