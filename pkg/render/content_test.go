package render_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/platform"
	"github.com/infergw/gwctl/pkg/render"
)

// A catalog in its own folder renders content that lives elsewhere in the repo, through an
// overlay whose base is outside the content folder.
func TestRenderContentElsewhere(t *testing.T) {
	repo := t.TempDir()
	writeTree(t, repo, map[string]string{
		"catalog/catalog.yaml": "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Catalog\nrepoRoot: ..\n",
		"catalog/web/group.yaml": `apiVersion: gwctl.infergw.dev/v1alpha1
kind: Group
metadata: {name: web}
spec:
  layer: apps
  core: true
  namespace: web
  content: {path: clusters/dev/web, kustomize: true}
`,
		"clusters/dev/web/kustomization.yaml": "namespace: web\nresources:\n- ../../../apps/web/base\n",
		"apps/web/base/kustomization.yaml":    "resources: [svc.yaml]\n",
		"apps/web/base/svc.yaml":              "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: 80}]\n",
	})
	cat, err := catalog.LoadDir(filepath.Join(repo, "catalog"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := render.Platform(context.Background(), cat, platform.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Objects) != 1 || res.Objects[0].Kind != "Service" || res.Objects[0].Namespace != "web" || res.Objects[0].Group != "web" {
		t.Fatalf("objects %+v", res.Objects)
	}
}

func TestRenderContentRefusals(t *testing.T) {
	group := `apiVersion: gwctl.infergw.dev/v1alpha1
kind: Group
metadata: {name: web}
spec:
  layer: apps
  core: true
  content: {path: clusters/dev/web, kustomize: true}
`
	cases := []struct {
		name, kustomization string
		want                string // {repo}: the repo directory
	}{
		{"a base above the repo root", "resources:\n- ../../../../outside\n",
			`{repo}/clusters/dev/web/kustomization.yaml:2:3: resources[0]: "../../../../outside" is outside {repo}, which gwctl builds alone`},
		{"a remote base", "resources:\n- github.com/org/repo//deploy?ref=main\n",
			`{repo}/clusters/dev/web/kustomization.yaml:2:3: resources[0]: remote resource "github.com/org/repo//deploy?ref=main": gwctl builds kustomizations offline (no git, no HTTP): copy it into this kustomization's folder and list the copy`},
		{"an http resource", "resources:\n- https://raw.githubusercontent.com/org/repo/main/x.yaml\n",
			`{repo}/clusters/dev/web/kustomization.yaml:2:3: resources[0]: remote resource "https://raw.githubusercontent.com/org/repo/main/x.yaml": gwctl builds kustomizations offline (no git, no HTTP): copy it into this kustomization's folder and list the copy`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			repo := t.TempDir()
			writeTree(t, repo, map[string]string{
				"catalog/catalog.yaml":                "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Catalog\nrepoRoot: ..\n",
				"catalog/web/group.yaml":              group,
				"clusters/dev/web/kustomization.yaml": c.kustomization,
			})
			cat, err := catalog.LoadDir(filepath.Join(repo, "catalog"))
			if err != nil {
				t.Fatal(err)
			}
			want := `group "web": ` + strings.ReplaceAll(c.want, "{repo}", repo)
			for range 20 {
				_, err := render.Platform(context.Background(), cat, platform.Options{})
				if err == nil || err.Error() != want {
					t.Fatalf("got  %v\nwant %s", err, want)
				}
			}
		})
	}
}

// A chart under content.path renders from the repo root too.
func TestRenderChartElsewhere(t *testing.T) {
	repo := t.TempDir()
	writeTree(t, repo, map[string]string{
		"catalog/catalog.yaml": "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Catalog\nrepoRoot: ..\n",
		"catalog/web/group.yaml": `apiVersion: gwctl.infergw.dev/v1alpha1
kind: Group
metadata: {name: web}
spec:
  layer: apps
  core: true
  namespace: web
  content:
    path: charts
    charts: [{path: web}]
`,
		"charts/web/Chart.yaml":         "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"charts/web/templates/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: {{ .Release.Name }}}\nspec:\n  ports: [{port: 80}]\n",
	})
	cat, err := catalog.LoadDir(filepath.Join(repo, "catalog"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := render.Platform(context.Background(), cat, platform.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Objects) != 1 || res.Objects[0].Kind != "Service" || res.Objects[0].Name != "web" {
		t.Fatalf("objects %+v", res.Objects)
	}
}
