package refs

import (
	"reflect"
	"testing"
)

// TestWalkRefs: refs are found under every map and list, in sorted key order, with the paths
// findings name them by.
func TestWalkRefs(t *testing.T) {
	v := map[string]any{
		"z": map[string]any{"secretRef": map[string]any{"name": "s"}},
		"a": []any{
			map[string]any{"backendRef": map[string]any{"name": "b0"}, "other": "x"},
			[]any{map[string]any{"backendRef": map[string]any{"name": "b1"}}},
		},
		"m": map[string]any{"secretRef": "not a map", "deep": map[string]any{"k": map[string]any{"secretRef": map[string]any{}}}},
	}
	var got []string
	walkRefs(v, "spec", func(path, key string, m map[string]any) { got = append(got, path+" "+key) })
	want := []string{
		"spec.a[0].backendRef backendRef",
		"spec.a[1][0].backendRef backendRef",
		"spec.m.deep.k.secretRef secretRef",
		"spec.z.secretRef secretRef",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	got = nil
	walkRefs([]any{map[string]any{"secretRef": map[string]any{}}}, "", func(path, key string, m map[string]any) { got = append(got, path) })
	if !reflect.DeepEqual(got, []string{"[0].secretRef"}) {
		t.Errorf("from an empty path: got %q", got)
	}
}
