package celnative

import (
	"sync"

	celconfig "k8s.io/apiserver/pkg/apis/cel"
)

// evalFn evaluates one expression of a rule, adding an upper bound of its cel-go cost to the frame.
type evalFn func(fr *frame) val

// frame is the state of one evaluation: variable slots (self is slot 0), the cost bound so far, and
// whether something outside the modelled subset was met.
type frame struct {
	slots   []val
	cost    uint64
	decline bool
}

// declineVal marks the evaluation as "don't know" and returns an error value so that evaluation
// can unwind; the frame's flag wins over any value computed later.
func (fr *frame) declineVal() val {
	fr.decline = true
	return errVal
}

// Program is a CRD rule compiled to Go closures. It is safe for concurrent use.
type Program struct {
	root   *node
	eval   evalFn
	nslots int
	frames sync.Pool
}

// Eval reports whether the rule is true on self (a decoded JSON value: map[string]any, []any, string,
// int64, float64, bool or nil), and an upper bound of the runtime cost cel-go's tracker would report for
// it. isTrue=false means "don't know": evaluate the rule with cel-go.
func (p *Program) Eval(self any) (isTrue bool, costBound uint64) {
	fr, _ := p.frames.Get().(*frame)
	if fr == nil {
		fr = &frame{slots: make([]val, p.nslots)}
	}
	fr.cost, fr.decline = 0, false
	fr.slots[0] = p.root.value(self, fr)
	v := p.eval(fr)
	isTrue = !fr.decline && v.isTrue() && fr.cost <= celconfig.PerCallLimit
	costBound = fr.cost
	clear(fr.slots)
	p.frames.Put(fr)
	if !isTrue {
		return false, 0
	}
	return true, costBound
}
