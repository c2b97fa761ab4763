package celnative

import (
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	celast "github.com/google/cel-go/common/ast"
)

// call compiles a function call. Every function here is strict (an error argument is the result)
// except the logical operators, which follow CEL's commutative error absorption.
func (c *compiler) call(e celast.Expr) (evalFn, bool) {
	call := e.AsCall()
	fnName := call.FunctionName()
	ids := c.ast.GetOverloadIDs(e.ID())
	var argExprs []celast.Expr
	if call.IsMemberFunction() {
		argExprs = append(argExprs, call.Target())
	}
	argExprs = append(argExprs, call.Args()...)
	args := make([]evalFn, len(argExprs))
	for i, a := range argExprs {
		fn, ok := c.expr(a)
		if !ok {
			return nil, false
		}
		args[i] = fn
	}
	has := func(id string) bool { return slices.Contains(ids, id) }

	switch {
	case (fnName == "_&&_" || fnName == "_||_") && len(args) == 2:
		or := fnName == "_||_"
		if slot, ok := c.slot(argExprs[0]); ok {
			// The loop step of all() and exists(): `@result && pred`, reading the accumulator directly.
			rhs, decisive := args[1], decisiveOf(or)
			return func(fr *frame) val {
				fr.cost += costIdent
				l := fr.slots[slot]
				if l.k == kBool && l.i == decisive {
					return l
				}
				return logicalRight(fr, l, rhs(fr), decisive)
			}, true
		}
		return logical(args[0], args[1], or), true
	case fnName == "_?_:_" && len(args) == 3:
		cond, yes, no := args[0], args[1], args[2]
		return func(fr *frame) val {
			switch cv := cond(fr); {
			case cv.isTrue():
				return yes(fr)
			case cv.isFalse():
				return no(fr)
			case cv.k == kErr:
				return cv
			}
			return fr.declineVal()
		}, true
	case fnName == "!_" && len(args) == 1 && has("logical_not"):
		arg := args[0]
		return func(fr *frame) val {
			fr.cost += costCall
			switch v := arg(fr); v.k {
			case kBool:
				return boolVal(v.i == 0)
			case kErr:
				return v
			}
			return fr.declineVal()
		}, true
	case fnName == "@not_strictly_false" && len(args) == 1:
		if slot, ok := c.slot(argExprs[0]); ok {
			// The loop condition of all() and exists(): read the accumulator directly.
			return func(fr *frame) val {
				fr.cost += costCall + costIdent
				if v := fr.slots[slot]; v.k == kBool {
					return v
				} else if v.k == kErr {
					return trueVal
				}
				return fr.declineVal()
			}, true
		}
		return unary(args[0], nil), true
	case (fnName == "_==_" || fnName == "_!=_") && len(args) == 2:
		negate := fnName == "_!=_"
		if lit, ok := stringLiteral(argExprs[1]); ok {
			return eqString(args[0], lit, negate), true
		}
		lhs, rhs := args[0], args[1]
		return func(fr *frame) val {
			fr.cost += costCall
			a := lhs(fr)
			b := rhs(fr)
			fr.cost += equalityCost(a, b)
			if a.k == b.k && (a.k == kBool || a.k == kInt) {
				return boolVal((a.i == b.i) != negate)
			}
			r := equal(a, b, fr)
			if negate && r.k == kBool {
				return boolVal(r.i == 0)
			}
			return r
		}, true
	case fnName == "_<_" || fnName == "_<=_" || fnName == "_>_" || fnName == "_>=_":
		return c.ordering(fnName, ids, args)
	case fnName == "_+_" || fnName == "_-_" || fnName == "_*_" || fnName == "_/_" || fnName == "_%_":
		return c.arithmetic(fnName, ids, args)
	case fnName == "-_" && len(args) == 1:
		negInt, negDouble := has("negate_int64"), has("negate_double")
		return unary(args[0], func(fr *frame, v val) val {
			switch {
			case v.k == kInt && negInt:
				if v.i == math.MinInt64 {
					return errVal
				}
				return intVal(-v.i)
			case v.k == kDouble && negDouble:
				return doubleVal(-v.f())
			}
			return fr.declineVal()
		}), true
	case fnName == "_[_]" && len(args) == 2:
		cost := qualifierCost(argExprs[0], false)
		if argExprs[1].Kind() != celast.LiteralKind {
			cost += costRelative // a computed index is an attribute qualifier of its own
		}
		return c.index(ids, args, cost)
	case fnName == "@in" && len(args) == 2:
		return c.in(ids, args)
	case fnName == "size" && len(args) == 1:
		str := has("size_string") || has("string_size")
		list := has("size_list") || has("list_size")
		mp := has("size_map") || has("map_size")
		return unary(args[0], func(fr *frame, v val) val {
			switch {
			case v.k == kString && str:
				return intVal(runeCount(v.str()))
			case v.isList() && list:
				return intVal(int64(v.listLen()))
			case v.k == kMap && mp:
				return intVal(int64(len(v.m())))
			}
			return fr.declineVal()
		}), true
	case fnName == "contains" && len(args) == 2 && has("contains_string"):
		return strings2(args[0], args[1], func(a, b val) uint64 { return (a.size()/10 + 1) * (b.size()/10 + 1) }, func(fr *frame, s, sub string) val {
			return boolVal(strings.Contains(s, sub))
		}), true
	case fnName == "startsWith" && len(args) == 2 && has("starts_with_string"):
		return strings2(args[0], args[1], func(_, b val) uint64 { return b.size()/10 + 1 }, func(fr *frame, s, prefix string) val {
			return boolVal(strings.HasPrefix(s, prefix))
		}), true
	case fnName == "endsWith" && len(args) == 2 && has("ends_with_string"):
		return strings2(args[0], args[1], func(_, b val) uint64 { return b.size()/10 + 1 }, func(fr *frame, s, suffix string) val {
			return boolVal(strings.HasSuffix(s, suffix))
		}), true
	case fnName == "matches" && len(args) == 2 && (has("matches_string") || has("matches")):
		return c.matches(argExprs[1], args)
	case fnName == "split" && len(args) == 2 && has("string_split_string"):
		return strings2(args[0], args[1], func(a, _ val) uint64 { return a.size()/5 + 1 }, func(fr *frame, s, sep string) val {
			return stringList(strings.Split(s, sep))
		}), true
	case fnName == "split" && len(args) == 3 && has("string_split_string_int"):
		return func(fr *frame) val {
			s, sep, n := args[0](fr), args[1](fr), args[2](fr)
			fr.cost += costCall + s.size()/5 + 1
			if v, bad := firstErr(s, sep, n); bad {
				return v
			}
			if s.k != kString || sep.k != kString || n.k != kInt || n.i > math.MaxInt32 || n.i < math.MinInt32 {
				return fr.declineVal()
			}
			return stringList(strings.SplitN(s.str(), sep.str(), int(n.i)))
		}, true
	case fnName == "duration" && len(args) == 1 && has("string_to_duration"):
		// cel-go converts with time.ParseDuration; a string it cannot parse is an error.
		return unary(args[0], func(fr *frame, v val) val {
			if v.k != kString {
				return fr.declineVal()
			}
			d, err := time.ParseDuration(v.str())
			if err != nil {
				return errVal
			}
			return val{k: kDuration, i: int64(d)}
		}), true
	case fnName == "type" && len(args) == 1:
		return unary(args[0], func(fr *frame, v val) val {
			if !v.isScalar() && !v.isList() {
				return fr.declineVal()
			}
			return val{k: kType, ref: v.typeName()}
		}), true
	}
	return nil, false
}

