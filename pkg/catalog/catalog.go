// Package catalog reads a catalog of feature groups: one folder per group with a group.yaml
// declaration and its content (a Kustomize directory and/or Helm charts), from the embedded
// bundled catalog or from a user's own directory.
package catalog

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/infergw/gwctl/pkg/manifest"
)

// APIVersion is the apiVersion of catalog files.
const APIVersion = "gwctl.infergw.dev/v1alpha1"

// Catalog is every group of a catalog, in table order.
type Catalog struct {
	// FS holds the group folders; Group.Dir is relative to it.
	FS fs.FS
	// Source names where the catalog came from, for messages ("bundled" or a directory).
	Source string
	// Layers in deployment order.
	Layers []string
	Groups []*Group
	byName map[string]*Group
}

// Group is one feature group's declaration.
type Group struct {
	Name        string
	Description string
	Layer       string
	Core        bool
	// Feature is the flag in the platform config's features: map that turns an optional group on.
	// It always equals the group name.
	Feature string
	Default bool
	// EnabledBy turns an optional group on from a knob instead of (in addition to) its flag.
	EnabledBy *Condition
	Requires  []string
	// Conditions must hold whenever the group is enabled; a failed one is an error.
	Conditions []Condition
	Secrets    []Secret
	SyncWave   int
	Namespace  string
	Kustomize  bool
	Charts     []Chart
	// Dir is the group's folder within the catalog FS; File its declaration, for messages.
	Dir  string
	File string
}

// Condition is a test on a platform config knob (a dotted key such as secretStore.name).
type Condition struct {
	Knob string
	// Equals, when set, must equal the knob's value (as text); otherwise the knob must be non-empty.
	Equals  string
	Message string
}

// Secret is a provider secret a group needs in the data plane.
type Secret struct {
	Name      string
	Namespace string
	Key       string
}

// Chart is a Helm chart inside a group, with values rendered from the platform config.
type Chart struct {
	Path        string
	ReleaseName string
	Namespace   string
	// Values is a Go text/template over the platform config whose output is the chart's values YAML.
	Values string
}

// Group returns the named group.
func (c *Catalog) Group(name string) (*Group, bool) {
	g, ok := c.byName[name]
	return g, ok
}

// Optional returns the optional groups, whose flags the platform config may set.
func (c *Catalog) Optional() []*Group {
	var out []*Group
	for _, g := range c.Groups {
		if !g.Core {
			out = append(out, g)
		}
	}
	return out
}

// LayerIndex is the position of a layer in deployment order.
func (c *Catalog) LayerIndex(layer string) int {
	for i, l := range c.Layers {
		if l == layer {
			return i
		}
	}
	return len(c.Layers)
}

// Load reads a catalog from fsys: catalog.yaml (layers and table order) and <group>/group.yaml.
func Load(fsys fs.FS, source string) (*Catalog, error) {
	c := &Catalog{FS: fsys, Source: source, byName: map[string]*Group{}}
	var order []string
	if data, err := fs.ReadFile(fsys, "catalog.yaml"); err == nil {
		doc, err := manifest.ParseMapping(name(source, "catalog.yaml"), data, manifest.DefaultLimits)
		if err != nil {
			return nil, err
		}
		if err := catalogSchema().Validate(doc); err != nil {
			return nil, err
		}
		c.Layers = stringList(doc.Content["layers"])
		order = stringList(doc.Content["groups"])
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", name(source, "catalog.yaml"), err)
	}

	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", source, err)
	}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		file := path.Join(e.Name(), "group.yaml")
		data, err := fs.ReadFile(fsys, file)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name(source, file), err)
		}
		g, err := parseGroup(name(source, file), data)
		if err != nil {
			return nil, err
		}
		if g.Name != e.Name() {
			return nil, fmt.Errorf("%s: metadata.name %q must equal the folder name %q", name(source, file), g.Name, e.Name())
		}
		g.Dir, g.File = e.Name(), name(source, file)
		if g.Kustomize {
			if _, err := fs.Stat(fsys, path.Join(g.Dir, "kustomization.yaml")); err != nil {
				return nil, fmt.Errorf("%s: spec.content.kustomize is true but %s/kustomization.yaml is missing", g.File, g.Dir)
			}
		}
		for i, ch := range g.Charts {
			if _, err := fs.Stat(fsys, path.Join(g.Dir, ch.Path, "Chart.yaml")); err != nil {
				return nil, fmt.Errorf("%s: spec.content.charts[%d].path: no Chart.yaml in %s", g.File, i, path.Join(g.Dir, ch.Path))
			}
		}
		c.byName[g.Name] = g
		c.Groups = append(c.Groups, g)
	}
	if len(c.Groups) == 0 {
		return nil, fmt.Errorf("catalog %s: no groups (expected <group>/group.yaml folders)", source)
	}
	if err := c.order(order); err != nil {
		return nil, fmt.Errorf("%s: %w", name(source, "catalog.yaml"), err)
	}
	return c, nil
}

