package validate

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/pkg/validate/lint"
)

func loadDir(t *testing.T, dir string) []*manifest.Object {
	t.Helper()
	objs, err := manifest.Load([]string{dir}, nil, manifest.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// The bundled egress and MCP groups are valid: no errors or warnings, after their
// gwctl.infergw.dev/ignore annotations (which must suppress something).
func TestPlatformClean(t *testing.T) {
	v, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	objs := loadDir(t, filepath.Join("testdata", "platform"))
	fs, suppressed := Tune(objs, v.Validate(context.Background(), objs), RulesConfig{})
	if len(suppressed) != 1 || suppressed[0].Rule != lint.RuleBucket {
		t.Errorf("want the mcp bucket finding suppressed, got %v", suppressed)
	}
	for _, f := range fs {
		if f.Severity != finding.Info {
			t.Errorf("unexpected: %s", f)
		} else {
			t.Log(f)
		}
	}
}
