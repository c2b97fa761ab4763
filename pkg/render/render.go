// Package render renders the enabled feature groups in-process, Helm charts through the Helm SDK
// and Kustomize through krusty on an in-memory filesystem, into one ordered, deterministic stream.
package render

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log"
	"path"
	"strings"
	"sync"
	"text/template"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/infergw/gwctl/pkg/catalog"
	"github.com/infergw/gwctl/pkg/charts"
	"github.com/infergw/gwctl/pkg/platform"
	"github.com/infergw/gwctl/pkg/render/helm"
)

// GroupLabel names the feature group an object came from.
const GroupLabel = "gwctl.infergw.dev/group"

// GatewayResourcesAnnotation marks the ConfigMap that carries the gateway resources the
// dataplane serves; render fills its resources.yaml key.
const GatewayResourcesAnnotation = "gwctl.infergw.dev/gateway-resources"

// GatewayResourcesKey is the ConfigMap key holding the dataplane's resources.
const GatewayResourcesKey = "resources.yaml"

// APIVersions are the CRD group/versions the bundled platform uses; charts see them in
// .Capabilities.APIVersions along with Kubernetes' own.
var APIVersions = []string{
	"gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1",
	"inference.networking.k8s.io/v1", "agentgateway.dev/v1alpha1", "external-secrets.io/v1",
}

// Options is what to render.
type Options struct {
	Catalog *catalog.Catalog
	Config  *platform.Config
	// Groups are the enabled groups in dependency order (resolve.Result.Order).
	Groups []*catalog.Group
	// KeepGoing leaves a group that fails to render out of the result (Result.Failed says
	// why) instead of failing the render: for a caller that needs some groups only.
	KeepGoing bool
	// Skip are enabled groups not to render (their conditions do not hold): they stay in the
	// values other charts see (features), so the groups rendered come out as in a full render.
	Skip map[string]bool
	// Charts is the chart cache and lock that remote charts (a group's or a kustomization's
	// helmCharts) are read from; render never fetches one. Nil: a remote chart is an error.
	Charts *charts.Store
}

// Object is one rendered Kubernetes object.
type Object struct {
	// Group is the feature group that rendered it.
	Group      string
	APIGroup   string
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	res        *resource.Resource
	yaml       []byte // memoised by YAML; objects do not change once rendered and filled
	// origin is where a Kustomization.Build with Origins found the object.
	origin *resource.Origin
}

// YAML is the object as YAML (keys sorted, as kubectl prints them).
func (o *Object) YAML() ([]byte, error) {
	if o.yaml == nil {
		y, err := o.res.AsYAML()
		if err != nil {
			return nil, err
		}
		o.yaml = y
	}
	return o.yaml, nil
}

// Result is a whole render.
type Result struct {
	// Objects in apply order.
	Objects []*Object
	// Warnings are things that render but deserve a look (non-deterministic template functions).
	Warnings []string
	// Failed are the groups left out with Options.KeepGoing, in render order.
	Failed []*Error
}

// IsGatewayResources reports whether o is the ConfigMap that carries the gateway resources of
// every group (GatewayResourcesAnnotation).
func (o *Object) IsGatewayResources() bool {
	return o.Kind == "ConfigMap" && o.APIGroup == "" && o.res.GetAnnotations()[GatewayResourcesAnnotation] == "true"
}

// Error is a render failure naming the group and the file; exit 2.
type Error struct {
	Group string
	Err   error
}

