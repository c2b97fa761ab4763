package schema

import (
	_ "embed" // celchecked.bin
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"sync"

	celgo "github.com/google/cel-go/cel"
	exprpb "google.golang.org/genproto/googleapis/api/expr/v1alpha1"
	"google.golang.org/protobuf/proto"

	"github.com/infergw/gwctl/pkg/fastpath"
	"github.com/infergw/gwctl/pkg/validate/celnative"
)

// The rules of the embedded CRDs are checked when gwctl is built, not on every run: parsing a
// rule (cel-go's ANTLR parser), building its node's environment and type-checking it was most of
// what compiling a node's rules cost, and a run compiles every node it reaches. celchecked.bin
// holds each rule's checked expression, by CRD file, version, node and rule text;
// TestCheckedRulesAreCurrent (pkg/validate/registry) compiles every rule of every embedded CRD
// again, compares, and rewrites the file with -update. A rule not found there is compiled as
// before; cel-go's own programs (for rules celnative does not answer) are always compiled.
//
//go:embed celchecked.bin
var checkedRulesData []byte

var (
	checkedOnce sync.Once
	checked     map[string][]byte // key -> serialized exprpb.CheckedExpr
	fastChecked = fastpath.Enabled(fastpath.CELChecked)
)

func checkedRules() map[string][]byte {
	checkedOnce.Do(func() { checked, _ = DecodeCheckedRules(checkedRulesData) })
	return checked
}

// checkedKey names a rule of a node of an embedded CRD version.
func checkedKey(crd, node, rule string) string { return crd + "\x00" + node + "\x00" + rule }

// precompiled returns the checked rule for key, or nil.
func precompiled(key string) *celgo.Ast {
	if !fastChecked {
		return nil
	}
	b, ok := checkedRules()[key]
	if !ok {
		return nil
	}
	var pb exprpb.CheckedExpr
	if err := proto.Unmarshal(b, &pb); err != nil {
		return nil
	}
	return celgo.CheckedExprToAst(&pb)
}

// nodePath names v within its CRD version: .property, [] for items, {} for additional
// properties, &N for the N-th allOf branch.
func (v *celValidator) nodePath() string {
	var segs []string
	for n := v; n.parent != nil; n = n.parent {
		segs = append(segs, n.seg)
	}
	var b strings.Builder
	for i := len(segs) - 1; i >= 0; i-- {
		b.WriteString(segs[i])
	}
	return b.String()
}

func (v *celValidator) root() *celValidator {
	for v.parent != nil {
		v = v.parent
	}
	return v
}

// CheckRules compiles every rule of every node of c's schema, as a run compiles those it
// reaches, and returns the checked expressions by key (celchecked.bin's content for c).
// crd names c as the run does (CRDVersion.Source and version).
func CheckRules(c *CRDVersion) (map[string][]byte, error) {
	if err := c.Compile(); err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	var walk func(v *celValidator) error
	walk = func(v *celValidator) error {
		if v == nil {
			return nil
		}
		if len(v.rules) > 0 {
			env, err := celnative.Env(v.declType)
			if err != nil {
				return err
			}
			for _, rule := range v.rules {
				ast, iss := env.Compile(rule.Rule)
				if iss.Err() != nil {
					continue // compiled at run time, where the error is reported
				}
				pb, err := celgo.AstToCheckedExpr(ast)
				if err != nil {
					return err
				}
				b, err := proto.MarshalOptions{Deterministic: true}.Marshal(pb)
				if err != nil {
					return err
				}
				out[checkedKey(c.checkedName(), v.nodePath(), rule.Rule)] = b
			}
		}
		for _, w := range append([]*celValidator{v.items, v.additional}, v.allOf...) {
			if err := walk(w); err != nil {
				return err
			}
		}
		for _, w := range v.properties {
			if err := walk(w); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walk(c.cel)
}

// EncodeCheckedRules writes rules as celchecked.bin holds them: sorted by key, each key and
// value preceded by its length.
func EncodeCheckedRules(rules map[string][]byte) []byte {
	keys := make([]string, 0, len(rules))
	for k := range rules {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b []byte
	for _, k := range keys {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(rules[k])))
		b = append(b, rules[k]...)
	}
	return b
}

// DecodeCheckedRules reads EncodeCheckedRules' output; values alias data.
func DecodeCheckedRules(data []byte) (map[string][]byte, error) {
	out := map[string][]byte{}
	for len(data) > 0 {
		var kv [2][]byte
		for i := range kv {
			n, w := binary.Uvarint(data)
			if w <= 0 || uint64(len(data)-w) < n {
				return nil, fmt.Errorf("celchecked.bin: truncated")
			}
			kv[i], data = data[w:w+int(n)], data[w+int(n):]
		}
		out[string(kv[0])] = kv[1]
	}
	return out, nil
}
