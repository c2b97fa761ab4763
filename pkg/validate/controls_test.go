package validate

import (
	"bytes"
	"github.com/infergw/gwctl/pkg/validate/controls"
	"os"
	"path/filepath"
	"testing"
)

func TestControls(t *testing.T) {
	rep := controls.Compute(loadDir(t, filepath.Join("testdata", "platform")))
	got := map[string]map[string]controls.Status{}
	for _, rc := range rep.Routes {
		got[rc.Route.String()] = map[string]controls.Status{}
		for _, c := range rc.Controls {
			got[rc.Route.String()][c.Name] = c.Status
		}
	}
	want := map[string]map[string]controls.Status{
		// The MCP route: Strict JWT, local limit, Gateway tracing with its collector; one backend.
		"HTTPRoute/mcp/mcp": {controls.Auth: controls.Implemented, controls.RateLimit: controls.Implemented, controls.Tracing: controls.Implemented, controls.Fallback: controls.Absent},
		"HTTPRoute/agentgateway-system/egress-anthropic": {controls.Auth: controls.Absent, controls.RateLimit: controls.Absent, controls.Tracing: controls.Implemented, controls.Fallback: controls.Absent},
	}
	for route, cs := range want {
		for name, status := range cs {
			if got[route][name] != status {
				t.Errorf("%s %s: got %q, want %q", route, name, got[route][name], status)
			}
		}
	}
	var md bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "controls.md")
	if *update {
		os.WriteFile(golden, md.Bytes(), 0o644)
	}
	want2, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if md.String() != string(want2) {
		t.Errorf("markdown differs from %s:\n%s", golden, md.String())
	}
}

// Without the JWKS Service and with a non-Strict mode, auth is only partial.
func TestControlsPartial(t *testing.T) {
	objs := loadDir(t, filepath.Join("testdata", "platform"))
	var kept = objs[:0]
	for _, o := range objs {
		if !(o.Kind == "Service" && (o.Name == "dex" || o.Name == "otel-collector")) {
			kept = append(kept, o)
		}
	}
	for _, rc := range controls.Compute(kept).Routes {
		if rc.Route.Name != "mcp" {
			continue
		}
		for _, c := range rc.Controls {
			if (c.Name == controls.Auth || c.Name == controls.Tracing) && c.Status != controls.Partial {
				t.Errorf("%s: got %s (%s), want partial", c.Name, c.Status, c.Why)
			}
		}
	}
}
