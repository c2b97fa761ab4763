package schema

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"

	celgo "github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	celref "github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	apiextcel "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/model"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	apiservercel "k8s.io/apiserver/pkg/cel"
	"k8s.io/apiserver/pkg/cel/common"
	"k8s.io/apiserver/pkg/cel/environment"

	"github.com/infergw/gwctl/pkg/fastpath"
	"github.com/infergw/gwctl/pkg/validate/celnative"
)

// celValidator evaluates a CRD's x-kubernetes-validations the way kube-apiserver does on
// create. It is apiextensions-apiserver's cel.Validator (pkg/apiserver/schema/cel/validation.go,
// Apache-2.0) with the same compiled programs, walk, cost budget and messages, minus what
// only updates need (oldSelf values, ratcheting). What differs is the value adaptor: the
// upstream one rebuilds a node's whole property map on every field access a rule makes, which
// was ~40 % of gwctl's validation time; celnative.AdaptorSchema builds each map once per schema node.
//
// Rules are compiled on first use, node by node: a CRD's schema has many nodes that a given
// set of manifests never reaches, and compiling is most of the cost of a small run.
type celValidator struct {
	schema         *structuralschema.Structural
	self           common.Schema // the adaptor for self (with apiVersion/kind/metadata at resource roots)
	selfSchema     *structuralschema.Structural
	rules          []apiextv1.ValidationRule
	declType       *apiservercel.DeclType
	perCallLimit   uint64
	once           sync.Once // cel-go's programs, compiled when a rule needs them
	nativeOnce     sync.Once
	compiled       []apiextcel.CompilationResult
	native         []*celnative.Program // per rule; nil where the rule is outside celnative's subset
	compileErr     error
	items          *celValidator
	additional     *celValidator
	properties     map[string]*celValidator
	allOf          []*celValidator
	isResourceRoot bool
	parent         *celValidator // nil at the root
	seg            string        // this node under its parent (nodePath)
	crd            string        // at the root: the embedded CRD version's name in celchecked.bin, or ""
}

// newCELValidator compiles every rule of s, or returns nil when s has none.
func newCELValidator(s *structuralschema.Structural, isResourceRoot bool, perCallLimit uint64) *celValidator {
	if !hasXValidations(s) {
		return nil
	}
	return buildCELValidator(s, s, isResourceRoot, model.SchemaDeclType(s, isResourceRoot), perCallLimit)
}

func buildCELValidator(validationSchema, nodeSchema *structuralschema.Structural, isResourceRoot bool, declType *apiservercel.DeclType, perCallLimit uint64) *celValidator {
	var elemType *apiservercel.DeclType
	if declType != nil {
		elemType = declType.ElemType
	}
	v := &celValidator{
		schema: nodeSchema, rules: validationSchema.XValidations, declType: declType, perCallLimit: perCallLimit,
		isResourceRoot: isResourceRoot,
	}
	if validationSchema.Items != nil && nodeSchema.Items != nil {
		v.items = buildCELValidator(validationSchema.Items, nodeSchema.Items, nodeSchema.Items.XEmbeddedResource, elemType, perCallLimit)
		v.items.under(v, "[]")
	}
	for k, validationProperty := range validationSchema.Properties {
		nodeProperty, ok := nodeSchema.Properties[k]
		if !ok {
			continue // value validations apply only on the structural spine
		}
		var fieldType *apiservercel.DeclType
		if escaped, ok := apiservercel.Escape(k); ok {
			if declType == nil {
				continue
			}
			f, ok := declType.Fields[escaped]
			if !ok {
				continue // fields of unknown type are left out of CEL validation
			}
			fieldType = f.Type
		} else {
			fieldType = model.SchemaDeclType(&nodeProperty, nodeProperty.XEmbeddedResource)
			if fieldType == nil {
				continue
			}
		}
		if p := buildCELValidator(&validationProperty, &nodeProperty, nodeProperty.XEmbeddedResource, fieldType, perCallLimit); p != nil {
			if v.properties == nil {
				v.properties = map[string]*celValidator{}
			}
			v.properties[k] = p
			p.under(v, "."+k)
		}
	}
	if validationSchema.AdditionalProperties != nil && validationSchema.AdditionalProperties.Structural != nil &&
		nodeSchema.AdditionalProperties != nil && nodeSchema.AdditionalProperties.Structural != nil {
		ap := nodeSchema.AdditionalProperties.Structural
		v.additional = buildCELValidator(validationSchema.AdditionalProperties.Structural, ap, ap.XEmbeddedResource, elemType, perCallLimit)
		v.additional.under(v, "{}")
	}
	if validationSchema.ValueValidation != nil {
		for i := range validationSchema.ValueValidation.AllOf {
			if a := buildCELValidator(nestedToStructural(&validationSchema.ValueValidation.AllOf[i]), nodeSchema, isResourceRoot, declType, perCallLimit); a != nil {
				v.allOf = append(v.allOf, a)
				a.under(v, "&"+strconv.Itoa(i))
			}
		}
	}
	if len(v.rules) == 0 && v.items == nil && v.additional == nil && len(v.properties) == 0 && len(v.allOf) == 0 {
		return nil
	}
	if len(v.rules) > 0 {
		self := nodeSchema
		if isResourceRoot {
			self = model.WithTypeAndObjectMeta(nodeSchema)
		}
		v.self, v.selfSchema = &model.Structural{Structural: self}, self
		if celAdaptor {
			v.self = celnative.NewAdaptorSchema(self)
		}
	}
	return v
}

