package gateway

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
)

// field is a value inside an object with its path, so wrong types become positioned findings
// instead of panics.
type field struct {
	c    *compiler
	o    *manifest.Object
	path string
	v    any
}

func root(c *compiler, o *manifest.Object) field { return field{c: c, o: o, v: o.Content} }

func (f field) get(key string) field {
	m, _ := f.v.(map[string]any)
	p := key
	if f.path != "" {
		p = f.path + "." + key
	}
	return field{c: f.c, o: f.o, path: p, v: m[key]}
}

// at walks a chain of keys.
func (f field) at(keys ...string) field {
	for _, k := range keys {
		f = f.get(k)
	}
	return f
}

func (f field) exists() bool { return f.v != nil }

func (f field) errorf(rule, format string, args ...any) {
	f.c.add(f.o.Finding(f.path, rule, finding.Error, fmt.Sprintf(format, args...)))
}

func (f field) warnf(rule, format string, args ...any) {
	f.c.add(f.o.Finding(f.path, rule, finding.Warning, fmt.Sprintf(format, args...)))
}

func (f field) typeErr(want string) {
	f.errorf(ruleType, "must be %s, not %s", want, typeName(f.v))
}

func typeName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, float64:
		return "a number"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// str returns the string value, "" when absent; another type is a finding.
func (f field) str() string {
	switch v := f.v.(type) {
	case nil:
		return ""
	case string:
		return v
	}
	f.typeErr("a string")
	return ""
}

// strOr returns the string value or def when absent or empty.
func (f field) strOr(def string) string {
	if s := f.str(); s != "" {
		return s
	}
	return def
}

// enum reads an enum field the compiler maps to a behaviour: def when absent, else one of
// values; an unknown value is a finding (and def), not a silent default.
func enum(f field, def string, values ...string) string {
	v := f.strOr(def)
	if v == def {
		return v
	}
	for _, ok := range values {
		if v == ok {
			return v
		}
	}
	f.errorf(ruleType, "unknown value %q (%s, %s)", v, def, strings.Join(values, ", "))
	return def
}

// integer returns an integer value and whether one is present; another type is a finding.
func (f field) integer() (int64, bool) {
	switch v := f.v.(type) {
	case nil:
		return 0, false
	case int64:
		return v, true
	case float64:
		if v == float64(int64(v)) {
			return int64(v), true
		}
	}
	f.typeErr("an integer")
	return 0, false
}

func (f field) boolean() bool {
	switch v := f.v.(type) {
	case nil:
		return false
	case bool:
		return v
	}
	f.typeErr("a boolean")
	return false
}

// list returns the elements of a list; another type is a finding.
func (f field) list() []field {
	switch v := f.v.(type) {
	case nil:
		return nil
	case []any:
		out := make([]field, len(v))
		for i, e := range v {
			out[i] = field{c: f.c, o: f.o, path: f.path + "[" + strconv.Itoa(i) + "]", v: e}
		}
		return out
	}
	f.typeErr("a list")
	return nil
}

// object returns the map; another type is a finding.
func (f field) object() map[string]any {
	switch v := f.v.(type) {
	case nil:
		return nil
	case map[string]any:
		return v
	}
	f.typeErr("an object")
	return nil
}

// strings returns a list of strings.
func (f field) strings() []string {
	var out []string
	for _, e := range f.list() {
		if s := e.str(); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// stringMap returns a map of string values (e.g. matchLabels).
func (f field) stringMap() map[string]string {
	m := f.object()
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k := range m {
		out[k] = f.get(k).str()
	}
	return out
}

// port returns a port number 1..65535, 0 when absent or invalid (invalid is a finding).
func (f field) port() int32 {
	n, ok := f.integer()
	if !ok {
		return 0
	}
	if n < 1 || n > 65535 {
		f.errorf(ruleType, "port %d is out of range 1-65535", n)
		return 0
	}
	return int32(n)
}
