package validate

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
)

func loadDir(t *testing.T, dir string) []*manifest.Object {
	t.Helper()
	objs, err := manifest.Load([]string{dir}, nil, manifest.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// The bundled egress and MCP groups are valid: no errors or warnings.
func TestPlatformClean(t *testing.T) {
	v, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	fs := v.Validate(context.Background(), loadDir(t, filepath.Join("testdata", "platform")))
	for _, f := range fs {
		if f.Severity != finding.Info {
			t.Errorf("unexpected: %s", f)
		} else {
			t.Log(f)
		}
	}
}