// under records v as the node seg of parent (v may be nil).
func (v *celValidator) under(parent *celValidator, seg string) {
	if v != nil {
		v.parent, v.seg = parent, seg
	}
}

// Validate returns the errors of every rule that fails on obj, in kube-apiserver's order.
//
// Rules are first answered by celnative where it can say "true, at most this cost", and by
// cel-go's tracked programs otherwise. The budget then counts native costs by their upper
// bounds, so it is never more than kube-apiserver's; if it runs out, the object is validated
// again with cel-go alone, whose costs are exact.
func (v *celValidator) Validate(ctx context.Context, obj any) field.ErrorList {
	p := celPaths.Get().(*celPath)
	defer celPaths.Put(p)
	p.segs = p.segs[:0]
	errs, left := v.validate(ctx, p, obj, celconfig.RuntimeCELCostBudget, true)
	if left < 0 {
		p.segs = p.segs[:0]
		errs, _ = v.validate(ctx, p, obj, celconfig.RuntimeCELCostBudget, false)
	}
	return errs
}

func (v *celValidator) validate(ctx context.Context, p *celPath, obj any, budget int64, native bool) (field.ErrorList, int64) {
	if v == nil || obj == nil {
		return nil, budget
	}
	errs, budget := v.validateExpressions(ctx, p, obj, budget, native)
	if budget < 0 {
		return errs, budget
	}
	for _, a := range v.allOf {
		var more field.ErrorList
		more, budget = a.validate(ctx, p, obj, budget, native)
		errs = append(errs, more...)
		if budget < 0 {
			return errs, budget
		}
	}
	switch obj := obj.(type) {
	case []any:
		if v.items == nil {
			return errs, budget
		}
		for i := range obj {
			var more field.ErrorList
			p.push(celSeg{index: i, kind: 'i'})
			more, budget = v.items.validate(ctx, p, obj[i], budget, native)
			p.pop()
			errs = append(errs, more...)
			if budget < 0 {
				return errs, budget
			}
		}
	case map[string]any:
		if v.additional != nil {
			for k, val := range obj {
				var more field.ErrorList
				p.push(celSeg{name: k, kind: 'k'})
				more, budget = v.additional.validate(ctx, p, val, budget, native)
				p.pop()
				errs = append(errs, more...)
				if budget < 0 {
					return errs, budget
				}
			}
		}
		// The object's fields and the properties with rules are met in either's order (the
		// API server's is a map's too): whichever there are fewer of is iterated.
		visit := func(k string, sub *celValidator, val any) bool {
			var more field.ErrorList
			p.push(celSeg{name: k, kind: 'c'})
			more, budget = sub.validate(ctx, p, val, budget, native)
			p.pop()
			errs = append(errs, more...)
			return budget >= 0
		}
		if len(v.properties) <= len(obj) {
			for k, sub := range v.properties {
				if val, ok := obj[k]; ok && !visit(k, sub, val) {
					return errs, budget
				}
			}
		} else {
			for k, val := range obj {
				if sub, ok := v.properties[k]; ok && !visit(k, sub, val) {
					return errs, budget
				}
			}
		}
	}
	return errs, budget
}

