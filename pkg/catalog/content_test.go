package catalog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// writeTree writes files (slash paths) under dir.
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

const groupHead = "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Group\nmetadata: {name: a}\nspec:\n  layer: x\n"

func TestContentElsewhere(t *testing.T) {
	repo := t.TempDir()
	writeTree(t, repo, map[string]string{
		"catalog/catalog.yaml":                  "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Catalog\nrepoRoot: ..\n",
		"catalog/a/group.yaml":                  groupHead + "  content:\n    path: platform/a\n    kustomize: true\n    charts: [{path: chart}]\n",
		"platform/a/kustomization.yaml":         "resources: []\n",
		"platform/a/chart/Chart.yaml":           "apiVersion: v2\nname: a\nversion: 0.1.0\n",
		"catalog/b/group.yaml":                  strings.ReplaceAll(groupHead, "{name: a}", "{name: b}") + "  content: {kustomize: true}\n",
		"catalog/b/kustomization.yaml":          "resources: []\n",
		"platform/unrelated/kustomization.yaml": "resources: []\n",
	})
	cat, err := LoadDir(filepath.Join(repo, "catalog"))
	if err != nil {
		t.Fatal(err)
	}
	if cat.RootSource != repo {
		t.Fatalf("root %q, want %q", cat.RootSource, repo)
	}
	a, _ := cat.Group("a")
	if a.ContentDir != "platform/a" || a.OwnFolder() || a.ContentName("chart") != repo+"/platform/a/chart" {
		t.Fatalf("group a content %q in %v (%s)", a.ContentDir, a.ContentFS, a.ContentName("chart"))
	}
	// Without content.path the group folder holds the content, as before.
	b, _ := cat.Group("b")
	if b.ContentDir != "b" || !b.OwnFolder() {
		t.Fatalf("group b content %q", b.ContentDir)
	}
}

func TestContentElsewhereErrors(t *testing.T) {
	catalogYAML := "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Catalog\nrepoRoot: ..\n"
	cases := []struct {
		name  string
		files map[string]string
		want  string // {repo} is the repo directory
	}{
		{"leads out of the repo root", map[string]string{
			"catalog/catalog.yaml": catalogYAML,
			"catalog/a/group.yaml": groupHead + "  content:\n    path: platform/../../outside\n    kustomize: true\n",
		}, `{repo}/catalog/a/group.yaml:7:11: spec.content.path: "platform/../../outside" leads out of the repo root {repo} (catalog.yaml repoRoot): content must live inside the repo`},
		{"absolute", map[string]string{
			"catalog/catalog.yaml": catalogYAML,
			"catalog/a/group.yaml": groupHead + "  content:\n    path: /etc\n    kustomize: true\n",
		}, `{repo}/catalog/a/group.yaml:7:11: spec.content.path: "/etc" is absolute: content.path is relative to the repo root {repo}`},
		{"missing directory", map[string]string{
			"catalog/catalog.yaml": catalogYAML,
			"catalog/a/group.yaml": groupHead + "  content:\n    path: platform/nope\n    kustomize: true\n",
		}, `{repo}/catalog/a/group.yaml:7:11: spec.content.path: no directory {repo}/platform/nope`},
		{"a file", map[string]string{
			"catalog/catalog.yaml": catalogYAML,
			"catalog/a/group.yaml": groupHead + "  content:\n    path: README.md\n    kustomize: true\n",
			"README.md":            "x",
		}, `{repo}/catalog/a/group.yaml:7:11: spec.content.path: {repo}/README.md is a file, not a directory`},
		{"no kustomization there", map[string]string{
			"catalog/catalog.yaml": catalogYAML,
			"catalog/a/group.yaml": groupHead + "  content:\n    path: platform/a\n    kustomize: true\n",
			"platform/a/x.yaml":    "x: 1\n",
		}, `{repo}/catalog/a/group.yaml: spec.content.kustomize is true but {repo}/platform/a/kustomization.yaml is missing`},
		{"chart path leads out", map[string]string{
			"catalog/catalog.yaml": catalogYAML,
			"catalog/a/group.yaml": groupHead + "  content:\n    path: platform/a\n    charts:\n    - path: ../../../chart\n",
			"platform/a/x.yaml":    "x: 1\n",
		}, `{repo}/catalog/a/group.yaml:9:13: spec.content.charts[0].path: "../../../chart" leads out of the repo root {repo}: charts must live inside the repo`},
		{"repo root missing", map[string]string{
			"catalog/catalog.yaml": "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Catalog\nrepoRoot: ../nowhere\n",
			"catalog/a/group.yaml": groupHead,
		}, `{repo}/catalog/catalog.yaml:3:11: repoRoot: {repo}/nowhere is not a directory: no such file or directory`},
		{"repo root absolute", map[string]string{
			"catalog/catalog.yaml": "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Catalog\nrepoRoot: /srv\n",
			"catalog/a/group.yaml": groupHead,
		}, `{repo}/catalog/catalog.yaml:3:11: repoRoot: "/srv" is absolute: write it relative to the catalog folder (..)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			repo := t.TempDir()
			writeTree(t, repo, c.files)
			want := strings.ReplaceAll(c.want, "{repo}", repo)
			for range 20 { // the same text every run
				_, err := LoadDir(filepath.Join(repo, "catalog"))
				if err == nil || err.Error() != want {
					t.Fatalf("got  %v\nwant %s", err, want)
				}
			}
		})
	}
}

func TestContentSymlinkOutOfRoot(t *testing.T) {
	repo, outside := t.TempDir(), t.TempDir()
	writeTree(t, repo, map[string]string{
		"catalog/catalog.yaml": "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Catalog\nrepoRoot: ..\n",
		"catalog/a/group.yaml": groupHead + "  content:\n    path: platform/a\n    kustomize: true\n",
	})
	writeTree(t, outside, map[string]string{"kustomization.yaml": "resources: []\n"})
	if err := os.MkdirAll(filepath.Join(repo, "platform"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(repo, "platform/a")); err != nil {
		t.Skip("no symlinks here:", err)
	}
	_, err := LoadDir(filepath.Join(repo, "catalog"))
	want := repo + "/catalog/a/group.yaml:7:11: spec.content.path: " + repo + "/platform/a: path escapes from parent"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

func TestRepoRootNeedsADirectory(t *testing.T) {
	_, err := Load(mapFS(map[string]string{
		"catalog.yaml": "apiVersion: gwctl.infergw.dev/v1alpha1\nkind: Catalog\nrepoRoot: ..\n",
		"a/group.yaml": groupHead,
	}), "/cat")
	want := "/cat/catalog.yaml:3:11: repoRoot: a repo root needs a catalog directory on disk (--catalog DIR or catalog: in the config)"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for k, v := range files {
		fsys[k] = &fstest.MapFile{Data: []byte(v)}
	}
	return fsys
}
