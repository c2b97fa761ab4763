package validate

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
type fieldError struct {
	err   *field.Error
	rule  string
	isCEL bool
}

// validateCR runs the API server's create-time pipeline for a custom resource and returns its
// errors in pipeline order: unknown fields, metadata, schema, list types, then CEL (skipped after
// a blocking error, as kube-apiserver does). It also returns the defaulted object.
func validateCR(ctx context.Context, c *crdVersion, content map[string]any) ([]fieldError, map[string]any) {
	obj, unknown := c.walk.pruneCopy(content)
	var out []fieldError
	for _, p := range unknown {
		out = append(out, fieldError{err: &field.Error{Type: field.ErrorTypeInvalid, Field: p, Detail: fmt.Sprintf("unknown field %q", p)}, rule: RuleUnknownField})
	}
	meta, metaUnknown, err := objectMeta(obj)
	for _, p := range metaUnknown {
		out = append(out, fieldError{err: &field.Error{Type: field.ErrorTypeInvalid, Field: p, Detail: fmt.Sprintf("unknown field %q", p)}, rule: RuleUnknownField})
	}
	if err != nil {
		out = append(out, fieldError{err: field.Invalid(field.NewPath("metadata"), nil, err.Error()), rule: RuleMetadata})
	} else if meta != nil {
		m := *meta
		if c.namespaced && m.Namespace == "" {
			m.Namespace = "default" // applied at apply time from the context
		}
		for _, e := range validateMeta(m, c.namespaced, metavalidation.NameIsDNSSubdomain) {
			out = append(out, fieldError{err: e, rule: RuleMetadata})
		}
	} else {
		out = append(out, fieldError{err: field.Required(field.NewPath("metadata"), ""), rule: RuleMetadata})
	}

	c.walk.applyDefaults(obj)

	var schemaErrs field.ErrorList
	schemaErrs = append(schemaErrs, apivalidation.ValidateCustomResource(nil, obj, c.validator)...)
	schemaErrs = append(schemaErrs, c.walk.listErrors(nil, obj)...)
	for _, e := range schemaErrs {
		out = append(out, fieldError{err: e, rule: ruleFor(e)})
	}
	if c.cel != nil {
		if blocking(schemaErrs) {
			out = append(out, fieldError{err: field.Invalid(nil, nil, "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"), rule: RuleCELSkipped})
		} else {
			for _, e := range c.cel.Validate(ctx, obj) {
				out = append(out, fieldError{err: e, rule: RuleCEL, isCEL: true})
			}
		}
	}
	return out, obj
}

// blocking mirrors kube-apiserver's hasBlockingErr: CEL is not run over such objects.
func blocking(errs field.ErrorList) bool {
	for _, e := range errs {
		switch e.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong, field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return true
		}
	}
	return false
}

func ruleFor(e *field.Error) string {
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
func toFinding(o *manifest.Object, fe fieldError) finding.Finding {
	path := strings.TrimPrefix(fe.err.Field, "<nil>")
	if path == "" {
		// kube-openapi's format checks name the field only in the message.
		if m := fieldInDetail.FindStringSubmatch(fe.err.Detail); m != nil {
			path = m[1]
		}
	}
	msg := fe.err.ErrorBody()
	sev := finding.Error
	switch fe.rule {
	case RuleUnknownField:
		msg = fe.err.Detail
	case RuleCELSkipped:
		msg, sev = fe.err.Detail, finding.Info
	}
	return o.Finding(path, fe.rule, sev, msg)
}