// compile compiles the node's rules the way apiextensions-apiserver's NewValidator does.
func (v *celValidator) compile() {
	compilationSchema := *v.schema
	compilationSchema.XValidations = v.rules
	v.compiled, v.compileErr = apiextcel.Compile(&compilationSchema, v.declType, v.perCallLimit,
		environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()), apiextcel.StoredExpressionsEnvLoader())
}

// nativeCEL is false under GWCTL_NOFAST=cel: every rule is then evaluated by cel-go; celAdaptor
// under GWCTL_NOFAST=celadaptor: cel-go then reads values through the upstream adaptor, as
// kube-apiserver does.
var nativeCEL, celAdaptor = fastpath.Enabled(fastpath.CEL), fastpath.Enabled(fastpath.CELAdaptor)

// compileNative compiles the rules celnative can answer; the others stay nil. A rule compiles
// here in the same environment as in cel-go's programs, so one that fails here (an error, an
// empty rule) is left to them and reported from them. native stays nil when there is no
// environment at all.
func (v *celValidator) compileNative() {
	if !nativeCEL {
		return
	}
	if v.declType == nil {
		return // no environment: cel-go reports why
	}
	var env *celgo.Env // built for the first rule not checked at build time
	crd, node := v.root().crd, ""
	if crd != "" {
		node = v.nodePath()
	}
	v.native = make([]*celnative.Program, len(v.rules))
	for i, rule := range v.rules {
		var ast *celgo.Ast
		if crd != "" {
			ast = precompiled(checkedKey(crd, node, rule.Rule))
		}
		if ast == nil {
			if env == nil {
				var err error
				if env, err = celnative.Env(v.declType); err != nil {
					v.native = nil
					return
				}
			}
			var iss *celgo.Issues
			if ast, iss = env.Compile(rule.Rule); iss.Err() != nil {
				continue
			}
		}
		if p, ok := celnative.Compile(ast, v.selfSchema); ok {
			v.native[i] = p
		}
	}
}

