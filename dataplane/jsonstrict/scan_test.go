package jsonstrict

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheck(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	wide := func(n int, dup string) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			fmt.Fprintf(&b, `"k%d":%d,`, i, i)
		}
		b.WriteString(`"` + dup + `":0}`)
		return b.String()
	}
	for _, tc := range []struct {
		name, doc, path, reason string // reason "" : accepted
	}{
		{"object", `{"a":1,"b":[true,false,null],"c":{"d":"e"}}`, "", ""},
		{"scalars", ` "x" `, "", ""},
		{"number", `-0.5e+10`, "", ""},
		{"big numbers", `{"a":9223372036854775807123,"b":1e400,"c":-1e-400}`, "", ""},
		{"empty containers", `{"a":{},"b":[],"c":[{}],"d":{"e":[]}}`, "", ""},
		{"same key in sibling objects", `[{"a":1},{"a":2}]`, "", ""},
		{"same key at two depths", `{"a":{"a":1}}`, "", ""},
		{"escaped key", `{"n\u0061me":"x","Name2":1}`, "", ""},
		{"pair escape", `{"a":"\ud83d\ude00"}`, "", ""},
		{"duplicate", `{"name":"a","name":"b"}`, "name", "duplicate key"},
		{"duplicate nested", `{"params":{"x":{},"name":"a","name":"b"}}`, "params.name", "duplicate key"},
		{"duplicate in array", `{"a":[{"b":1},{"c":1,"c":2}]}`, "a[1].c", "duplicate key"},
		{"duplicate by escape", `{"name":"a","n\u0061me":"b"}`, `name`, "duplicate key"},
		{"duplicate after nested object", `{"a":{"b":1,"c":{"b":2}},"a":1}`, "a", "duplicate key"},
		{"case variant", `{"name":"get-env","NAME":"echo"}`, "NAME", `key equals the earlier key "name" under case folding; keys must differ in more than case`},
		{"case variant nested", `{"params":{"Name":"a","nAme":"b"}}`, "params.nAme", "under case folding"},
		{"long s", `{"nameſ":1,"NAMES":2}`, "NAMES", "under case folding"},
		{"long s escaped", `{"ſtream":true,"stream":false}`, "stream", "under case folding"},
		{"kelvin", `{"kind":1,"\u212Aind":2}`, "\u212Aind", "under case folding"},
		{"sigma", `{"σ":1,"Σ":2}`, "Σ", "under case folding"},
		{"dup in wide object", wide(100, "k57"), "k57", "duplicate key"},
		{"fold in wide object", wide(100, "K99"), "K99", "under case folding"},
		{"wide object", wide(1000, "x"), "", ""},
		{"long keys fold", `{"` + strings.Repeat("aſ", 150) + `":1,"` + strings.Repeat("AS", 150) + `":2}`, strings.Repeat("AS", 32) + "…", "under case folding"},
		{"long keys differ at the end", `{"` + strings.Repeat("a", 300) + `x":1,"` + strings.Repeat("A", 300) + `y":2}`, "", ""},
		{"trailing garbage", `{"a":1} x`, "", "invalid character after the JSON value"},
		{"two values", `{} {}`, "", "invalid character after the JSON value"},
		{"trailing comma", `{"a":1,}`, "", "expected a string key"},
		{"trailing comma array", `[1,]`, "[1]", "invalid value"},
		{"missing colon", `{"a" 1}`, "a", "expected ':' after the key"},
		{"unterminated", `{"a":"b`, "a", "unterminated string"},
		{"empty", ``, "", "unexpected end of JSON input"},
		{"whitespace only", " \n", "", "unexpected end of JSON input"},
		{"bom", "\ufeff{}", "", "invalid value"},
		{"invalid utf8 in value", "{\"a\":\"\xff\"}", "a", "invalid UTF-8"},
		{"invalid utf8 in key", "{\"a\xc3\":1}", "", "invalid UTF-8"},
		{"overlong utf8", "\"\xc0\xaf\"", "", "invalid UTF-8"},
		{"utf8 surrogate", "\"\xed\xa0\x80\"", "", "invalid UTF-8"},
		{"lone high surrogate", `{"name":"ech\ud800"}`, "name", "unpaired surrogate escape"},
		{"lone low surrogate", `["\udc00"]`, "[0]", "unpaired surrogate escape"},
		{"high then not low", `"\ud800\u0041"`, "", "unpaired surrogate escape"},
		{"bad escape", `"\x"`, "", "invalid escape"},
		{"bad hex", `"\u12g4"`, "", "invalid \\u escape"},
		{"control char", "\"a\tb\"", "", "control character in string"},
		{"leading zero", `01`, "", "invalid character after the JSON value"},
		{"bare minus", `-`, "", "invalid value"},
		{"fraction without digits", `1.`, "", "invalid value"},
		{"nan", `NaN`, "", "invalid value"},
		{"single quotes", `{'a':1}`, "", "expected a string key"},
		{"max depth", deep(MaxDepth), "", ""},
		{"too deep", deep(MaxDepth + 1), "*", "nested deeper than 512 levels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check([]byte(tc.doc))
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("accepted or not an *Error: %v", err)
			}
			if e.Path != tc.path && tc.path != "*" || !strings.Contains(e.Reason, tc.reason) {
				t.Fatalf("got path %q reason %q, want %q %q", e.Path, e.Reason, tc.path, tc.reason)
			}
		})
	}
}

