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
		{"unknown feature in file: at the key, with the known ones", Options{File: write(t, "features:\n  egres: true\n")},
			`platform.yaml:2:3: features.egres: unknown feature (did you mean "egress"?) (known: egress, mcp, identity, observability)`},
		{"typo in an object gwctl owns", Options{File: write(t, "gateway:\n  naem: gw\n")},
			`platform.yaml:2:3: gateway.naem: unknown key (did you mean "name"?) (gateway takes: className, name, namespace, port, publicURL, tls)`},
		{"typo in a list element gwctl owns", Options{File: write(t, "pool:\n  models:\n  - nme: x\n")},
			`platform.yaml:3:5: pool.models[0].nme: unknown key (did you mean "name"?)`},
		{"wrong type in file: at the key", Options{File: write(t, "gateway:\n  port: eighty\n")}, "platform.yaml:2:3: gateway.port: expected integer"},
		{"owned key of the wrong shape", Options{File: write(t, "gateway: inference\n")}, "platform.yaml:1:1: gateway: expected object"},
		{"unknown top-level key, strict", Options{Strict: true, File: write(t, "environment: dev\nfeaturez: {}\n")},
			`platform.yaml:2:1: featurez: unknown key (did you mean "features"?); --strict-config refuses keys gwctl does not own`},
		{"yaml syntax", Options{File: write(t, "features: [\n")}, "platform.yaml:1: YAML syntax"},
		{"missing file", Options{File: "/nonexistent/p.yaml"}, "/nonexistent/p.yaml"},
		{"bad env bool", Options{Environ: []string{"GWCTL_FEATURES_EGRESS=maybe"}}, "GWCTL_FEATURES_EGRESS: features.egress: \"maybe\" is not a boolean"},
		{"unknown env feature", Options{Environ: []string{"GWCTL_FEATURES_EGRES=true"}}, `GWCTL_FEATURES_EGRES: unknown feature (did you mean "egress"?) (known: egress, mcp, identity, observability)`},
		{"bad --set key in an owned object", Options{Set: []string{"gateway.prot=1"}}, `--set gateway.prot: unknown key (did you mean "port"?)`},
		{"bad --set value", Options{Set: []string{"gateway.namespace=Not_Valid"}}, "--set gateway.namespace: does not match pattern"},
		{"--set an owned mapping", Options{Set: []string{"gateway=x"}}, "--set gateway: gateway is a mapping: set one of its keys (className, name"},
		{"--set through an owned scalar", Options{Set: []string{"gateway.port.x=1"}}, "--set gateway.port.x: gateway.port is an integer, not a mapping"},
		{"--set an owned list", Options{Set: []string{"pool.models=x"}}, "--set pool.models: pool.models is a list: set it in the config file"},
		{"--set a foreign key, strict", Options{Strict: true, Set: []string{"gpu_stack=operator"}}, "--set gpu_stack: unknown key; --strict-config refuses"},
		{"--set an empty segment", Options{Set: []string{"a..b=1"}}, "--set a..b: empty segment"},
		{"unknown --enable", Options{Enable: []string{"mpc"}}, `--enable mpc: unknown feature (did you mean "mcp"?)`},
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

// Knobs of keys gwctl owns keep the schema's spelling and the value's type, whichever layer set
// them, though the layers lower-case keys.
func TestOwnedKnobsAsWritten(t *testing.T) {
	file := write(t, "secretStore: {name: vault}\npool:\n  models: [{name: m}]\nrepoURL: x\n")
	cfg, err := Load(Options{File: file, Features: features, Set: []string{"gateway.publicURL=https://gw.example.com"},
		Environ: []string{"GWCTL_IDENTITY_JWKSPATH=/jwks"}, Enable: []string{"mcp"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range [][]string{{"secretStore", "name"}, {"gateway", "publicURL"}, {"identity", "jwksPath"}, {"features", "mcp"}, {"kubernetesVersion"}, {"repoURL"}} {
		var cur any = cfg.Knobs
		for _, k := range path {
			m, _ := cur.(map[string]any)
			cur = m[k]
		}
		if cur == nil {
			t.Errorf("knob %v not found as written in %v", path, cfg.Knobs)
		}
	}
	if _, ok := cfg.Knobs["secretstore"]; ok {
		t.Errorf("a lower-cased copy of an owned key: %v", cfg.Knobs)
	}
	if v, _ := cfg.Lookup("gateway.port"); v != int64(80) {
		t.Errorf("gateway.port = %#v, want int64(80)", v)
	}
	if v, _ := cfg.Lookup("pool.models"); len(v.([]any)) != 1 || v.([]any)[0].(map[string]any)["name"] != "m" {
		t.Errorf("pool.models = %#v", v)
	}
	if _, ok := cfg.Lookup("features.egress"); ok {
		t.Error("a feature nobody set is present")
	}
	if cfg.Gateway.PublicURL != "https://gw.example.com" || cfg.Identity.JWKSPath != "/jwks" || cfg.SecretStore.Name != "vault" || cfg.Pool.Models[0].Name != "m" {
		t.Errorf("decoded: %+v %+v %+v %+v", cfg.Gateway, cfg.Identity, cfg.SecretStore, cfg.Pool)
	}
}
