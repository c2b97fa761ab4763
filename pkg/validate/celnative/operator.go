package celnative

import (
	"math"
	"slices"
)

// ordering is `<`, `<=`, `>` and `>=` between two values of one type (cel-go's Compare), with the
// overloads the checker chose; integers take a fast path.
func (c *compiler) ordering(fnName string, ids []string, args []evalFn) (evalFn, bool) {
	if len(args) != 2 {
		return nil, false
	}
	prefix := map[string]string{"_<_": "less_", "_<=_": "less_equals_", "_>_": "greater_", "_>=_": "greater_equals_"}[fnName]
	var allowed [kDuration + 1]bool
	for k, suffix := range map[kind]string{kInt: "int64", kDouble: "double", kString: "string", kBool: "bool", kDuration: "duration"} {
		allowed[k] = slices.Contains(ids, prefix+suffix)
	}
	// holds reports whether a comparison result cmp (-1, 0, 1) satisfies the operator.
	var holds func(cmp int) bool
	switch fnName {
	case "_<_":
		holds = func(cmp int) bool { return cmp < 0 }
	case "_<=_":
		holds = func(cmp int) bool { return cmp <= 0 }
	case "_>_":
		holds = func(cmp int) bool { return cmp > 0 }
	default:
		holds = func(cmp int) bool { return cmp >= 0 }
	}
	lhs, rhs := args[0], args[1]
	return func(fr *frame) val {
		fr.cost += costCall
		a := lhs(fr)
		b := rhs(fr)
		fr.cost += equalityCost(a, b)
		if a.k == kInt && b.k == kInt && allowed[kInt] {
			return boolVal(holds(cmpInt(a.i, b.i)))
		}
		if a.k == kErr {
			return a
		}
		if b.k == kErr {
			return b
		}
		if a.k != b.k || int(a.k) >= len(allowed) || !allowed[a.k] {
			return fr.declineVal()
		}
		cmp, status := compare(a, b, fr)
		if !status.isTrue() {
			return status
		}
		return boolVal(holds(cmp))
	}, true
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// maxBuiltList bounds the lists a rule builds by concatenation (the accumulators of filter() and
// map()): each concatenation copies, where cel-go appends in place, so longer ones are left to cel-go.
const maxBuiltList = 256

// arithOp is an arithmetic operator, resolved at compile time.
type arithOp uint8

const (
	opAdd arithOp = iota
	opSub
	opMul
	opDiv
	opMod
)

func (c *compiler) arithmetic(fnName string, ids []string, args []evalFn) (evalFn, bool) {
	if len(args) != 2 {
		return nil, false
	}
	op := map[string]arithOp{"_+_": opAdd, "_-_": opSub, "_*_": opMul, "_/_": opDiv, "_%_": opMod}[fnName]
	prefix := map[string]string{"_+_": "add_", "_-_": "subtract_", "_*_": "multiply_", "_/_": "divide_", "_%_": "modulo_"}[fnName]
	intOK, doubleOK := slices.Contains(ids, prefix+"int64"), slices.Contains(ids, prefix+"double")
	stringOK, listOK := op == opAdd && slices.Contains(ids, "add_string"), op == opAdd && slices.Contains(ids, "add_list")
	lhs, rhs := args[0], args[1]
	return func(fr *frame) val {
		fr.cost += costCall
		a := lhs(fr)
		b := rhs(fr)
		fr.cost += (a.size()+b.size())/10 + 1 // add_string's cost bounds every other overload's 1
		switch {
		case a.k == kInt && b.k == kInt && intOK:
			return intArith(op, a.i, b.i)
		case a.k == kErr:
			return a
		case b.k == kErr:
			return b
		case a.k == kDouble && b.k == kDouble && doubleOK:
			switch op {
			case opAdd:
				return doubleVal(a.f() + b.f())
			case opSub:
				return doubleVal(a.f() - b.f())
			case opMul:
				return doubleVal(a.f() * b.f())
			case opDiv:
				return doubleVal(a.f() / b.f())
			}
		case a.k == kString && b.k == kString && stringOK:
			return strVal(a.str() + b.str())
		case listOK && a.k == kVList && b.k == kVList:
			avs, bvs := a.vs(), b.vs()
			if len(avs)+len(bvs) > maxBuiltList {
				return fr.declineVal() // concatenation copies: keep filter() and map() linear enough
			}
			vs := make([]val, 0, len(avs)+len(bvs))
			return vlistVal(append(append(vs, avs...), bvs...))
		}
		return fr.declineVal()
	}, true
}

// intArith is 64-bit integer arithmetic with cel-go's overflow, division and modulus errors.
func intArith(op arithOp, x, y int64) val {
	var r int64
	switch op {
	case opAdd:
		r = x + y
		if (y > 0 && r < x) || (y < 0 && r > x) {
			return errVal
		}
	case opSub:
		r = x - y
		if (y > 0 && r > x) || (y < 0 && r < x) {
			return errVal
		}
	case opMul:
		if x != 0 && y != 0 {
			if (x == -1 && y == math.MinInt64) || (y == -1 && x == math.MinInt64) {
				return errVal
			}
			r = x * y
			if r/y != x {
				return errVal
			}
		}
	case opDiv, opMod:
		if y == 0 || (x == math.MinInt64 && y == -1) {
			return errVal
		}
		if op == opDiv {
			r = x / y
		} else {
			r = x % y
		}
	}
	return intVal(r)
}
