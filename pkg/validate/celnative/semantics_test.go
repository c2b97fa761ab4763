package celnative

import (
	"encoding/json"
	"testing"

	"github.com/google/cel-go/cel"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/model"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/cel/library"
)

const testSchema = `{
 "type": "object",
 "properties": {
  "s": {"type": "string"}, "n": {"type": "integer"}, "d": {"type": "number"}, "b": {"type": "boolean"},
  "ios": {"x-kubernetes-int-or-string": true},
  "ns": {"type": "string", "nullable": true},
  "namespace": {"type": "string"}, "dash-name": {"type": "string"},
  "dur": {"type": "string", "format": "duration"},
  "l": {"type": "array", "items": {"type": "string"}},
  "il": {"type": "array", "items": {"type": "integer"}},
  "set": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
  "objs": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}}},
  "m": {"type": "object", "additionalProperties": {"type": "string"}},
  "mn": {"type": "object", "additionalProperties": {"type": "string", "nullable": true}},
  "emb": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true,
          "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}}}},
  "sub": {"type": "object", "properties": {"x": {"type": "string"}, "y": {"type": "integer"}}}
 }
}`

func testStructural(t testing.TB) *structuralschema.Structural {
	t.Helper()
	var v1 apiextv1.JSONSchemaProps
	if err := json.Unmarshal([]byte(testSchema), &v1); err != nil {
		t.Fatal(err)
	}
	var internal apiextensions.JSONSchemaProps
	if err := apiextv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(&v1, &internal, nil); err != nil {
		t.Fatal(err)
	}
	s, err := structuralschema.NewStructural(&internal)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testRule compiles src both ways for self of schema s; native is nil when Compile declines.
func testRule(t testing.TB, s *structuralschema.Structural, src string) *rule {
	t.Helper()
	env, err := Env(model.SchemaDeclType(s, false))
	if err != nil {
		t.Fatal(err)
	}
	ast, iss := env.Compile(src)
	if iss.Err() != nil {
		t.Fatalf("%s: %v", src, iss.Err())
	}
	prog, err := env.Program(ast, cel.CostTracking(&library.CostEstimator{}), cel.CostLimit(celconfig.PerCallLimit))
	if err != nil {
		t.Fatal(err)
	}
	r := &rule{crd: "test", src: src, self: s, celSchema: &model.Structural{Structural: s}, prog: prog}
	r.native, _ = Compile(ast, s)
	return r
}

// TestSemantics pins what the native evaluator answers on the corners of CEL and of the value
// adaptor (errors as values, overflow, presence, escaping, nulls, formats, list and map kinds), each
// answer checked against cel-go as in the differential test.
func TestSemantics(t *testing.T) {
	s := testStructural(t)
	var skipped []string
	for _, tc := range []struct {
		rule, value string
		want        bool // the native answer: true, or false for "don't know"
	}{
		// errors are values: && and || absorb them, everything else propagates them
		{`self.missing == 'x' || true`, `{}`, false}, // does not compile: unknown field (skipped below)
		{`self.s == 'x' || has(self.n)`, `{"n": 1}`, true},
		{`has(self.n) || self.s == 'x'`, `{"n": 1}`, true},
		{`!(self.s == 'x' && false)`, `{}`, true},
		{`self.s == 'x' && true`, `{}`, false},
		{`!(self.s == 'x')`, `{}`, false},
		{`(self.s == 'x') ? true : true`, `{}`, false},
		{`self.l.all(x, x != 'b') || self.l[5] == 'a'`, `{"l": ["a"]}`, true},
		// integer overflow, division by zero, index out of range
		{`self.n + 1 > 0`, `{"n": 9223372036854775807}`, false},
		{`self.n - 1 < 0`, `{"n": -9223372036854775808}`, false},
		{`self.n * 2 != 0`, `{"n": 4611686018427387904}`, false},
		{`self.n / 0 == 0 || true`, `{"n": 1}`, true},
		{`-self.n > 0`, `{"n": -9223372036854775808}`, false},
		{`self.n % 2 == 1`, `{"n": 3}`, true},
		{`self.n / -1 > 0`, `{"n": -9223372036854775808}`, false},
		{`self.l[1] == 'b'`, `{"l": ["a", "b"]}`, true},
		{`self.l[2] == 'b'`, `{"l": ["a", "b"]}`, false},
		{`self.l[size(self.l) - 1] == 'b'`, `{"l": ["a", "b"]}`, true},
		// presence and escaping
		{`has(self.ns)`, `{"ns": null}`, false},
		{`!has(self.ns)`, `{"ns": null}`, true},
		{`self.__namespace__ == 'a' && self.dash__dash__name == 'b'`, `{"namespace": "a", "dash-name": "b"}`, true},
		{`has(self.sub) && !has(self.sub.x)`, `{"sub": {"y": 1}}`, true},
		{`has(self.n)`, `{"n": "not an int"}`, false},
		{`has(self.m.k) && self.m.k == 'v'`, `{"m": {"k": "v"}}`, true},
		{`!has(self.m.k)`, `{"m": {"j": "v"}}`, true},
		{`has(self.mn.k)`, `{"mn": {"k": null}}`, true},
		{`'k' in self.m && !('z' in self.m)`, `{"m": {"k": "v"}}`, true},
		{`self.m['k'] == 'v'`, `{"m": {"k": "v"}}`, true},
		{`self.emb.kind == 'Pod' && self.emb.spec.a == 'x'`, `{"emb": {"kind": "Pod", "apiVersion": "v1", "spec": {"a": "x"}}}`, true},
		{`self.emb.metadata.name == 'p'`, `{"emb": {"kind": "Pod", "metadata": {"name": "p"}}}`, true},
		// numbers: an int in a number field is a double; mixed int/double comparisons are left to cel-go
		{`self.d == 2.0`, `{"d": 2}`, true},
		{`self.d > 1.5 && self.d < 2.5`, `{"d": 2}`, true},
		{`self.d > 1`, `{"d": 2}`, false}, // checker rejects double > int (skipped below if so)
		// int-or-string and type()
		{`type(self.ios) == int ? self.ios > 0 : self.ios.size() > 0`, `{"ios": 3}`, true},
		{`type(self.ios) == int ? self.ios > 0 : self.ios.size() > 0`, `{"ios": "3%"}`, true},
		{`type(self.ios) == string`, `{"ios": 3}`, false},
		// strings: size counts code points, ordering is by bytes, matches is RE2
		{`size(self.s) == 3`, `{"s": "äöü"}`, true},
		{`self.s < 'b' && 'B' < self.s`, `{"s": "a"}`, true},
		{`self.s.matches('^[a-z]+$') && !self.s.contains('/') && self.s.startsWith('ab') && self.s.endsWith('c')`, `{"s": "abc"}`, true},
		{`matches(self.s, '^a')`, `{"s": "abc"}`, true},
		{`self.s.split('/')[1] == 'b' && self.s.split('/', 2).size() == 2`, `{"s": "a/b/c"}`, true},
		{`self.s + '!' == 'hi!'`, `{"s": "hi"}`, true},
		// formats the adaptor turns into other types are declined; duration() of a string is native
		{`self.dur == duration('1s')`, `{"dur": "1s"}`, false},
		{`duration(self.s) >= duration('100ms') && duration(self.s) != duration('0s')`, `{"s": "1m30s"}`, true},
		{`duration(self.s) < duration('1h')`, `{"s": "1.5h"}`, false},
		{`duration(self.s) < duration('1h') || true`, `{"s": "soon"}`, true},
		{`duration(self.s) < duration('1h')`, `{"s": "soon"}`, false},
		{`type(duration(self.s)) == google.protobuf.Duration`, `{"s": "1s"}`, false}, // type idents beyond the basic ones are declined
		// comprehensions (every macro), nested, over lists and maps
		{`self.objs.all(o, self.objs.exists_one(p, p.name == o.name))`, `{"objs": [{"name": "a"}, {"name": "b"}]}`, true},
		{`self.objs.all(o, self.objs.exists_one(p, p.name == o.name))`, `{"objs": [{"name": "a"}, {"name": "a"}]}`, false},
		{`self.objs.filter(o, has(o.port)).size() == 1`, `{"objs": [{"name": "a", "port": 1}, {"name": "b"}]}`, true},
		{`self.il.map(x, x * 2) == [2, 4]`, `{"il": [1, 2]}`, false}, // list equality is left to cel-go
		{`self.il.map(x, x * 2)[1] == 4`, `{"il": [1, 2]}`, true},
		{`self.il.exists(x, x == 2)`, `{"il": [1, 2, 3]}`, true},
		{`self.m.all(k, k.startsWith('a'))`, `{"m": {"a1": "x", "a2": "y"}}`, true},
		{`self.m.exists(k, k == 'a1')`, `{"m": {"a1": "x"}}`, true},
		{`[has(self.s), has(self.n), has(self.b)].filter(x, x == true).size() == 1`, `{"b": true}`, true},
		{`self.set.all(x, x in ['a', 'b'])`, `{"set": ["a", "b"]}`, true},
		{`2 in self.il`, `{"il": [1, 2]}`, true},
		{`self.objs.all(i, o, i >= 0 && has(o.name))`, `{"objs": [{"name": "a"}]}`, true},
		{`self.m.all(k, v, k.size() == 1 && v == 'x')`, `{"m": {"a": "x", "b": "x"}}`, true},
		// values of the wrong shape are errors in the adaptor
		{`self.n == 1`, `{"n": 1.5}`, false},
		{`self.l.size() == 1`, `{"l": "x"}`, false},
		{`self.b`, `{"b": true}`, true},
		{`self.b`, `{"b": "true"}`, false},
	} {
		var v any
		if err := utiljson.Unmarshal([]byte(tc.value), &v); err != nil {
			t.Fatal(err)
		}
		env, _ := Env(model.SchemaDeclType(s, false))
		if _, iss := env.Compile(tc.rule); iss.Err() != nil {
			skipped = append(skipped, tc.rule)
			continue // rules that only document what the checker refuses
		}
		r := testRule(t, s, tc.rule)
		var tl tally
		check(t, r, v, tc.value, &tl)
		var got bool
		if r.native != nil {
			got, _ = r.native.Eval(v)
		}
		if got != tc.want {
			t.Errorf("%s on %s: native says %v, want %v (compiled: %v)", tc.rule, tc.value, got, tc.want, r.native != nil)
		}
	}
	if len(skipped) != 1 {
		t.Errorf("rules the checker refused: %q, want only the one with an unknown field", skipped)
	}
}

// TestCompileDeclines checks that rules outside the subset are declined at compile time.
func TestCompileDeclines(t *testing.T) {
	s := testStructural(t)
	for _, src := range []string{
		`self.s.lowerAscii() == 'a'`,
		`self.s.matches(self.s)`,
		`{'a': 1}.size() == 1`,
		`self == oldSelf`,
		`quantity(self.s).isGreaterThan(quantity('1'))`,
	} {
		r := testRule(t, s, src)
		if r.native != nil {
			t.Errorf("%s: compiled, want declined", src)
		}
	}
}

// TestLargeInputs checks that big lists stay cheap: loops stop once past cel-go's per-call cost
// limit, and long built lists are left to cel-go, whose answers still back every native "true".
func TestLargeInputs(t *testing.T) {
	s := testStructural(t)
	il := make([]any, 3000)
	for i := range il {
		il[i] = int64(i)
	}
	v := map[string]any{"il": il}
	for _, tc := range []struct {
		rule string
		want bool
	}{
		{`self.il.all(x, x >= 0)`, true},
		{`self.il.filter(x, x >= 0).size() == 3000`, false},         // a 3000-element built list
		{`self.il.all(x, self.il.all(y, x >= 0 || y >= 0))`, false}, // 9M steps: past the cost limit
		{`self.il.exists_one(x, x == 2999)`, true},
	} {
		r := testRule(t, s, tc.rule)
		if tc.want { // cel-go takes a second on the nested loop; "don't know" needs no backing
			var tl tally
			check(t, r, v, "3000 ints", &tl)
		}
		got, _ := r.native.Eval(v)
		if got != tc.want {
			t.Errorf("%s: native says %v, want %v", tc.rule, got, tc.want)
		}
	}
}
