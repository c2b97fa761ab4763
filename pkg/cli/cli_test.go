package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/manifest"
)

type run struct {
	code     int
	out, err string
}

func gwctl(t *testing.T, stdin string, args ...string) run {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, Streams{In: strings.NewReader(stdin), Out: &out, Err: &errb}, []string{"PATH=/bin"})
	return run{code, out.String(), errb.String()}
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestResolveGroupsWriteAndCheck(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "environments/dev/config.yaml", "environment: dev\nfeatures:\n  mcp: true\n")
	out := filepath.Join(dir, "groups.generated.yaml")

	r := gwctl(t, "", "resolve-groups", "-c", cfg, "--out", out)
	if r.code != 0 {
		t.Fatalf("write: %+v", r)
	}
	data, _ := os.ReadFile(out)
	if !strings.Contains(string(data), `- { name: mcp, layer: routing, enabled: "true", catalogPath: clusters/dev/catalog/mcp }`) ||
		!strings.Contains(string(data), `- { name: identity, layer: platform, enabled: "true"`) {
		t.Fatalf("groups file:\n%s", data)
	}
	if r := gwctl(t, "", "resolve-groups", "-c", cfg, "--out", out, "--check"); r.code != 0 {
		t.Fatalf("check on a fresh file: %+v", r)
	}
	// Drift: the config changes, the committed file does not.
	writeFile(t, dir, "environments/dev/config.yaml", "environment: dev\nfeatures:\n  mcp: false\n")
	r = gwctl(t, "", "resolve-groups", "-c", cfg, "--out", out, "--check")
	if r.code != 1 || !strings.Contains(r.out, `-- { name: mcp, layer: routing, enabled: "true"`) || !strings.Contains(r.err, "is stale") {
		t.Fatalf("check on a stale file: %+v", r)
	}
	after, _ := os.ReadFile(out)
	if !bytes.Equal(after, data) {
		t.Fatal("--check modified the file")
	}
	// A missing file is drift too.
	if r := gwctl(t, "", "resolve-groups", "-c", cfg, "--out", filepath.Join(dir, "none.yaml"), "--check"); r.code != 1 {
		t.Fatalf("check on a missing file: %+v", r)
	}
	// output: in the config names the file.
	writeFile(t, dir, "environments/dev/config.yaml", "environment: dev\noutput: "+out+"\n")
	if r := gwctl(t, "", "resolve-groups", "-c", cfg); r.code != 0 || !strings.Contains(r.err, "wrote "+out) {
		t.Fatalf("output from config: %+v", r)
	}
}

func TestResolveGroupsFormats(t *testing.T) {
	if r := gwctl(t, "", "resolve-groups", "-o", "json", "--enable", "mcp"); r.code != 0 || !strings.Contains(r.out, `"order": [`) || !strings.Contains(r.out, `"reason": "required by mcp"`) {
		t.Fatalf("json: %+v", r)
	}
	if r := gwctl(t, "", "resolve-groups", "-o", "text"); r.code != 0 || !strings.Contains(r.out, "render order: gateway") {
		t.Fatalf("text: %+v", r)
	}
	if r := gwctl(t, "", "resolve-groups", "-o", "xml"); r.code != 2 {
		t.Fatalf("bad format: %+v", r)
	}
}

func TestUsageAndInputErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.yaml", "features:\n  egres: true\n")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"resolve-groups", "-c", bad}, `bad.yaml:2:3: features.egres: unknown feature (did you mean "egress"?)`},
		{[]string{"resolve-groups", "--enable", "egress"}, "secretStore.name"},
		{[]string{"resolve-groups", "--enable", "mcp", "--disable", "identity"}, "mcp -> identity"},
		{[]string{"render", "--only", "pods"}, "the only value is crds"},
		{[]string{"render", "--group", "egress"}, "not enabled"},
		{[]string{"render", "--catalog", filepath.Join(dir, "nope")}, "nope"},
		{[]string{"resolve-groups", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"nosuchcommand"}, "unknown command"},
		{[]string{"version", "--profile", "mem"}, `--profile: "mem" is not one of none, cpu, heap`},
		{[]string{"version", "--profile", "cpu", "--profile-output", filepath.Join(dir, "nope", "p")}, "--profile-output"},
	}
	for _, c := range cases {
		r := gwctl(t, "", c.args...)
		if r.code != 2 || !strings.Contains(r.err, c.want) {
			t.Errorf("gwctl %v: code %d, stderr %q; want 2 and %q", c.args, r.code, r.err, c.want)
		}
	}
}

