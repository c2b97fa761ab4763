package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"

	yaml "go.yaml.in/yaml/v3"
)

// yamlV3Docs decodes every document of data with yaml.v3's Decoder, as Parse's slow path does.
// A yaml.v3 panic counts as a rejection.
func yamlV3Docs(data []byte) (docs []*yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml.v3 panicked: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, &n)
	}
}

// diffFast runs fastParse on data with lim; when it accepts, yaml.v3 must accept data too and
// build equal trees. It returns whether the fast path accepted and the first difference.
func diffFast(data []byte, lim Limits) (accepted bool, diff string) {
	got, over, ok := fastParse(data, lim)
	if !ok || over != nil {
		return false, ""
	}
	want, err := yamlV3Docs(data)
	if err != nil {
		return true, "fast path accepted what yaml.v3 rejects: " + err.Error()
	}
	if len(got) != len(want) {
		return true, fmt.Sprintf("%d documents, yaml.v3 has %d", len(got), len(want))
	}
	for i := range got {
		if d := diffNode(fmt.Sprintf("doc[%d]", i), got[i], want[i]); d != "" {
			return true, d
		}
	}
	return true, ""
}

// diffNode names the first path and field where two trees differ (comments aside, which
// nothing in this package reads).
func diffNode(path string, got, want *yaml.Node) string {
	if got == nil || want == nil {
		if got != want {
			return fmt.Sprintf("%s: node %v, yaml.v3 %v", path, got, want)
		}
		return ""
	}
	type field struct {
		name      string
		got, want any
	}
	for _, f := range []field{
		{"Kind", got.Kind, want.Kind},
		{"Style", got.Style, want.Style},
		{"Tag", got.Tag, want.Tag},
		{"Value", got.Value, want.Value},
		{"Anchor", got.Anchor, want.Anchor},
		{"Line", got.Line, want.Line},
		{"Column", got.Column, want.Column},
		{"len(Content)", len(got.Content), len(want.Content)},
		{"Content==nil", got.Content == nil, want.Content == nil},
		{"Alias==nil", got.Alias == nil, want.Alias == nil},
	} {
		if !reflect.DeepEqual(f.got, f.want) {
			return fmt.Sprintf("%s (%d:%d %q): %s = %#v, yaml.v3 has %#v", path, want.Line, want.Column, want.Value, f.name, f.got, f.want)
		}
	}
	for i := range got.Content {
		if d := diffNode(fmt.Sprintf("%s.Content[%d]", path, i), got.Content[i], want.Content[i]); d != "" {
			return d
		}
	}
	return ""
}

// diffParse compares Parse with and without the fast path: the same objects (content, identity,
// positions, field positions) or the same error.
func diffParse(file string, data []byte, lim Limits) string {
	fast, ferr := parse(file, data, lim, true)
	slow, serr := parse(file, data, lim, false)
	if (ferr == nil) != (serr == nil) || (ferr != nil && ferr.Error() != serr.Error()) {
		return fmt.Sprintf("error %v, yaml.v3 path %v", ferr, serr)
	}
	if len(fast) != len(slow) {
		return fmt.Sprintf("%d objects, yaml.v3 path %d", len(fast), len(slow))
	}
	for i := range fast {
		f, s := *fast[i], *slow[i]
		fp, sp := f.pos, s.pos
		f.pos, s.pos = nil, nil
		if !reflect.DeepEqual(f, s) {
			return fmt.Sprintf("object %d: %+v, yaml.v3 path %+v", i, f, s)
		}
		if !reflect.DeepEqual(fp, sp) {
			return fmt.Sprintf("object %d: field positions differ from the yaml.v3 path's", i)
		}
	}
	return ""
}
