// Command render prepares the peer side of the render benchmark: the chart folders, values and
// kustomizations with which `helm template` + `kustomize build` produce the objects `gwctl render` does.
package main

// Usage
//
// For every enabled group of the bundled platform (all features on); it prints one line per step
// for hack/bench/render.sh:
//
//	go run ./hack/bench/render DIR

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/infergw/gwctl/groups"
	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/platform"
	"github.com/infergw/gwctl/pkg/render"
	"github.com/infergw/gwctl/pkg/resolve"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: render DIR")
		os.Exit(2)
	}
	if err := prepare(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func prepare(dir string) error {
	cat, err := catalog.Load(groups.FS, "bundled")
	if err != nil {
		return err
	}
	var features []string
	for _, g := range cat.Optional() {
		features = append(features, g.Name)
	}
	cfg, res, err := resolve.Platform(cat, platform.Options{Enable: features, Set: []string{"secretStore.name=secret-store"}})
	if err != nil {
		return err
	}
	fmt.Printf("features %s\n", strings.Join(features, ","))
	values, err := render.Values(render.Options{Catalog: cat, Config: cfg, Groups: res.Order})
	if err != nil {
		return err
	}
	vb, _ := json.Marshal(values)
	for _, g := range res.Order {
		gdir := filepath.Join(dir, g.Name)
		if err := copyTree(g.Dir, gdir); err != nil {
			return err
		}
		var resources []string
		if g.Kustomize {
			resources = append(resources, "group")
			if err := copyTree(g.Dir, filepath.Join(gdir, "group")); err != nil {
				return err
			}
			if err := os.RemoveAll(filepath.Join(gdir, "group", "charts")); err != nil {
				return err
			}
			if err := os.Remove(filepath.Join(gdir, "group", "group.yaml")); err != nil {
				return err
			}
		}
		for _, ch := range g.Charts {
			vf := filepath.Join(gdir, ch.ReleaseName+".values.json")
			if err := os.WriteFile(vf, vb, 0o644); err != nil {
				return err
			}
			out := "charts-out/" + ch.ReleaseName + ".yaml"
			resources = append(resources, out)
			// One helm template step per chart: release chart namespace values output.
			ns := ch.Namespace
			if ns == "" {
				ns = "default"
			}
			fmt.Printf("helm %s %s %s %s %s\n", ch.ReleaseName, filepath.Join(gdir, ch.Path), ns, vf, filepath.Join(gdir, out))
		}
		if err := os.MkdirAll(filepath.Join(gdir, "charts-out"), 0o755); err != nil {
			return err
		}
		k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- " + strings.Join(resources, "\n- ") +
			"\nlabels:\n- pairs:\n    " + render.GroupLabel + ": " + g.Name + "\n    app.kubernetes.io/part-of: gwctl\n"
		if err := os.WriteFile(filepath.Join(gdir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
			return err
		}
		fmt.Printf("kustomize %s\n", gdir)
	}
	return nil
}

func copyTree(src, dst string) error {
	return fs.WalkDir(groups.FS, src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, src), "/")
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := fs.ReadFile(groups.FS, p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}
