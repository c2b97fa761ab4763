package schema

import (
	"io/fs"
	"reflect"
	"testing"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/infergw/gwctl/pkg/manifest"
	"github.com/infergw/gwctl/schemas"
)

// TestDecodePropsMatchesConverter: every version schema of every embedded CRD (all releases)
// decodes through decodeProps, and to exactly what runtime.DefaultUnstructuredConverter gives.
func TestDecodePropsMatchesConverter(t *testing.T) {
	if !fastSchemaDecode {
		t.Skip("GWCTL_NOFAST turns the schema decoder off")
	}
	n := 0
	err := fs.WalkDir(schemas.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == "SOURCE.yaml" {
			return err
		}
		data, err := fs.ReadFile(schemas.FS, p)
		if err != nil {
			return err
		}
		objs, err := manifest.Parse(p, data, manifest.DefaultLimits)
		if err != nil {
			return err
		}
		for _, o := range objs {
			spec, _ := o.Content["spec"].(map[string]any)
			versions, _ := spec["versions"].([]any)
			for _, v := range versions {
				sm, _ := v.(map[string]any)["schema"].(map[string]any)
				raw, _ := sm["openAPIV3Schema"].(map[string]any)
				if raw == nil {
					continue
				}
				want := &apiextv1.JSONSchemaProps{}
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, want); err != nil {
					t.Fatalf("%s: converter: %v", p, err)
				}
				got, ok := decodeProps(raw)
				if !ok {
					t.Errorf("%s %s: decodeProps declined a schema the converter reads", p, v.(map[string]any)["name"])
					continue
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s %s: decodeProps differs from the converter", p, v.(map[string]any)["name"])
				}
				n++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 40 {
		t.Fatalf("only %d version schemas compared", n)
	}
	t.Logf("%d version schemas", n)
}

// TestDecodePropsDeclines: what the decoder does not know goes to the converter.
func TestDecodePropsDeclines(t *testing.T) {
	if !fastSchemaDecode {
		t.Skip("GWCTL_NOFAST turns the schema decoder off")
	}
	for name, m := range map[string]map[string]any{
		"unknown key":       {"type": "object", "dependencies": map[string]any{}},
		"null":              {"type": "string", "default": nil},
		"items as a list":   {"type": "array", "items": []any{map[string]any{"type": "string"}}},
		"float length":      {"type": "string", "maxLength": 1.5},
		"string maximum":    {"type": "integer", "maximum": "5"},
		"nested":            {"properties": map[string]any{"a": map[string]any{"type": 5}}},
		"rule unknown key":  {"x-kubernetes-validations": []any{map[string]any{"rule": "true", "severity": "x"}}},
		"enum null":         {"enum": []any{"a", nil}},
		"required not list": {"required": "a"},
	} {
		if _, ok := decodeProps(m); ok {
			t.Errorf("%s: decoded, want declined", name)
		}
	}
	// A few values, as the converter reads them.
	m := map[string]any{"type": "integer", "maximum": int64(5), "default": int64(3), "enum": []any{int64(1), "<a>"}}
	want := &apiextv1.JSONSchemaProps{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, want); err != nil {
		t.Fatal(err)
	}
	got, ok := decodeProps(m)
	if !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("decodeProps(%v) = %+v, %v; want %+v", m, got, ok, want)
	}
}
