package celnative

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/model"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// ruleFuzzValues are the values every generated rule is evaluated on (of testSchema).
var ruleFuzzValues = []string{
	`{}`,
	`{"s": "a/b", "n": 3, "d": 2, "b": true, "ios": 7, "ns": null, "l": ["a", "b"], "il": [1, 2, 9223372036854775807],
	  "objs": [{"name": "a", "port": 1}, {"name": "b"}], "m": {"k": "v", "a1": "x"}, "mn": {"k": null}, "sub": {"x": "ä"}}`,
	`{"s": "", "n": -9223372036854775808, "d": 1.5, "b": false, "ios": "50%", "ns": "x", "l": [], "il": [0, -1],
	  "objs": [], "m": {}, "sub": {}}`,
	`{"s": "äöü", "n": 0, "ios": "", "l": ["x"], "il": [5], "objs": [{"name": "a"}, {"name": "a", "port": 2}]}`,
}

// selfN and selfS find self.n and self.s, which comprehensions replace with their variable.
var (
	selfN = regexp.MustCompile(`self\.n\b`)
	selfS = regexp.MustCompile(`self\.s\b`)
)

// exprGen builds a well-typed CEL expression over testSchema from fuzz bytes.
type exprGen struct {
	data []byte
	pos  int
}

func (g *exprGen) next(n int) int {
	if g.pos >= len(g.data) {
		return 0
	}
	b := g.data[g.pos]
	g.pos++
	return int(b) % n
}

func (g *exprGen) boolean(depth int) string {
	if depth <= 0 {
		return []string{"true", "false", "self.b", "has(self.s)", "has(self.ns)", "has(self.sub.x)", "has(self.m.k)", "has(self.mn.k)"}[g.next(8)]
	}
	d := depth - 1
	switch g.next(22) {
	case 0:
		return fmt.Sprintf("(%s && %s)", g.boolean(d), g.boolean(d))
	case 1:
		return fmt.Sprintf("(%s || %s)", g.boolean(d), g.boolean(d))
	case 2:
		return fmt.Sprintf("!(%s)", g.boolean(d))
	case 3:
		return fmt.Sprintf("(%s ? %s : %s)", g.boolean(d), g.boolean(d), g.boolean(d))
	case 4:
		return fmt.Sprintf("(%s %s %s)", g.integer(d), []string{"<", "<=", ">", ">=", "==", "!="}[g.next(6)], g.integer(d))
	case 5:
		return fmt.Sprintf("(%s %s %s)", g.str(d), []string{"<", "<=", ">", ">=", "==", "!="}[g.next(6)], g.str(d))
	case 6:
		return fmt.Sprintf("%s.%s(%s)", g.str(d), []string{"startsWith", "endsWith", "contains"}[g.next(3)], g.str(d))
	case 7:
		return fmt.Sprintf("%s.matches('%s')", g.str(d), []string{"^a", "b$", "^[a-z/]*$", "ä"}[g.next(4)])
	case 8:
		return fmt.Sprintf("(%s in self.l)", g.str(d))
	case 9:
		return fmt.Sprintf("(%s in self.il)", g.integer(d))
	case 10:
		return fmt.Sprintf("self.il.%s(x, %s)", []string{"all", "exists", "exists_one"}[g.next(3)], selfN.ReplaceAllString(g.boolean(d), "x"))
	case 11:
		return fmt.Sprintf("self.objs.%s(o, has(o.port) && o.port > %s || o.name == %s)", []string{"all", "exists", "exists_one"}[g.next(3)], g.integer(d), g.str(d))
	case 12:
		return fmt.Sprintf("(%s in self.m)", g.str(d))
	case 13:
		return "(type(self.ios) == int ? self.ios > 0 : self.ios.size() > 0)"
	case 14:
		return fmt.Sprintf("(self.d %s %s)", []string{"<", "==", ">="}[g.next(3)], []string{"1.5", "2.0", "0.0"}[g.next(3)])
	case 15:
		return fmt.Sprintf("[%s, %s, %s].filter(x, x).size() == %s", g.boolean(d), g.boolean(d), g.boolean(d), g.integer(d))
	case 16:
		return fmt.Sprintf("self.m.all(k, k.size() > %s)", g.integer(d))
	case 17:
		return fmt.Sprintf("(duration(%s) < duration('1h'))", []string{"'1m'", "'2h'", "self.s", "self.sub.x"}[g.next(4)])
	case 18:
		return fmt.Sprintf("self.objs.all(i, o, i < %s || has(o.port))", g.integer(d))
	case 19:
		return fmt.Sprintf("(self.ns == %s)", []string{"''", "'x'", "self.s"}[g.next(3)])
	case 20:
		return fmt.Sprintf("(self.objs.map(o, o.name).size() == %s)", g.integer(d))
	}
	return fmt.Sprintf("(%s == %s)", g.boolean(d), g.boolean(d))
}

