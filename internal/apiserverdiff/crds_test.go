package apiserverdiff

import (
	"context"
	"io/fs"
	"testing"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/infergw/gwctl/internal/kubeapi"
	"github.com/infergw/gwctl/pkg/validate"
	"github.com/infergw/gwctl/schemas"
)

// defaultSets are the embedded schema sets gwctl validate uses without flags: each upstream's
// newest release, but agentgateway's default target. The server gets exactly these CRDs.
func defaultSets() []schemas.Set {
	newest := map[string]schemas.Set{}
	var names []string
	for _, s := range schemas.Sets() {
		prev, seen := newest[s.Name]
		if !seen {
			names = append(names, s.Name)
		}
		switch {
		case s.Name == schemas.Agentgateway:
			if s.Version == validate.DefaultAgentgatewayVersion {
				newest[s.Name] = s
			}
		case !seen || newer(s.Version, prev.Version):
			newest[s.Name] = s
		}
	}
	out := make([]schemas.Set, 0, len(names))
	for _, n := range names {
		out = append(out, newest[n])
	}
	return out
}

// newer compares two vX.Y.Z versions.
func newer(a, b string) bool {
	var x, y [3]int
	parse := func(s string, v *[3]int) {
		i := 0
		for _, c := range s {
			switch {
			case c >= '0' && c <= '9':
				v[i] = v[i]*10 + int(c-'0')
			case c == '.' && i < 2:
				i++
			}
		}
	}
	parse(a, &x)
	parse(b, &y)
	return x[0] > y[0] || x[0] == y[0] && (x[1] > y[1] || x[1] == y[1] && x[2] > y[2])
}

// A crd is one installed CRD, read as the API type (the mutations walk its schemas).
type crd struct {
	set  schemas.Set
	data []byte
	def  apiextv1.CustomResourceDefinition
}

func loadCRDs(t *testing.T) []crd {
	t.Helper()
	var out []crd
	for _, s := range defaultSets() {
		if s.Name == "" || len(s.Files) == 0 {
			t.Fatalf("schema set %+v is empty", s)
		}
		for _, f := range s.Files {
			data, err := fs.ReadFile(schemas.FS, f.Path)
			if err != nil {
				t.Fatal(err)
			}
			c := crd{set: s, data: data}
			if err := yaml.Unmarshal(data, &c.def); err != nil {
				t.Fatalf("%s: %v", f.Path, err)
			}
			out = append(out, c)
		}
	}
	return out
}

func installCRDs(ctx context.Context, t *testing.T, s *kubeapi.Server, crds []crd) {
	t.Helper()
	var docs [][]byte
	for _, c := range crds {
		docs = append(docs, c.data)
	}
	if err := s.InstallCRDs(ctx, docs...); err != nil {
		t.Fatal(err)
	}
}

// schemaOf returns the structural schema of a kind's version, nil when not a custom resource.
func schemaOf(crds []crd, group, version, kind string) *apiextv1.JSONSchemaProps {
	for _, c := range crds {
		if c.def.Spec.Group != group || c.def.Spec.Names.Kind != kind {
			continue
		}
		for _, v := range c.def.Spec.Versions {
			if v.Name == version && v.Schema != nil {
				return v.Schema.OpenAPIV3Schema
			}
		}
	}
	return nil
}
