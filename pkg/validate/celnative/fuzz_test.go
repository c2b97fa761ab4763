package celnative

import (
	"math"
	"sort"
	"strings"
	"sync"
	"testing"
)

var (
	fuzzOnce sync.Once
	fuzzDocs []document
)

// FuzzDifferential mutates fixture documents (drops fields, nulls, changes types, long and
// non-ASCII strings, big and negative numbers, duplicated and emptied lists) and checks every native
// "true" against cel-go, with the cost bound, on every node of the result.
func FuzzDifferential(f *testing.F) {
	f.Add(uint16(0), []byte{})
	f.Add(uint16(3), []byte{0, 1, 7, 2})
	f.Add(uint16(17), []byte{5, 3, 9, 8, 2, 11})
	f.Add(uint16(40), []byte{1, 0, 4, 4, 6, 10})
	f.Add(uint16(120), []byte{2, 2, 2, 2, 3, 3})
	st := loadSuite(f)
	fuzzOnce.Do(func() {
		for _, d := range loadDocuments(f, 200) {
			if cv, _ := st.prepare(d); cv != nil {
				fuzzDocs = append(fuzzDocs, d)
			}
		}
	})
	if len(fuzzDocs) == 0 {
		f.Fatal("no fixture documents")
	}
	f.Fuzz(func(t *testing.T, pick uint16, ops []byte) {
		d := fuzzDocs[int(pick)%len(fuzzDocs)]
		obj := deepCopy(d.obj).(map[string]any)
		for i := 0; i+1 < len(ops) && i < 64; i += 2 {
			mutate(obj, int(ops[i]), ops[i+1])
		}
		cv, v := st.prepare(document{name: d.name, obj: obj})
		if cv == nil {
			return
		}
		var tl tally
		cv.rules.visit(v, func(r *rule, v any) { check(t, r, v, d.name+" (mutated)", &tl) })
	})
}

// mutate changes the value at the n-th position of a depth-first walk of obj (sorted keys).
func mutate(obj map[string]any, n int, op byte) {
	type slot struct {
		get func() any
		set func(any)
		del func()
	}
	var slots []slot
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if k == "apiVersion" || k == "kind" {
					continue
				}
				slots = append(slots, slot{
					get: func() any { return v[k] },
					set: func(x any) { v[k] = x },
					del: func() { delete(v, k) },
				})
				walk(v[k])
			}
		case []any:
			for i := range v {
				slots = append(slots, slot{
					get: func() any { return v[i] },
					set: func(x any) { v[i] = x },
					del: func() { v[i] = nil },
				})
				walk(v[i])
			}
		}
	}
	walk(obj)
	if len(slots) == 0 {
		return
	}
	s := slots[n%len(slots)]
	switch op % 12 {
	case 0:
		s.del()
	case 1:
		s.set(nil)
	case 2:
		s.set(strings.Repeat("a/b.", 300))
	case 3:
		s.set(int64(math.MaxInt64))
	case 4:
		s.set(int64(math.MinInt64))
	case 5:
		s.set(1.5)
	case 6:
		s.set(true)
	case 7:
		s.set(map[string]any{})
	case 8:
		s.set([]any{})
	case 9:
		s.set("ünïcödé-ẞ")
	case 10:
		if l, ok := s.get().([]any); ok && len(l) > 0 {
			s.set(append(append([]any{}, l...), deepCopy(l[0])))
		} else {
			s.set(int64(-1))
		}
	case 11:
		if m, ok := s.get().(map[string]any); ok {
			s.set(map[string]any{"name": "x", "kind": "Service", "group": "", "port": int64(0), "extra": m})
		} else {
			s.set("")
		}
	}
}
