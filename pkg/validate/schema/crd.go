package schema

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	apivalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metavalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/infergw/gwctl/pkg/finding"
	"github.com/infergw/gwctl/pkg/manifest"
)

// Rule ids of the schema stage.
const (
	RuleUnknownField  = "schema/unknown-field"
	RuleSchema        = "schema/invalid"
	RuleRequired      = "schema/required"
	RuleType          = "schema/type"
	RuleEnum          = "schema/enum"
	RuleDuplicate     = "schema/duplicate"
	RuleCEL           = "schema/cel"
	RuleCELSkipped    = "schema/cel-skipped"
	RuleMetadata      = "metadata/invalid"
	RuleMissingSchema = "schema/missing"
	RuleBadSchema     = "schema/compile"
	RuleDecode        = "schema/decode"
)

// fieldError is a field.Error with the stage that produced it.
type FieldError struct {
	Err   *field.Error
	Rule  string
	isCEL bool
}

// validateCR runs the API server's create-time pipeline for a custom resource and returns its
// errors in pipeline order: unknown fields, metadata, schema, list types, then CEL (skipped after
// a blocking error, as kube-apiserver does). It also returns the defaulted object.
func ValidateCR(ctx context.Context, c *CRDVersion, content map[string]any) ([]FieldError, map[string]any) {
	obj, unknown := c.walk.pruneCopy(content)
	var out []FieldError
	for _, p := range unknown {
		out = append(out, FieldError{Err: &field.Error{Type: field.ErrorTypeInvalid, Field: p, Detail: fmt.Sprintf("unknown field %q", p)}, Rule: RuleUnknownField})
	}
	meta, metaUnknown, err := objectMeta(obj)
	for _, p := range metaUnknown {
		out = append(out, FieldError{Err: &field.Error{Type: field.ErrorTypeInvalid, Field: p, Detail: fmt.Sprintf("unknown field %q", p)}, Rule: RuleUnknownField})
	}
	if err != nil {
		out = append(out, FieldError{Err: field.Invalid(field.NewPath("metadata"), nil, err.Error()), Rule: RuleMetadata})
	} else if meta != nil {
		m := *meta
		if c.Namespaced && m.Namespace == "" {
			m.Namespace = "default" // applied at apply time from the context
		}
		for _, e := range ValidateMeta(m, c.Namespaced, metavalidation.NameIsDNSSubdomain) {
			out = append(out, FieldError{Err: e, Rule: RuleMetadata})
		}
	} else {
		out = append(out, FieldError{Err: field.Required(field.NewPath("metadata"), ""), Rule: RuleMetadata})
	}

	c.walk.applyDefaults(obj)

	var schemaErrs field.ErrorList
	schemaErrs = append(schemaErrs, apivalidation.ValidateCustomResource(nil, obj, c.validator)...)
	schemaErrs = append(schemaErrs, c.walk.listErrors(nil, obj)...)
	for _, e := range schemaErrs {
		out = append(out, FieldError{Err: e, Rule: RuleFor(e)})
	}
	if c.cel != nil {
		if Blocking(schemaErrs) {
			out = append(out, FieldError{Err: field.Invalid(nil, nil, "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"), Rule: RuleCELSkipped})
		} else {
			for _, e := range c.cel.Validate(ctx, obj) {
				out = append(out, FieldError{Err: e, Rule: RuleCEL, isCEL: true})
			}
		}
	}
	return out, obj
}

// blocking mirrors kube-apiserver's hasBlockingErr: CEL is not run over such objects.
func Blocking(errs field.ErrorList) bool {
	for _, e := range errs {
		switch e.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong, field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return true
		}
	}
	return false
}

func RuleFor(e *field.Error) string {
	switch e.Type {
	case field.ErrorTypeRequired:
		return RuleRequired
	case field.ErrorTypeTypeInvalid:
		return RuleType
	case field.ErrorTypeNotSupported:
		return RuleEnum
	case field.ErrorTypeDuplicate:
		return RuleDuplicate
	}
	return RuleSchema
}

var fieldInDetail = regexp.MustCompile(`(?: in |^")([a-zA-Z][a-zA-Z0-9_.\[\]-]*)"?(?: must|$)`)

// toFinding places a field error on the object's source.
func ToFinding(o *manifest.Object, fe FieldError) finding.Finding {
	path := strings.TrimPrefix(fe.Err.Field, "<nil>")
	if path == "" {
		// kube-openapi's format checks name the field only in the message.
		if m := fieldInDetail.FindStringSubmatch(fe.Err.Detail); m != nil {
			path = m[1]
		}
	}
	msg := fe.Err.ErrorBody()
	sev := finding.Error
	switch fe.Rule {
	case RuleUnknownField:
		msg = fe.Err.Detail
	case RuleCELSkipped:
		msg, sev = fe.Err.Detail, finding.Info
	}
	return o.Finding(path, fe.Rule, sev, msg)
}
