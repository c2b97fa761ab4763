// Package celnative evaluates the CEL rules of CRDs (x-kubernetes-validations) natively, as Go
// closures over decoded JSON values, for the common case where a rule holds; anything else is
// "don't know", and the caller asks cel-go as kube-apiserver does.
package celnative

// How celnative answers
//
// A Program only ever
// answers "this rule is true on this value, and cel-go would have charged at most this cost";
// anything else (false, an error, a value shape or function it does not model) is "don't know",
// and the caller evaluates the rule with cel-go as kube-apiserver does, which produces the API
// server's messages, costs and errors.
//
// Wiring, for a schema node with rules (declType and the adaptor's self schema as
// pkg/validate/schema computes them):
//
//	env, err := celnative.Env(declType)
//	ast, iss := env.Compile(rule.Rule)          // once per rule, next to apiextensions' Compile
//	p, ok := celnative.Compile(ast, selfSchema) // ok=false: always use cel-go for this rule
//	...
//	if ok {
//		if isTrue, cost := p.Eval(obj); isTrue {
//			remaining -= int64(cost) // an upper bound of cel-go's actual cost
//			continue
//		}
//	}
//	// evaluate with the cel-go program as before
//
// What is modelled: null, bool, int, double, string and duration values; objects with properties
// (escaped field names, null fields absent), maps with additionalProperties, lists (JSON and built),
// x-kubernetes-int-or-string, embedded resources; the logical operators with CEL's error absorption,
// equality and ordering between values of one type (numbers of mixed type are declined), integer
// arithmetic with overflow errors, indexing, `in`, size, contains, startsWith, endsWith, matches
// (constant RE2 patterns), split, type() with the basic type names, duration(string), and every
// comprehension (so every macro, including the two-variable ones). Everything else (string formats
// other than plain strings, x-kubernetes-preserve-unknown-fields values, list and object equality,
// quantity and the other Kubernetes libraries, oldSelf) is declined, at compile time or when met.
//
// AdaptorSchema is the schema pkg/validate/schema gives cel-go's value adaptor for the rules a Program
// does not answer (the benchmarks here use the same one as their baseline).
