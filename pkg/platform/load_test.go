package platform

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var features = []string{"egress", "mcp", "identity", "observability"}

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "platform.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsWithNoFile(t *testing.T) {
	cfg, err := Load(Options{Features: features})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range features {
		if cfg.Features[f] {
			t.Errorf("feature %s on by default", f)
		}
	}
	if cfg.Gateway.Name != "inference-gateway" || cfg.Gateway.Port != 80 || cfg.MCP.Bucket != 10 || len(cfg.Pool.Models) != 1 {
		t.Fatalf("defaults not applied: %+v", cfg)
	}
	if len(cfg.Explicit) != 0 {
		t.Fatalf("explicit features with no input: %v", cfg.Explicit)
	}
}

func TestPrecedence(t *testing.T) {
	file := write(t, "features:\n  egress: true\n  mcp: false\ngateway:\n  port: 8080\n  namespace: gw\nsecretStore: {name: vault}\n")
	cfg, err := Load(Options{
		File: file, Features: features,
		Environ: []string{"GWCTL_GATEWAY_PORT=9090", "GWCTL_FEATURES_MCP=true", "GWCTL_OTHER=/x", "PATH=/bin"},
		Set:     []string{"gateway.port=7070"},
		Disable: []string{"egress"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Gateway.Port != 7070 {
		t.Errorf("flag should beat env and file: port %d", cfg.Gateway.Port)
	}
	if !cfg.Features["mcp"] {
		t.Error("env should beat file for features.mcp")
	}
	if cfg.Features["egress"] {
		t.Error("--disable should beat file")
	}
	if cfg.Gateway.Namespace != "gw" || cfg.SecretStore.Name != "vault" || cfg.SecretStore.Kind != "ClusterSecretStore" {
		t.Errorf("file over defaults: %+v %+v", cfg.Gateway, cfg.SecretStore)
	}
	if !cfg.Explicit["egress"] || !cfg.Explicit["mcp"] || cfg.Explicit["identity"] {
		t.Errorf("explicit: %v", cfg.Explicit)
	}
	if cfg.Knob("secretStore.name") != "vault" || cfg.Knob("gateway.port") != "7070" || cfg.Knob("nope.x") != "" {
		t.Errorf("knobs: %q %q", cfg.Knob("secretStore.name"), cfg.Knob("gateway.port"))
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name string
		opts Options
		want string
	}{
		{"unknown feature in file", Options{File: write(t, "features:\n  egres: true\n")}, "platform.yaml:2:10: features.egres: unknown key 'egres'"},
		{"wrong type in file", Options{File: write(t, "gateway:\n  port: eighty\n")}, "platform.yaml:2:9: gateway.port:"},
		{"unknown top-level key", Options{File: write(t, "featurez: {}\n")}, "featurez: unknown key"},
		{"yaml syntax", Options{File: write(t, "features: [\n")}, "platform.yaml:1: YAML syntax"},
		{"missing file", Options{File: "/nonexistent/p.yaml"}, "/nonexistent/p.yaml"},
		{"bad env bool", Options{Environ: []string{"GWCTL_FEATURES_EGRESS=maybe"}}, "GWCTL_FEATURES_EGRESS: features.egress: \"maybe\" is not a boolean"},
		{"unknown env feature", Options{Environ: []string{"GWCTL_FEATURES_NOPE=true"}}, "GWCTL_FEATURES_NOPE: unknown feature"},
		{"bad --set key", Options{Set: []string{"gateway.prot=1"}}, "--set gateway.prot: unknown key"},
		{"bad --set value", Options{Set: []string{"gateway.namespace=Not_Valid"}}, "--set gateway.namespace: does not match pattern"},
		{"unknown --enable", Options{Enable: []string{"nope"}}, "--enable nope: unknown feature"},
		{"bucket below requests", Options{Set: []string{"mcp.bucket=2"}}, "mcp.bucket (2) must be at least mcp.requests (5)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Features = features
			_, err := Load(c.opts)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("got %v (%T), want *platform.Error", err, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not contain %q", err, c.want)
			}
		})
	}
}
