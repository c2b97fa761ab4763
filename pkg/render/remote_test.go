package render_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"helm.sh/helm/v3/pkg/chart"

	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/charts"
	"github.com/infergw/gwctl/pkg/charts/chartstest"
	"github.com/infergw/gwctl/pkg/platform"
	"github.com/infergw/gwctl/pkg/render"
	"github.com/infergw/gwctl/pkg/resolve"
)

const catalogHead = "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Catalog\nlayers: [base]\n"

func group(name, content string) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte("apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Group\nmetadata: {name: " + name +
		"}\nspec:\n  layer: base\n  core: true\n  namespace: " + name + "\n  content:\n" + content)}
}

// remoteCatalog is a catalog with a remote chart from a Helm repository in a group (web), and a
// kustomization (kust) whose helmCharts take the same chart from an OCI registry, a local
// chart from Kustomize's chartHome, and (in a base it reaches) the repository's chart again.
func remoteCatalog(repoURL, ociURL string) fstest.MapFS {
	return fstest.MapFS{
		"catalog.yaml": {Data: []byte(catalogHead)},
		"web/group.yaml": group("web", "    charts:\n    - repo: "+repoURL+"\n      chart: hello\n      version: 0.2.0\n"+
			"      releaseName: web\n      values: |\n        color: {{ .gateway.namespace }}\n"),
		"kust/group.yaml": group("kust", "    kustomize: true\n"),
		"kust/kustomization.yaml": {Data: []byte(`namespace: kust
resources: [base, plain.yaml]
helmCharts:
- name: hello
  repo: ` + ociURL + `
  version: 0.1.0
  releaseName: oci
  namespace: kust
  includeCRDs: true
  valuesInline: {color: green, extra: {a: "1"}}
  additionalValuesFiles: [more-values.yaml]
- name: local
  releaseName: loc
  valuesFile: local-values.yaml
  skipHooks: true
`)},
		"kust/plain.yaml":                       {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n")},
		"kust/more-values.yaml":                 {Data: []byte("extra: {b: \"2\"}\nreplicas: 3\n")},
		"kust/local-values.yaml":                {Data: []byte("greeting: from-file\n")},
		"kust/charts/local/Chart.yaml":          {Data: []byte("apiVersion: v2\nname: local\nversion: 0.0.1\n")},
		"kust/charts/local/values.yaml":         {Data: []byte("greeting: default\n")},
		"kust/charts/local/templates/a.yaml":    {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-local\ndata:\n  greeting: {{ .Values.greeting }}\n")},
		"kust/charts/local/templates/hook.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-hook\n  annotations: {helm.sh/hook: post-install}\n")},
		"kust/base/kustomization.yaml":          {Data: []byte("helmCharts:\n- {name: hello, repo: " + repoURL + ", version: 0.2.0, releaseName: base, valuesMerge: merge, valuesInline: {color: ignored, extra: {c: \"3\"}}}\n")},
	}
}

