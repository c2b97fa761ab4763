package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/charts"
	"github.com/infergw/gwctl/pkg/charts/chartstest"
)

// A platform repo with a remote chart from a Helm repository and a kustomization whose
// helmCharts take one from an OCI registry: charts pull fills .gwctl/charts and gwctl.lock at
// the repo's root, --check finds drift, and render works with both servers stopped.
func TestChartsPullCheckAndRender(t *testing.T) {
	repo, reg := chartstest.NewRepo(t), chartstest.NewRegistry(t)
	repo.Add(t, chartstest.Hello(t, "0.2.0", nil))
	reg.Push(t, "charts", chartstest.Hello(t, "0.1.0", nil))
	creds := chartstest.CredentialsFile(t)

	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	const head = "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Group\n"
	writeFile(t, root, "platform/catalog/catalog.yaml", "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Catalog\nlayers: [apps]\n")
	webGroup := head + "metadata: {name: web}\nspec:\n  layer: apps\n  core: true\n  namespace: web\n  content:\n    charts:\n    - {repo: " + repo.URL + ", chart: hello, version: 0.2.0}\n"
	writeFile(t, root, "platform/catalog/web/group.yaml", webGroup)
	writeFile(t, root, "platform/catalog/kust/group.yaml", head+"metadata: {name: kust}\nspec:\n  layer: apps\n  core: true\n  namespace: kust\n  content: {kustomize: true}\n")
	writeFile(t, root, "platform/catalog/kust/kustomization.yaml", "helmCharts:\n- {name: hello, repo: "+reg.URL+"/charts, version: 0.1.0, releaseName: k}\n")
	cat := filepath.Join(root, "platform", "catalog")
	lock := filepath.Join(root, "gwctl.lock")

	if r := gwctl(t, "", "charts", "pull", "--catalog", cat, "--check"); r.code != 1 || !strings.Contains(r.out, "gwctl.lock does not exist") {
		t.Fatalf("check before the first pull: %+v", r)
	}
	r := gwctl(t, "", "charts", "pull", "--catalog", cat, "--plain-http", "--registry-config", creds)
	if r.code != 0 || !strings.Contains(r.err, "pulled hello 0.2.0 from "+repo.URL) || !strings.Contains(r.err, "pulled "+reg.URL+"/charts/hello:0.1.0") ||
		!strings.Contains(r.err, "wrote "+lock+" (2 charts)") {
		t.Fatalf("pull: %+v", r)
	}
	data, err := os.ReadFile(lock)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, ".gwctl", "charts", "http")); err != nil {
		t.Fatalf("cache at the repo root: %v", err)
	}
	if r := gwctl(t, "", "charts", "pull", "--catalog", cat, "--plain-http", "--registry-config", creds); r.code != 0 ||
		!strings.Contains(r.err, "is up to date (2 charts)") || strings.Contains(r.err, "pulled") {
		t.Fatalf("second pull: %+v", r)
	}
	if again, _ := os.ReadFile(lock); string(again) != string(data) {
		t.Fatal("second pull changed the lock")
	}
	if r := gwctl(t, "", "charts", "pull", "--catalog", cat, "--check"); r.code != 0 || !strings.Contains(r.err, "is up to date") {
		t.Fatalf("check after pull: %+v", r)
	}

	repo.Close()
	reg.Close()
	r = gwctl(t, "", "render", "--catalog", cat)
	if r.code != 0 || !strings.Contains(r.out, "name: hello-hello") || !strings.Contains(r.out, "name: k-hello") {
		t.Fatalf("render offline: %+v", r)
	}

	// The catalog moves to another version: --check reports it, render says what to run.
	writeFile(t, root, "platform/catalog/web/group.yaml", strings.Replace(webGroup, "0.2.0", "0.3.0", 1))
	r = gwctl(t, "", "charts", "pull", "--catalog", cat, "--check")
	if r.code != 1 || r.out != "hello 0.3.0 from "+repo.URL+" is used but not locked\nhello 0.2.0 from "+repo.URL+" is locked but nothing uses it\n" ||
		!strings.Contains(r.err, "gwctl.lock is stale: run gwctl charts pull and commit it") {
		t.Fatalf("check after the catalog changed: %+v", r)
	}
	r = gwctl(t, "", "render", "--catalog", cat)
	if r.code != 2 || !strings.Contains(r.err, `group "web": `+filepath.Join(cat, "web", "group.yaml")+": spec.content.charts[0]: chart hello 0.3.0 from "+repo.URL+" is not in "+lock+": run gwctl charts pull") {
		t.Fatalf("render of an unlocked chart: %+v", r)
	}
	// --lock and --charts-dir override the root's.
	r = gwctl(t, "", "render", "--catalog", cat, "--lock", filepath.Join(root, "elsewhere.lock"), "--group", "kust")
	if r.code != 2 || !strings.Contains(r.err, "no lock file "+filepath.Join(root, "elsewhere.lock")) {
		t.Fatalf("render with --lock: %+v", r)
	}
	// -k adds a repo overlay's charts: its base's helmCharts reach the --check.
	writeFile(t, root, "apps/base/kustomization.yaml", "helmCharts:\n- {name: hello, repo: "+reg.URL+"/charts, version: 0.9.0}\n")
	writeFile(t, root, "apps/dev/kustomization.yaml", "resources: [../base]\n")
	r = gwctl(t, "", "charts", "pull", "--catalog", cat, "--check", "-k", filepath.Join(root, "apps", "dev"))
	if r.code != 1 || !strings.Contains(r.out, reg.URL+"/charts/hello:0.9.0 is used but not locked") {
		t.Fatalf("check with -k: %+v", r)
	}
	if charts.Root(filepath.Join(cat, "web")) != root {
		t.Fatalf("root of %s: %s", cat, charts.Root(cat))
	}
}

// A platform in a folder of a larger repository (its catalog.yaml names repoRoot) keeps its
// lock and cache at that root, not at the enclosing repository's .git.
func TestChartsLockAtRepoRoot(t *testing.T) {
	outer := t.TempDir()
	if err := os.Mkdir(filepath.Join(outer, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	platform := filepath.Join(outer, "platform")
	writeFile(t, platform, "catalog/catalog.yaml", "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Catalog\nrepoRoot: ..\nlayers: [apps]\n")
	writeFile(t, platform, "catalog/web/group.yaml", "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Group\nmetadata: {name: web}\n"+
		"spec:\n  layer: apps\n  core: true\n  content:\n    charts:\n    - {repo: https://charts.example.com, chart: hello, version: 0.2.0}\n")
	r := gwctl(t, "", "charts", "pull", "--catalog", filepath.Join(platform, "catalog"), "--check")
	if want := filepath.Join(platform, "gwctl.lock") + " does not exist"; r.code != 1 || !strings.Contains(r.out+r.err, want) {
		t.Fatalf("check: %+v\nwant %q", r, want)
	}
}
