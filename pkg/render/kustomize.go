package render

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/manifest"
)

// tree is what the kustomization scan reads: krusty's filesystem, or an fs.FS through fsTree.
type tree interface {
	ReadFile(name string) ([]byte, error)
	IsDir(name string) bool
	Exists(name string) bool
}

// fsTree reads an fs.FS (a catalog, a repo root) with slash paths relative to it.
type fsTree struct{ fsys fs.FS }

func (t fsTree) ReadFile(name string) ([]byte, error) { return fs.ReadFile(t.fsys, clean(name)) }
func (t fsTree) IsDir(name string) bool {
	st, err := fs.Stat(t.fsys, clean(name))
	return err == nil && st.IsDir()
}
func (t fsTree) Exists(name string) bool { _, err := fs.Stat(t.fsys, clean(name)); return err == nil }

func clean(name string) string {
	name = path.Clean(strings.TrimPrefix(name, "/"))
	if name == "" {
		return "."
	}
	return name
}

// KustomizeError is a kustomization gwctl refuses to build, at the entry that is the reason.
type KustomizeError struct {
	File string
	Pos  manifest.Pos
	// Field is the entry in the kustomization: resources[2].
	Field string
	Msg   string
}

func (e *KustomizeError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s: %s", e.File, e.Pos.Line, e.Pos.Column, e.Field, e.Msg)
}

// kustomizationFile is the kustomization file of dir in t, or "".
func kustomizationFile(t tree, dir string) string {
	for _, n := range manifest.KustomizationFiles {
		if p := path.Join(dir, n); t.Exists(p) && !t.IsDir(p) {
			return p
		}
	}
	return ""
}

// scanKustomization walks the kustomizations reachable from dir (resources, bases, components,
// generators, transformers, validators that are directories) and returns the directories
// visited, dir first. It refuses, before krusty runs, every entry krusty would fetch: a base or
// resource that is not a local file or directory (krusty would try it as a git repository) and
// a URL among the files (krusty would GET it). A render or validate never reaches the network.
// Paths are slash paths of t; within, when set, says whether a path stays in the root.
func scanKustomization(t tree, dir string, within func(string) bool) ([]string, error) {
	var visited []string
	seen := map[string]bool{}
	var visit func(dir string) error
	visit = func(dir string) error {
		if seen[dir] {
			return nil
		}
		seen[dir] = true
		visited = append(visited, dir)
		file := kustomizationFile(t, dir)
		if file == "" {
			return nil // krusty reports a directory with no kustomization
		}
		data, err := t.ReadFile(file)
		if err != nil {
			return err
		}
		doc, err := manifest.ParseMapping(file, data, manifest.DefaultLimits)
		if err != nil {
			return err
		}
		refuse := func(field, msg string) error {
			return &KustomizeError{File: file, Pos: doc.FieldPos(field), Field: field, Msg: msg}
		}
		// Entries that may be directories: krusty tries one it cannot find as a remote base.
		for _, key := range []string{"resources", "bases", "components", "generators", "transformers", "validators"} {
			l, _ := doc.Content[key].([]any)
			for i, v := range l {
				entry, _ := v.(string)
				field := fmt.Sprintf("%s[%d]", key, i)
				if entry == "" || strings.Contains(entry, "\n") {
					continue // inline generator or transformer configuration
				}
				if isURL(entry) {
					return refuse(field, fmt.Sprintf("%q is remote: gwctl never fetches during a build; vendor it into the repo", entry))
				}
				p := path.Join(dir, entry)
				if within != nil && !within(p) {
					return refuse(field, fmt.Sprintf("%q is outside the repo root", entry))
				}
				switch {
				case t.IsDir(p):
					if err := visit(p); err != nil {
						return err
					}
				case !t.Exists(p):
					return refuse(field, fmt.Sprintf("%q is neither a file nor a directory here (remote bases are not fetched: vendor them into the repo)", entry))
				}
			}
		}
		// Entries that are files: krusty GETs one that is an http(s) URL.
		for _, f := range fileEntries(doc.Content) {
			if isURL(f.value) {
				return refuse(f.field, fmt.Sprintf("%q is remote: gwctl never fetches during a build; vendor it into the repo", f.value))
			}
		}
		return nil
	}
	if err := visit(path.Clean(dir)); err != nil {
		return nil, err
	}
	return visited, nil
}

