package render_test

import (
	"context"
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

// locate builds the kustomization in dir (of the working directory) with origins and reads it
// back positioned.
func locate(dir, input string) (*render.Located, error) {
	k := render.Kustomization{FS: os.DirFS("."), Root: ".", Dir: dir, Origins: true}
	objs, _, err := k.Build(context.Background())
	if err != nil {
		return nil, err
	}
	return render.Locate(k, objs, input)
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
	k, err := locate("overlay", "-k overlay")
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
	k, err := locate("prod", "-k prod")
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
			`k/kustomization.yaml:3:3: resources[1]: remote resource "github.com/org/repo//base?ref=v1": gwctl builds kustomizations offline (no git, no HTTP): copy it into this kustomization's folder and list the copy`},
		{"https patch", map[string]string{"k/kustomization.yaml": "resources: []\npatches:\n- path: https://example.com/p.yaml\n"},
			`k/kustomization.yaml:3:9: patches[0].path: remote file "https://example.com/p.yaml": gwctl builds kustomizations offline (no HTTP): copy it into this kustomization's folder`},
		{"a missing resource", map[string]string{"k/kustomization.yaml": "resources:\n- missing.yaml\n"},
			`k/kustomization.yaml:2:3: resources[0]: "missing.yaml": no such file or folder in .`},
		{"a patch file that is missing", map[string]string{"k/kustomization.yaml": "resources: []\npatches:\n- path: nope.yaml\n"},
			"kustomize: trouble configuring builtin PatchTransformer with config: `\npath: nope.yaml\n`: failed to get the patch file from path(nope.yaml): 'k/nope.yaml' doesn't exist"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			chdir(t, t.TempDir())
			writeTree(t, ".", c.files)
			for range 20 {
				_, err := locate("k", "-k k")
				if err == nil || err.Error() != c.want {
					t.Fatalf("got  %v\nwant %s", err, c.want)
				}
			}
		})
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
		k, err := locate(dir, "")
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
