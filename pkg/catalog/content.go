package catalog

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/infergw/gwctl/pkg/manifest"
)

// openRoot sets the repo root from catalog.yaml's repoRoot (rel, relative to the catalog).
func (c *Catalog) openRoot(doc *manifest.Object, rel string, open rootOpener) error {
	if open == nil {
		return at(doc, "repoRoot", "a repo root needs a catalog directory on disk (--catalog DIR or catalog: in the config)")
	}
	if path.IsAbs(rel) {
		return at(doc, "repoRoot", fmt.Sprintf("%q is absolute: write it relative to the catalog folder (..)", rel))
	}
	root, where, err := open(rel)
	if err != nil {
		return at(doc, "repoRoot", fmt.Sprintf("%s is not a directory: %v", where, unwrap(err)))
	}
	c.Root, c.RootSource = root, where
	return nil
}

// locateContent finds where a group's content lives and checks it is there: spec.content.path
// in the repo root, or the group's own folder. A path leading out of the repo root is refused:
// the catalog reads the platform repo and nothing else.
func (c *Catalog) locateContent(g *Group) error {
	g.ContentFS, g.ContentDir, g.contentSource = c.FS, g.Dir, c.Source
	if raw := g.contentPath; raw != "" {
		const field = "spec.content.path"
		p := path.Clean(raw)
		switch {
		case path.IsAbs(raw):
			return at(g.doc, field, fmt.Sprintf("%q is absolute: content.path is relative to the repo root %s", raw, c.RootSource))
		case escapes(p):
			return at(g.doc, field, fmt.Sprintf("%q leads out of the repo root %s (catalog.yaml repoRoot): content must live inside the repo", raw, c.RootSource))
		}
		st, err := fs.Stat(c.Root, p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return at(g.doc, field, fmt.Sprintf("no directory %s", name(c.RootSource, p)))
		case err != nil:
			return at(g.doc, field, fmt.Sprintf("%s: %v", name(c.RootSource, p), unwrap(err)))
		case !st.IsDir():
			return at(g.doc, field, fmt.Sprintf("%s is a file, not a directory", name(c.RootSource, p)))
		}
		g.ContentFS, g.ContentDir, g.contentSource = c.Root, p, c.RootSource
	}
	if g.Kustomize && !hasKustomization(g.ContentFS, g.ContentDir) {
		return fmt.Errorf("%s: spec.content.kustomize is true but %s is missing", g.File, g.ContentName("kustomization.yaml"))
	}
	for i, ch := range g.Charts {
		if ch.Remote != nil {
			continue // from the chart cache (gwctl charts pull)
		}
		field := fmt.Sprintf("spec.content.charts[%d].path", i)
		if path.IsAbs(ch.Path) || escapes(path.Join(g.ContentDir, ch.Path)) {
			return at(g.doc, field, fmt.Sprintf("%q leads out of the repo root %s: charts must live inside the repo", ch.Path, c.RootSource))
		}
		if _, err := fs.Stat(g.ContentFS, path.Join(g.ContentDir, ch.Path, "Chart.yaml")); err != nil {
			return fmt.Errorf("%s: %s: no Chart.yaml in %s", g.File, field, g.ContentName(ch.Path))
		}
	}
	return nil
}

func hasKustomization(fsys fs.FS, dir string) bool {
	for _, n := range manifest.KustomizationFiles {
		if st, err := fs.Stat(fsys, path.Join(dir, n)); err == nil && !st.IsDir() {
			return true
		}
	}
	return false
}

// escapes reports whether a cleaned slash path leads above its root.
func escapes(p string) bool { return p == ".." || strings.HasPrefix(p, "../") }

// unwrap drops the operation and path of a *fs.PathError: messages name the path themselves.
func unwrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
