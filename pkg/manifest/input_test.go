package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infergw/gwctl/pkg/finding"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// findingLines prints findings one a line, with paths relative to dir.
func findingLines(dir string, fs []finding.Finding) string {
	finding.Sort(fs)
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(strings.ReplaceAll(f.String(), dir+"/", ""))
		b.WriteString("\n")
	}
	return b.String()
}

// TestReadSkipsWhatIsNotAManifest: Helm values, chart directories, kustomization files, the
// patches they name and Kustomization objects are skipped, each with one info finding; the
// resources beside them are read.
func TestReadSkipsWhatIsNotAManifest(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"app/values.yaml":             "replicaCount: 2\nimage:\n  repository: nginx\n",
		"app/values-prod.yml":         "# only comments and a list\n- a\n- b\n",
		"app/settings.json":           `{"editor": {"tabSize": 2}}`,
		"app/svc.yaml":                "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n",
		"app/kustomization.yaml":      "resources: [svc.yaml]\npatches:\n- path: patches/replicas.yaml\npatchesStrategicMerge:\n- patch-sm.yaml\n",
		"app/patches/replicas.yaml":   "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n",
		"app/patch-sm.yaml":           "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n",
		"app/component.yaml":          "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [svc.yaml]\n",
		"chart/Chart.yaml":            "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"chart/values.yaml":           "a: 1\n",
		"chart/templates/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n",
		"empty.yaml":                  "# nothing here\n",
		"catalog/catalog.yaml":        "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Catalog\nrepoRoot: ..\n",
		"catalog/web/group.yaml":      "# web\napiVersion: gwctl.infergw.dev/v1alpha1\nkind: Group\nmetadata: {name: web}\nspec: {layer: apps}\n",
	})
	in, err := Read([]string{dir}, nil, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Objects) != 1 || in.Objects[0].Name != "web" || in.Objects[0].Kind != "Service" || in.Objects[0].Input != dir {
		t.Fatalf("objects %v, want Service web from input %s", in.Objects, dir)
	}
	want := `app/component.yaml:1:1: info Component/: Kustomize Component, not a resource: skipped [input/kustomization]
app/kustomization.yaml: info: Kustomize file, not a resource: skipped (` + "`gwctl validate -k DIR`" + ` checks what it builds) [input/kustomization]
app/patch-sm.yaml: info: Kustomize patch named by app/kustomization.yaml, not a whole resource: skipped [input/kustomization]
app/patches/replicas.yaml: info: Kustomize patch named by app/kustomization.yaml, not a whole resource: skipped [input/kustomization]
app/settings.json: info: no document has apiVersion or kind (Helm values or another tool's configuration): not a manifest, skipped [input/not-a-manifest]
app/values-prod.yml: info: no document has apiVersion or kind (Helm values or another tool's configuration): not a manifest, skipped [input/not-a-manifest]
app/values.yaml: info: no document has apiVersion or kind (Helm values or another tool's configuration): not a manifest, skipped [input/not-a-manifest]
catalog/catalog.yaml:1:1: info Catalog/: gwctl Catalog declaration, not a resource: skipped [input/not-a-manifest]
catalog/web/group.yaml:2:1: info Group/web: gwctl Group declaration, not a resource: skipped [input/not-a-manifest]
chart/Chart.yaml: info: Helm chart: its templates are manifests only once rendered, so its directory is skipped (validate ` + "`helm template`" + ` output through stdin) [input/helm-chart]
`
	if got := findingLines(dir, in.Findings); got != want {
		t.Errorf("findings:\n%s\nwant:\n%s", got, want)
	}
}

// TestReadKeepsGoing: a file that cannot be parsed is one error finding with its position, and
// the other files are still read; only a path that cannot be read stops the run.
func TestReadKeepsGoing(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"a-dup.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  name: y\n",
		"b-syntax.yaml": "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s\ndata:\n  a: b\n c: d\n",
		"c-mixed.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\n---\nreplicas: 2\n",
		"d-good.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: good}\n",
	})
	in, err := Read([]string{dir}, nil, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Objects) != 1 || in.Objects[0].Name != "good" {
		t.Fatalf("objects %v, want good only", in.Objects)
	}
	want := `a-dup.yaml:5:3: error: duplicate key "name" [input/parse]
b-syntax.yaml:8:2: error: YAML syntax: did not find expected key [input/parse]
c-mixed.yaml:5:1: error: document 1 has no apiVersion [input/parse]
`
	if got := findingLines(dir, in.Findings); got != want {
		t.Errorf("findings:\n%s\nwant:\n%s", got, want)
	}
	if _, err := Read([]string{dir, filepath.Join(dir, "missing.yaml")}, nil, DefaultLimits); err == nil || !strings.Contains(err.Error(), "missing.yaml: cannot read") {
		t.Fatalf("unreadable path: %v", err)
	}
}

// TestReadInputs: each object records the argument it was found through; a file given twice
// (directly and through its directory) is read once; stdin is "-".
func TestReadInputs(t *testing.T) {
	dir := writeTree(t, map[string]string{"a/one.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n"})
	one := filepath.Join(dir, "a", "one.yaml")
	in, err := Read([]string{one, filepath.Join(dir, "a"), "-"}, strings.NewReader("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: two}\n"), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range in.Objects {
		got = append(got, o.Name+"@"+strings.TrimPrefix(o.Input, dir+"/"))
	}
	if strings.Join(got, " ") != "one@a/one.yaml two@-" {
		t.Fatalf("objects %v", got)
	}
}

// TestGenerateNameResource: an object named by generateName shows as its prefix and *.
func TestGenerateNameResource(t *testing.T) {
	objs, err := Parse("j.yaml", []byte("apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: migrate-, namespace: db}\n"), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if got := objs[0].Resource().String(); got != "Job/db/migrate-*" || objs[0].Name != "" {
		t.Fatalf("resource %q, name %q", got, objs[0].Name)
	}
}
