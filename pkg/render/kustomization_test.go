package render_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/render"
)

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// chdir runs the rest of the test in dir, so paths are as a user would type them.
func chdir(t *testing.T, dir string) {
	t.Helper()
	t.Chdir(dir)
}

var overlayTree = map[string]string{
	"base/kustomization.yaml": "resources:\n- svc.yaml\n- grant.yaml\n",
	"base/svc.yaml":           "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n",
	"base/grant.yaml": `apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata:
  name: allow
spec:
  from:
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: apps}
  to:
  - {group: "", kind: Service}
`,
	"overlay/kustomization.yaml": `resources:
- ../base
- plain.yaml
patches:
- target: {kind: Service}
  patch: |
    - op: replace
      path: /spec/ports/0/port
      value: 8080
configMapGenerator:
- name: settings
  literals: [a=b]
`,
	"overlay/plain.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata: {x: z}\n",
}

func TestBuildKustomizationPositions(t *testing.T) {
	chdir(t, t.TempDir())
	writeTree(t, ".", overlayTree)
	k, err := render.BuildKustomization("overlay", "-k overlay")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, o := range k.Objects {
		if o.Input != "-k overlay" {
			t.Errorf("%s/%s: input %q", o.Kind, o.Name, o.Input)
		}
		if _, ok := o.Annotations()["config.kubernetes.io/origin"]; ok {
			t.Errorf("%s/%s keeps the origin annotation gwctl added", o.Kind, o.Name)
		}
		got[o.Kind+"/"+o.Name] = fmt.Sprintf("%s:%d:%d", o.File, o.Pos.Line, o.Pos.Column)
	}
	want := map[string]string{
		"ReferenceGrant/allow":          "base/grant.yaml:1:1",             // unchanged: its own file
		"ConfigMap/plain":               "overlay/plain.yaml:1:1",          // unchanged
		"Service/web":                   "overlay/kustomization.yaml:0:0",  // patched
		"ConfigMap/settings-4h2mbtbbt6": "overlay/kustomization.yaml:11:9", // generated: its generator
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("positions\n got %v\nwant %v", got, want)
	}
	// On the patched Service, a field the patch left is in base/svc.yaml; the patched one is not.
	fs := []finding.Finding{
		{File: "overlay/kustomization.yaml", Resource: finding.Resource{APIVersion: "v1", Kind: "Service", Name: "web"}, Field: "metadata.name"},
		{File: "overlay/kustomization.yaml", Resource: finding.Resource{APIVersion: "v1", Kind: "Service", Name: "web"}, Field: "spec.ports[0].port"},
		{File: "overlay/kustomization.yaml", Resource: finding.Resource{APIVersion: "v1", Kind: "Service", Name: "web"}},
	}
	k.Position(fs)
	var pos []string
	for _, f := range fs {
		pos = append(pos, f.Position())
	}
	if strings.Join(pos, " ") != "base/svc.yaml:4:9 overlay/kustomization.yaml overlay/kustomization.yaml" {
		t.Fatalf("finding positions %v", pos)
	}
}

func TestBuildKustomizationNamespaceKeepsFieldPositions(t *testing.T) {
	chdir(t, t.TempDir())
	writeTree(t, ".", overlayTree)
	writeTree(t, ".", map[string]string{"prod/kustomization.yaml": "namespace: prod\nresources:\n- ../base\n"})
	k, err := render.BuildKustomization("prod", "-k prod")
	if err != nil {
		t.Fatal(err)
	}
	grant := finding.Resource{APIVersion: "gateway.networking.k8s.io/v1beta1", Kind: "ReferenceGrant", Namespace: "prod", Name: "allow"}
	fs := []finding.Finding{
		{File: "prod/kustomization.yaml", Resource: grant, Field: "spec.from"},          // as written: base/grant.yaml
		{File: "prod/kustomization.yaml", Resource: grant, Field: "metadata.namespace"}, // set by the build
	}
	k.Position(fs)
	if fs[0].Position() != "base/grant.yaml:7:3" || fs[1].Position() != "prod/kustomization.yaml" {
		t.Fatalf("positions %s, %s", fs[0].Position(), fs[1].Position())
	}
}