func (e *Error) Error() string { return fmt.Sprintf("group %q: %v", e.Group, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// krusty's deprecation warnings go through the log package; keep them off stdout and stderr.
var quietLog sync.Once

// Render renders every group in opts.Groups and fills the dataplane's ConfigMap.
func Render(ctx context.Context, opts Options) (*Result, error) {
	quietLog.Do(func() { log.SetOutput(discard{}) })
	values, err := baseValues(opts)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	for _, g := range opts.Groups {
		if opts.Skip[g.Name] {
			continue
		}
		objs, warns, err := renderGroup(ctx, opts, g, values)
		if err != nil {
			if !opts.KeepGoing {
				return nil, &Error{Group: g.Name, Err: err}
			}
			res.Failed = append(res.Failed, &Error{Group: g.Name, Err: err})
			continue
		}
		res.Objects = append(res.Objects, objs...)
		for _, w := range warns {
			res.Warnings = append(res.Warnings, fmt.Sprintf("group %q: %s", g.Name, w))
		}
	}
	defaultNamespaces(res.Objects, opts)
	Sort(res.Objects)
	if err := checkDuplicates(res.Objects); err != nil {
		return nil, err
	}
	if err := fillGatewayResources(res.Objects); err != nil {
		return nil, err
	}
	return res, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Values are the chart values render passes to every chart (before a chart's own values template).
func Values(opts Options) (map[string]any, error) { return baseValues(opts) }

// baseValues turns the platform config into chart values: the config's keys, features as the
// effective enabled set, and the provider secrets the enabled groups need.
func baseValues(opts Options) (map[string]any, error) {
	b, err := json.Marshal(opts.Config)
	if err != nil {
		return nil, err
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	// Foreign keys (those gwctl does not own) reach charts as written: .Values.domain.
	for k, val := range opts.Config.Knobs {
		if _, owned := v[k]; !owned {
			v[k] = val
		}
	}
	features := map[string]any{}
	for _, g := range opts.Catalog.Optional() {
		features[g.Name] = false
	}
	var secrets []any
	for _, g := range opts.Groups {
		if !g.Core {
			features[g.Name] = true
		}
		for _, s := range g.Secrets {
			secrets = append(secrets, map[string]any{"name": s.Name, "key": s.Key})
		}
	}
	v["features"] = features
	v["secrets"] = secrets
	return v, nil
}

func renderGroup(ctx context.Context, opts Options, g *catalog.Group, base map[string]any) ([]*Object, []string, error) {
	fsys := filesys.MakeFsInMemory()
	var resources []string
	var warnings []string
	root := g.ContentDir
	if g.Kustomize {
		var ks []*kustomization
		var err error
		root, ks, err = groupKustomizations(g)
		if err != nil {
			return nil, nil, err
		}
		// Each kustomization folder goes to /app/group with its layout under root, so bases
		// outside a content.path folder (../../base) build too.
		for _, k := range ks {
			if err := copyDir(g.ContentFS, k.dir, fsys, path.Join("/app/group", relTo(root, k.dir))); err != nil {
				return nil, nil, err
			}
		}
		warns, err := expandHelmCharts(ctx, kustomizeEnv{fsys: g.ContentFS, charts: opts.Charts,
			kubeVersion: opts.Config.KubernetesVersion, apiVersions: APIVersions, display: g.SourceName}, ks, root, fsys, "/app/group")
		warnings = append(warnings, warns...)
		if err != nil {
			return nil, nil, err
		}
		resources = append(resources, path.Join("group", relTo(root, g.ContentDir)))
	}
	for i, ch := range g.Charts {
		values, err := chartValues(base, ch, g)
		if err != nil {
			return nil, nil, err
		}
		hc := helm.Chart{
			FS: g.ContentFS, Dir: path.Join(g.ContentDir, ch.Path),
			ReleaseName: ch.ReleaseName, Namespace: ch.Namespace, Values: values,
			KubeVersion: opts.Config.KubernetesVersion, APIVersions: APIVersions,
		}
		where := g.ContentName(ch.Path)
		if ch.Remote != nil {
			where = fmt.Sprintf("%s: spec.content.charts[%d]", g.File, i)
			if opts.Charts == nil {
				return nil, nil, fmt.Errorf("%s: chart %s: no chart cache (run from gwctl, which reads gwctl.lock)", where, ch.Remote)
			}
			data, err := opts.Charts.Archive(*ch.Remote)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", where, err)
			}
			hc.FS, hc.Dir, hc.Archive = nil, ch.Remote.String(), data
		}
		out, warns, err := helm.Render(ctx, hc)
		warnings = append(warnings, warns...)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", where, err)
		}
		if strings.TrimSpace(stripComments(out)) == "" {
			continue
		}
		name := "charts-out/" + ch.ReleaseName + ".yaml"
		if err := fsys.WriteFile("/app/"+name, []byte(out)); err != nil {
			return nil, nil, err
		}
		resources = append(resources, name)
	}
	if len(resources) == 0 {
		return nil, warnings, nil
	}
	kust := map[string]any{
		"apiVersion": "kustomize.config.k8s.io/v1beta1",
		"kind":       "Kustomization",
		"resources":  resources,
		"labels": []any{map[string]any{"pairs": map[string]any{
			GroupLabel: g.Name, "app.kubernetes.io/part-of": "gwctl",
		}}},
	}
	kb, err := yaml.Marshal(kust)
	if err != nil {
		return nil, nil, err
	}
	if err := fsys.WriteFile("/app/kustomization.yaml", kb); err != nil {
		return nil, nil, err
	}
	kopts := krusty.MakeDefaultOptions()
	kopts.Reorder = krusty.ReorderOptionNone // gwctl orders the whole stream itself
	rm, err := krusty.MakeKustomizer(kopts).Run(fsys, "/app")
	if err != nil {
		return nil, nil, fmt.Errorf("kustomize: %s", strings.ReplaceAll(err.Error(), "/app/group/", strings.TrimSuffix(g.SourceName(path.Join(root, "x")), "x")))
	}
	var objs []*Object
	for _, r := range rm.Resources() {
		gvk := r.GetGvk()
		objs = append(objs, &Object{
			Group: g.Name, APIGroup: gvk.Group, APIVersion: r.GetApiVersion(), Kind: gvk.Kind,
			Namespace: r.GetNamespace(), Name: r.GetName(), res: r,
		})
	}
	return objs, warnings, nil
}

// chartValues are the base values, with the chart's own values template (if any) merged on top.
func chartValues(base map[string]any, ch catalog.Chart, g *catalog.Group) (map[string]any, error) {
	out := deepCopy(base).(map[string]any)
	if ch.Values == "" {
		return out, nil
	}
	t, err := template.New(ch.Path).Option("missingkey=error").Parse(ch.Values)
	if err != nil {
		return nil, fmt.Errorf("%s: spec.content.charts values template: %w", g.File, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, base); err != nil {
		return nil, fmt.Errorf("%s: spec.content.charts values template: %w", g.File, err)
	}
	var extra map[string]any
	if err := yaml.Unmarshal(b.Bytes(), &extra); err != nil {
		return nil, fmt.Errorf("%s: spec.content.charts values template output is not YAML: %w", g.File, err)
	}
	merge(out, extra)
	return out, nil
}

func merge(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}

func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") || t == "---" {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// copyDir copies a catalog folder into the in-memory filesystem krusty reads.
func copyDir(src fs.FS, dir string, dst filesys.FileSystem, to string) error {
	return fs.WalkDir(src, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, dir), "/")
		if d.IsDir() {
			return dst.MkdirAll(path.Join(to, rel))
		}
		if rel == "group.yaml" {
			return nil
		}
		data, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		return dst.WriteFile(path.Join(to, rel), data)
	})
}

// defaultNamespaces gives namespaced objects without a namespace their group's namespace, as
// kubectl would otherwise put them in the kubeconfig's default namespace.
func defaultNamespaces(objs []*Object, opts Options) {
	scoped := map[string]bool{}
	for k := range clusterScoped {
		scoped[k] = true
	}
	for _, o := range objs {
		if o.Kind != "CustomResourceDefinition" {
			continue
		}
		if s, _ := o.res.GetFieldValue("spec.scope"); s == "Cluster" {
			if k, err := o.res.GetFieldValue("spec.names.kind"); err == nil {
				if ks, ok := k.(string); ok {
					scoped[ks] = true
				}
			}
		}
	}
	ns := map[string]string{}
	for _, g := range opts.Groups {
		ns[g.Name] = g.Namespace
	}
	for _, o := range objs {
		if o.Namespace == "" && !scoped[o.Kind] && ns[o.Group] != "" {
			_ = o.res.SetNamespace(ns[o.Group])
			o.Namespace = ns[o.Group]
		}
	}
}

func checkDuplicates(objs []*Object) error {
	seen := map[string]string{}
	for _, o := range objs {
		key := o.APIGroup + "/" + o.Kind + "/" + o.Namespace + "/" + o.Name
		if prev, ok := seen[key]; ok {
			return &Error{Group: o.Group, Err: fmt.Errorf("%s %s/%s is also rendered by group %q", o.Kind, o.Namespace, o.Name, prev)}
		}
		seen[key] = o.Group
	}
	return nil
}

// groupKustomizations reads the kustomizations a group builds, and the folder they must stay
// in: the group's own folder (built alone), or the whole repo root for content.path, whose
// overlays reach bases elsewhere in the repo.
func groupKustomizations(g *catalog.Group) (string, []*kustomization, error) {
	root := g.ContentDir
	if !g.OwnFolder() {
		root = "."
	}
	ks, err := kustomizations(g.ContentFS, root, g.ContentDir, g.SourceName)
	return root, ks, err
}
