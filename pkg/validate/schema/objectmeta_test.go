package schema

import (
	"reflect"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"

	"github.com/infergw/gwctl/pkg/manifest"
)

func checkObjectMeta(t *testing.T, obj map[string]any) {
	t.Helper()
	wantMeta, _, wantUnknown, wantErr := objectmeta.GetObjectMetaWithOptions(obj, objectmeta.ObjectMetaOptions{ReturnUnknownFieldPaths: true})
	meta, unknown, err := objectMeta(obj)
	if (err != nil) != (wantErr != nil) || (err != nil && err.Error() != wantErr.Error()) {
		t.Fatalf("%v: error %v, upstream %v", obj, err, wantErr)
	}
	if !reflect.DeepEqual(meta, wantMeta) || !reflect.DeepEqual(unknown, wantUnknown) {
		t.Fatalf("%v:\n got %#v %v\nwant %#v %v", obj, meta, unknown, wantMeta, wantUnknown)
	}
}

// TestObjectMetaMatchesUpstream: the direct reading of metadata gives what apiextensions'
// GetObjectMetaWithOptions gives, on the shapes it answers and on those it passes on.
func TestObjectMetaMatchesUpstream(t *testing.T) {
	for _, md := range []any{
		map[string]any{}, map[string]any{"name": "a", "namespace": "b", "generateName": "c-"},
		map[string]any{"labels": map[string]any{}, "annotations": map[string]any{"x/y": "z"}},
		map[string]any{"labels": map[string]any{"a": "b"}, "name": "n"},
		map[string]any{"labels": nil}, map[string]any{"labels": map[string]any{"a": int64(1)}},
		map[string]any{"name": int64(5)}, map[string]any{"name": "bad \xff utf8"},
		map[string]any{"labels": map[string]any{"k\xfe": "v"}}, map[string]any{"uid": "u", "name": "x"},
		map[string]any{"bogus": true}, "not a map", nil,
	} {
		checkObjectMeta(t, map[string]any{"metadata": md})
	}
	checkObjectMeta(t, map[string]any{})
}

// FuzzObjectMeta compares both on any metadata a manifest decodes to.
func FuzzObjectMeta(f *testing.F) {
	f.Add([]byte("metadata: {name: a, labels: {x: y}}\n"))
	f.Add([]byte("metadata: {name: 1, annotations: {a: [b]}}\n"))
	f.Add([]byte("metadata: {namespace: \"\\xff\", uid: x}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := manifest.ParseMapping("fuzz.yaml", data, manifest.DefaultLimits)
		if err != nil {
			return
		}
		checkObjectMeta(t, o.Content)
	})
}
