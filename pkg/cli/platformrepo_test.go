package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
)

// platformRepoDir is a GitOps repo shaped like a real one (testdata/platform-repo/README.md): a
// config with other tools' keys, a 20-group catalog in its own folder pointing at content
// elsewhere, a knob-enabled group, warning conditions, Helm values and kustomizations among
// the manifests, cert-manager-made TLS Secrets, Argo CD ApplicationSets reading the committed
// groups files. Remote-chart groups have no content yet (rendered by Argo CD).
const platformRepoDir = "../../testdata/platform-repo"

// inRepo runs gwctl in the platform repo 20 times and fails unless every run is the same.
func inRepo(t *testing.T, stdin string, args ...string) run { return inRepoN(t, 20, stdin, args...) }

// inRepoOnce is inRepo for runs whose findings another run already checks 20 times.
func inRepoOnce(t *testing.T, stdin string, args ...string) run { return inRepoN(t, 1, stdin, args...) }

func inRepoN(t *testing.T, n int, stdin string, args ...string) run {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(platformRepoDir)
	defer t.Chdir(wd)
	first := gwctl(t, stdin, args...)
	for i := 1; i < n; i++ {
		if r := gwctl(t, stdin, args...); r != first {
			t.Fatalf("gwctl %s: run %d differs:\n%+v\nfirst:\n%+v", strings.Join(args, " "), i, r, first)
		}
	}
	return first
}

const prodWarnings = `warning: group "cluster-issuers" (core): domain is empty: certificates are issued for no host
warning: group "gateway" (core): domain is empty
warning: group "gateway" (core): dns provider none: no records point at the Gateway
`

// The committed groups files are what gwctl writes, byte for byte (the repo's own header); the
// knob-enabled group is on in dev (gpu_stack: operator) and off in prod; prod's conditions warn.
func TestPlatformRepoResolveGroups(t *testing.T) {
	expect(t, inRepo(t, "", "resolve-groups", "-c", "environments/dev/config.yaml", "--out", "clusters/dev/groups.generated.yaml", "--check"),
		0, "", "clusters/dev/groups.generated.yaml is up to date\n")
	expect(t, inRepo(t, "", "resolve-groups", "-c", "environments/prod/config.yaml", "--out", "clusters/prod/groups.generated.yaml", "--check"),
		0, "", prodWarnings+"clusters/prod/groups.generated.yaml is up to date\n")
	r := inRepo(t, "", "resolve-groups", "-c", "environments/dev/config.yaml", "-o", "text")
	for _, line := range []string{
		"gpu-operator      platform    true     knob gpu_stack=operator",
		"external-dns      networking  true     knob dns.provider",
		"secret-store      security    true     knob secret_backend=vault",
	} {
		if !strings.Contains(r.out, line) {
			t.Errorf("dev resolution lacks %q:\n%s", line, r.out)
		}
	}
	r = inRepo(t, "", "resolve-groups", "-c", "environments/prod/config.yaml", "-o", "text")
	if !strings.Contains(r.out, "gpu-operator      platform    false    off") || r.err != prodWarnings {
		t.Errorf("prod resolution:\n%s%s", r.out, r.err)
	}
	var n int
	for _, l := range strings.Split(r.out, "\n") {
		if strings.Contains(l, "  true  ") || strings.Contains(l, "  false  ") {
			n++
		}
	}
	if n != 20 {
		t.Errorf("%d groups, want 20:\n%s", n, r.out)
	}
}

