package celnative

import (
	"sync/atomic"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	apiservercel "k8s.io/apiserver/pkg/cel"
)

// Upper bounds of what cel-go's cost tracker (interpreter/runtimecost.go) charges per evaluated
// node: an attribute (a variable, or the relative attribute over a computed operand) costs 1 and each
// qualifier on it (a field, an index, a presence test) 1; a list literal costs
// common.ListCreateBaseCost; a call costs its overload's cost (1 by default, size-dependent for
// string and list functions, which call.go bounds from above with byte lengths); constants, the
// logical operators, the conditional and the comprehension itself cost nothing. Each bound below is
// at least the most any evaluation path of cel-go charges for the node.
const (
	costIdent     = 1
	costQualifier = 1  // a field, index or presence test on an attribute
	costRelative  = 1  // the relative attribute cel-go builds over an operand that is not an attribute
	costTestOnly  = 1  // has(): the presence test on top of the qualifier
	costList      = 10 // common.ListCreateBaseCost
	costCall      = 1  // the default call cost; size-dependent costs are added on top
	costFold      = 0
)

// isAttribute reports whether cel-go plans e as an attribute (a variable with fields and indexes),
// whose qualifiers cost 1 each, rather than as a computed operand.
func isAttribute(e celast.Expr) bool {
	switch e.Kind() {
	case celast.IdentKind:
		return true
	case celast.SelectKind:
		return !e.AsSelect().IsTestOnly() && isAttribute(e.AsSelect().Operand())
	case celast.CallKind:
		call := e.AsCall()
		return call.FunctionName() == "_[_]" && len(call.Args()) == 2 && isAttribute(call.Args()[0])
	}
	return false
}

// qualifierCost is the bound for a field or index on operand.
func qualifierCost(operand celast.Expr, testOnly bool) uint64 {
	cost := uint64(costQualifier)
	if !isAttribute(operand) {
		cost += costRelative
	}
	if testOnly {
		cost += costTestOnly
	}
	return cost
}

// Compile turns a checked rule into a native program for values of the structural schema s (the
// schema pkg/validate gives the CEL value adaptor for `self`: at a resource root that is
// model.WithTypeAndObjectMeta(schema)). ok is false when the rule uses anything outside the supported
// subset: then evaluate it with cel-go only.
func Compile(ast *cel.Ast, s *structuralschema.Structural) (p *Program, ok bool) {
	if ast == nil || s == nil || !ast.IsChecked() || !ast.OutputType().IsExactType(types.BoolType) {
		return nil, false
	}
	native := ast.NativeRep()
	c := &compiler{ast: native, scope: []scopedVar{{name: selfVar, slot: 0}}, nslots: 1}
	fn, ok := c.expr(native.Expr())
	if !ok {
		return nil, false
	}
	return &Program{root: newNode(s), eval: fn, nslots: c.nslots}, true
}

type scopedVar struct {
	name string
	slot int
}

type compiler struct {
	ast    *celast.AST
	scope  []scopedVar
	nslots int
}

func (c *compiler) push(name string) int {
	slot := c.nslots
	c.nslots++
	c.scope = append(c.scope, scopedVar{name: name, slot: slot})
	return slot
}

func (c *compiler) pop(n int) { c.scope = c.scope[:len(c.scope)-n] }

func (c *compiler) lookup(name string) (int, bool) {
	for i := len(c.scope) - 1; i >= 0; i-- {
		if c.scope[i].name == name {
			return c.scope[i].slot, true
		}
	}
	return 0, false
}

// slot returns the variable slot e reads when e is a variable in scope.
func (c *compiler) slot(e celast.Expr) (int, bool) {
	if e.Kind() != celast.IdentKind {
		return 0, false
	}
	return c.lookup(e.AsIdent())
}

