// Command crd2jsonschema converts CRDs to the JSON Schemas kubeconform reads, as kubeconform's
// scripts/openapi2jsonschema.py does.
package main

// What it keeps and drops
//
// One file per served version, named
// <lower-case kind>-<first DNS label of the group>-<version>.json; with -strict every object
// schema that lists properties (and does not preserve unknown fields) gets
// additionalProperties: false, and x-kubernetes-int-or-string becomes oneOf string|integer.
// x-kubernetes-validations (CEL), list-map keys and defaults have no JSON Schema equivalent and
// are dropped: that is the gap hack/bench/validate/peers.sh measures.
//
//	go run ./hack/crd2jsonschema -out DIR [-strict] CRD_FILE_OR_DIR...

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

func main() {
	out := flag.String("out", "", "output directory")
	strict := flag.Bool("strict", true, "close objects (additionalProperties: false)")
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: crd2jsonschema -out DIR CRD_FILE_OR_DIR...")
		os.Exit(2)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fail(err)
	}
	n := 0
	for _, root := range flag.Args() {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
				return err
			}
			k, err := convertFile(p, *out, *strict)
			n += k
			return err
		})
		if err != nil {
			fail(err)
		}
	}
	fmt.Printf("wrote %d schemas to %s\n", n, *out)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "crd2jsonschema:", err)
	os.Exit(1)
}

func convertFile(path, out string, strict bool) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, doc := range bytes.Split(data, []byte("\n---")) {
		var crd map[string]any
		if err := yaml.Unmarshal(doc, &crd); err != nil {
			return n, fmt.Errorf("%s: %w", path, err)
		}
		if crd["kind"] != "CustomResourceDefinition" {
			continue
		}
		spec, _ := crd["spec"].(map[string]any)
		group, _ := spec["group"].(string)
		names, _ := spec["names"].(map[string]any)
		kind, _ := names["kind"].(string)
		versions, _ := spec["versions"].([]any)
		for _, v := range versions {
			vm, _ := v.(map[string]any)
			name, _ := vm["name"].(string)
			sch, _ := vm["schema"].(map[string]any)
			open, _ := sch["openAPIV3Schema"].(map[string]any)
			if open == nil {
				continue
			}
			convert(open, strict)
			js, err := json.MarshalIndent(open, "", "  ")
			if err != nil {
				return n, err
			}
			file := fmt.Sprintf("%s-%s-%s.json", strings.ToLower(kind), strings.Split(group, ".")[0], name)
			if err := os.WriteFile(filepath.Join(out, file), js, 0o644); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// convert rewrites a schema in place for JSON Schema validators.
func convert(s map[string]any, strict bool) {
	if s["x-kubernetes-int-or-string"] == true {
		delete(s, "type")
		s["oneOf"] = []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}
	}
	_, hasProps := s["properties"]
	if strict && hasProps && s["x-kubernetes-preserve-unknown-fields"] != true {
		if _, set := s["additionalProperties"]; !set {
			s["additionalProperties"] = false
		}
	}
	if s["nullable"] == true {
		if t, ok := s["type"].(string); ok {
			s["type"] = []any{t, "null"}
		}
	}
	for k := range s {
		if strings.HasPrefix(k, "x-kubernetes-") {
			delete(s, k)
		}
	}
	for _, key := range []string{"properties", "patternProperties", "definitions"} {
		if m, ok := s[key].(map[string]any); ok {
			for _, c := range m {
				if cm, ok := c.(map[string]any); ok {
					convert(cm, strict)
				}
			}
		}
	}
	for _, key := range []string{"items", "additionalProperties", "not"} {
		if cm, ok := s[key].(map[string]any); ok {
			convert(cm, strict)
		}
	}
	for _, key := range []string{"allOf", "anyOf", "oneOf"} {
		if l, ok := s[key].([]any); ok {
			for _, c := range l {
				if cm, ok := c.(map[string]any); ok {
					convert(cm, strict)
				}
			}
		}
	}
}