// render renders the groups with content (11 of 20) from their folders outside the catalog.
func TestPlatformRepoRender(t *testing.T) {
	r := inRepo(t, "", "render", "-c", "environments/dev/config.yaml")
	if r.code != 0 || r.err != "" {
		t.Fatalf("render: %+v", r)
	}
	objs, err := manifest.Parse("render", []byte(r.out), manifest.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string]int{}
	kinds := map[string]bool{}
	for _, o := range objs {
		groups[o.Labels()["gwctl.infergw.dev/group"]]++
		kinds[o.Kind] = true
	}
	want := "argocd:3 chat-ui:4 cluster-issuers:1 docs:3 gateway:3 llm-gateway:7 mcp:6 model-serving:4 namespaces:5 network-policies:8 secret-store:1"
	var got []string
	for g, c := range groups {
		got = append(got, fmt.Sprintf("%s:%d", g, c))
	}
	sort.Strings(got)
	if strings.Join(got, " ") != want {
		t.Errorf("objects per group\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	for _, k := range []string{"ApplicationSet", "Application", "Certificate", "ClusterIssuer", "InferencePool", "ExternalSecret"} {
		if !kinds[k] {
			t.Errorf("render has no %s", k)
		}
	}
}

// The render is a closed world: what it refers to and remote charts make is in
// known-objects.yaml; the rules come from the platform config's validate: section. Its true
// problems, and nothing else, are reported.
const renderFindings = `
  460:9    warning AgentgatewayPolicy/llm/completions-rate-limit spec.traffic.rateLimit.local[0]: bucket 15 requests, +10/s (requests 10 + burst 5): starts full, shared by every client of the target, one bucket per proxy replica: a burst of up to 15 passes before the first 429, not 10 [lint/ratelimit-bucket]
  647:13   warning ClusterSecretStore/vault apiVersion: no schema for external-secrets.io/v1 ClusterSecretStore: pass its CRD in the input or with --crds, or use --ignore-missing-schemas [schema/missing]
  803:7    error   HTTPRoute/llm/completions spec.rules[1].backendRefs[0]: Service llm/embeddings not found in the input [refs/unresolved]

45 resources in 1 file: 1 error, 2 warnings, 0 info, 1 skipped (no schema) — failed
`

func TestPlatformRepoValidateRender(t *testing.T) {
	expect(t, inRepo(t, "", "validate", "-c", "environments/dev/config.yaml", "--known-objects", "known-objects.yaml"),
		1, RenderedFile+renderFindings, "")
	rendered := inRepoOnce(t, "", "render", "-c", "environments/dev/config.yaml").out
	expect(t, inRepoOnce(t, rendered, "validate", "-", "--closed", "-c", "environments/dev/config.yaml", "--known-objects", "known-objects.yaml"),
		1, "-"+renderFindings, "")
}

// The repo as it is, every file: values, kustomizations, the catalog, the configs and the
// groups files are skipped with an info finding; the manifests give the same true problems,
// positioned in their files (the missing Service is a warning: an open world). The 20-run
// check of these texts is TestPlatformRepoValidateRender's and -Kustomize's.
func TestPlatformRepoValidateDirectory(t *testing.T) {
	r := inRepoOnce(t, "", "validate", ".", "-c", "environments/dev/config.yaml", "--known-objects", "known-objects.yaml", "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	var rep struct {
		Findings []struct {
			finding.Finding
			Severity string `json:"severity"`
		}
	}
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatal(err)
	}
	var got []string
	infos := map[string]int{}
	for _, f := range rep.Findings {
		if f.Severity == "info" {
			infos[f.Rule]++
			continue
		}
		f.Finding.Severity, _ = finding.ParseSeverity(f.Severity)
		got = append(got, f.Finding.String())
	}
	want := []string{
		"apps/llm-gateway/rate-limit.yaml:13:9: warning AgentgatewayPolicy/llm/completions-rate-limit spec.traffic.rateLimit.local[0]: bucket 15 requests, +10/s (requests 10 + burst 5): starts full, shared by every client of the target, one bucket per proxy replica: a burst of up to 15 passes before the first 429, not 10 [lint/ratelimit-bucket]",
		"apps/llm-gateway/routes.yaml:18:7: warning HTTPRoute/llm/completions spec.rules[1].backendRefs[0]: Service llm/embeddings not found in the input [refs/unresolved]",
		"platform/secret-store/vault.yaml:1:13: warning ClusterSecretStore/vault apiVersion: no schema for external-secrets.io/v1 ClusterSecretStore: pass its CRD in the input or with --crds, or use --ignore-missing-schemas [schema/missing]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings\n got %s\nwant %s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// 21 catalog files, 2 configs, 2 groups files, known-objects.yaml and 16 values files; 51
	// kustomization files.
	if fmt.Sprint(infos) != "map[input/kustomization:51 input/not-a-manifest:42]" {
		t.Errorf("info findings %v", infos)
	}
}

// -k builds Argo CD's per-cluster folders as Argo CD does: prod's chat-ui overlay moves the
// ReferenceGrant out of docs (the base is right, so the render cannot show it); the warning
// points at the grant's line in the base, which the build left as written.
func TestPlatformRepoValidateKustomize(t *testing.T) {
	expect(t, inRepo(t, "", "validate", "-c", "environments/prod/config.yaml", "--known-objects", "known-objects.yaml",
		"-k", "clusters/prod/chat-ui", "-k", "clusters/prod/docs", "-k", "clusters/prod/gateway"), 1, `apps/chat-ui/base/grant.yaml
  9:3      warning ReferenceGrant/chat/chat-to-docs spec.from: every from entry names the grant's own namespace chat, where no grant is needed: a kustomization namespace: probably moved this ReferenceGrant out of the namespace it grants into [refs/reference-grant-namespace]
apps/chat-ui/base/route.yaml
  14:7     error   HTTPRoute/chat/chat spec.rules[0].backendRefs[0]: backendRef to Service docs/docs-api crosses namespaces without a ReferenceGrant in docs from HTTPRoute in chat: agentgateway answers 500 (RefNotPermitted) [refs/reference-grant]

10 resources in 9 files: 1 error, 1 warning, 0 info — failed
`, "")
	// dev's overlay keeps the grant where it belongs.
	expect(t, inRepoOnce(t, "", "validate", "-c", "environments/dev/config.yaml", "--known-objects", "known-objects.yaml",
		"-k", "clusters/dev/chat-ui", "-k", "clusters/dev/docs", "-k", "clusters/dev/gateway"), 0,
		"10 resources in 9 files: 0 errors, 0 warnings, 0 info — passed\n", "")
	// Every folder of a group gwctl renders builds; its findings are the render's.
	var args []string
	entries, err := os.ReadDir(filepath.Join(platformRepoDir, "clusters/dev"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		dir := filepath.Join(platformRepoDir, "clusters/dev", e.Name())
		if data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml")); err == nil && !strings.Contains(string(data), "helmCharts:") &&
			!strings.Contains(string(data), "https://") {
			args = append(args, "-k", "clusters/dev/"+e.Name())
		}
	}
	if len(args) != 22 {
		t.Fatalf("%d gwctl-rendered folders, want 11: %v", len(args)/2, args)
	}
	expect(t, inRepoOnce(t, "", append([]string{"validate", "--closed", "-c", "environments/dev/config.yaml", "--known-objects", "known-objects.yaml"}, args...)...), 1, `apps/llm-gateway/rate-limit.yaml
  13:9     warning AgentgatewayPolicy/llm/completions-rate-limit spec.traffic.rateLimit.local[0]: bucket 15 requests, +10/s (requests 10 + burst 5): starts full, shared by every client of the target, one bucket per proxy replica: a burst of up to 15 passes before the first 429, not 10 [lint/ratelimit-bucket]
apps/llm-gateway/routes.yaml
  18:7     error   HTTPRoute/llm/completions spec.rules[1].backendRefs[0]: Service llm/embeddings not found in the input [refs/unresolved]
platform/secret-store/vault.yaml
  1:13     warning ClusterSecretStore/vault apiVersion: no schema for external-secrets.io/v1 ClusterSecretStore: pass its CRD in the input or with --crds, or use --ignore-missing-schemas [schema/missing]

45 resources in 23 files: 1 error, 2 warnings, 0 info, 1 skipped (no schema) — failed
`, "")
}