func (c *compiler) expr(e celast.Expr) (evalFn, bool) {
	switch e.Kind() {
	case celast.LiteralKind:
		v, ok := literal(e.AsLiteral())
		if !ok {
			return nil, false
		}
		return func(*frame) val { return v }, true
	case celast.IdentKind:
		return c.ident(e)
	case celast.SelectKind:
		return c.sel(e)
	case celast.ListKind:
		return c.list(e)
	case celast.CallKind:
		return c.call(e)
	case celast.ComprehensionKind:
		return c.fold(e)
	}
	return nil, false // maps, structs, unspecified
}

func literal(v any) (val, bool) {
	switch v := v.(type) {
	case types.Bool:
		return boolVal(bool(v)), true
	case types.Int:
		return intVal(int64(v)), true
	case types.Double:
		return doubleVal(float64(v)), true
	case types.String:
		return strVal(string(v)), true
	case types.Null:
		return val{k: kNull}, true
	}
	return val{}, false
}

// typeIdents are the type names a rule may use as values (`type(self) == int`).
var typeIdents = map[string]bool{
	"int": true, "uint": true, "double": true, "string": true, "bool": true, "bytes": true,
	"list": true, "map": true, "null_type": true, "type": true,
}

func (c *compiler) ident(e celast.Expr) (evalFn, bool) {
	name := e.AsIdent()
	if slot, ok := c.lookup(name); ok {
		return func(fr *frame) val {
			fr.cost += costIdent
			return fr.slots[slot]
		}, true
	}
	if t := c.ast.GetType(e.ID()); typeIdents[name] && t != nil && t.Kind() == types.TypeKind {
		v := val{k: kType, ref: name}
		return func(fr *frame) val {
			fr.cost += costIdent
			return v
		}, true
	}
	return nil, false // oldSelf and anything else
}

func (c *compiler) sel(e celast.Expr) (evalFn, bool) {
	s := e.AsSelect()
	op, ok := c.expr(s.Operand())
	if !ok {
		return nil, false
	}
	field := s.FieldName()
	// Objects name their fields escaped (`__namespace__`); a name that does not unescape is absent.
	site := &fieldSite{field: field, testOnly: s.IsTestOnly()}
	cost := qualifierCost(s.Operand(), s.IsTestOnly())
	site.prop, site.propOK = apiservercel.Unescape(field)
	if s.Operand().Kind() == celast.IdentKind {
		if slot, ok := c.lookup(s.Operand().AsIdent()); ok {
			// A field of a variable: read the slot directly (the common `self.f` and `has(self.f)`).
			return func(fr *frame) val {
				fr.cost += costIdent + cost
				return site.sel(fr, &fr.slots[slot])
			}, true
		}
	}
	return func(fr *frame) val {
		o := op(fr)
		fr.cost += cost
		return site.sel(fr, &o)
	}, true
}

// fieldSite is one `o.field` (testOnly: `has(o.field)`) of a rule, with the schema node of the field
// cached for the object node it last saw.
type fieldSite struct {
	field, prop      string // prop is field unescaped, for objects
	propOK, testOnly bool
	cache            atomic.Pointer[fieldCache]
}

type fieldCache struct{ parent, child *node }

// sel selects as cel-go's attribute qualification over the adaptor's unstructuredMap does: objects
// look the unescaped name up among their properties and treat a null value as absent; maps look the
// name up as is.
func (site *fieldSite) sel(fr *frame, o *val) val {
	switch o.k {
	case kErr:
		return *o
	case kObject:
		raw, present := o.m()[site.prop]
		var child *node
		if site.propOK && present && raw != nil {
			if c := site.cache.Load(); c != nil && c.parent == o.nd {
				child = c.child
			} else {
				child = o.nd.prop(site.prop)
				site.cache.Store(&fieldCache{parent: o.nd, child: child})
			}
		}
		if child == nil {
			if site.testOnly {
				return falseVal
			}
			return errVal
		}
		return site.result(child.value(raw, fr))
	case kMap:
		raw, present := o.m()[site.field]
		if !present {
			if site.testOnly {
				return falseVal
			}
			return errVal
		}
		return site.result(o.nd.addlNode().value(raw, fr))
	}
	return fr.declineVal()
}