func (g *exprGen) integer(depth int) string {
	if depth <= 0 {
		return []string{"0", "1", "-1", "2", "self.n", "9223372036854775807", "-9223372036854775807 - 1", "size(self.s)", "self.il.size()", "self.sub.y"}[g.next(10)]
	}
	d := depth - 1
	switch g.next(8) {
	case 0:
		return fmt.Sprintf("(%s %s %s)", g.integer(d), []string{"+", "-", "*", "/", "%"}[g.next(5)], g.integer(d))
	case 1:
		return fmt.Sprintf("-(%s)", g.integer(d))
	case 2:
		return fmt.Sprintf("self.il[%s]", g.integer(d))
	case 3:
		return fmt.Sprintf("(%s ? %s : %s)", g.boolean(d), g.integer(d), g.integer(d))
	case 4:
		return fmt.Sprintf("self.l.filter(x, %s).size()", selfS.ReplaceAllString(g.boolean(d), "x"))
	case 5:
		return fmt.Sprintf("%s.size()", g.str(d))
	case 6:
		return fmt.Sprintf("self.objs[%s].port", g.integer(d))
	}
	return g.integer(0)
}

func (g *exprGen) str(depth int) string {
	if depth <= 0 {
		return []string{"''", "'a'", "'ä'", "'/'", "self.s", "self.sub.x", "self.m.k", "'a/b'"}[g.next(8)]
	}
	d := depth - 1
	switch g.next(6) {
	case 0:
		return fmt.Sprintf("(%s + %s)", g.str(d), g.str(d))
	case 1:
		return fmt.Sprintf("self.l[%s]", g.integer(d))
	case 2:
		return fmt.Sprintf("%s.split('/')[%s]", g.str(d), g.integer(d))
	case 3:
		return fmt.Sprintf("(%s ? %s : %s)", g.boolean(d), g.str(d), g.str(d))
	case 4:
		return fmt.Sprintf("self.m[%s]", g.str(d))
	}
	return g.str(0)
}

// FuzzRules generates well-typed rules over testSchema (logical operators over errors, integer
// overflow, indexes out of range, string functions, comprehensions, nulls) and checks every native
// "true" against cel-go, with the cost bound, on a few values.
func FuzzRules(f *testing.F) {
	f.Add([]byte{0, 4, 0, 5, 4, 1, 2})
	f.Add([]byte{1, 2, 4, 0, 3, 5, 6, 9, 7})
	f.Add([]byte{10, 4, 4, 0, 0, 6, 1})
	f.Add([]byte{11, 3, 3, 4, 4, 9, 15, 0, 1, 2, 3})
	f.Add([]byte{15, 1, 2, 3, 2, 2, 0, 0, 0})
	f.Add([]byte{3, 17, 2, 19, 1, 13, 0})
	s := testStructural(f)
	env, err := Env(model.SchemaDeclType(s, false))
	if err != nil {
		f.Fatal(err)
	}
	values := ruleValues(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &exprGen{data: data}
		src := g.boolean(1 + g.next(4))
		if _, iss := env.Compile(src); iss.Err() != nil {
			return // the generator's loose variable substitution; TestRuleGenerator bounds how often
		}
		r := testRule(t, s, src)
		var tl tally
		for i, v := range values {
			check(t, r, v, fmt.Sprintf("value %d", i), &tl)
		}
	})
}

// TestRuleGenerator checks that FuzzRules mostly generates rules the CEL checker accepts.
func TestRuleGenerator(t *testing.T) {
	s := testStructural(t)
	env, err := Env(model.SchemaDeclType(s, false))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	values := ruleValues(t)
	var tl tally
	var ok int
	const n = 300
	for range n {
		data := make([]byte, 24)
		for i := range data {
			data[i] = byte(rng.UintN(256))
		}
		g := &exprGen{data: data}
		src := g.boolean(1 + g.next(4))
		if _, iss := env.Compile(src); iss.Err() != nil {
			continue
		}
		ok++
		r := testRule(t, s, src)
		for i, v := range values {
			check(t, r, v, fmt.Sprintf("value %d", i), &tl)
		}
	}
	if ok < n*8/10 {
		t.Errorf("%d of %d generated rules compile, want 80%%", ok, n)
	}
	t.Logf("%d evaluations: cel-go true %d, false %d, error %d; native true %d", tl.evals, tl.celTrue, tl.celFalse, tl.celErr, tl.nativeTrue)
	if tl.nativeTrue < tl.celTrue/2 {
		t.Errorf("native answered %d of cel-go's %d true results: the generator exercises too little", tl.nativeTrue, tl.celTrue)
	}
}

func ruleValues(t testing.TB) []any {
	t.Helper()
	values := make([]any, len(ruleFuzzValues))
	for i, js := range ruleFuzzValues {
		if err := utiljson.Unmarshal([]byte(js), &values[i]); err != nil {
			t.Fatal(err)
		}
	}
	return values
}