// logical is `&&` (or=false) or `||` (or=true): the left operand first, the right one unless the left
// decides, an error only when no operand decides.
func logical(lhs, rhs evalFn, or bool) evalFn {
	decisive := decisiveOf(or)
	return func(fr *frame) val {
		l := lhs(fr)
		if l.k == kBool && l.i == decisive {
			return l
		}
		return logicalRight(fr, l, rhs(fr), decisive)
	}
}

// decisiveOf is the operand value that decides `&&` (0, false) or `||` (1, true).
func decisiveOf(or bool) int64 {
	if or {
		return 1
	}
	return 0
}

// logicalRight is the result of `l op r` once l did not decide.
func logicalRight(fr *frame, l, r val, decisive int64) val {
	switch {
	case r.k == kBool && (r.i == decisive || l.k == kBool):
		return r
	case l.k == kErr:
		return l
	case r.k == kErr:
		return r
	}
	return fr.declineVal()
}

// unary is a strict one-argument function; a nil f is @not_strictly_false.
func unary(arg evalFn, f func(*frame, val) val) evalFn {
	if f == nil {
		return func(fr *frame) val {
			fr.cost += costCall
			v := arg(fr)
			if v.k == kBool {
				return v
			}
			if v.k == kErr {
				return trueVal
			}
			return fr.declineVal()
		}
	}
	return func(fr *frame) val {
		fr.cost += costCall
		v := arg(fr)
		if v.k == kErr {
			return v
		}
		return f(fr, v)
	}
}

// binary is a strict two-argument function. cost bounds the overload's size-dependent cost, which
// cel-go charges from the argument values even when one is an error (an error's size is 1).
func binary(lhs, rhs evalFn, cost func(a, b val) uint64, f func(*frame, val, val) val) evalFn {
	return func(fr *frame) val {
		fr.cost += costCall
		a := lhs(fr)
		b := rhs(fr)
		if cost != nil {
			fr.cost += cost(a, b)
		}
		if a.k == kErr {
			return a
		}
		if b.k == kErr {
			return b
		}
		return f(fr, a, b)
	}
}

