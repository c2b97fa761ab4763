package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/infergw/gwctl/hack/derivation"
)

// deriveCRD keeps a CustomResourceDefinition's facts: every schema loses its prose, printer
// columns their descriptions.
func deriveCRD(data []byte) ([]byte, error) {
	docs, err := derivation.ReadDocuments(data)
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		root := d.Content[0]
		if k := derivation.MapValue(root, "kind"); k == nil || k.Value != "CustomResourceDefinition" {
			return nil, fmt.Errorf("line %d: not a CustomResourceDefinition", root.Line)
		}
		versions := derivation.MapValue(derivation.MapValue(root, "spec"), "versions")
		if versions == nil {
			return nil, fmt.Errorf("line %d: no spec.versions", root.Line)
		}
		for _, v := range versions.Content {
			if s := derivation.MapValue(derivation.MapValue(v, "schema"), "openAPIV3Schema"); s != nil {
				derivation.StripSchemaNode(s)
			}
			if cols := derivation.MapValue(v, "additionalPrinterColumns"); cols != nil {
				for _, c := range cols.Content {
					derivation.DropKey(c, "description")
				}
			}
		}
	}
	return derivation.WriteDocuments(docs)
}

// deriveDocuments keeps test documents whole (they are the facts), without comments.
func deriveDocuments(data []byte) ([]byte, error) {
	docs, err := derivation.ReadDocuments(data)
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("no documents")
	}
	return derivation.WriteDocuments(docs)
}

// deriveOpenAPI keeps the component schemas named by roots and those they reference, without
// prose.
func deriveOpenAPI(data []byte, roots []string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc struct {
		OpenAPI    string `json:"openapi"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	const prefix = "#/components/schemas/"
	kept := map[string]any{}
	todo := append([]string(nil), roots...)
	for len(todo) > 0 {
		name := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if _, done := kept[name]; done {
			continue
		}
		s, ok := doc.Components.Schemas[name]
		if !ok {
			return nil, fmt.Errorf("components.schemas.%s not found", name)
		}
		s = derivation.StripSchema(s)
		kept[name] = s
		for _, ref := range refs(s, nil) {
			if !strings.HasPrefix(ref, prefix) {
				return nil, fmt.Errorf("components.schemas.%s: $ref %q leaves components.schemas", name, ref)
			}
			todo = append(todo, strings.TrimPrefix(ref, prefix))
		}
	}
	out := map[string]any{"openapi": doc.OpenAPI, "components": map[string]any{"schemas": kept}}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// refs collects the $ref targets and discriminator mapping targets under v.
func refs(v any, out []string) []string {
	switch s := v.(type) {
	case []any:
		for _, e := range s {
			out = refs(e, out)
		}
	case map[string]any:
		keys := make([]string, 0, len(s))
		for k := range s {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if r, ok := s[k].(string); ok && k == "$ref" {
				out = append(out, r)
				continue
			}
			if d, ok := s[k].(map[string]any); ok && k == "discriminator" {
				if m, ok := d["mapping"].(map[string]any); ok {
					for _, r := range m {
						if r, ok := r.(string); ok {
							out = append(out, r)
						}
					}
				}
				continue
			}
			out = refs(s[k], out)
		}
	}
	return out
}

// cassette is the part of a go-vcr (v1) cassette that anthropictest.LoadCassette reads.
// Fields are in key order, so that the derived file's keys are sorted.
type cassette struct {
	Interactions []struct {
		Request struct {
			Body string `yaml:"body"`
		} `yaml:"request"`
		Response struct {
			Body    string              `yaml:"body"`
			Code    int                 `yaml:"code"`
			Headers map[string][]string `yaml:"headers"`
		} `yaml:"response"`
	} `yaml:"interactions"`
	Version int `yaml:"version"`
}

// deriveCassette keeps each interaction's request body, status, content type and response body.
func deriveCassette(data []byte) ([]byte, error) {
	var c cassette
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, err
	}
	if len(c.Interactions) == 0 {
		return nil, fmt.Errorf("no interactions")
	}
	for i := range c.Interactions {
		h := c.Interactions[i].Response.Headers
		kept := map[string][]string{}
		for k, v := range h {
			if strings.EqualFold(k, "Content-Type") {
				kept[k] = v
			}
		}
		c.Interactions[i].Response.Headers = kept
	}
	out, err := derivation.MarshalYAML(c)
	if err != nil {
		return nil, err
	}
	var back cassette
	if err := yaml.Unmarshal(out, &back); err != nil {
		return nil, fmt.Errorf("re-reading the derived cassette: %w", err)
	}
	if fmt.Sprint(back) != fmt.Sprint(c) {
		return nil, fmt.Errorf("the derived cassette reads back differently")
	}
	return out, nil
}

// deriveJSON compacts a JSON body, keeping its key order.
func deriveJSON(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// deriveStreams puts event streams into one YAML map from file name to body.
func deriveStreams(bodies map[string]string) ([]byte, error) {
	out, err := derivation.MarshalYAML(bodies)
	if err != nil {
		return nil, err
	}
	var back map[string]string
	if err := yaml.Unmarshal(out, &back); err != nil {
		return nil, fmt.Errorf("re-reading the derived streams: %w", err)
	}
	for name, body := range bodies {
		if back[name] != body {
			return nil, fmt.Errorf("%s: the derived stream reads back differently", name)
		}
	}
	return out, nil
}
