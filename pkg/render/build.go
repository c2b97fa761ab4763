package render

import (
	"context"
	"fmt"
	"io/fs"
	"log"
	"path"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/infergw/gwctl/pkg/charts"
)

// Kustomization is one kustomization to build outside a catalog (a repo's own overlays, as
// gwctl validate -k builds them).
type Kustomization struct {
	// FS holds the repo; Dir is the kustomization's folder in it, and Root a folder holding
	// Dir that every base and file must stay in ("." for all of FS).
	FS        fs.FS
	Root, Dir string
	// Display names a path of FS in messages (the path on disk); nil leaves it as it is.
	Display func(string) string
	// Charts serves the remote charts of helmCharts; KubeVersion is what charts see.
	Charts      *charts.Store
	KubeVersion string
	// Origins records each object's source file (kustomize's origin annotation, taken off the
	// object again), for Locate.
	Origins bool
}

func (k Kustomization) display() func(string) string {
	if k.Display != nil {
		return k.Display
	}
	return func(p string) string { return p }
}

// Build builds the kustomization in-process as render builds a group's: krusty on an in-memory
// copy of the kustomization folders it reaches, helmCharts rendered by the in-process Helm from
// the chart cache, remote resources refused before krusty runs. Objects come in krusty's order,
// with no gwctl labels.
func (k Kustomization) Build(ctx context.Context) ([]*Object, []string, error) {
	quietLog.Do(func() { log.SetOutput(discard{}) })
	display := k.display()
	root, dir := path.Clean(k.Root), path.Clean(k.Dir)
	ks, err := kustomizations(k.FS, root, dir, display)
	if err != nil {
		return nil, nil, err
	}
	mem := filesys.MakeFsInMemory()
	for _, kz := range ks {
		if err := copyDir(k.FS, kz.dir, mem, path.Join("/app", relTo(root, kz.dir))); err != nil {
			return nil, nil, err
		}
	}
	kv := k.KubeVersion
	if kv == "" {
		kv = "v1.34.0"
	}
	warnings, err := expandHelmCharts(ctx, kustomizeEnv{fsys: k.FS, charts: k.Charts, kubeVersion: kv,
		apiVersions: APIVersions, display: display}, ks, root, mem, "/app")
	if err != nil {
		return nil, warnings, err
	}
	if k.Origins {
		if err := trackOriginsIn(mem, path.Join("/app", relTo(root, dir))); err != nil {
			return nil, warnings, fmt.Errorf("%s: %w", display(dir), err)
		}
	}
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionNone
	rm, err := krusty.MakeKustomizer(opts).Run(mem, path.Join("/app", relTo(root, dir)))
	if err != nil {
		prefix := display(root)
		if root == "." {
			prefix = strings.TrimSuffix(display("x"), "x")
		}
		if prefix = strings.TrimSuffix(prefix, "/"); prefix != "" {
			prefix += "/"
		}
		return nil, warnings, fmt.Errorf("kustomize: %s", strings.ReplaceAll(err.Error(), "/app/", prefix))
	}
	var objs []*Object
	for _, r := range rm.Resources() {
		gvk := r.GetGvk()
		o := &Object{APIGroup: gvk.Group, APIVersion: r.GetApiVersion(), Kind: gvk.Kind,
			Namespace: r.GetNamespace(), Name: r.GetName(), res: r}
		if k.Origins {
			if o.origin, err = takeOrigin(r); err != nil {
				return nil, warnings, fmt.Errorf("%s: %w", display(dir), err)
			}
		}
		objs = append(objs, o)
	}
	return objs, warnings, nil
}

// RemoteCharts lists the remote charts of the kustomization's helmCharts and of every kustomization
// it reaches, for gwctl charts pull.
func (k Kustomization) RemoteCharts() ([]ChartUse, error) {
	display := k.display()
	ks, err := kustomizations(k.FS, path.Clean(k.Root), path.Clean(k.Dir), display)
	if err != nil {
		return nil, err
	}
	return kustomizationCharts(k.FS, ks, "", display)
}

// kustomizationCharts lists the remote helmCharts of ks.
func kustomizationCharts(fsys fs.FS, ks []*kustomization, group string, display func(string) string) ([]ChartUse, error) {
	var out []ChartUse
	for _, kz := range ks {
		hs, err := kz.helmCharts(fsys, display)
		if err != nil {
			return nil, err
		}
		for _, h := range hs {
			if h.remote != nil {
				out = append(out, ChartUse{Ref: *h.remote, Group: group, Where: fmt.Sprintf("%s: %s", display(kz.file), h.key(""))})
			}
		}
	}
	return out, nil
}