func TestRender(t *testing.T) {
	r := gwctl(t, "", "render", "--enable", "egress", "--set", "secretStore.name=vault")
	if r.code != 0 {
		t.Fatalf("render: %+v", r)
	}
	objs, err := manifest.Parse("stdout", []byte(r.out), manifest.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, o := range objs {
		kinds[o.Kind] = true
	}
	for _, k := range []string{"Namespace", "Deployment", "Gateway", "HTTPRoute", "AgentgatewayBackend", "ExternalSecret", "InferencePool"} {
		if !kinds[k] {
			t.Errorf("render has no %s", k)
		}
	}
	if !strings.Contains(r.out, "name: vault") {
		t.Error("--set secretStore.name did not reach the ExternalSecret")
	}
	if r2 := gwctl(t, "", "render", "--enable", "egress", "--set", "secretStore.name=vault"); r2.out != r.out {
		t.Fatal("render is not deterministic")
	}
	if r := gwctl(t, "", "render", "--only", "crds"); r.code != 0 || r.out != "" {
		t.Fatalf("--only crds on a platform without CRDs: %+v", r)
	}
	dir := t.TempDir()
	if r := gwctl(t, "", "render", "--output-dir", dir); r.code != 0 {
		t.Fatalf("output-dir: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "gateway.yaml")); err != nil {
		t.Fatal(err)
	}
}

func TestUserCatalog(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "catalog/web/group.yaml", "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Group\nmetadata: {name: web}\nspec:\n  layer: apps\n  core: true\n  namespace: web\n  content: {kustomize: true}\n")
	writeFile(t, dir, "catalog/web/kustomization.yaml", "resources: [cm.yaml]\n")
	writeFile(t, dir, "catalog/web/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: site}\ndata: {a: b}\n")
	cfg := writeFile(t, dir, "config.yaml", "catalog: catalog\n")
	r := gwctl(t, "", "render", "-c", cfg)
	if r.code != 0 || !strings.Contains(r.out, "name: site\n  namespace: web") {
		t.Fatalf("user catalog via config: %+v", r)
	}
	r = gwctl(t, "", "resolve-groups", "--catalog", filepath.Join(dir, "catalog"))
	if r.code != 0 || !strings.Contains(r.out, "name: web, layer: apps") {
		t.Fatalf("user catalog via flag: %+v", r)
	}
}

func TestVersionCompletionHelp(t *testing.T) {
	if r := gwctl(t, "", "version"); r.code != 0 || !strings.HasPrefix(r.out, "gwctl dev") {
		t.Fatalf("version: %+v", r)
	}
	if r := gwctl(t, "", "version", "-o", "json"); r.code != 0 || !strings.Contains(r.out, `"goVersion"`) {
		t.Fatalf("version json: %+v", r)
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if r := gwctl(t, "", "completion", sh); r.code != 0 || !strings.Contains(r.out, "gwctl") {
			t.Fatalf("completion %s: code %d", sh, r.code)
		}
	}
	for _, cmd := range [][]string{{"--help"}, {"render", "--help"}, {"resolve-groups", "--help"}, {"version", "--help"}, {"schema", "--help"}} {
		r := gwctl(t, "", cmd...)
		if r.code != 0 || !strings.Contains(r.out, "Examples:") && !strings.Contains(r.out, "Example") {
			t.Errorf("gwctl %v has no examples", cmd)
		}
	}
	if r := gwctl(t, "", "schema", "platform"); r.code != 0 || !strings.Contains(r.out, `"egress":{"type":"boolean"}`) {
		t.Fatalf("schema platform: %+v", r)
	}
}

func TestRunbookFallback(t *testing.T) {
	r := gwctl(t, "", "runbook", "fallback", "--enable", "fallback")
	if r.code != 0 || !strings.Contains(r.out, "inference/inference-gateway-standby") || !strings.Contains(r.out, "## Which routes move") {
		t.Fatalf("runbook: code %d\n%s%s", r.code, r.out, r.err)
	}
	if r := gwctl(t, "", "runbook", "fallback"); r.code != 2 || !strings.Contains(r.err, "no standby Gateway") {
		t.Fatalf("runbook without standby: %+v", r)
	}
	// From a rendered stream on stdin, as in a pipeline.
	rendered := gwctl(t, "", "render", "--enable", "fallback")
	if r := gwctl(t, rendered.out, "runbook", "fallback", "-"); r.code != 0 || !strings.Contains(r.out, "local-models-standby") {
		t.Fatalf("runbook from stdin: %+v", r)
	}
}

// Every bundled group, in every feature combination, renders to output that validates clean
// (no errors, no warnings) through the same command users run.
func TestEveryFeatureCombinationValidatesClean(t *testing.T) {
	features := []string{"egress", "mcp", "identity", "observability", "fallback"}
	for mask := 0; mask < 1<<len(features); mask++ {
		var on []string
		for i, f := range features {
			if mask&(1<<i) != 0 {
				on = append(on, f)
			}
		}
		args := []string{"validate", "--strict", "--set", "secretStore.name=secret-store"}
		if len(on) > 0 {
			args = append(args, "--enable", strings.Join(on, ","))
		}
		if r := gwctl(t, "", args...); r.code != 0 {
			t.Errorf("features %v: exit %d\n%s%s", on, r.code, r.out, r.err)
		}
	}
}

func TestValidateInputsAndReports(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "route.yaml", `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{name: missing}]
  rules:
  - backendRefs: [{name: svc}]
`)
	junit := filepath.Join(dir, "r.xml")
	sarif := filepath.Join(dir, "r.sarif")
	r := gwctl(t, "", "validate", bad, "--junit-file", junit, "--sarif-file", sarif, "--summary")
	if r.code != 1 || !strings.Contains(r.out, "route.yaml") || !strings.Contains(r.out, "Must have port for Service reference") {
		t.Fatalf("invalid route: %+v", r)
	}
	for _, f := range []string{junit, sarif} {
		if data, err := os.ReadFile(f); err != nil || len(data) == 0 {
			t.Fatalf("%s not written: %v", f, err)
		}
	}
	if !strings.Contains(r.out, "failed") {
		t.Fatalf("summary line: %q", r.out)
	}
	if r := gwctl(t, "", "validate", bad, "-o", "json", "--summary"); r.code != 1 || !strings.Contains(r.err, "failed") {
		t.Fatalf("--summary with json output: %+v", r)
	}
	// A YAML syntax error is a finding with its position (exit 1); an unreadable path is an
	// input error (exit 2).
	syntax := writeFile(t, dir, "broken.yaml", "apiVersion: v1\nkind: [\n")
	if r := gwctl(t, "", "validate", syntax); r.code != 1 || !strings.Contains(r.out, "broken.yaml\n  2:7      error   YAML syntax: did not find expected node content [input/parse]") {
		t.Fatalf("syntax error: %+v", r)
	}
	if r := gwctl(t, "", "validate", filepath.Join(dir, "nope.yaml")); r.code != 2 {
		t.Fatalf("missing path: %+v", r)
	}
	// The render piped through stdin validates clean.
	rendered := gwctl(t, "", "render", "--enable", "mcp")
	if r := gwctl(t, rendered.out, "validate", "-", "-o", "json"); r.code != 0 || !strings.HasPrefix(strings.TrimSpace(r.out), "{") {
		t.Fatalf("render | validate -: %+v", r)
	}
	if r := gwctl(t, "", "validate", "-o", "yaml"); r.code != 2 {
		t.Fatalf("bad output format: %+v", r)
	}
}

