package validate

import (
	"maps"
	"path"
	"sort"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/infergw/gwctl/pkg/validate/registry"
	"github.com/infergw/gwctl/schemas"
)

// SchemaInfo is one served version of an embedded CRD.
type SchemaInfo struct {
	Group   string `json:"group"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
	// Upstream and Release say where the schema comes from; File is the derived file in gwctl's
	// source tree (schemas/SOURCE.yaml records its origin and sha256).
	Upstream string `json:"upstream"`
	Release  string `json:"release"`
	File     string `json:"file"`
	// Use is "yes" when the options validate this kind against it, "compared" when the verdict of
	// an older release is compared (inference extension, auto), "" when another release is used.
	Use string `json:"use"`
	// Constraints counts the checks in the schema outside status (which a create or update of
	// the resource does not set): enum, pattern, format, bounds, required lists, list types and
	// keys, uniqueness, and each CEL rule; ConstrainedNodes the schema nodes with at least one.
	Constraints      int `json:"constraints"`
	ConstrainedNodes int `json:"constrainedNodes"`
}

// ListSchemas lists every embedded kind version, with the release and whether opts use it.
func ListSchemas(opts Options) ([]SchemaInfo, error) {
	v, err := New(opts)
	if err != nil {
		return nil, err
	}
	use := map[string]string{}
	for _, s := range registry.SelectEmbedded(v.agw, v.gie.use) {
		use[s.Dir] = "yes"
	}
	for _, r := range v.gie.older {
		use[r.Set.Dir] = "compared"
	}
	var out []SchemaInfo
	for _, s := range schemas.Sets() {
		reg := registry.New()
		if err := reg.LoadCRDFS(s.FS(), registry.EmbeddedLabel+"/"+s.Dir, true); err != nil {
			return nil, err
		}
		for k, c := range reg.Kinds {
			props, err := c.Schema()
			if err != nil {
				return nil, err
			}
			n, nodes := resourceConstraints(props)
			out = append(out, SchemaInfo{
				Group: k.Group, Version: k.Version, Kind: k.Kind,
				Upstream: s.Upstream, Release: s.Version, File: path.Join("schemas", s.Dir, path.Base(c.Source)),
				Use: use[s.Dir], Constraints: n, ConstrainedNodes: nodes,
			})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return registry.MustSemver(a.Release).Less(registry.MustSemver(b.Release))
	})
	return out, nil
}

// resourceConstraints is countConstraints of a resource's schema, status left out.
func resourceConstraints(root *apiextv1.JSONSchemaProps) (constraints, nodes int) {
	if _, ok := root.Properties["status"]; ok {
		r := *root
		r.Properties = maps.Clone(root.Properties)
		delete(r.Properties, "status")
		root = &r
	}
	return countConstraints(root)
}

// countConstraints counts the checks of a schema and the nodes that have one.
func countConstraints(s *apiextv1.JSONSchemaProps) (constraints, nodes int) {
	if s == nil {
		return 0, 0
	}
	n := len(s.XValidations)
	for _, set := range []bool{
		len(s.Enum) > 0, s.Pattern != "", s.Format != "",
		s.MinLength != nil, s.MaxLength != nil, s.Minimum != nil, s.Maximum != nil, s.MultipleOf != nil,
		s.MinItems != nil, s.MaxItems != nil, s.UniqueItems, s.MinProperties != nil, s.MaxProperties != nil,
		len(s.Required) > 0, s.XListType != nil, len(s.XListMapKeys) > 0, s.XMapType != nil,
	} {
		if set {
			n++
		}
	}
	constraints = n
	if n > 0 {
		nodes = 1
	}
	add := func(c *apiextv1.JSONSchemaProps) {
		a, b := countConstraints(c)
		constraints += a
		nodes += b
	}
	for k := range s.Properties {
		p := s.Properties[k]
		add(&p)
	}
	if s.Items != nil {
		add(s.Items.Schema)
		for i := range s.Items.JSONSchemas {
			add(&s.Items.JSONSchemas[i])
		}
	}
	if s.AdditionalProperties != nil {
		add(s.AdditionalProperties.Schema)
	}
	for _, l := range [][]apiextv1.JSONSchemaProps{s.AllOf, s.AnyOf, s.OneOf} {
		for i := range l {
			add(&l[i])
		}
	}
	add(s.Not)
	return constraints, nodes
}
