package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/charts"
	"github.com/infergw/gwctl/pkg/charts/chartstest"
	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
)

// platformRepoDir is a GitOps repo shaped like a real one (testdata/platform-repo/README.md): a
// config with other tools' keys, a 20-group catalog in its own folder pointing at content
// elsewhere, a knob-enabled group, warning conditions, remote Helm charts (Helm repositories
// and OCI registries) built by kustomizations, Helm values and kustomizations among the
// manifests, cert-manager-made TLS Secrets, Argo CD ApplicationSets reading the committed
// groups files.
const platformRepoDir = "../../testdata/platform-repo"

// platformCharts are the repo's remote charts: stand-ins in testdata/platform-charts (named
// and versioned as upstream), each served on loopback in place of the repository the repo
// names: a Helm repository per https:// URL, one OCI registry for the oci:// ones.
var platformCharts = []struct{ name, version, repo string }{
	{"cert-manager", "v1.21.2", "https://charts.jetstack.io"},
	{"external-secrets", "2.9.0", "https://charts.external-secrets.io"},
	{"dex", "0.23.0", "https://charts.dexidp.io"},
	{"external-dns", "1.18.0", "https://kubernetes-sigs.github.io/external-dns"},
	{"kube-prometheus-stack", "77.0.0", "https://prometheus-community.github.io/helm-charts"},
	{"agentgateway", "v1.2.1", "oci://ghcr.io/kgateway-dev/charts"},
	{"gpu-operator", "v25.3.0", "oci://nvcr.io/nvidia"},
	{"kueue", "0.13.0", "oci://registry.k8s.io/kueue/charts"},
}

const platformChartsDir = "../../testdata/platform-charts"

// inRepo runs gwctl in dir 20 times and fails unless every run is the same.
func inRepo(t *testing.T, dir, stdin string, args ...string) run {
	return inRepoN(t, dir, 20, stdin, args...)
}

// inRepoOnce is inRepo for runs whose findings another run already checks 20 times.
func inRepoOnce(t *testing.T, dir, stdin string, args ...string) run {
	return inRepoN(t, dir, 1, stdin, args...)
}

func inRepoN(t *testing.T, dir string, n int, stdin string, args ...string) run {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	defer t.Chdir(wd)
	first := gwctl(t, stdin, args...)
	for i := 1; i < n; i++ {
		if r := gwctl(t, stdin, args...); r != first {
			t.Fatalf("gwctl %s: run %d differs:\n%+v\nfirst:\n%+v", strings.Join(args, " "), i, r, first)
		}
	}
	return first
}

