package validate

import (
	"context"
	"github.com/infergw/gwctl/internal/testenv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/manifest"
)

var update = testenv.Update

// Each testdata/cases/<name>.yaml is validated alone; its findings must equal <name>.golden.
func TestCases(t *testing.T) {
	cases := []struct {
		file string
		opts Options
		tag  string // names the golden when opts are not told by the version
	}{
		{"schema.yaml", Options{SkipCrossResource: true, SkipCompile: true}, ""},
		{"builtin.yaml", Options{}, ""},
		{"refs.yaml", Options{SkipCompile: true}, ""},
		// The same files in an open world: references to objects not in the input are warnings.
		{"refs.yaml", Options{SkipCompile: true, OpenWorld: true}, "open"},
		{"version-old.yaml", Options{AgentgatewayVersion: "v1.0.1", SkipCrossResource: true, SkipCompile: true}, ""},
		{"version-old.yaml", Options{AgentgatewayVersion: "v1.3.0", SkipCrossResource: true, SkipCompile: true}, ""},
		{"version-new.yaml", Options{AgentgatewayVersion: "v1.2.1", SkipCrossResource: true, SkipCompile: true}, ""},
		{"version-new.yaml", Options{AgentgatewayVersion: "v1.3.1", SkipCrossResource: true, SkipCompile: true}, ""},
		{"version-new.yaml", Options{AgentgatewayVersion: "v1.4.0", SkipCrossResource: true, SkipCompile: true}, ""},
		{"version-new.yaml", Options{AgentgatewayVersion: "v1.9.0", SkipCrossResource: true, SkipCompile: true}, ""},
		{"inference.yaml", Options{SkipCrossResource: true, SkipCompile: true}, ""},
		{"upstreams.yaml", Options{SkipCrossResource: true, SkipCompile: true}, ""},
		{"inference.yaml", Options{InferenceExtensionVersion: "v1.5.0", SkipCrossResource: true, SkipCompile: true}, ""},
		{"inference.yaml", Options{InferenceExtensionVersion: "v1.6", SkipCrossResource: true, SkipCompile: true}, ""},
	}
	for _, tc := range cases {
		name := strings.TrimSuffix(tc.file, ".yaml") + "@" + tc.opts.AgentgatewayVersion + tc.opts.InferenceExtensionVersion + tc.tag
		t.Run(name, func(t *testing.T) {
			v, err := New(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := manifest.Load([]string{filepath.Join("testdata", "cases", tc.file)}, nil, manifest.DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, f := range v.Validate(context.Background(), objs) {
				b.WriteString(f.String())
				b.WriteString("\n")
			}
			golden := filepath.Join("testdata", "cases", strings.TrimSuffix(name, "@")+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("findings differ from %s:\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}