func TestBuildKustomizationRefusals(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"remote base", map[string]string{"k/kustomization.yaml": "resources:\n- ok.yaml\n- github.com/org/repo//base?ref=v1\n", "k/ok.yaml": ""},
			`k/kustomization.yaml:3:3: resources[1]: "github.com/org/repo//base?ref=v1" is neither a file nor a directory here (remote bases are not fetched: vendor them into the repo)`},
		{"https resource", map[string]string{"k/kustomization.yaml": "resources:\n- https://example.com/app.yaml\n"},
			`k/kustomization.yaml:2:3: resources[0]: "https://example.com/app.yaml" is remote: gwctl never fetches during a build; vendor it into the repo`},
		{"https patch", map[string]string{"k/kustomization.yaml": "resources: []\npatches:\n- path: https://example.com/p.yaml\n"},
			`k/kustomization.yaml:3:9: patches[0].path: "https://example.com/p.yaml" is remote: gwctl never fetches during a build; vendor it into the repo`},
		{"git component in a base", map[string]string{
			"k/kustomization.yaml":    "resources:\n- ../base\n",
			"base/kustomization.yaml": "components:\n- git@github.com:org/repo.git\n"},
			`base/kustomization.yaml:2:3: components[0]: "git@github.com:org/repo.git" is remote: gwctl never fetches during a build; vendor it into the repo`},
		{"a missing resource", map[string]string{"k/kustomization.yaml": "resources:\n- missing.yaml\n"},
			`k/kustomization.yaml:2:3: resources[0]: "missing.yaml" is neither a file nor a directory here (remote bases are not fetched: vendor them into the repo)`},
		{"a patch file that is missing", map[string]string{"k/kustomization.yaml": "resources: []\npatches:\n- path: nope.yaml\n"},
			`k/kustomization.yaml: kustomize: trouble configuring builtin PatchTransformer with config: ` + "`" + `
path: nope.yaml
` + "`" + `: failed to get the patch file from path(nope.yaml): evalsymlink failure on 'k/nope.yaml' : lstat k/nope.yaml: no such file or directory`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			chdir(t, t.TempDir())
			writeTree(t, ".", c.files)
			for range 20 {
				_, err := render.BuildKustomization("k", "-k k")
				var ke *render.KustomizeError
				var be *render.BuildError
				if !errors.As(err, &ke) && !errors.As(err, &be) || err.Error() != c.want {
					t.Fatalf("got  %v\nwant %s", err, c.want)
				}
			}
		})
	}
}

func TestBuildKustomizationNotADirectory(t *testing.T) {
	chdir(t, t.TempDir())
	writeTree(t, ".", map[string]string{"empty/x.yaml": "", "file.yaml": ""})
	for dir, want := range map[string]string{
		"none":      "none: cannot read: no such file or directory",
		"file.yaml": "file.yaml: not a directory (-k takes the directory of a kustomization)",
		"empty":     "empty: no kustomization.yaml, kustomization.yml or Kustomization in the directory",
	} {
		_, err := render.BuildKustomization(dir, "")
		var nk *render.NoKustomizationError
		if !errors.As(err, &nk) || err.Error() != want {
			t.Errorf("%s: got %v, want %s", dir, err, want)
		}
	}
}

func TestBuildKustomizationFlowAndExistingBuildMetadata(t *testing.T) {
	chdir(t, t.TempDir())
	writeTree(t, ".", map[string]string{
		"flow/kustomization.yaml": "{resources: [cm.yaml]}\n",
		"flow/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
		"meta/kustomization.yaml": "buildMetadata: [managedByLabel]\nresources: [cm.yaml]\n",
		"meta/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
	})
	for _, dir := range []string{"flow", "meta"} {
		k, err := render.BuildKustomization(dir, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(k.Objects) != 1 {
			t.Fatalf("%s: %d objects", dir, len(k.Objects))
		}
		o := k.Objects[0]
		// managedByLabel changes the object: it is the kustomization's; flow keeps its file.
		want := map[string]string{"flow": "flow/cm.yaml", "meta": "meta/kustomization.yaml"}[dir]
		if o.File != want {
			t.Errorf("%s: file %s, want %s", dir, o.File, want)
		}
	}
}
