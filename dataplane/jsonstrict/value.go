package jsonstrict

import (
	"bytes"
	"errors"
	"strconv"

	"github.com/infergw/gwctl/internal/jsonlit"
)

// Value is one JSON value of a checked document, as its bytes appear there (no surrounding
// whitespace); nil when absent. Its methods assume the document passed Check or Read.
type Value []byte

// Kind is the type of a JSON value.
type Kind byte

const (
	Absent Kind = iota
	Null
	Bool
	Number
	String
	Object
	Array
)

var kindNames = [...]string{"absent", "null", "boolean", "number", "string", "object", "array"}

func (k Kind) String() string { return kindNames[k] }

// Kind tells the type of v from its first byte.
func (v Value) Kind() Kind {
	if len(v) == 0 {
		return Absent
	}
	switch v[0] {
	case 'n':
		return Null
	case 't', 'f':
		return Bool
	case '"':
		return String
	case '{':
		return Object
	case '[':
		return Array
	}
	return Number
}

// Str decodes a string value; ok is false for another kind.
func (v Value) Str() (s string, ok bool) {
	if v.Kind() != String || len(v) < 2 {
		return "", false
	}
	body := v[1 : len(v)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return string(body), true
	}
	return string(jsonlit.Append(make([]byte, 0, len(body)), body)), true
}

// Equal reports whether v is the string s, without allocating.
func (v Value) Equal(s string) bool {
	if v.Kind() != String || len(v) < 2 {
		return false
	}
	return literalIs(v[1:len(v)-1], s, false)
}

// Bool decodes a boolean value; ok is false for another kind.
func (v Value) Bool() (b, ok bool) {
	switch string(v) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// ErrNotInteger and ErrRange are what Int64 reports for a number it cannot return.
var (
	ErrNotInteger = errors.New("not an integer")
	ErrRange      = errors.New("out of the 64-bit integer range")
)

// Int64 decodes an integer written without fraction or exponent, as encoding/json decodes
// into an int64.
func (v Value) Int64() (int64, error) {
	if v.Kind() != Number || bytes.ContainsAny(v, ".eE") {
		return 0, ErrNotInteger
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, ErrRange
	}
	return n, nil
}

// Float64 decodes a number; ok is false for another kind or a number beyond float64.
func (v Value) Float64() (float64, bool) {
	if v.Kind() != Number {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	return f, err == nil
}

// Lookup follows path from v: a step is an object member's exact key, or a decimal index into
// an array. The result is nil when a step is missing. In a checked document keys are unique,
// so the first match is the only one.
func (v Value) Lookup(path ...string) Value {
	for _, p := range path {
		switch v.Kind() {
		case Object:
			v = v.member(p)
		case Array:
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 {
				return nil
			}
			v = v.element(n)
		default:
			return nil
		}
		if v == nil {
			return nil
		}
	}
	return v
}

// Lookup is Value(doc).Lookup(path...) for a checked document.
func Lookup(doc []byte, path ...string) Value {
	i := ws(doc, 0)
	end := skip(doc, i)
	if end < 0 {
		return nil
	}
	return Value(doc[i:end:end]).Lookup(path...)
}

func (v Value) member(name string) Value {
	var found Value
	v.Members(func(key []byte, val Value) bool {
		if string(key) == name || bytes.IndexByte(key, '\\') >= 0 && literalIs(key, name, false) {
			found = val
			return false
		}
		return true
	})
	return found
}

func (v Value) element(n int) Value {
	var found Value
	k := 0
	v.Each(func(e Value) bool {
		if k == n {
			found = e
			return false
		}
		k++
		return true
	})
	return found
}

// skip returns the end of the checked value at i, or -1 on a malformed one.
func skip(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				if i = skipString(b, i); i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j
		}
		j++
	}
	return j
}

// skipString returns the end of the string literal at i (after its closing quote), or -1.
func skipString(b []byte, i int) int {
	end, _ := jsonlit.End(b, i)
	return end
}

// Each calls f on every element of an array value, in order, until f returns false. It reports
// whether v is an array and every call returned true. One pass: use it rather than Lookup by
// index to visit every element.
func (v Value) Each(f func(Value) bool) bool {
	if v.Kind() != Array {
		return false
	}
	b := []byte(v)
	i := ws(b, 1)
	if i < len(b) && b[i] == ']' {
		return true
	}
	for i < len(b) {
		end := skip(b, i)
		if end < 0 || !f(Value(b[i:end:end])) {
			return false
		}
		i = ws(b, end)
		if i >= len(b) || b[i] != ',' {
			return i < len(b) && b[i] == ']'
		}
		i = ws(b, i+1)
	}
	return false
}

// Members calls f with every member of an object value, in order, until f returns false; key
// is the key's literal without its quotes, escapes not decoded. It reports whether v is an
// object and every call returned true. One pass: use it rather than several Lookups to read
// several members.
func (v Value) Members(f func(key []byte, val Value) bool) bool {
	if v.Kind() != Object {
		return false
	}
	b := []byte(v)
	i := ws(b, 1)
	if i < len(b) && b[i] == '}' {
		return true
	}
	for i < len(b) && b[i] == '"' {
		kend := skipString(b, i)
		if kend < 0 {
			return false
		}
		key := b[i+1 : kend-1]
		i = ws(b, kend)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = ws(b, i+1)
		end := skip(b, i)
		if end < 0 || !f(key, Value(b[i:end:end])) {
			return false
		}
		i = ws(b, end)
		if i >= len(b) || b[i] != ',' {
			return i < len(b) && b[i] == '}'
		}
		i = ws(b, i+1)
	}
	return false
}