// order sorts groups by layer, then by the catalog's table order, then by name; every layer
// used must be declared when catalog.yaml declares layers.
func (c *Catalog) order(table []string) error {
	if len(c.Layers) == 0 {
		seen := map[string]bool{}
		for _, g := range c.Groups {
			if !seen[g.Layer] {
				seen[g.Layer] = true
				c.Layers = append(c.Layers, g.Layer)
			}
		}
		sort.Strings(c.Layers)
	}
	for _, g := range c.Groups {
		if c.LayerIndex(g.Layer) == len(c.Layers) {
			return fmt.Errorf("group %q has layer %q, which is not in layers %v", g.Name, g.Layer, c.Layers)
		}
	}
	pos := map[string]int{}
	for i, n := range table {
		if _, ok := c.byName[n]; !ok {
			return fmt.Errorf("groups lists %q, which has no folder", n)
		}
		pos[n] = i
	}
	rank := func(g *Group) int {
		if p, ok := pos[g.Name]; ok {
			return p
		}
		return len(table)
	}
	sort.SliceStable(c.Groups, func(i, j int) bool {
		a, b := c.Groups[i], c.Groups[j]
		if la, lb := c.LayerIndex(a.Layer), c.LayerIndex(b.Layer); la != lb {
			return la < lb
		}
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra < rb
		}
		return a.Name < b.Name
	})
	return nil
}

func name(source, file string) string {
	if source == "" || source == "bundled" {
		return "groups/" + file
	}
	return path.Join(source, file)
}

func stringList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// parseGroup decodes and schema-checks one group.yaml.
func parseGroup(file string, data []byte) (*Group, error) {
	objs, err := manifest.Parse(file, data, manifest.DefaultLimits)
	if err != nil {
		return nil, err
	}
	if len(objs) != 1 {
		return nil, fmt.Errorf("%s: expected one Group document, found %d", file, len(objs))
	}
	doc := objs[0]
	if err := groupSchema().Validate(doc); err != nil {
		return nil, err
	}
	spec := doc.Content["spec"].(map[string]any)
	g := &Group{
		Name:        doc.Name,
		Description: str(spec["description"]),
		Layer:       str(spec["layer"]),
		Core:        spec["core"] == true,
		Default:     spec["default"] == true,
		Requires:    stringList(spec["requires"]),
		Namespace:   str(spec["namespace"]),
	}
	if !g.Core {
		g.Feature = g.Name
	}
	if w, ok := spec["syncWave"].(int64); ok {
		g.SyncWave = int(w)
	}
	if eb, ok := spec["enabledBy"].(map[string]any); ok {
		c := condition(eb)
		g.EnabledBy = &c
	}
	for _, e := range list(spec["conditions"]) {
		g.Conditions = append(g.Conditions, condition(e))
	}
	for _, e := range list(spec["secrets"]) {
		g.Secrets = append(g.Secrets, Secret{Name: str(e["name"]), Namespace: str(e["namespace"]), Key: str(e["key"])})
	}
	if content, ok := spec["content"].(map[string]any); ok {
		g.Kustomize = content["kustomize"] == true
		for _, e := range list(content["charts"]) {
			ch := Chart{Path: str(e["path"]), ReleaseName: str(e["releaseName"]), Namespace: str(e["namespace"]), Values: str(e["values"])}
			if ch.ReleaseName == "" {
				ch.ReleaseName = path.Base(ch.Path)
			}
			if ch.Namespace == "" {
				ch.Namespace = g.Namespace
			}
			g.Charts = append(g.Charts, ch)
		}
	}
	if g.Core && (g.Default || g.EnabledBy != nil) {
		return nil, fmt.Errorf("%s: a core group is always on: default and enabledBy do not apply", file)
	}
	if !g.Kustomize && len(g.Charts) == 0 {
		return nil, fmt.Errorf("%s: spec.content: a group needs a kustomize directory or at least one chart", file)
	}
	return g, nil
}

func condition(m map[string]any) Condition {
	return Condition{Knob: str(m["knob"]), Equals: str(m["equals"]), Message: str(m["message"])}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func list(v any) []map[string]any {
	l, _ := v.([]any)
	out := make([]map[string]any, 0, len(l))
	for _, e := range l {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