// pulledPlatformRepo is a copy of the platform repo (a clone: it has .git) whose charts were
// pulled from loopback servers that are stopped by the time it returns: what follows is
// offline. The repo's chart URLs are rewritten to the servers' in the copy.
func pulledPlatformRepo(t *testing.T) string {
	t.Helper()
	reg := chartstest.NewRegistry(t)
	creds := chartstest.CredentialsFile(t)
	loopback := map[string]string{} // the repo's repository URL → the server's
	var repos []*chartstest.Repo
	var want []string // the lock's entries
	for _, c := range platformCharts {
		archive := chartstest.Package(t, os.DirFS(platformChartsDir), c.name, nil)
		if hostPath, ok := strings.CutPrefix(c.repo, "oci://"); ok {
			_, p, _ := strings.Cut(hostPath, "/")
			reg.Push(t, p, archive)
			loopback[c.repo] = reg.URL + "/" + p
		} else {
			r := chartstest.NewRepo(t)
			r.Add(t, archive)
			repos = append(repos, r)
			loopback[c.repo] = r.URL
		}
		want = append(want, charts.Ref{Repo: loopback[c.repo], Chart: c.name, Version: c.version}.String()+" "+charts.Digest(archive))
	}
	sort.Strings(want)

	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(platformRepoDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	rewritten := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out := data
		for from, to := range loopback {
			out = bytes.ReplaceAll(out, []byte("repo: "+from+"\n"), []byte("repo: "+to+"\n"))
		}
		if bytes.Equal(out, data) {
			return nil
		}
		rewritten++
		return os.WriteFile(p, out, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if rewritten != len(platformCharts) {
		t.Fatalf("rewrote the chart URLs of %d files, want %d (one kustomization per chart)", rewritten, len(platformCharts))
	}

	args := []string{"charts", "pull", "-c", "environments/dev/config.yaml"}
	lock := filepath.Join(dir, "gwctl.lock")
	if r := inRepoOnce(t, dir, "", append(args, "--check")...); r.code != 1 || !strings.Contains(r.out, "gwctl.lock does not exist") {
		t.Fatalf("check before the first pull: %+v", r)
	}
	r := inRepoOnce(t, dir, "", append(args, "--plain-http", "--registry-config", creds)...)
	if r.code != 0 || strings.Count(r.err, "pulled ") != len(platformCharts) || !strings.Contains(r.err, "wrote "+lock+" (8 charts)") {
		t.Fatalf("pull: %+v", r)
	}
	// One lock serves every environment and Argo CD's overlays: prod's check passes too.
	if r := inRepoOnce(t, dir, "", "charts", "pull", "-c", "environments/prod/config.yaml", "--check",
		"-k", "clusters/prod/monitoring", "-k", "clusters/prod/agentgateway"); r.code != 0 || r.err != lock+" is up to date\n" {
		t.Fatalf("check after the pull: %+v", r)
	}
	l, err := charts.ReadLock(lock)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range l.Charts {
		got = append(got, e.Ref.String()+" "+e.Digest)
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("locked charts\n got %s\nwant %s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	reg.Close()
	for _, r := range repos {
		r.Close()
	}
	return dir
}

const prodWarnings = `warning: group "cluster-issuers" (core): domain is empty: certificates are issued for no host
warning: group "gateway" (core): domain is empty
warning: group "gateway" (core): dns provider none: no records point at the Gateway
`

// The committed groups files are what gwctl writes, byte for byte (the repo's own header); the
// knob-enabled group is on in dev (gpu_stack: operator) and off in prod; prod's conditions warn.
// Resolving needs no chart.
func TestPlatformRepoResolveGroups(t *testing.T) {
	dir := platformRepoDir
	expect(t, inRepo(t, dir, "", "resolve-groups", "-c", "environments/dev/config.yaml", "--out", "clusters/dev/groups.generated.yaml", "--check"),
		0, "", "clusters/dev/groups.generated.yaml is up to date\n")
	expect(t, inRepo(t, dir, "", "resolve-groups", "-c", "environments/prod/config.yaml", "--out", "clusters/prod/groups.generated.yaml", "--check"),
		0, "", prodWarnings+"clusters/prod/groups.generated.yaml is up to date\n")
	r := inRepo(t, dir, "", "resolve-groups", "-c", "environments/dev/config.yaml", "-o", "text")
	for _, line := range []string{
		"gpu-operator      platform    true     knob gpu_stack=operator",
		"external-dns      networking  true     knob dns.provider",
		"secret-store      security    true     knob secret_backend=vault",
	} {
		if !strings.Contains(r.out, line) {
			t.Errorf("dev resolution lacks %q:\n%s", line, r.out)
		}
	}
	r = inRepo(t, dir, "", "resolve-groups", "-c", "environments/prod/config.yaml", "-o", "text")
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

// The render is a closed world: what it refers to that no group makes is in
// known-objects.yaml; the rules come from the platform config's validate: section. Its true
// problems, and nothing else, are reported.
const renderFindings = `
  1154:9   warning AgentgatewayPolicy/llm/completions-rate-limit spec.traffic.rateLimit.local[0]: bucket 15 requests, +10/s (requests 10 + burst 5): starts full, shared by every client of the target, one bucket per proxy replica: a burst of up to 15 passes before the first 429, not 10 [lint/ratelimit-bucket]
  1508:7   error   HTTPRoute/llm/completions spec.rules[1].backendRefs[0]: Service llm/embeddings not found in the input [refs/unresolved]
  1611:5   info    InferencePool/llm/llama spec.endpointPickerRef: endpoint picker: Service llm/llama-epp port 9002 (llama-epp.llm.svc.cluster.local:9002) over ext_proc, failureMode FailOpen [gateway.endpoint-picker]

78 resources in 1 file: 1 error, 1 warning, 1 info — failed
`

// The repo through charts pull (from loopback), then offline: render, validate of the render,
// of every file and of Argo CD's folders. One render serves the validate runs.
func TestPlatformRepo(t *testing.T) {
	dir := pulledPlatformRepo(t)
	const dev = "environments/dev/config.yaml"
	rendered := inRepoN(t, dir, 3, "", "render", "-c", dev)
	if rendered.code != 0 || rendered.err != "" {
		t.Fatalf("render: %+v", rendered)
	}

	// Every group with content renders (19 of 20; gateway-api-crds is Argo CD's alone), the
	// remote charts' from the cache with the servers stopped.
	t.Run("Render", func(t *testing.T) {
		objs, err := manifest.Parse("render", []byte(rendered.out), manifest.DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		groups := map[string]int{}
		kinds := map[string]bool{}
		for _, o := range objs {
			groups[o.Labels()["gwctl.infergw.dev/group"]]++
			kinds[o.Kind] = true
		}
		want := "agentgateway:4 argocd:3 cert-manager:5 chat-ui:4 cluster-issuers:1 dex:4 docs:3 external-dns:4 external-secrets:4 gateway:3 gpu-operator:4 kueue:3 llm-gateway:7 mcp:6 model-serving:4 monitoring:5 namespaces:5 network-policies:8 secret-store:1"
		var got []string
		for g, c := range groups {
			got = append(got, fmt.Sprintf("%s:%d", g, c))
		}
		sort.Strings(got)
		if strings.Join(got, " ") != want {
			t.Errorf("objects per group\n got %s\nwant %s", strings.Join(got, " "), want)
		}
		for _, k := range []string{"ApplicationSet", "Application", "Certificate", "ClusterIssuer", "InferencePool", "ExternalSecret", "GatewayClass", "Prometheus", "CustomResourceDefinition"} {
			if !kinds[k] {
				t.Errorf("render has no %s", k)
			}
		}
	})

	t.Run("ValidateRender", func(t *testing.T) {
		expect(t, inRepo(t, dir, rendered.out, "validate", "-", "--closed", "-c", dev, "--known-objects", "known-objects.yaml"),
			1, "-"+renderFindings, "")
		expect(t, inRepoOnce(t, dir, "", "validate", "-c", dev, "--known-objects", "known-objects.yaml"),
			1, RenderedFile+renderFindings, "")
	})

	// The repo as it is, every file: values, kustomizations, the catalog, the configs and the
	// groups files are skipped with an info finding; the manifests give the same true problems,
	// positioned in their files (the missing Service is a warning: an open world). Files are
	// not built: Dex's Service, which its chart makes, is not in this input either, and says
	// so as a warning. The 20-run check of these texts is ValidateRender's and
	// ValidateKustomize's.
	t.Run("ValidateDirectory", func(t *testing.T) {
		r := inRepoOnce(t, dir, "", "validate", ".", "-c", dev, "--known-objects", "known-objects.yaml", "-o", "json")
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
			"apps/mcp/route.yaml:47:25: warning AgentgatewayPolicy/mcp/mcp-authn spec.traffic.jwtAuthentication.providers[0].jwks.remote.backendRef: remote JWKS: Service dex/dex not found in the input [refs/unresolved]",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("findings\n got %s\nwant %s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		// 21 catalog files, 2 configs, 2 groups files, known-objects.yaml and 8 values files;
		// 59 kustomization files.
		if fmt.Sprint(infos) != "map[gateway.endpoint-picker:1 input/kustomization:59 input/not-a-manifest:34]" {
			t.Errorf("info findings %v", infos)
		}
	})

	// -k builds Argo CD's per-cluster folders as Argo CD does: prod's chat-ui overlay moves the
	// ReferenceGrant out of docs (the base is right, so the render cannot show it); the warning
	// points at the grant's line in the base, which the build left as written.
	t.Run("ValidateKustomize", func(t *testing.T) {
		prod := []string{"validate", "-c", "environments/prod/config.yaml", "--known-objects", "known-objects.yaml",
			"-k", "clusters/prod/chat-ui", "-k", "clusters/prod/docs", "-k", "clusters/prod/gateway", "-k", "clusters/prod/agentgateway"}
		expect(t, inRepo(t, dir, "", prod...), 1, `apps/chat-ui/base/grant.yaml
  9:3      warning ReferenceGrant/chat/chat-to-docs spec.from: every from entry names the grant's own namespace chat, where no grant is needed: a kustomization namespace: probably moved this ReferenceGrant out of the namespace it grants into [refs/reference-grant-namespace]
apps/chat-ui/base/route.yaml
  14:7     error   HTTPRoute/chat/chat spec.rules[0].backendRefs[0]: backendRef to Service docs/docs-api crosses namespaces without a ReferenceGrant in docs from HTTPRoute in chat: agentgateway answers 500 (RefNotPermitted) [refs/reference-grant]

14 resources in 10 files: 1 error, 1 warning, 0 info — failed
`, "")
		// dev's overlay keeps the grant where it belongs.
		expect(t, inRepoOnce(t, dir, "", "validate", "-c", dev, "--known-objects", "known-objects.yaml",
			"-k", "clusters/dev/chat-ui", "-k", "clusters/dev/docs", "-k", "clusters/dev/gateway", "-k", "clusters/dev/agentgateway"), 0,
			"14 resources in 10 files: 0 errors, 0 warnings, 0 info — passed\n", "")
		// Every folder of a group gwctl renders builds, remote charts from the cache; its
		// findings are the render's.
		var args []string
		entries, err := os.ReadDir(filepath.Join(dir, "clusters/dev"))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() && e.Name() != "gateway-api-crds" {
				args = append(args, "-k", "clusters/dev/"+e.Name())
			}
		}
		if len(args) != 38 {
			t.Fatalf("%d gwctl-rendered folders, want 19: %v", len(args)/2, args)
		}
		expect(t, inRepoOnce(t, dir, "", append([]string{"validate", "--closed", "-c", dev, "--known-objects", "known-objects.yaml"}, args...)...), 1, `apps/llm-gateway/rate-limit.yaml
  13:9     warning AgentgatewayPolicy/llm/completions-rate-limit spec.traffic.rateLimit.local[0]: bucket 15 requests, +10/s (requests 10 + burst 5): starts full, shared by every client of the target, one bucket per proxy replica: a burst of up to 15 passes before the first 429, not 10 [lint/ratelimit-bucket]
apps/llm-gateway/routes.yaml
  18:7     error   HTTPRoute/llm/completions spec.rules[1].backendRefs[0]: Service llm/embeddings not found in the input [refs/unresolved]
platform/model-serving/pool.yaml
  12:5     info    InferencePool/llm/llama spec.endpointPickerRef: endpoint picker: Service llm/llama-epp port 9002 (llama-epp.llm.svc.cluster.local:9002) over ext_proc, failureMode FailOpen [gateway.endpoint-picker]

78 resources in 31 files: 1 error, 1 warning, 1 info — failed
`, "")
		// The CRDs' folder names release manifests by URL: gwctl says what to do, offline.
		expect(t, inRepoOnce(t, dir, "", "validate", "-c", dev, "-k", "clusters/dev/gateway-api-crds"), 1, `clusters/dev/gateway-api-crds/kustomization.yaml
  6:3      error   resources[0]: remote resource "https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.3.0/standard-install.yaml": gwctl builds kustomizations offline (no git, no HTTP): copy it into this kustomization's folder and list the copy [input/kustomize-build]

0 resources in 0 files: 1 error, 0 warnings, 0 info — failed
`, "")
	})
}