func (v *celValidator) validateExpressions(ctx context.Context, p *celPath, obj any, budget int64, native bool) (errs field.ErrorList, remaining int64) {
	sts := v.schema
	remaining = budget
	if len(v.rules) == 0 {
		return nil, remaining
	}
	// Rules celnative answers need no cel-go program: those are compiled on first need.
	v.nativeOnce.Do(v.compileNative)
	if v.native == nil {
		v.once.Do(v.compile)
		if v.compileErr != nil {
			return field.ErrorList{field.Invalid(p.path(), sts.Type, fmt.Sprintf("rule compiler initialization error: %v", v.compileErr))}, remaining
		}
	}
	if remaining <= 0 {
		return field.ErrorList{field.Invalid(p.path(), sts.Type, "validation failed due to running out of cost budget, no further validation rules will be run")}, -1
	}
	var self celref.Val // built on first use: rules answered natively never need it
	var activation, optional *celActivation
	for i, rule := range v.rules {
		if native && v.native != nil && v.native[i] != nil {
			if isTrue, cost := v.native[i].Eval(obj); isTrue && cost <= uint64(remaining) {
				remaining -= int64(cost)
				continue
			}
		}
		v.once.Do(v.compile)
		if v.compileErr != nil {
			return append(errs, field.Invalid(p.path(), sts.Type, fmt.Sprintf("rule compiler initialization error: %v", v.compileErr))), remaining
		}
		compiled := v.compiled[i]
		if compiled.Error != nil {
			errs = append(errs, field.Invalid(p.path(), sts.Type, fmt.Sprintf("rule compile error: %v", compiled.Error)))
			continue
		}
		if compiled.Program == nil {
			continue
		}
		if self == nil {
			self = common.UnstructuredToVal(obj, v.self)
			activation = &celActivation{self: self}
		}
		act := activation
		optionalOldSelf := rule.OptionalOldSelf != nil && *rule.OptionalOldSelf
		if compiled.UsesOldSelf {
			// A create has no old object: transition rules are skipped unless oldSelf is optional
			// (CRDValidationRatcheting is GA and locked on).
			if !optionalOldSelf {
				continue
			}
			if optional == nil {
				optional = &celActivation{self: self, hasOldSelf: true, oldSelf: types.OptionalNone}
			}
			act = optional
		}
		result, details, err := compiled.Program.ContextEval(ctx, act)
		if details == nil {
			return append(errs, field.InternalError(p.path(), fmt.Errorf("runtime cost could not be calculated for validation rule: %v, no further validation rules will be run", ruleErrorString(rule)))), -1
		}
		cost := details.ActualCost()
		if cost == nil {
			return append(errs, field.Invalid(p.path(), sts.Type, fmt.Sprintf("runtime cost could not be calculated for validation rule: %v, no further validation rules will be run", ruleErrorString(rule)))), -1
		}
		if *cost > math.MaxInt64 || int64(*cost) > remaining {
			return append(errs, field.Invalid(p.path(), sts.Type, "validation failed due to running out of cost budget, no further validation rules will be run")), -1
		}
		remaining -= int64(*cost)
		if err != nil {
			switch msg := err.Error(); {
			case strings.HasPrefix(msg, "no such overload"):
				errs = append(errs, field.Invalid(p.path(), sts.Type, fmt.Sprintf("'%v': call arguments did not match a supported operator, function or macro signature for rule: %v", err, ruleErrorString(rule))))
			case strings.HasPrefix(msg, "operation cancelled: actual cost limit exceeded"):
				return append(errs, field.Invalid(p.path(), sts.Type, fmt.Sprintf("'%v': no further validation rules will be run due to call cost exceeds limit for rule: %v", err, ruleErrorString(rule)))), -1
			default:
				errs = append(errs, field.Invalid(p.path(), sts.Type, fmt.Sprintf("%v evaluating rule: %v", err, ruleErrorString(rule))))
			}
			continue
		}
		if result == types.True {
			continue
		}

		at := p.path()
		if compiled.NormalizedRuleFieldPath != "" {
			at = at.Child(compiled.NormalizedRuleFieldPath)
		}
		detail, ok := "", false
		if compiled.MessageExpression != nil {
			msg, left, msgErr := evalMessageExpression(ctx, compiled.MessageExpression, rule.MessageExpression, activation, remaining)
			switch {
			case msgErr == nil:
				detail, ok, remaining = msg, true, left
			case msgErr.Type == apiservercel.ErrorTypeInternal:
				return append(errs, field.InternalError(at, msgErr)), -1
			case msgErr.Type == apiservercel.ErrorTypeInvalid:
				return append(errs, field.Invalid(at, sts.Type, msgErr.Error())), -1
			default:
				remaining = left
			}
		}
		if !ok {
			detail = ruleMessageOrDefault(rule)
		}
		value := obj
		if sts.Type == "object" || sts.Type == "array" {
			value = field.OmitValueType{}
		}
		errs = append(errs, fieldErrorForReason(at, value, detail, rule.Reason))
	}
	return errs, remaining
}

// celPath is the field path of the node being validated, turned into a field.Path only when
// an error needs it. Paths are reused from object to object (celPaths).
type celPath struct{ segs []celSeg }

var celPaths = sync.Pool{New: func() any { return &celPath{segs: make([]celSeg, 0, 16)} }}

type celSeg struct {
	name  string
	index int
	kind  byte // 'c' child, 'k' map key, 'i' index
}

func (p *celPath) push(s celSeg) { p.segs = append(p.segs, s) }
func (p *celPath) pop()          { p.segs = p.segs[:len(p.segs)-1] }

func (p *celPath) path() *field.Path {
	var f *field.Path
	for _, s := range p.segs {
		switch s.kind {
		case 'c':
			f = f.Child(s.name)
		case 'k':
			f = f.Key(s.name)
		case 'i':
			f = f.Index(s.index)
		}
	}
	return f
}

type celActivation struct {
	self, oldSelf celref.Val
	hasOldSelf    bool
}

func (a *celActivation) ResolveName(name string) (any, bool) {
	switch name {
	case apiextcel.ScopedVarName:
		return a.self, true
	case apiextcel.OldScopedVarName:
		return a.oldSelf, a.hasOldSelf
	}
	return nil, false
}

func (a *celActivation) Parent() interpreter.Activation { return nil }

