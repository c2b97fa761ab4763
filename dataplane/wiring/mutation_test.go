package wiring

import (
	"maps"
	"slices"
	"strings"

	"github.com/infergw/gwctl/pkg/gateway"
	"github.com/infergw/gwctl/pkg/manifest"
)

// A mutation is one edit of a resource set, of the kinds a user gets wrong: drop a field, set a
// value the dataplane may not support, remove auth, break a reference, set an enum to an
// unknown value, drop an object, duplicate a list entry.
type mutation struct {
	op   byte
	site int // which candidate site of the op (modulo their number)
	val  int // which dictionary value (modulo its size)
}

const (
	opDrop       = iota // delete a field or list element
	opValue             // set a field to a value of the dictionary
	opExpression        // set a transformation header value to an expression
	opDropAuth          // delete a policies.auth or backend.auth
	opBreakRef          // point a reference's name at nothing
	opEnum              // set an enum-like field to an unknown value
	opDropObject        // delete a whole object the compiler reads
	opDuplicate         // append a copy of a list element
	numOps
)

var opNames = [numOps]string{"drop", "value", "expression", "drop-auth", "break-ref", "enum", "drop-object", "duplicate"}

// values are what opValue writes: the edge cases of the dataplane's load-time checks.
var values = []any{
	"", "Bogus", "a b", "/%zz", "Upper_Case", `request.headers["x"]`, "json(request.body).model",
	"'lit'", "0.5", "2", "true", "v1/traces", "jwt.sub ==", `{"keys":[]}`, "http://x/y?z",
	"::1", "[::1]", "-bad-", "SSE", "HTTP", "PreRouting", "FailOpen", "Deny", "1 + 1",
	int64(0), int64(-1), int64(1), int64(443), int64(70000), 0.5, true, []any{}, map[string]any{},
}

// expressions are what opExpression writes: supported forms and ones this dataplane refuses.
var expressions = []string{
	`request.headers["x"]`, `json(request.body).model`, `"lit"`, `'x'`, `string(json(request.body).a.b)`,
	`1 + 1`, ``, `json(request.body)`, `"unterminated`, `request.path`,
}

// enumKeys are fields whose value is one of a fixed set somewhere in the resources the
// compiler reads.
var enumKeys = map[string]bool{
	"type": true, "mode": true, "protocol": true, "action": true, "unit": true, "sessionRouting": true,
	"failureMode": true, "phase": true, "kind": true, "appProtocol": true, "method": true, "from": true,
}

// site is a place in an object: a key of a map or an index of a list, reached by path.
type site struct {
	obj  int
	path []any // string keys and int indexes
}

func (s site) last() any { return s.path[len(s.path)-1] }

func (s site) has(sub string) bool {
	for _, p := range s.path {
		if k, ok := p.(string); ok && strings.Contains(k, sub) {
			return true
		}
	}
	return false
}

// sites lists every map entry and list element of the objects the compiler reads, except
// apiVersion, kind and metadata (a set that does not parse says nothing about the compiler).
func sites(objs []*manifest.Object) []site {
	var out []site
	var walk func(obj int, path []any, v any)
	walk = func(obj int, path []any, v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(v)) {
				if len(path) == 0 && (k == "apiVersion" || k == "kind" || k == "metadata") {
					continue
				}
				p := append(append([]any{}, path...), k)
				out = append(out, site{obj, p})
				walk(obj, p, v[k])
			}
		case []any:
			for i, e := range v {
				p := append(append([]any{}, path...), i)
				out = append(out, site{obj, p})
				walk(obj, p, e)
			}
		}
	}
	for i, o := range objs {
		if gateway.Relevant(o) {
			walk(i, nil, o.Content)
		}
	}
	return out
}

// candidates are the sites an op applies to.
func candidates(op byte, all []site) []site {
	var out []site
	for _, s := range all {
		key, _ := s.last().(string)
		_, inList := s.last().(int)
		ok := false
		switch op {
		case opDrop, opValue:
			ok = true
		case opExpression:
			ok = key == "value" && s.has("transformation")
		case opDropAuth:
			ok = key == "auth"
		case opBreakRef:
			ok = key == "name" && s.has("Ref")
		case opEnum:
			ok = enumKeys[key]
		case opDuplicate:
			ok = inList
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

// apply edits objs in place; it reports false when the op has nowhere to apply.
func (m mutation) apply(objs []*manifest.Object) ([]*manifest.Object, bool) {
	op := m.op % numOps
	if op == opDropObject {
		var rel []int
		for i, o := range objs {
			if gateway.Relevant(o) {
				rel = append(rel, i)
			}
		}
		if len(rel) == 0 {
			return objs, false
		}
		i := rel[m.site%len(rel)]
		return append(objs[:i:i], objs[i+1:]...), true
	}
	cs := candidates(op, sites(objs))
	if len(cs) == 0 {
		return objs, false
	}
	s := cs[m.site%len(cs)]
	parent, last := lookup(objs[s.obj].Content, s.path)
	switch op {
	case opDrop, opDropAuth:
		remove(objs[s.obj].Content, s.path)
	case opValue:
		set(parent, last, values[m.val%len(values)])
	case opExpression:
		set(parent, last, expressions[m.val%len(expressions)])
	case opBreakRef:
		set(parent, last, "missing")
	case opEnum:
		set(parent, last, "Bogus")
	case opDuplicate:
		list := parent.([]any)
		dup := append(list, list[last.(int)])
		gp, gl := lookup(objs[s.obj].Content, s.path[:len(s.path)-1])
		set(gp, gl, dup)
	}
	return objs, true
}

// lookup returns the container holding path's last element, and that element's key or index.
func lookup(root map[string]any, path []any) (any, any) {
	var cur any = root
	for _, p := range path[:len(path)-1] {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p.(string)]
		case []any:
			cur = c[p.(int)]
		}
	}
	return cur, path[len(path)-1]
}

func set(container, key, v any) {
	switch c := container.(type) {
	case map[string]any:
		c[key.(string)] = v
	case []any:
		c[key.(int)] = v
	}
}

func remove(root map[string]any, path []any) {
	parent, last := lookup(root, path)
	switch c := parent.(type) {
	case map[string]any:
		delete(c, last.(string))
	case []any:
		i := last.(int)
		gp, gl := lookup(root, path[:len(path)-1])
		set(gp, gl, append(c[:i:i], c[i+1:]...))
	}
}
