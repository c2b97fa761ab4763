package celnative

import (
	"sync"

	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/model"
	"k8s.io/apiserver/pkg/cel/common"
)

// AdaptorSchema is model.Structural with the sub-schema accessors k8s.io/apiserver's CEL value
// adaptor (common.UnstructuredToVal) calls on every field access (Properties, Items,
// AdditionalProperties, WithTypeAndObjectMeta) built once, on first use, and shared by every
// evaluation: the upstream one rebuilds a node's property map on each access. It is what
// pkg/validate gives cel-go for the rules this package does not answer.
type AdaptorSchema struct {
	*model.Structural

	once  sync.Once
	props map[string]common.Schema
	items common.Schema
	addl  common.SchemaOrBool

	metaOnce sync.Once
	meta     common.Schema
}

// NewAdaptorSchema wraps s for common.UnstructuredToVal.
func NewAdaptorSchema(s *structuralschema.Structural) *AdaptorSchema {
	return &AdaptorSchema{Structural: &model.Structural{Structural: s}}
}

func (c *AdaptorSchema) build() {
	s := c.Structural.Structural
	if s.Properties != nil {
		c.props = make(map[string]common.Schema, len(s.Properties))
		for k := range s.Properties {
			p := s.Properties[k]
			c.props[k] = NewAdaptorSchema(&p)
		}
	}
	if s.Items != nil {
		c.items = NewAdaptorSchema(s.Items)
	}
	if s.AdditionalProperties != nil {
		sb := &adaptorSchemaOrBool{allows: s.AdditionalProperties.Bool}
		if s.AdditionalProperties.Structural != nil {
			sb.schema = NewAdaptorSchema(s.AdditionalProperties.Structural)
		}
		c.addl = sb
	}
}

func (c *AdaptorSchema) Properties() map[string]common.Schema {
	c.once.Do(c.build)
	return c.props
}

func (c *AdaptorSchema) Items() common.Schema {
	c.once.Do(c.build)
	return c.items
}

func (c *AdaptorSchema) AdditionalProperties() common.SchemaOrBool {
	c.once.Do(c.build)
	return c.addl
}

func (c *AdaptorSchema) WithTypeAndObjectMeta() common.Schema {
	c.metaOnce.Do(func() { c.meta = NewAdaptorSchema(model.WithTypeAndObjectMeta(c.Structural.Structural)) })
	return c.meta
}

type adaptorSchemaOrBool struct {
	schema common.Schema
	allows bool
}

func (b *adaptorSchemaOrBool) Schema() common.Schema {
	if b.schema == nil {
		return nil
	}
	return b.schema
}

func (b *adaptorSchemaOrBool) Allows() bool { return b.allows }
