package platform

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/infergw/gwctl/pkg/docschema"
	"github.com/infergw/gwctl/pkg/manifest"
)

// problem is one finding about a key of the config file, before it has a position.
type problem struct{ key, msg string }

// readFile merges the config file over the defaults. Keys gwctl owns are checked against the
// schema and merged into the owned layers; other top-level keys pass through as written (refused
// with Strict); every error is reported at once, at its key's line and column, in position order.
func (l *loader) readFile() error {
	file := l.opts.File
	data, err := os.ReadFile(file)
	if err != nil {
		return errorf("platform config: %w", err)
	}
	doc, err := manifest.ParseMapping(file, data, manifest.DefaultLimits)
	if err != nil {
		return &Error{Err: err}
	}
	errs, warns := l.checkKeys(doc.Content)
	if err := l.schema.Validate(doc); err != nil {
		var es docschema.Errors
		if !errors.As(err, &es) {
			return &Error{Err: err}
		}
		for _, v := range es {
			if strings.HasPrefix(v.Msg, "unknown key") {
				continue // checkKeys reported it, with a suggestion
			}
			errs = append(errs, problem{v.Key, v.Msg})
		}
	}
	pos := keyPositions(data)
	if len(errs) > 0 {
		return &Error{Err: positioned(file, pos, errs)}
	}
	for _, w := range positioned(file, pos, warns) {
		l.warnings = append(l.warnings, w.Error())
	}
	owned := map[string]any{}
	for k, v := range doc.Content {
		if k == RulesKey {
			continue // gwctl validate reads it with its rule ids, which viper would split at dots
		}
		if _, ok := l.root.props[k]; ok {
			owned[k] = v
		} else {
			l.foreign[k] = v
		}
	}
	// Before MergeConfigMap, which lower-cases the maps it is given.
	if f, ok := owned["features"].(map[string]any); ok {
		for name := range f {
			l.explicit[name] = true
		}
	}
	if err := l.owned.MergeConfigMap(owned); err != nil {
		return errorf("%s: %w", file, err)
	}
	l.foreignKeys = foreignLeaves(l.foreign)
	return nil
}

// checkKeys walks the document against the keys gwctl owns. An unknown key inside an object
// gwctl owns is an error (gateway.naem is a typo); an unknown top-level key is another tool's,
// an error only with Strict, and a warning when it is close to a key gwctl owns.
func (l *loader) checkKeys(doc map[string]any) (errs, warns []problem) {
	for _, k := range slices.Sorted(maps.Keys(doc)) {
		if n, ok := l.root.props[k]; ok {
			errs = append(errs, l.checkOwned(k, doc[k], n)...)
			continue
		}
		if msg := l.foreignTopLevel(k); msg != "" {
			if l.opts.Strict {
				errs = append(errs, problem{k, msg})
			} else {
				warns = append(warns, problem{k, msg})
			}
		}
	}
	return errs, warns
}

// foreignTopLevel is the message for a top-level key gwctl does not own: an error text with
// Strict, a warning text when the key looks like a typo of an owned one, else "".
func (l *loader) foreignTopLevel(key string) string {
	hint := docschema.DidYouMean(key, l.root.names())
	if l.opts.Strict {
		return "unknown key" + hint + "; --strict-config refuses keys gwctl does not own"
	}
	if hint == "" {
		return ""
	}
	return "gwctl does not read this key" + hint + "; it is passed through as a foreign key"
}

func (l *loader) checkOwned(path string, v any, n *node) []problem {
	var out []problem
	switch n.kind {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return nil // the schema reports the type
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if c, ok := n.props[k]; ok {
				out = append(out, l.checkOwned(path+"."+k, m[k], c)...)
				continue
			}
			out = append(out, problem{path + "." + k, l.unknownOwned(path, k, n)})
		}
	case "array":
		list, _ := v.([]any)
		for i, e := range list {
			out = append(out, l.checkOwned(fmt.Sprintf("%s[%d]", path, i), e, n.items)...)
		}
	}
	return out
}

// unknownOwned is the message for key k, unknown inside the owned object at path.
func (l *loader) unknownOwned(path, k string, n *node) string {
	if path == "features" {
		return fmt.Sprintf("unknown feature%s (known: %s)", docschema.DidYouMean(k, n.names()), known(l.opts.Features))
	}
	return fmt.Sprintf("unknown key%s (%s takes: %s)", docschema.DidYouMean(k, n.names()), path, strings.Join(n.names(), ", "))
}

func known(features []string) string {
	if len(features) == 0 {
		return "none"
	}
	return strings.Join(features, ", ")
}

// positioned turns problems into violations at their keys' positions, sorted by position.
func positioned(file string, pos map[string]manifest.Pos, probs []problem) docschema.Errors {
	out := make(docschema.Errors, 0, len(probs))
	seen := map[problem]bool{}
	for _, p := range probs {
		if seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, docschema.Violation{File: file, Pos: keyPos(pos, p.key), Key: p.key, Msg: p.msg})
	}
	docschema.SortViolations(out)
	return out
}

// keyPos is the position of key, or of its nearest enclosing key that has one.
func keyPos(pos map[string]manifest.Pos, key string) manifest.Pos {
	for key != "" {
		if p, ok := pos[key]; ok {
			return p
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return manifest.Pos{}
}

// keyPositions maps each key path (gateway.port, pool.models[0].name) to where its key is
// written, and each list element to where it starts. manifest records where values start; an
// error about a key points at the key. Aliases are not followed: what they hold is reported at
// the alias. Called only after manifest.ParseMapping accepted data, so size and depth are bounded.
func keyPositions(data []byte) map[string]manifest.Pos {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil
	}
	out := map[string]manifest.Pos{}
	var walk func(prefix string, n *yaml.Node)
	walk = func(prefix string, n *yaml.Node) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(prefix, c)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				p := k.Value
				if prefix != "" {
					p = prefix + "." + k.Value
				}
				if _, dup := out[p]; !dup {
					out[p] = manifest.Pos{Line: k.Line, Column: k.Column}
				}
				walk(p, n.Content[i+1])
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", prefix, i)
				out[p] = manifest.Pos{Line: c.Line, Column: c.Column}
				walk(p, c)
			}
		}
	}
	walk("", &root)
	return out
}

// foreignLeaves lists the scalar key paths of the foreign keys (gpu_stack, dns.provider): the
// ones the environment may override. Lists and keys with dots are not addressable by a path and
// are left out.
func foreignLeaves(foreign map[string]any) []string {
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, e := range t {
				if !strings.Contains(k, ".") {
					walk(prefix+"."+k, e)
				}
			}
		case []any:
		default:
			out = append(out, prefix)
		}
	}
	for k, v := range foreign {
		if !strings.Contains(k, ".") {
			walk(k, v)
		}
	}
	sort.Strings(out)
	return out
}