// isURL reports an entry krusty would fetch: a URL, or a git/ssh address (git@host:org/repo).
func isURL(s string) bool {
	return strings.Contains(s, "://") || strings.HasPrefix(s, "git@") || strings.HasPrefix(s, "git::")
}

type fileEntry struct{ field, value string }

// fileEntries lists the file names a kustomization reads besides its resources.
func fileEntries(k map[string]any) []fileEntry {
	var out []fileEntry
	add := func(field string, v any) {
		if s, ok := v.(string); ok && s != "" && !strings.Contains(s, "\n") {
			out = append(out, fileEntry{field, s})
		}
	}
	for _, key := range []string{"configurations", "crds", "patchesStrategicMerge"} {
		l, _ := k[key].([]any)
		for i, v := range l {
			add(fmt.Sprintf("%s[%d]", key, i), v)
		}
	}
	for _, key := range []string{"patches", "patchesJson6902", "replacements"} {
		l, _ := k[key].([]any)
		for i, v := range l {
			if m, ok := v.(map[string]any); ok {
				add(fmt.Sprintf("%s[%d].path", key, i), m["path"])
			}
		}
	}
	if m, ok := k["openapi"].(map[string]any); ok {
		add("openapi.path", m["path"])
	}
	for _, key := range []string{"configMapGenerator", "secretGenerator"} {
		l, _ := k[key].([]any)
		for i, v := range l {
			m, _ := v.(map[string]any)
			for _, sub := range []string{"files", "envs"} {
				fl, _ := m[sub].([]any)
				for j, f := range fl {
					if s, ok := f.(string); ok {
						_, file, found := strings.Cut(s, "=")
						if !found {
							file = s
						}
						add(fmt.Sprintf("%s[%d].%s[%d]", key, i, sub, j), file)
					}
				}
			}
			add(fmt.Sprintf("%s[%d].env", key, i), m["env"])
		}
	}
	return out
}

// runKrusty builds the kustomization at dir of fsys with the options every gwctl build uses:
// no reordering (gwctl orders the whole stream itself), no plugins, files within each
// kustomization's root.
func runKrusty(fsys filesys.FileSystem, dir string) (resmap.ResMap, error) {
	quietLog.Do(quiet)
	if _, err := scanKustomization(fsys, dir, nil); err != nil {
		return nil, err
	}
	kopts := krusty.MakeDefaultOptions()
	kopts.Reorder = krusty.ReorderOptionNone
	return krusty.MakeKustomizer(kopts).Run(fsys, dir)
}

// copyTree copies the directories of src a kustomization at dir reaches into dst under to,
// keeping their relative layout, so bases outside the content folder (../../base) build too.
// skip leaves out entries of dir itself (a group folder's charts and group.yaml).
func copyTree(src fs.FS, dir string, within func(string) bool, dst filesys.FileSystem, to string, skip func(rel string) bool) error {
	dirs, err := scanKustomization(fsTree{src}, dir, within)
	if err != nil {
		return err
	}
	for i, d := range dirs {
		s := skip
		if i > 0 {
			s = nil
		}
		if err := copyDir(src, d, dst, path.Join(to, d), s); err != nil {
			return err
		}
	}
	return nil
}

// contentMount is where a group's content tree sits in the in-memory filesystem, beside /app.
const contentMount = "/content"

// escapes reports whether a cleaned slash path leads above its root.
func escapes(p string) bool { p = clean(p); return p == ".." || strings.HasPrefix(p, "../") }

// contentError names the group's files in a build error instead of in-memory paths.
func contentError(g *catalog.Group, err error) error {
	var ke *KustomizeError
	if errors.As(err, &ke) {
		e := *ke
		e.File = g.SourceName(strings.TrimPrefix(strings.TrimPrefix(e.File, contentMount), "/"))
		return &e
	}
	prefix := strings.TrimSuffix(g.SourceName("x"), "x")
	return fmt.Errorf("kustomize: %s", strings.ReplaceAll(err.Error(), contentMount+"/", prefix))
}
