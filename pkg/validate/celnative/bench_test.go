package celnative

import (
	"sync"
	"testing"

	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/model"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apiserver/pkg/cel/common"
)

// evaluation is one rule on one value of the corpus.
type evaluation struct {
	r    *rule
	v    any
	self common.Schema // pkg/validate's cached adaptor schema for the rule's node
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
				a = newCachedSchema(r.self)
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

// cachedSchema is pkg/validate's celSchema: model.Structural with the sub-schemas the adaptor asks
// for on every field access built once.
type cachedSchema struct {
	*model.Structural
	once  sync.Once
	props map[string]common.Schema
	items common.Schema
	addl  common.SchemaOrBool

	metaOnce sync.Once
	meta     common.Schema
}

func newCachedSchema(s *structuralschema.Structural) *cachedSchema {
	return &cachedSchema{Structural: &model.Structural{Structural: s}}
}

func (c *cachedSchema) build() {
	s := c.Structural.Structural
	if s.Properties != nil {
		c.props = make(map[string]common.Schema, len(s.Properties))
		for k := range s.Properties {
			p := s.Properties[k]
			c.props[k] = newCachedSchema(&p)
		}
	}
	if s.Items != nil {
		c.items = newCachedSchema(s.Items)
	}
	if s.AdditionalProperties != nil {
		sb := &cachedSchemaOrBool{allows: s.AdditionalProperties.Bool}
		if s.AdditionalProperties.Structural != nil {
			sb.schema = newCachedSchema(s.AdditionalProperties.Structural)
		}
		c.addl = sb
	}
}

func (c *cachedSchema) Properties() map[string]common.Schema { c.once.Do(c.build); return c.props }
func (c *cachedSchema) Items() common.Schema                 { c.once.Do(c.build); return c.items }
func (c *cachedSchema) AdditionalProperties() common.SchemaOrBool {
	c.once.Do(c.build)
	return c.addl
}

func (c *cachedSchema) WithTypeAndObjectMeta() common.Schema {
	c.metaOnce.Do(func() { c.meta = newCachedSchema(model.WithTypeAndObjectMeta(c.Structural.Structural)) })
	return c.meta
}

type cachedSchemaOrBool struct {
	schema common.Schema
	allows bool
}

func (b *cachedSchemaOrBool) Schema() common.Schema {
	if b.schema == nil {
		return nil
	}
	return b.schema
}

func (b *cachedSchemaOrBool) Allows() bool { return b.allows }

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
		e := evaluation{r: r, v: v, self: newCachedSchema(s)}
		b.Run(tc.name+"/celgo", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				celGo(&e)
			}
		})
	}
}
