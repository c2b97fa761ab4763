package schema

import (
	"fmt"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	apivalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// crdVersion is one served version of a CRD, compiled on first use.
type CRDVersion struct {
	Source     string // where the CRD came from (embedded file, CRD dir file, input file)
	Namespaced bool
	Props      *apiextv1.JSONSchemaProps
	Raw        map[string]any // the decoded openAPIV3Schema, converted to props on first use (embedded CRDs)
	// Embedded marks gwctl's own schemas: generated, and structural by test
	// (TestEmbeddedSchemasAreStructural), so Compile does not check that again on every run.
	Embedded   bool
	Version    string // the version's name, for embedded schemas (celchecked.bin's keys)
	decodeOnce sync.Once
	decodeErr  error

	once       sync.Once
	Structural *structuralschema.Structural
	walk       *structNode  // ss compiled for pruning, defaulting and list types
	OpenAPI    *spec.Schema // the schema kube-openapi validates against
	validator  apivalidation.SchemaCreateValidator
	cel        *celValidator
	err        error
}

// compile builds the structural schema and the OpenAPI and CEL validators, once.
func (c *CRDVersion) Compile() error {
	c.once.Do(func() {
		props, err := c.Schema()
		if err != nil {
			c.err = err
			return
		}
		var internal apiextensions.JSONSchemaProps
		if err := apiextv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(props, &internal, nil); err != nil {
			c.err = fmt.Errorf("%s: converting schema: %w", c.Source, err)
			return
		}
		ss, err := structuralschema.NewStructural(&internal)
		if err != nil {
			c.err = fmt.Errorf("%s: schema is not structural: %w", c.Source, err)
			return
		}
		if errs := c.validateStructural(ss); len(errs) > 0 {
			c.err = fmt.Errorf("%s: schema is not structural: %w", c.Source, errs.ToAggregate())
			return
		}
		_, openapi, err := apivalidation.NewSchemaValidator(&internal)
		if err != nil {
			c.err = fmt.Errorf("%s: building schema validator: %w", c.Source, err)
			return
		}
		c.Structural, c.walk, c.OpenAPI, c.validator = ss, compileResource(ss), openapi, schemaValidator{root: compileSchema(openapi)}
		c.cel = newCELValidator(ss, true, celconfig.PerCallLimit)
		if c.cel != nil && c.Embedded {
			c.cel.crd = c.checkedName()
		}
	})
	return c.err
}

// checkedName is the version's name in celchecked.bin.
func (c *CRDVersion) checkedName() string { return c.Source + "@" + c.Version }

// validateStructural is structuralschema.ValidateStructural, but for embedded schemas.
func (c *CRDVersion) validateStructural(ss *structuralschema.Structural) field.ErrorList {
	if c.Embedded {
		return nil
	}
	return structuralschema.ValidateStructural(nil, ss)
}

// schema is the version's openAPIV3Schema, decoded on first use when it came undecoded.
func (c *CRDVersion) Schema() (*apiextv1.JSONSchemaProps, error) {
	c.decodeOnce.Do(func() {
		if c.Props != nil {
			return
		}
		props, ok := decodeProps(c.Raw)
		if ok {
			c.Props, c.Raw = props, nil
			return
		}
		props = &apiextv1.JSONSchemaProps{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(c.Raw, props); err != nil {
			c.decodeErr = fmt.Errorf("%s: decoding the schema: %w", c.Source, err)
			return
		}
		c.Props, c.Raw = props, nil
	})
	return c.Props, c.decodeErr
}

// failedCRDVersion is a version whose schema could not be read: compile returns err.
func FailedCRDVersion(source string, err error) *CRDVersion {
	c := &CRDVersion{Source: source, err: err}
	c.once.Do(func() {})
	return c
}
