// Package docschema checks a YAML document (a config file or a catalog entry) against a JSON
// Schema and reports each violation with the file, line and key it is about.
package docschema

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/infergw/gwctl/pkg/manifest"
)

// Schema is a compiled JSON Schema.
type Schema struct{ s *jsonschema.Schema }

// Compile compiles a JSON Schema given as JSON text; name is used in error messages.
func Compile(name, schemaJSON string) (*Schema, error) {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	if err := c.AddResource(name, strings.NewReader(schemaJSON)); err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	s, err := c.Compile(name)
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	return &Schema{s: s}, nil
}

// MustCompile is Compile for schemas embedded in the binary.
func MustCompile(name, schemaJSON string) *Schema {
	s, err := Compile(name, schemaJSON)
	if err != nil {
		panic(err)
	}
	return s
}

// Violation is one schema error at a key of the document.
type Violation struct {
	File string
	Pos  manifest.Pos
	Key  string // dotted path of the offending key, "" for the document itself
	Msg  string
}

func (v Violation) Error() string {
	loc := v.File
	if v.Pos.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", v.File, v.Pos.Line, v.Pos.Column)
	}
	if v.Key == "" {
		return fmt.Sprintf("%s: %s", loc, v.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", loc, v.Key, v.Msg)
}

// Errors is every violation in a document; it is an error.
type Errors []Violation

func (e Errors) Error() string {
	parts := make([]string, len(e))
	for i, v := range e {
		parts[i] = v.Error()
	}
	return strings.Join(parts, "\n")
}

// Validate checks doc (as decoded by manifest.ParseMapping or manifest.Parse) and returns
// Errors, sorted by position, or nil.
func (s *Schema) Validate(doc *manifest.Object) error {
	err := s.s.Validate(toJSONValue(doc.Content))
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("%s: %w", doc.File, err)
	}
	var out Errors
	seen := map[string]bool{}
	for _, leaf := range leaves(ve) {
		for _, d := range describe(leaf) {
			id := d.key + "\x00" + d.msg
			if seen[id] {
				continue
			}
			seen[id] = true
			out = append(out, Violation{File: doc.File, Pos: doc.FieldPos(d.key), Key: d.key, Msg: d.msg})
		}
	}
	// The library reports in map order: sort fully, so a run names the same problems in the
	// same order as the last.
	SortViolations(out)
	return out
}

func leaves(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

type described struct{ key, msg string }

// describe turns a leaf error into the dotted keys it is about, each with a message. Unknown
// keys are reported one by one, each at its own key, since the library names them all in one
// message and in map order.
func describe(e *jsonschema.ValidationError) []described {
	key := pointerToPath(e.InstanceLocation)
	msg := e.Message
	if !strings.HasPrefix(msg, "additionalProperties ") {
		return []described{{key, msg}}
	}
	// additionalProperties 'foo', 'bar' not allowed
	names := strings.Split(strings.TrimSuffix(strings.TrimPrefix(msg, "additionalProperties "), " not allowed"), ", ")
	sort.Strings(names)
	out := make([]described, 0, len(names))
	for _, quoted := range names {
		k := strings.Trim(quoted, "'")
		if key != "" {
			k = key + "." + k
		}
		out = append(out, described{k, "unknown key " + quoted})
	}
	return out
}

// pointerToPath turns a JSON pointer (/a/0/b) into the manifest path notation (a[0].b).
func pointerToPath(ptr string) string {
	if ptr == "" || ptr == "/" {
		return ""
	}
	var b strings.Builder
	for _, seg := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
		if _, err := strconv.Atoi(seg); err == nil {
			b.WriteString("[" + seg + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(seg)
	}
	return b.String()
}

// toJSONValue converts int64 to the number types the schema library understands.
func toJSONValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = toJSONValue(e)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = toJSONValue(e)
		}
		return s
	case int64:
		return float64(t)
	}
	return v
}

// SortViolations orders violations by position, then key and message, so that every run
// reports the same problems in the same order.
func SortViolations(vs []Violation) {
	sort.Slice(vs, func(i, j int) bool {
		a, b := vs[i], vs[j]
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Column != b.Pos.Column {
			return a.Pos.Column < b.Pos.Column
		}
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		return a.Msg < b.Msg
	})
}
