package celnative

import (
	"testing"

	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apiserver/pkg/cel/common"
)

// evaluation is one rule on one value of the corpus.
type evaluation struct {
	r    *rule
	v    any
	self common.Schema // the adaptor schema pkg/validate gives cel-go for the rule's node
}

// corpusEvaluations returns every rule evaluation pkg/validate makes on 2000 corpus documents.
func corpusEvaluations(b *testing.B) []evaluation {
	st := loadSuite(b)
	var out []evaluation
	adaptors := map[*structuralschema.Structural]common.Schema{}
	for _, d := range loadDocuments(b, 2000) {
		if len(d.name) < 7 || d.name[:7] != "corpus/" {
			continue
		}
		cv, obj := st.prepare(d)
		if cv == nil {
			continue
		}
		cv.rules.visit(obj, func(r *rule, v any) {
			if r.prog == nil {
				return
			}
			a, ok := adaptors[r.self]
			if !ok {
				a = NewAdaptorSchema(r.self)
				adaptors[r.self] = a
			}
			out = append(out, evaluation{r: r, v: v, self: a})
		})
	}
	if len(out) == 0 {
		b.Fatal("no evaluations in the corpus")
	}
	return out
}

// BenchmarkEval compares, per rule evaluation of the corpus: cel-go as pkg/validate runs it (tracked
// program over its caching value adaptor), cel-go over the upstream adaptor (model.Structural), the
// native program alone, and native with cel-go fallback (what pkg/validate would run).
func BenchmarkEval(b *testing.B) {
	evals := corpusEvaluations(b)
	b.Run("celgo", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			e := &evals[i%len(evals)]
			celGo(e)
		}
	})
	b.Run("celgo-upstream-adaptor", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			e := &evals[i%len(evals)]
			act := &selfActivation{self: common.UnstructuredToVal(e.v, e.r.celSchema)}
			_, _, _ = e.r.prog.Eval(act)
		}
	})
	b.Run("native", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			e := &evals[i%len(evals)]
			if e.r.native != nil {
				e.r.native.Eval(e.v)
			}
		}
	})
	b.Run("native+fallback", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			e := &evals[i%len(evals)]
			if e.r.native != nil {
				if ok, _ := e.r.native.Eval(e.v); ok {
					continue
				}
			}
			celGo(e)
		}
	})
}

func celGo(e *evaluation) {
	act := &selfActivation{self: common.UnstructuredToVal(e.v, e.self)}
	_, _, _ = e.r.prog.Eval(act)
}

type selfActivation struct{ self ref.Val }

func (a *selfActivation) ResolveName(name string) (any, bool) {
	if name == selfVar {
		return a.self, true
	}
	return nil, false
}

func (a *selfActivation) Parent() interpreter.Activation { return nil }

// BenchmarkRule measures single rules, native against cel-go: the cost of one evaluation, one
// field presence test, two, and a nested comprehension over three list elements.
func BenchmarkRule(b *testing.B) {
	s := testStructural(b)
	for _, tc := range []struct{ name, rule, value string }{
		{"true", `true`, `{"s": "x"}`},
		{"has", `has(self.s)`, `{"s": "x"}`},
		{"has!=has", `has(self.s) != has(self.n)`, `{"s": "x"}`},
		{"all-all", `self.objs.all(a, self.objs.all(b, a.name == b.name))`, `{"objs": [{"name": "a"}, {"name": "a"}, {"name": "a"}]}`},
	} {
		var v any
		if err := utiljson.Unmarshal([]byte(tc.value), &v); err != nil {
			b.Fatal(err)
		}
		r := testRule(b, s, tc.rule)
		if r.native == nil {
			b.Fatalf("%s: not compiled", tc.rule)
		}
		b.Run(tc.name+"/native", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.native.Eval(v)
			}
		})
		e := evaluation{r: r, v: v, self: NewAdaptorSchema(s)}
		b.Run(tc.name+"/celgo", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				celGo(&e)
			}
		})
	}
}
