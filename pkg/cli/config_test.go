package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func gwctlEnv(t *testing.T, environ []string, args ...string) run {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, Streams{In: strings.NewReader(""), Out: &out, Err: &errb}, append([]string{"PATH=/bin"}, environ...))
	return run{code, out.String(), errb.String()}
}

// platformRepo is a platform repo shaped like the one in issue #17: its own catalog, whose
// gpu group a foreign key enables and whose base group warns as the repo's script did, and an
// environment config that other tools read too.
func platformRepo(t *testing.T, catalogYAML string) (dir, cfg string) {
	t.Helper()
	dir = t.TempDir()
	writeFile(t, dir, "catalog/catalog.yaml", "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Catalog\nlayers: [infra, apps]\n"+catalogYAML)
	writeFile(t, dir, "catalog/base/group.yaml", `apiVersion: gwctl.infergw.dev/v1alpha1
kind: Group
metadata: {name: base}
spec:
  layer: infra
  core: true
  conditions:
  - {knob: domain, severity: warning, message: domain is empty}
  - {knob: dns.provider, notEquals: none, severity: warning, message: dns provider none}
  content: {kustomize: true}
`)
	writeFile(t, dir, "catalog/gpu/group.yaml", `apiVersion: gwctl.infergw.dev/v1alpha1
kind: Group
metadata: {name: gpu}
spec:
  layer: infra
  enabledBy: {knob: gpu_stack, equals: operator}
  content: {kustomize: true}
`)
	for _, g := range []string{"base", "gpu"} {
		writeFile(t, dir, "catalog/"+g+"/kustomization.yaml", "resources: []\n")
	}
	cfg = writeFile(t, dir, "environments/dev/config.yaml", `catalog: ../../catalog
environment: dev
cluster: dev-eu-1
repoURL: https://git.example.com/platform.git
domain: dev.example.com
gpu_stack: operator
dns:
  provider: none
`)
	return dir, cfg
}

func TestForeignKeysEnableGroups(t *testing.T) {
	_, cfg := platformRepo(t, "")
	r := gwctl(t, "", "resolve-groups", "-c", cfg)
	if r.code != 0 || !strings.Contains(r.out, `- { name: gpu, layer: infra, enabled: "true"`) {
		t.Fatalf("knob-enabled group: %+v", r)
	}
	r = gwctl(t, "", "resolve-groups", "-c", cfg, "--set", "gpu_stack=x")
	if r.code != 0 || !strings.Contains(r.out, `- { name: gpu, layer: infra, enabled: "false"`) {
		t.Fatalf("--set gpu_stack=x: %+v", r)
	}
	r = gwctlEnv(t, []string{"GWCTL_GPU_STACK=x"}, "resolve-groups", "-c", cfg)
	if r.code != 0 || !strings.Contains(r.out, `- { name: gpu, layer: infra, enabled: "false"`) {
		t.Fatalf("GWCTL_GPU_STACK=x: %+v", r)
	}
	// --strict-config keeps the old refusal, at each key's line and column.
	r = gwctl(t, "", "resolve-groups", "-c", cfg, "--strict-config")
	if r.code != 2 || !strings.Contains(r.err, "config.yaml:3:1: cluster: unknown key") ||
		!strings.Contains(r.err, "config.yaml:7:1: dns: unknown key") || !strings.Contains(r.err, "config.yaml:6:1: gpu_stack: unknown key") {
		t.Fatalf("--strict-config: %+v", r)
	}
}

// A warning condition prints to stderr, is listed in -o json, and exits 0.
func TestWarningConditions(t *testing.T) {
	_, cfg := platformRepo(t, "")
	r := gwctl(t, "", "resolve-groups", "-c", cfg, "--set", "domain=")
	if r.code != 0 || r.err != "warning: group \"base\" (core): domain is empty\nwarning: group \"base\" (core): dns provider none\n" {
		t.Fatalf("warnings: %+v", r)
	}
	r = gwctl(t, "", "resolve-groups", "-c", cfg, "-o", "json")
	var out struct{ Warnings []string }
	if r.code != 0 || json.Unmarshal([]byte(r.out), &out) != nil || len(out.Warnings) != 1 || out.Warnings[0] != `group "base" (core): dns provider none` {
		t.Fatalf("json: %+v", r)
	}
}

// A typo of a key gwctl owns is not silently ignored: a warning names the key it resembles,
// or, with --strict-config, an error.
func TestConfigTypo(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "config.yaml", "environment: dev\nfeaturs:\n  mcp: true\n")
	r := gwctl(t, "", "resolve-groups", "-c", cfg)
	if r.code != 0 || !strings.Contains(r.err, `warning: `+cfg+`:2:1: featurs: gwctl does not read this key (did you mean "features"?)`) {
		t.Fatalf("typo: %+v", r)
	}
	r = gwctl(t, "", "resolve-groups", "-c", cfg, "--strict-config")
	if r.code != 2 || !strings.Contains(r.err, cfg+`:2:1: featurs: unknown key (did you mean "features"?)`) {
		t.Fatalf("typo, strict: %+v", r)
	}
}

// The same bad config gives the same error text on every run.
func TestConfigErrorsDeterministic(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "config.yaml", "gateway:\n  nme: a\n  prot: 1\n  zone: x\nfeatures:\n  egres: true\n  mpc: true\ncluster: x\n")
	first := gwctl(t, "", "resolve-groups", "-c", cfg, "--strict-config")
	if first.code != 2 || strings.Count(first.err, "\n") != 6 {
		t.Fatalf("errors: %+v", first)
	}
	for range 20 {
		if r := gwctl(t, "", "resolve-groups", "-c", cfg, "--strict-config"); r.err != first.err {
			t.Fatalf("run differs:\n%s\nvs\n%s", r.err, first.err)
		}
	}
}

// --check compares exactly what would be written, header included: a catalog without a header
// matches a committed file without one.
func TestCheckWithCatalogHeader(t *testing.T) {
	dir, cfg := platformRepo(t, "groupsFile: {header: none}\n")
	committed := writeFile(t, dir, "clusters/dev/groups.yaml",
		"- { name: base, layer: infra, enabled: \"true\", catalogPath: clusters/dev/catalog/base }\n"+
			"- { name: gpu, layer: infra, enabled: \"true\", catalogPath: clusters/dev/catalog/gpu }\n")
	if r := gwctl(t, "", "resolve-groups", "-c", cfg, "--out", committed, "--check"); r.code != 0 {
		t.Fatalf("--check, header none: %+v", r)
	}
	r := gwctl(t, "", "resolve-groups", "-c", cfg, "--out", filepath.Join(dir, "new.yaml"))
	data, _ := os.ReadFile(filepath.Join(dir, "new.yaml"))
	if want, _ := os.ReadFile(committed); r.code != 0 || !bytes.Equal(data, want) {
		t.Fatalf("written file:\n%s", data)
	}
	// The default header differs from that file: drift.
	_, cfg = platformRepo(t, "")
	if r := gwctl(t, "", "resolve-groups", "-c", cfg, "--out", committed, "--check"); r.code != 1 || !strings.Contains(r.out, "+# Code generated by gwctl") {
		t.Fatalf("--check, default header: %+v", r)
	}
}