// result is the selected value, or for has() whether it is present without being an error.
func (site *fieldSite) result(v val) val {
	if site.testOnly && v.k != kErr {
		return trueVal
	}
	return v
}

func (c *compiler) list(e celast.Expr) (evalFn, bool) {
	l := e.AsList()
	if len(l.OptionalIndices()) > 0 {
		return nil, false
	}
	elems := make([]evalFn, 0, l.Size())
	constant := true
	for _, el := range l.Elements() {
		fn, ok := c.expr(el)
		if !ok {
			return nil, false
		}
		elems = append(elems, fn)
		constant = constant && el.Kind() == celast.LiteralKind
	}
	if constant {
		vs := make([]val, len(elems))
		for i, fn := range elems {
			vs[i] = fn(nil)
		}
		v := vlistVal(vs)
		return func(fr *frame) val {
			fr.cost += costList
			return v
		}, true
	}
	return func(fr *frame) val {
		fr.cost += costList
		vs := make([]val, len(elems))
		for i, fn := range elems {
			v := fn(fr)
			if v.k == kErr {
				return v
			}
			vs[i] = v
		}
		return vlistVal(vs)
	}, true
}

// fold evaluates a comprehension (every macro arrives as one) the way cel-go's evalFold does: the
// range once, then per element the loop condition (stopping when it is false) and the step, then the
// result with the accumulator in scope.
func (c *compiler) fold(e celast.Expr) (evalFn, bool) {
	comp := e.AsComprehension()
	rng, ok := c.expr(comp.IterRange())
	if !ok {
		return nil, false
	}
	initFn, ok := c.expr(comp.AccuInit())
	if !ok {
		return nil, false
	}
	accu := c.push(comp.AccuVar())
	it1 := c.push(comp.IterVar())
	it2, nvars := -1, 2
	if comp.HasIterVar2() {
		it2 = c.push(comp.IterVar2())
		nvars++
	}
	cond, ok1 := c.expr(comp.LoopCondition())
	step, ok2 := c.expr(comp.LoopStep())
	c.pop(nvars - 1)
	result, ok3 := c.expr(comp.Result())
	c.pop(1)
	if !ok1 || !ok2 || !ok3 {
		return nil, false
	}
	// next runs one iteration and reports whether to go on.
	next := func(fr *frame, v1, v2 val) bool {
		fr.slots[it1] = v1
		if it2 >= 0 {
			fr.slots[it2] = v2
		}
		if cv := cond(fr); cv.isFalse() {
			return false
		}
		fr.slots[accu] = step(fr)
		// Past cel-go's per-call limit the answer is "don't know" anyway: stop a long loop early.
		return !fr.decline && fr.cost <= celconfig.PerCallLimit
	}
	return func(fr *frame) val {
		fr.cost += costFold
		r := rng(fr)
		if r.k == kErr {
			return r
		}
		fr.slots[accu] = initFn(fr)
		switch r.k {
		case kList, kVList:
			n := r.listLen()
			for i := 0; i < n; i++ {
				el := r.listAt(i, fr)
				var goOn bool
				if it2 >= 0 {
					goOn = next(fr, intVal(int64(i)), el)
				} else {
					goOn = next(fr, el, errVal)
				}
				if !goOn {
					if fr.cost > celconfig.PerCallLimit {
						return fr.declineVal()
					}
					break
				}
			}
		case kMap:
			// Map order is random in cel-go too: a loop that stops early could have cost cel-go more
			// in another order (more steps before the stop), so only loops that run the step on every
			// entry are answered.
			for k, raw := range r.m() {
				var v2 val
				if it2 >= 0 {
					v2 = r.nd.addlNode().value(raw, fr)
				}
				if !next(fr, strVal(k), v2) {
					return fr.declineVal()
				}
			}
		default:
			return fr.declineVal()
		}
		if fr.decline {
			return errVal
		}
		return result(fr)
	}, true
}
