package portable

import (
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"sync"

	yaml "go.yaml.in/yaml/v3"

	"github.com/infergw/gwctl/schemas"
)

// standardKinds are the Gateway API kinds of the v1.6.3 standard channel.
var standardKinds = map[string]bool{
	"BackendTLSPolicy": true, "GatewayClass": true, "Gateway": true, "GRPCRoute": true, "HTTPRoute": true,
	"ListenerSet": true, "ReferenceGrant": true, "TCPRoute": true, "TLSRoute": true, "UDPRoute": true,
}

// standardFilters are the HTTPRoute filter types of the standard channel (ExtensionRef is
// standard but names an implementation's own filter).
var standardFilters = map[string]bool{
	"RequestHeaderModifier": true, "ResponseHeaderModifier": true, "RequestMirror": true,
	"RequestRedirect": true, "URLRewrite": true, "CORS": true,
}

// channelSchemas are the standard-channel openAPIV3Schema of each Gateway API kind and
// version shipped in schemas/, by "Kind/version".
var channelSchemas = sync.OnceValues(func() (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	files, err := fs.Glob(schemas.FS, schemas.GatewayAPI+"/*/gateway.networking.k8s.io_*.yaml")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		data, err := fs.ReadFile(schemas.FS, f)
		if err != nil {
			return nil, fmt.Errorf("schemas/%s: %w", f, err)
		}
		var crd struct {
			Metadata struct {
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec struct {
				Names struct {
					Kind string `yaml:"kind"`
				} `yaml:"names"`
				Versions []struct {
					Name   string `yaml:"name"`
					Schema struct {
						OpenAPIV3Schema map[string]any `yaml:"openAPIV3Schema"`
					} `yaml:"schema"`
				} `yaml:"versions"`
			} `yaml:"spec"`
		}
		if err := yaml.Unmarshal(data, &crd); err != nil {
			return nil, fmt.Errorf("schemas/%s: %w", f, err)
		}
		if crd.Metadata.Annotations["gateway.networking.k8s.io/channel"] != "standard" {
			continue
		}
		for _, v := range crd.Spec.Versions {
			out[crd.Spec.Names.Kind+"/"+v.Name] = v.Schema.OpenAPIV3Schema
		}
	}
	return out, nil
})

// nonStandardFields lists the field paths of content that the standard-channel schema does
// not have (experimental-channel fields, or fields no channel has), sorted.
func nonStandardFields(schema map[string]any, content map[string]any) []string {
	var out []string
	props, _ := schema["properties"].(map[string]any)
	for k, v := range content {
		if k == "metadata" || k == "status" || k == "apiVersion" || k == "kind" {
			continue
		}
		s, ok := props[k].(map[string]any)
		if !ok {
			out = append(out, k)
			continue
		}
		walk(s, v, k, &out)
	}
	sort.Strings(out)
	return out
}

func walk(schema map[string]any, v any, path string, out *[]string) {
	if b, _ := schema["x-kubernetes-preserve-unknown-fields"].(bool); b {
		return
	}
	switch t := v.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		addl := schema["additionalProperties"]
		for k, e := range t {
			p := path + "." + k
			if s, ok := props[k].(map[string]any); ok {
				walk(s, e, p, out)
				continue
			}
			switch a := addl.(type) {
			case map[string]any:
				walk(a, e, p, out)
			case bool:
				if !a {
					*out = append(*out, p)
				}
			default:
				*out = append(*out, p)
			}
		}
	case []any:
		items, _ := schema["items"].(map[string]any)
		if items == nil {
			return
		}
		for i, e := range t {
			walk(items, e, path+"["+strconv.Itoa(i)+"]", out)
		}
	}
}