func TestReadSchema(t *testing.T) {
	s := NewSchema()
	method := s.Capture("method")
	name := s.Capture("params", "name")
	params := s.Capture("params")
	s.Known("params", "arguments", "x")
	s.Known("list", Each, "role")
	vals := make([]Value, s.Slots())
	for _, tc := range []struct {
		doc, method, name, params, err string
	}{
		{`{"method":"tools/call","params":{"name":"echo","arguments":{"X":1}}}`, `"tools/call"`, `"echo"`, `{"name":"echo","arguments":{"X":1}}`, `params.arguments.X: unknown key; member names are case-sensitive (the gateway reads "x")`},
		{`{"method":"m","params":{"name":"echo"}}`, `"m"`, `"echo"`, `{"name":"echo"}`, ""},
		{`{"params":{"arguments":{},"name" : "a"} ,"method":"m"}`, `"m"`, `"a"`, `{"arguments":{},"name" : "a"}`, ""},
		{`{"method":"m","params":{}}`, `"m"`, ``, `{}`, ""},
		{`{"method":"m","params":null}`, `"m"`, ``, `null`, ""},
		{`{"method":"m","params":[{"name":"x"}]}`, `"m"`, ``, `[{"name":"x"}]`, ""},
		{`{"Method":"m"}`, ``, ``, ``, `Method: unknown key; member names are case-sensitive (the gateway reads "method")`},
		{`{"params":{"NAME":"echo"}}`, ``, ``, ``, `params.NAME: unknown key; member names are case-sensitive (the gateway reads "name")`},
		{`{"params":{"nameſ":"echo","\u017fname":1}}`, ``, ``, `{"nameſ":"echo","\u017fname":1}`, ""},
		{`{"params":{"ſ":1},"list":[{"role":"u"},{"ROLE":"u"}]}`, ``, ``, ``, `list[1].ROLE: unknown key; member names are case-sensitive (the gateway reads "role")`},
		{`{"m\u0065thod":"x"}`, `"x"`, ``, ``, ""},
	} {
		err := s.Read([]byte(tc.doc), vals)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s: error %v, want %s", tc.doc, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.doc, err)
			continue
		}
		if string(vals[method]) != tc.method || string(vals[name]) != tc.name || string(vals[params]) != tc.params {
			t.Errorf("%s: got method %s name %s params %s", tc.doc, vals[method], vals[name], vals[params])
		}
	}
}

func TestValue(t *testing.T) {
	doc := []byte(` {"a":{"b":[10,{"c":"x\u00e9\n"}],"n\u0061me":"e","t":true,"f":false,"z":null},"big":9223372036854775808,"i":-42,"f":1.5,"e":1e3} `)
	if err := Check(doc); err != nil {
		t.Fatal(err)
	}
	if s, ok := Lookup(doc, "a", "b", "1", "c").Str(); !ok || s != "xé\n" {
		t.Fatalf("a.b[1].c = %q %v", s, ok)
	}
	if v := Lookup(doc, "a", "name"); !v.Equal("e") {
		t.Fatalf("escaped key lookup: %s", v)
	}
	if Lookup(doc, "a", "NAME") != nil || Lookup(doc, "a", "b", "2") != nil || Lookup(doc, "a", "b", "x") != nil || Lookup(doc, "nope") != nil {
		t.Fatal("lookup of a missing path found something")
	}
	if b, ok := Lookup(doc, "a", "t").Bool(); !ok || !b {
		t.Fatal("a.t")
	}
	if Lookup(doc, "a", "z").Kind() != Null || Lookup(doc, "a").Kind() != Object || Lookup(doc, "a", "b").Kind() != Array {
		t.Fatal("kinds")
	}
	if n, err := Lookup(doc, "i").Int64(); err != nil || n != -42 {
		t.Fatal("i", n, err)
	}
	if _, err := Lookup(doc, "big").Int64(); err != ErrRange {
		t.Fatal("big:", err)
	}
	for _, k := range []string{"f", "e"} {
		if _, err := Lookup(doc, k).Int64(); err != ErrNotInteger {
			t.Fatal(k, err)
		}
	}
	if f, ok := Lookup(doc, "e").Float64(); !ok || f != 1000 {
		t.Fatal("e", f)
	}
}