func evalMessageExpression(ctx context.Context, expr celgo.Program, src string, activation interpreter.Activation, remaining int64) (string, int64, *apiservercel.Error) {
	result, details, err := expr.ContextEval(ctx, activation)
	if details == nil || details.ActualCost() == nil {
		return "", -1, &apiservercel.Error{Type: apiservercel.ErrorTypeInternal, Detail: fmt.Sprintf("runtime cost could not be calculated for messageExpression: %q", src)}
	}
	cost := *details.ActualCost()
	if cost > math.MaxInt64 || int64(cost) > remaining {
		return "", -1, &apiservercel.Error{Type: apiservercel.ErrorTypeInvalid, Detail: "messageExpression evaluation failed due to running out of cost budget, no further validation rules will be run"}
	}
	left := remaining - int64(cost)
	if err != nil {
		if strings.HasPrefix(err.Error(), "operation cancelled: actual cost limit exceeded") {
			return "", -1, &apiservercel.Error{Type: apiservercel.ErrorTypeInvalid, Detail: fmt.Sprintf("no further validation rules will be run due to call cost exceeds limit for messageExpression: %q", src)}
		}
		return "", left, &apiservercel.Error{Detail: fmt.Sprintf("messageExpression evaluation failed due to: %v", err.Error())}
	}
	msg, ok := result.Value().(string)
	if !ok {
		return "", left, &apiservercel.Error{Detail: "messageExpression failed to convert to string"}
	}
	msg = strings.TrimSpace(msg)
	switch {
	case len(msg) > celconfig.MaxEvaluatedMessageExpressionSizeBytes:
		return "", left, &apiservercel.Error{Detail: fmt.Sprintf("messageExpression beyond allowable length of %d", celconfig.MaxEvaluatedMessageExpressionSizeBytes)}
	case newlines.MatchString(msg):
		return "", left, &apiservercel.Error{Detail: "messageExpression should not contain line breaks"}
	case msg == "":
		return "", left, &apiservercel.Error{Detail: "messageExpression should evaluate to a non-empty string"}
	}
	return msg, left, nil
}

var newlines = regexp.MustCompile(`[\n]+`)

func ruleMessageOrDefault(rule apiextv1.ValidationRule) string {
	if rule.Message == "" {
		return fmt.Sprintf("failed rule: %s", ruleErrorString(rule))
	}
	return strings.TrimSpace(rule.Message)
}

func ruleErrorString(rule apiextv1.ValidationRule) string {
	if rule.Message != "" {
		return strings.TrimSpace(rule.Message)
	}
	return strings.TrimSpace(rule.Rule)
}

func fieldErrorForReason(at *field.Path, value any, detail string, reason *apiextv1.FieldValueErrorReason) *field.Error {
	if reason == nil {
		return field.Invalid(at, value, detail)
	}
	switch *reason {
	case apiextv1.FieldValueForbidden:
		return field.Forbidden(at, detail)
	case apiextv1.FieldValueRequired:
		return field.Required(at, detail)
	case apiextv1.FieldValueDuplicate:
		return field.Duplicate(at, value)
	}
	return field.Invalid(at, value, detail)
}

func hasXValidations(s *structuralschema.Structural) bool {
	if s == nil {
		return false
	}
	if len(s.XValidations) > 0 || hasXValidations(s.Items) {
		return true
	}
	if s.AdditionalProperties != nil && hasXValidations(s.AdditionalProperties.Structural) {
		return true
	}
	for k := range s.Properties {
		p := s.Properties[k]
		if hasXValidations(&p) {
			return true
		}
	}
	return false
}

func nestedToStructural(nested *structuralschema.NestedValueValidation) *structuralschema.Structural {
	if nested == nil {
		return nil
	}
	out := &structuralschema.Structural{
		ValueValidation:      &nested.ValueValidation,
		ValidationExtensions: nested.ValidationExtensions,
		Generic:              nested.ForbiddenGenerics,
		Extensions:           nested.ForbiddenExtensions,
		Items:                nestedToStructural(nested.Items),
	}
	if len(nested.Properties) > 0 {
		out.Properties = make(map[string]structuralschema.Structural, len(nested.Properties))
		for k, v := range nested.Properties {
			out.Properties[k] = *nestedToStructural(&v)
		}
	}
	if nested.AdditionalProperties != nil {
		out.AdditionalProperties = &structuralschema.StructuralOrBool{Structural: nestedToStructural(nested.AdditionalProperties)}
	}
	return out
}