// --list-schemas names every embedded kind with its upstream release and whether the flags use it.
func TestValidateListSchemas(t *testing.T) {
	r := gwctl(t, "", "validate", "--list-schemas", "--agentgateway-version", "v1.4.0")
	if r.code != 0 {
		t.Fatalf("--list-schemas: %+v", r)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^agentgateway.dev/v1alpha1 +AgentgatewayPolicy +github.com/agentgateway/agentgateway +v1.4.1 +yes +\d+$`),
		regexp.MustCompile(`(?m)^agentgateway.dev/v1alpha1 +AgentgatewayPolicy +github.com/agentgateway/agentgateway +v1.2.1 +- +\d+$`),
		regexp.MustCompile(`(?m)^inference.networking.k8s.io/v1 +InferencePool +sigs.k8s.io/gateway-api-inference-extension +v1.5.0 +compared +\d+$`),
		regexp.MustCompile(`(?m)^external-secrets.io/v1 +ExternalSecret +github.com/external-secrets/external-secrets +v2.9.0 +yes +\d+$`),
	} {
		if !want.MatchString(r.out) {
			t.Errorf("no line matching %s in:\n%s", want, r.out)
		}
	}
	r = gwctl(t, "", "validate", "--list-schemas", "-o", "json", "--inference-extension-version", "v1.5")
	var list []struct{ Kind, Release, Use string }
	if err := json.Unmarshal([]byte(r.out), &list); r.code != 0 || err != nil || len(list) < 20 {
		t.Fatalf("--list-schemas -o json: %v %+v", err, r)
	}
	if r := gwctl(t, "", "validate", "--list-schemas", "--inference-extension-version", "v1.0"); r.code != 2 {
		t.Fatalf("an inference extension release gwctl does not embed: %+v", r)
	}
}

func TestPortableAndControls(t *testing.T) {
	r := gwctl(t, "", "validate", "--portable", "--enable", "fallback,egress", "--set", "secretStore.name=s")
	if r.code != 0 || !strings.Contains(r.out, "portable.") {
		t.Fatalf("--portable: %+v", r)
	}
	r = gwctl(t, "", "controls", "--enable", "mcp,observability")
	if r.code != 0 || !strings.Contains(r.out, "mcp/mcp") || !strings.Contains(r.out, "implemented") {
		t.Fatalf("controls: %+v", r)
	}
	r = gwctl(t, "", "controls", "-o", "json", "--enable", "mcp")
	if r.code != 0 || !strings.Contains(r.out, `"rate-limit"`) {
		t.Fatalf("controls json: %+v", r)
	}
}

// TestProfile: --profile writes a profile go tool pprof can read (as kubectl's does).
func TestProfile(t *testing.T) {
	for _, kind := range []string{"cpu", "heap"} {
		out := filepath.Join(t.TempDir(), kind+".pprof")
		if r := gwctl(t, "", "resolve-groups", "--profile", kind, "--profile-output", out); r.code != 0 {
			t.Fatalf("--profile %s: code %d, stderr %q", kind, r.code, r.err)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		// A pprof profile is a gzipped protocol buffer.
		if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
			t.Errorf("--profile %s wrote %d bytes, not a gzipped profile", kind, len(data))
		}
	}
}