func strings2(lhs, rhs evalFn, cost func(a, b val) uint64, f func(*frame, string, string) val) evalFn {
	return binary(lhs, rhs, cost, func(fr *frame, a, b val) val {
		if a.k != kString || b.k != kString {
			return fr.declineVal()
		}
		return f(fr, a.str(), b.str())
	})
}

func firstErr(vs ...val) (val, bool) {
	for _, v := range vs {
		if v.k == kErr {
			return v, true
		}
	}
	return val{}, false
}

// equalityCost bounds the cost of equality and ordering: ceil(min(size)*0.1).
func equalityCost(a, b val) uint64 { return min(a.size(), b.size())/10 + 1 }

func stringList(parts []string) val {
	vs := make([]val, len(parts))
	for i, p := range parts {
		vs[i] = strVal(p)
	}
	return vlistVal(vs)
}

func (c *compiler) index(ids []string, args []evalFn, cost uint64) (evalFn, bool) {
	listOK, mapOK := slices.Contains(ids, "index_list"), slices.Contains(ids, "index_map")
	return func(fr *frame) val {
		fr.cost += cost
		o := args[0](fr)
		key := args[1](fr)
		if o.k == kErr {
			return o
		}
		if key.k == kErr {
			return key
		}
		switch {
		case o.isList() && key.k == kInt && listOK:
			if key.i < 0 || key.i >= int64(o.listLen()) {
				return errVal
			}
			return o.listAt(int(key.i), fr)
		case o.k == kMap && key.k == kString && mapOK:
			raw, ok := o.m()[key.str()]
			if !ok {
				return errVal
			}
			return o.nd.addlNode().value(raw, fr)
		}
		return fr.declineVal()
	}, true
}

// in is `x in list` (any element equal, else an error met, else false) or `key in map`.
func (c *compiler) in(ids []string, args []evalFn) (evalFn, bool) {
	listOK, mapOK := slices.Contains(ids, "in_list"), slices.Contains(ids, "in_map")
	cost := func(_, coll val) uint64 { return coll.size() } // in_list; 1 for in_map
	return binary(args[0], args[1], cost, func(fr *frame, x, coll val) val {
		switch {
		case coll.k == kVList && x.k == kString && listOK:
			// `x in ['a', 'b']`: strings equal only strings; other scalars are false, and a
			// composite element is left to the generic path.
			for _, e := range coll.vs() {
				switch e.k {
				case kString:
					if e.str() == x.str() {
						return trueVal
					}
				case kNull, kBool, kInt, kDouble, kType, kDuration:
				default:
					return fr.declineVal()
				}
			}
			return falseVal
		case coll.isList() && listOK:
			n := coll.listLen()
			var sawErr bool
			for i := 0; i < n; i++ {
				eq := equal(coll.listAt(i, fr), x, fr)
				if fr.decline {
					return errVal
				}
				if eq.isTrue() {
					return trueVal
				}
				if eq.k != kBool {
					sawErr = true
				}
			}
			if sawErr {
				return errVal
			}
			return falseVal
		case coll.k == kMap && mapOK:
			if x.k != kString {
				return fr.declineVal()
			}
			raw, ok := coll.m()[x.str()]
			if !ok {
				return falseVal
			}
			if v := coll.nd.addlNode().value(raw, fr); v.k == kErr {
				return v
			}
			return trueVal
		}
		return fr.declineVal()
	}), true
}

// matches is RE2 matching (Go's regexp, as cel-go uses). Only constant patterns are compiled, once;
// an invalid pattern is an error in cel-go, so the rule is left to it.
func (c *compiler) matches(pattern celast.Expr, args []evalFn) (evalFn, bool) {
	if pattern.Kind() != celast.LiteralKind {
		return nil, false
	}
	lit, ok := literal(pattern.AsLiteral())
	if !ok || lit.k != kString {
		return nil, false
	}
	re, err := regexp.Compile(lit.str())
	if err != nil {
		return nil, false
	}
	regexCost := uint64(len(lit.str()))/4 + 1
	cost := func(s, _ val) uint64 { return ((s.size()+1)/10 + 1) * regexCost }
	return strings2(args[0], args[1], cost, func(fr *frame, s, _ string) val {
		return boolVal(re.MatchString(s))
	}), true
}

func stringLiteral(e celast.Expr) (string, bool) {
	if e.Kind() != celast.LiteralKind {
		return "", false
	}
	v, ok := literal(e.AsLiteral())
	return v.str(), ok && v.k == kString
}

// eqString is `x == 'lit'` (or !=): the common case of equality, without the generic dispatch.
func eqString(arg evalFn, lit string, negate bool) evalFn {
	litCost := uint64(len(lit))/10 + 1
	return func(fr *frame) val {
		fr.cost += costCall + litCost
		v := arg(fr)
		switch v.k {
		case kString:
			return boolVal((v.str() == lit) != negate)
		case kErr:
			return v
		case kNull, kBool, kInt, kDouble, kType:
			return boolVal(negate)
		}
		return fr.declineVal()
	}
}