// FuzzCheck: Check accepts exactly the documents encoding/json accepts as valid whose objects
// have no keys equal under folding, that are valid UTF-8 and that nest no deeper than
// MaxDepth (lone surrogate escapes, which encoding/json replaces, are the one difference);
// and a captured value is what an exact-key walk of the decoded document finds.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{`{"name":"get-env","NAME":"echo"}`, `{"a":[1,{"b":"c"}]}`, `"\ud800"`, `{"ſ":1,"S":2}`, `[]`, `{"model":"a","model":"b"}`} {
		f.Add([]byte(s))
	}
	s := NewSchema()
	slot := s.Capture("a", "b")
	f.Fuzz(func(t *testing.T, doc []byte) {
		vals := make([]Value, s.Slots())
		err := s.Read(doc, vals)
		ref, refErr := reference(doc)
		if err == nil && refErr != nil {
			t.Fatalf("accepted %q; reference: %v", doc, refErr)
		}
		if err != nil && refErr == nil && !bytes.Contains(doc, []byte(`\u`)) && !strings.Contains(err.Error(), "member names are case-sensitive") {
			t.Fatalf("refused %q: %v", doc, err)
		}
		if err != nil {
			return
		}
		want, found := walk(ref, "a", "b")
		if found != (vals[slot] != nil) {
			t.Fatalf("%q: captured %q, reference found %v", doc, vals[slot], found)
		}
		if found {
			var got any
			if json.Unmarshal(vals[slot], &got) != nil || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%q: captured %s, reference %v", doc, vals[slot], want)
			}
			if !bytes.Equal(Lookup(doc, "a", "b"), vals[slot]) {
				t.Fatalf("%q: lookup %s, captured %s", doc, Lookup(doc, "a", "b"), vals[slot])
			}
		}
	})
}

// reference decodes doc with encoding/json's tokenizer into maps and slices, refusing what
// Check must refuse by its definition.
func reference(doc []byte) (any, error) {
	if !json.Valid(doc) {
		return nil, errors.New("not valid JSON")
	}
	if !utf8.Valid(doc) {
		return nil, errors.New("invalid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	v, err := refValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	return v, nil
}

func refValue(dec *json.Decoder, depth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	if depth >= MaxDepth {
		return nil, errors.New("too deep")
	}
	if d == '[' {
		var list []any
		for dec.More() {
			v, err := refValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		_, err := dec.Token()
		return list, err
	}
	obj := map[string]any{}
	folded := map[string]bool{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k := kt.(string)
		if fk := strings.ToUpper(string(foldString(k))); folded[fk] {
			return nil, fmt.Errorf("duplicate key %q", k)
		} else {
			folded[fk] = true
		}
		if obj[k], err = refValue(dec, depth+1); err != nil {
			return nil, err
		}
	}
	_, err = dec.Token()
	return obj, err
}

// foldString is bytes.EqualFold's equivalence as a canonical string.
func foldString(s string) []rune {
	var out []rune
	for _, r := range s {
		out = append(out, foldRune(r))
	}
	return out
}

func walk(v any, path ...string) (any, bool) {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[p]; !ok {
			return nil, false
		}
	}
	return v, true
}

func TestFoldMatchesEncodingJSON(t *testing.T) {
	// encoding/json matches a struct field case-insensitively with bytes.EqualFold; our fold
	// must call the same pairs equal.
	for _, pair := range [][2]string{{"name", "NAME"}, {"names", "nameſ"}, {"kind", "\u212Aind"}, {"σ", "ς"}, {"µ", "Μ"}, {"ǅ", "ǆ"}, {"a", "b"}, {"ß", "ss"}, {"i", "ı"}} {
		want := bytes.EqualFold([]byte(pair[0]), []byte(pair[1]))
		a, _ := json.Marshal(pair[0])
		b, _ := json.Marshal(pair[1])
		got := literalEqual(a[1:len(a)-1], b[1:len(b)-1], true)
		if got != want || want && foldHash(pair[0]) != foldHash(pair[1]) {
			t.Errorf("%q vs %q: fold-equal %v, EqualFold %v", pair[0], pair[1], got, want)
		}
	}
}

func TestValueMembersAndEach(t *testing.T) {
	doc := []byte(`{ "a" : [1, {"x":"y"} ,[]], "b\u0041":null ,"c":{} }`)
	if err := Check(doc); err != nil {
		t.Fatal(err)
	}
	var keys, vals []string
	if !Lookup(doc).Members(func(k []byte, v Value) bool {
		keys, vals = append(keys, string(k)), append(vals, string(v))
		return true
	}) {
		t.Fatal("Members gave up")
	}
	if strings.Join(keys, "|") != `a|b\u0041|c` || strings.Join(vals, "|") != `[1, {"x":"y"} ,[]]|null|{}` {
		t.Errorf("members %q %q", keys, vals)
	}
	var els []string
	if !Lookup(doc, "a").Each(func(v Value) bool { els = append(els, string(v)); return true }) || strings.Join(els, "|") != `1|{"x":"y"}|[]` {
		t.Errorf("elements %q", els)
	}
	if !Lookup(doc, "a", "2").Each(func(Value) bool { return false }) || !Lookup(doc, "c").Members(func([]byte, Value) bool { return false }) {
		t.Error("empty array or object must visit nothing and succeed")
	}
	if Lookup(doc, "a").Members(func([]byte, Value) bool { return true }) || Lookup(doc, "c").Each(func(Value) bool { return true }) {
		t.Error("wrong kinds must fail")
	}
	if Lookup(doc, "a").Each(func(Value) bool { return false }) {
		t.Error("a false from f must stop and fail")
	}
}
