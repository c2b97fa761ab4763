package manifest

import (
	"fmt"
	"testing"
)

func TestValueAt(t *testing.T) {
	content := map[string]any{
		"metadata": map[string]any{"annotations": map[string]any{"example.com/x": "a", "example.com": "b"}},
		"spec": map[string]any{"rules": []any{
			map[string]any{"name": "first", "matches": []any{[]any{"nested"}}},
			map[string]any{"name": "second"},
		}},
	}
	cases := []struct {
		path string
		want any // nil: not there
	}{
		{"spec.rules[1].name", "second"},
		{".spec.rules[0].name", "first"},
		{"spec.rules[0].matches[0][0]", "nested"},
		{"metadata.annotations[example.com/x]", "a"},
		{"metadata.annotations.example.com/x", "a"}, // the longest key that fits
		{"metadata.annotations.example.com", "b"},
		{"spec.rules[2].name", nil},
		{"spec.rules[-1]", nil},
		{"spec.rules[x]", nil},
		{"spec.rules.name", nil},
		{"spec.rules[0", nil},
		{"spec.rules[0].name.more", nil},
		{"metadata.annotations[absent]", nil},
		{"spec.other", nil},
	}
	for _, tc := range cases {
		got, ok := ValueAt(content, tc.path)
		if ok != (tc.want != nil) || (ok && fmt.Sprint(got) != fmt.Sprint(tc.want)) {
			t.Errorf("ValueAt(%q) = %v, %v; want %v", tc.path, got, ok, tc.want)
		}
	}
	if got, ok := ValueAt(content, ""); !ok || fmt.Sprint(got) != fmt.Sprint(content) {
		t.Errorf("the empty path is the whole content: %v %v", got, ok)
	}
}