// offline makes every outgoing connection through net/http's default transport, and every run
// of git, fail the test (git is checked when the test ends, and by the check it returns).
func offline(t *testing.T) func() {
	t.Helper()
	prev := http.DefaultTransport
	http.DefaultTransport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("render reached the network: %s %s", r.Method, r.URL)
		return nil, errors.New("no network in this test")
	})
	t.Cleanup(func() { http.DefaultTransport = prev })
	bin := t.TempDir()
	marker := filepath.Join(bin, "git-ran")
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte("#!/bin/sh\necho \"$@\" > "+marker+"\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	check := func() {
		t.Helper()
		if b, err := os.ReadFile(marker); err == nil {
			t.Errorf("render ran git %s", b)
		}
	}
	t.Cleanup(check)
	return check
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func renderCatalog(t *testing.T, fsys fstest.MapFS, store *charts.Store, only ...string) (*render.Result, error) {
	t.Helper()
	cat, err := catalog.Load(fsys, "/repo/catalog")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := platform.Load(platform.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := resolve.Resolve(cat, cfg)
	if err != nil {
		t.Fatal(err)
	}
	groups := res.Order
	if len(only) > 0 {
		groups = nil
		for _, g := range res.Order {
			if g.Name == only[0] {
				groups = append(groups, g)
			}
		}
	}
	return render.Render(context.Background(), render.Options{Catalog: cat, Config: cfg, Groups: groups, Charts: store})
}

// pullAll pulls every remote chart of the catalog, as gwctl charts pull does.
func pullAll(t *testing.T, fsys fstest.MapFS, store *charts.Store) {
	t.Helper()
	cat, err := catalog.Load(fsys, "/repo/catalog")
	if err != nil {
		t.Fatal(err)
	}
	uses, err := render.RemoteCharts(cat)
	if err != nil {
		t.Fatal(err)
	}
	var refs []charts.Ref
	for _, u := range uses {
		refs = append(refs, u.Ref)
	}
	if len(refs) != 3 {
		t.Fatalf("remote charts %+v, want the group's, the kustomization's and its base's", uses)
	}
	if _, err := charts.Pull(context.Background(), refs, charts.PullOptions{
		Store: charts.NewStore(store.Dir, store.LockFile), PlainHTTP: true, RegistryConfig: chartstest.CredentialsFile(t),
	}); err != nil {
		t.Fatal(err)
	}
}

func serveHello(t *testing.T) (*chartstest.Repo, *chartstest.Registry) {
	repo, reg := chartstest.NewRepo(t), chartstest.NewRegistry(t)
	repo.Add(t, chartstest.Hello(t, "0.2.0", nil))
	// The registry's chart has its own CRD, so that both CRDs can render side by side.
	reg.Push(t, "charts", chartstest.Hello(t, "0.1.0", func(c *chart.Chart) {
		for _, f := range c.Files {
			if strings.HasPrefix(f.Name, "crds/") {
				f.Data = []byte(strings.NewReplacer("greeting", "salutation", "Greeting", "Salutation").Replace(string(f.Data)))
			}
		}
	}))
	return repo, reg
}

// Remote charts render from the cache alone: the servers are stopped, and any connection or
// git run during render fails the test.
func TestRenderRemoteChartsOffline(t *testing.T) {
	repo, reg := serveHello(t)
	fsys := remoteCatalog(repo.URL, reg.URL+"/charts")
	dir := t.TempDir()
	store := charts.NewStore(filepath.Join(dir, "cache"), filepath.Join(dir, "gwctl.lock"))
	pullAll(t, fsys, store)
	repo.Close()
	reg.Close()
	gitRan := offline(t)

	var first string
	for i := range 3 {
		out, err := renderCatalog(t, fsys, charts.NewStore(store.Dir, store.LockFile))
		if err != nil {
			t.Fatal(err)
		}
		got := string(stream(t, out.Objects))
		if i == 0 {
			first = got
		} else if got != first {
			t.Fatal("two renders differ")
		}
	}
	gitRan()
	for _, want := range []string{
		// The group's chart, with the catalog's values template.
		"name: web-hello\n  namespace: web", "chart-version: 0.2.0",
		// helmCharts from OCI: valuesInline over values.yaml, the additional file on top, CRDs included.
		"name: oci-hello\n  namespace: kust", "color: green", "a: \"1\"", "b: \"2\"", "replicas: \"3\"", "name: salutations.hello.example.com",
		"name: oci-hook", // hooks are kept unless skipHooks
		// helmCharts from chartHome: valuesFile instead of values.yaml, hooks skipped.
		"name: loc-local", "greeting: from-file",
		// The base's helmCharts with valuesMerge: merge: the chart's values win, inline adds.
		"name: base-hello", "c: \"3\"",
		"name: plain",
	} {
		if !strings.Contains(first, want) {
			t.Errorf("render lacks %q", want)
		}
	}
	for _, unwanted := range []string{"loc-hook", "color: ignored", "greeting: default"} {
		if strings.Contains(first, unwanted) {
			t.Errorf("render has %q", unwanted)
		}
	}
	// The group's chart: web-hello gets color from the values template (the gateway namespace).
	if !strings.Contains(first, "color: inference") {
		t.Errorf("the values template did not reach the remote chart:\n%s", first)
	}
}

func TestRenderRemoteChartErrors(t *testing.T) {
	repo, reg := serveHello(t)
	fsys := remoteCatalog(repo.URL, reg.URL+"/charts")
	pulled := t.TempDir()
	pullAll(t, fsys, charts.NewStore(filepath.Join(pulled, "cache"), filepath.Join(pulled, "gwctl.lock")))
	repo.Close()
	reg.Close()
	webRef, _ := charts.ParseRef(repo.URL, "hello", "0.2.0")
	ociRef, _ := charts.ParseRef(reg.URL+"/charts", "hello", "0.1.0")

	cases := []struct {
		name  string
		only  string
		setup func(t *testing.T, s *charts.Store)
		want  []string
	}{
		{"no lock", "", func(t *testing.T, s *charts.Store) { os.Remove(s.LockFile) },
			[]string{`group "kust"`, "/repo/catalog/kust/kustomization.yaml: helmCharts[0] (hello): chart " + ociRef.String() + ": no lock file", "run gwctl charts pull"}},
		{"chart missing from the cache", "web", func(t *testing.T, s *charts.Store) { os.Remove(s.Path(webRef)) },
			[]string{`group "web"`, "/repo/catalog/web/group.yaml: spec.content.charts[0]: chart hello 0.2.0 from " + repo.URL + " is not in the chart cache", "run gwctl charts pull"}},
		{"archive differs from the lock", "", func(t *testing.T, s *charts.Store) {
			os.WriteFile(s.Path(ociRef), chartstest.Hello(t, "0.1.0", func(c *chart.Chart) { c.Metadata.Description = "tampered" }), 0o644)
		}, []string{`group "kust"`, "helmCharts[0] (hello): chart " + ociRef.String() + ": ", "has digest sha256:", "gwctl.lock says sha256:", "run gwctl charts pull"}},
		{"chart not in the lock", "kust", func(t *testing.T, s *charts.Store) {
			os.WriteFile(s.LockFile, []byte("apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Lock\ncharts: []\n"), 0o644)
		}, []string{`group "kust"`, "helmCharts[0] (hello): chart " + ociRef.String() + " is not in ", ": run gwctl charts pull"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(pulled)); err != nil {
				t.Fatal(err)
			}
			s := charts.NewStore(filepath.Join(dir, "cache"), filepath.Join(dir, "gwctl.lock"))
			tc.setup(t, s)
			gitRan := offline(t)
			var only []string
			if tc.only != "" {
				only = []string{tc.only}
			}
			_, err := renderCatalog(t, fsys, s, only...)
			gitRan()
			var re *render.Error
			if !errors.As(err, &re) {
				t.Fatalf("error %v is not a render error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
}

// Remote Kustomize resources are refused before krusty runs: krusty would run git or fetch.
func TestKustomizeRemoteResourcesRefused(t *testing.T) {
	cases := []struct{ name, kustomization, want string }{
		{"git base", "resources:\n- github.com/org/repo//deploy?ref=v1.0.0\n",
			`/repo/catalog/k/kustomization.yaml:2:3: resources[0]: remote resource "github.com/org/repo//deploy?ref=v1.0.0": gwctl builds kustomizations offline (no git, no HTTP)`},
		{"https resource", "resources:\n- ok.yaml\n- https://raw.example.com/install.yaml\n",
			`kustomization.yaml:3:3: resources[1]: remote resource "https://raw.example.com/install.yaml"`},
		{"ssh git", "resources:\n- git@github.com:org/repo.git\n", `resources[0]: remote resource "git@github.com:org/repo.git"`},
		{"outside the group", "resources:\n- ../other\n", `resources[0]: "../other" is outside /repo/catalog/k, which gwctl builds alone`},
		{"missing", "resources:\n- nope.yaml\n", `resources[0]: "nope.yaml": no such file or folder in /repo/catalog/k`},
		{"https patch", "resources: [ok.yaml]\npatches:\n- path: https://raw.example.com/p.yaml\n",
			`kustomization.yaml:3:9: patches[0].path: remote file "https://raw.example.com/p.yaml": gwctl builds kustomizations offline`},
		{"https configMapGenerator file", "configMapGenerator:\n- name: c\n  files: [conf=https://raw.example.com/c.conf]\n",
			`configMapGenerator[0].files[0]: remote file "https://raw.example.com/c.conf"`},
		{"remote component in a base", "resources: [base]\n", `/repo/catalog/k/base/kustomization.yaml:1:14: components[0]: remote resource "https://example.com/c"`},
		{"helmCharts without a version", "helmCharts:\n- {name: x, repo: https://charts.example.com}\n",
			`kustomization.yaml:2:3: helmCharts[0]: a remote chart needs an exact version`},
		{"helmCharts with a range", "helmCharts:\n- {name: x, repo: https://charts.example.com, version: ~1.0.0}\n",
			`kustomization.yaml:2:56: helmCharts[0].version: "~1.0.0" is not an exact version`},
		{"helmCharts without repo or chart", "helmCharts:\n- {name: x}\n", `helmCharts[0].name: no repo and no chart at k/charts/x`},
		{"helmCharts nameTemplate", "helmCharts:\n- {name: x, nameTemplate: '{{ randAlpha 5 }}'}\n", `helmCharts[0].nameTemplate: nameTemplate is not supported`},
		{"helmCharts values file outside", "helmCharts:\n- {name: c, valuesFile: ../v.yaml}\n", `helmCharts[0].valuesFile: "../v.yaml" is outside /repo/catalog/k, which gwctl builds alone`},
		{"deprecated generator", "helmChartInflationGenerator:\n- {chartName: x}\n", `helmChartInflationGenerator: deprecated by Kustomize and not supported: write helmCharts`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"catalog.yaml":                {Data: []byte(catalogHead)},
				"k/group.yaml":                group("k", "    kustomize: true\n"),
				"k/kustomization.yaml":        {Data: []byte(tc.kustomization)},
				"k/ok.yaml":                   {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n")},
				"k/base/kustomization.yaml":   {Data: []byte("components: [https://example.com/c]\n")},
				"k/charts/c/Chart.yaml":       {Data: []byte("apiVersion: v2\nname: c\nversion: 0.0.1\n")},
				"k/charts/c/templates/a.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")},
			}
			gitRan := offline(t)
			for range 20 {
				_, err := renderCatalog(t, fsys, nil)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v\nwant %q", err, tc.want)
				}
			}
			gitRan()
		})
	}
}

// A repo's own overlay (outside any catalog) builds as gwctl validate -k builds it: its base's
// helmCharts come from the cache, the overlay's transformers apply to the chart's objects.
func TestBuildKustomizationOverlay(t *testing.T) {
	repo, reg := serveHello(t)
	fsys := fstest.MapFS{
		"apps/base/kustomization.yaml":         {Data: []byte("helmCharts:\n- {name: hello, repo: " + reg.URL + "/charts, version: 0.1.0, releaseName: web, namespace: web}\n")},
		"apps/overlays/dev/kustomization.yaml": {Data: []byte("namePrefix: dev-\nresources: [../../base]\n")},
	}
	k := render.Kustomization{FS: fsys, Root: ".", Dir: "apps/overlays/dev", Display: func(p string) string { return "/src/" + p }}
	uses, err := k.RemoteCharts()
	if err != nil || len(uses) != 1 || uses[0].Where != "/src/apps/base/kustomization.yaml: helmCharts[0]" {
		t.Fatalf("remote charts %+v %v", uses, err)
	}
	dir := t.TempDir()
	k.Charts = charts.NewStore(filepath.Join(dir, "cache"), filepath.Join(dir, "gwctl.lock"))
	if _, err := charts.Pull(context.Background(), []charts.Ref{uses[0].Ref}, charts.PullOptions{
		Store: k.Charts, PlainHTTP: true, RegistryConfig: chartstest.CredentialsFile(t)}); err != nil {
		t.Fatal(err)
	}
	repo.Close()
	reg.Close()
	offline(t)
	k.Charts = charts.NewStore(k.Charts.Dir, k.Charts.LockFile)
	objs, _, err := k.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.Kind+"/"+o.Namespace+"/"+o.Name)
	}
	if strings.Join(names, ",") != "ConfigMap/web/dev-web-hello,ConfigMap/web/dev-web-hook" {
		t.Fatalf("objects %v", names)
	}
	// An overlay may not reach outside Root.
	k.Root = "apps/overlays"
	if _, _, err := k.Build(context.Background()); err == nil || !strings.Contains(err.Error(),
		`/src/apps/overlays/dev/kustomization.yaml:2:13: resources[0]: "../../base" is outside /src/apps/overlays, which gwctl builds alone`) {
		t.Fatalf("base outside root: %v", err)
	}
}
