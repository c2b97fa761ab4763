package render

import (
	"encoding/json"
	"testing"
)

// Values of a helmCharts entry combine as Kustomize's generator and helm -f combine them.
func TestKustomizeValues(t *testing.T) {
	defaults := map[string]any{"a": "chart", "m": map[string]any{"x": "chart", "y": "chart"}, "n": 1000000}
	file := []byte("a: file\nm: {x: file}\n")
	inline := map[string]any{"a": "inline", "m": map[string]any{"z": "inline"}, "b": "inline"}
	cases := []struct {
		name       string
		file       []byte
		inline     map[string]any
		mode       string
		additional [][]byte
		want       string
	}{
		{"nothing: the chart's values", nil, nil, "", nil, `{"a":"chart","m":{"x":"chart","y":"chart"},"n":1000000}`},
		{"override (default): inline over values.yaml", nil, inline, "", nil, `{"a":"inline","b":"inline","m":{"x":"chart","y":"chart","z":"inline"},"n":1000000}`},
		{"override: inline over valuesFile", file, inline, "override", nil, `{"a":"inline","b":"inline","m":{"x":"file","z":"inline"}}`},
		{"merge: valuesFile over inline", file, inline, "merge", nil, `{"a":"file","b":"inline","m":{"x":"file","z":"inline"}}`},
		{"replace: inline alone", file, inline, "replace", nil, `{"a":"inline","b":"inline","m":{"z":"inline"}}`},
		{"replace without inline: the file", file, nil, "replace", nil, `{"a":"file","m":{"x":"file"}}`},
		{"additional files on top, in order", file, nil, "", [][]byte{[]byte("m: {w: one}\nc: one\n"), []byte("c: two\n")},
			`{"a":"file","c":"two","m":{"w":"one","x":"file"}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := kustomizeValues(defaults, tc.file, tc.inline, tc.mode, tc.additional)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(got)
			if string(b) != tc.want {
				t.Fatalf("got  %s\nwant %s", b, tc.want)
			}
		})
	}
	if _, err := kustomizeValues(defaults, nil, inline, "deep", nil); err == nil || err.Error() != `valuesMerge "deep": want merge, override or replace` {
		t.Fatalf("unknown valuesMerge: %v", err)
	}
}
